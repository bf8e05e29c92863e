// The Licences and Modules tables: counts, the Buy column and the next-period pencil.

import * as fmt from "../format";
import { col, h } from "../dom";
import { type Pool } from "../api";
import { page } from "../hooks";
import { canManage, counts, explain, poolKey, poolName, state, t } from "../state";

export function section(id: string, title: string, pools: Pool[]): HTMLElement {
  const manage = canManage();
  const headRow = h(
    "tr",
    {},
    col(t().item),
    col(t().bought, true),
    col(t().inUse, true),
    col(t().available, true),
    col(t().nextPeriod, true),
    manage && h("th", { scope: "col", class: "num buy-col" }, t().buy),
  );
  const end = fmt.date(state.account?.period.end ?? "", state.lang);
  // Only what will happen: seats that hold a licence now and lose it at the change (R28).
  const short = pools.filter((p) => p.over_allocated_at_change > 0);
  return h(
    "section",
    { "aria-labelledby": `${id}-h` },
    h("h2", { id: `${id}-h` }, title),
    ...short.map((p) => h("p", { class: "notice warn", id: `short-${poolKey(p)}` }, `${poolName(p)}: ${t().nextBelowNow(p.over_allocated_at_change, p.next_period, end)}`)),
    h("table", { id: `${id}-table` }, h("thead", {}, headRow), h("tbody", {}, ...pools.map((p) => poolRow(p, manage)))),
  );
}

function poolRow(pool: Pool, manage: boolean): HTMLTableRowElement {
  const key = poolKey(pool);
  const name = poolName(pool);
  const reds = pool.over_allocated_count;
  const inUse = h("td", { class: reds > 0 ? "num over" : "num" }, fmt.count(pool.in_use, state.lang), reds > 0 && h("span", { class: "badge" }, t().withoutLicence(reds)));
  return h(
    "tr",
    { "data-pool": key },
    h("th", { scope: "row" }, name),
    h("td", { class: "num" }, fmt.count(pool.purchased, state.lang)),
    inUse,
    h("td", { class: "num" }, fmt.count(pool.available, state.lang)),
    nextPeriodCell(pool, key, name, manage),
    manage &&
      h(
        "td",
        { class: "num buy-col" },
        h("label", { class: "visually-hidden", for: `buy-${key}` }, t().buyLabel(name)),
        h("input", {
          id: `buy-${key}`,
          name: key,
          form: "buy-form",
          type: "number",
          inputmode: "numeric",
          min: 0,
          max: 10000,
          step: 1,
          placeholder: "0",
          class: "qty",
          value: state.buy[key] ?? "",
          oninput: (e: Event) => {
            state.buy[key] = (e.target as HTMLInputElement).value;
          },
        }),
      ),
  );
}

function nextPeriodCell(pool: Pool, key: string, name: string, manage: boolean): HTMLTableCellElement {
  if (!manage || state.editing !== key) {
    return h(
      "td",
      { class: "num" },
      h("span", { class: "value" }, fmt.count(pool.next_period, state.lang)),
      manage &&
        h("button", {
          type: "button",
          class: "pencil",
          id: `edit-${key}`,
          "aria-label": t().editNext(name),
          title: t().editNext(name),
          onclick: () => {
            state.editing = key;
            state.draft = String(pool.next_period);
            page.render();
            const input = document.getElementById(`next-${key}`) as HTMLInputElement | null;
            input?.focus();
            input?.select();
          },
        }, "✎"),
    );
  }
  const warning = h("div", { class: "hint warn", id: `next-${key}-warning`, role: "status" });
  const totals = h("p", { class: "hint", id: `next-${key}-preview` });
  const update = (value: string) => {
    const n = Number(value);
    const min = key === "licences" ? 1 : 0;
    if (value.trim() === "" || !Number.isInteger(n) || n < min || n > pool.purchased) {
      state.preview = null;
      warning.replaceChildren();
      totals.textContent = "";
      return;
    }
    // A re-render keeps the preview already shown for this number; a new number asks again.
    const shown = state.preview;
    if (shown && previewOf === `${key}=${n}`) show(shown);
    else schedulePreview(key, n, show);
  };
  const show = (preview: NonNullable<typeof state.preview>) => {
    const from = fmt.date(preview.effective_from, state.lang);
    const money = (m: number) => fmt.money(m, preview.currency, state.lang);
    // The preview is of this pool alone: its seats are the ones listed and counted.
    const seats = preview.seats_to_remove;
    const count = preview.seats_to_remove_count;
    warning.replaceChildren(
      ...(count > 0
        ? [
            h("p", {}, t().nextWarning(count, from)),
            h("ul", { id: `next-${key}-seats` }, ...seats.slice(0, 10).map((s) => h("li", {}, s.name))),
            count > Math.min(10, seats.length) ? h("p", {}, t().andMore(count - Math.min(10, seats.length))) : "",
          ]
        : []),
    );
    totals.textContent = t().previewTotal(money(preview.next_period_total), preview.saving > 0 ? money(preview.saving) : null);
  };
  const input = h("input", {
    id: `next-${key}`,
    type: "number",
    inputmode: "numeric",
    min: 0,
    step: 1,
    value: state.draft,
    class: "qty",
    "aria-describedby": `next-${key}-warning`,
    oninput: (e: Event) => {
      state.draft = (e.target as HTMLInputElement).value;
      update(state.draft);
    },
    onkeydown: (e: Event) => {
      if ((e as KeyboardEvent).key === "Escape") cancelEdit(key);
    },
  });
  update(state.draft);
  const form = h(
    "form",
    { class: "edit", onsubmit: (e: Event) => { e.preventDefault(); void saveNext(key, input.value); } },
    h("label", { class: "visually-hidden", for: `next-${key}` }, t().nextLabel(name)),
    input,
    h("button", { type: "submit", id: `save-${key}` }, t().save),
    h("button", { type: "button", onclick: () => cancelEdit(key) }, t().cancel),
    warning,
    totals,
  );
  return h("td", { class: "num" }, form);
}

/** The preview asked for last: earlier answers arriving late are dropped. */
let previewSeq = 0;
/** What `state.preview` is of: `<pool>=<number>`. */
let previewOf = "";
let previewTimer: ReturnType<typeof setTimeout> | undefined;
/** Typing pauses this long before the preview is asked for. */
const PREVIEW_DEBOUNCE_MS = 250;

function schedulePreview(key: string, n: number, show: (p: NonNullable<typeof state.preview>) => void): void {
  clearTimeout(previewTimer);
  const seq = ++previewSeq;
  previewTimer = setTimeout(async () => {
    if (!state.api) return;
    try {
      const preview = await state.api.previewNextPeriod(counts(key, n));
      if (seq !== previewSeq || state.editing !== key) return;
      state.preview = preview;
      previewOf = `${key}=${n}`;
      show(preview);
    } catch {
      // A preview is advice; Save reports any error.
    }
  }, PREVIEW_DEBOUNCE_MS);
}

function cancelEdit(key: string): void {
  previewSeq++;
  state.preview = null;
  state.editing = null;
  page.render();
  document.getElementById(`edit-${key}`)?.focus();
}

async function saveNext(key: string, raw: string): Promise<void> {
  const n = Number(raw);
  if (!state.api || raw.trim() === "" || !Number.isInteger(n) || n < 0) {
    state.notice = { kind: "error", text: t().errors.quantity_out_of_range ?? "" };
    page.render();
    return;
  }
  try {
    const answer = await state.api.setNextPeriod(counts(key, n));
    state.account = answer.account;
    state.editing = null;
    previewSeq++;
    state.preview = null;
    const from = fmt.date(answer.effective_from, state.lang);
    state.notice =
      answer.seats_to_remove.length > 0
        ? {
            kind: "warn",
            text: t().willBeRemoved(from),
            users: answer.seats_to_remove.map((s) => ({ user_id: s.user_id, name: s.name })),
            more: answer.seats_to_remove_count - answer.seats_to_remove.length,
          }
        : { kind: "ok", text: t().nextSaved(from) };
    page.render();
    document.getElementById(`edit-${key}`)?.focus();
    void page.refreshHistory();
  } catch (error) {
    state.notice = { kind: "error", text: explain(error) };
    page.render();
    document.getElementById(`next-${key}`)?.focus();
  }
}

// The Licences and Modules tables: counts, the Buy column and the next-period pencil.

import * as fmt from "../format";
import { col, h } from "../dom";
import { type Pool } from "../api";
import { refreshHistory, render } from "../page";
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
  const short = pools.filter((p) => p.next_period < p.in_use);
  return h(
    "section",
    { "aria-labelledby": `${id}-h` },
    h("h2", { id: `${id}-h` }, title),
    ...short.map((p) => h("p", { class: "notice warn" }, `${poolName(p)}: ${t().nextBelowNow(p.in_use - p.next_period, end)}`)),
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
            render();
            const input = document.getElementById(`next-${key}`) as HTMLInputElement | null;
            input?.focus();
            input?.select();
          },
        }, "✎"),
    );
  }
  const warning = h("p", { class: "hint warn", id: `next-${key}-warning`, role: "status" });
  const update = (value: string) => {
    const n = Number(value);
    warning.textContent = Number.isInteger(n) && n >= 1 && n < pool.in_use ? t().nextWarning(pool.in_use - n, fmt.date(state.account?.period.end ?? "", state.lang)) : "";
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
  );
  return h("td", { class: "num" }, form);
}

function cancelEdit(key: string): void {
  state.editing = null;
  render();
  document.getElementById(`edit-${key}`)?.focus();
}

async function saveNext(key: string, raw: string): Promise<void> {
  const n = Number(raw);
  if (!state.api || raw.trim() === "" || !Number.isInteger(n) || n < 0) {
    state.notice = { kind: "error", text: t().errors.quantity_out_of_range ?? "" };
    render();
    return;
  }
  try {
    const answer = await state.api.setNextPeriod(counts(key, n));
    state.account = answer.account;
    state.editing = null;
    const from = fmt.date(answer.effective_from, state.lang);
    state.notice =
      answer.seats_to_remove.length > 0
        ? {
            kind: "warn",
            text: t().willBeRemoved(from),
            list: answer.seats_to_remove.map((s) => s.name),
            more: answer.seats_to_remove_count - answer.seats_to_remove.length,
          }
        : { kind: "ok", text: t().nextSaved(from) };
    render();
    document.getElementById(`edit-${key}`)?.focus();
    void refreshHistory();
  } catch (error) {
    state.notice = { kind: "error", text: explain(error) };
    render();
    document.getElementById(`next-${key}`)?.focus();
  }
}

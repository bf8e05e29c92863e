// The licences page: Licences and Modules with the Buy column and the next-period pencil,
// the purchase confirmation, users without a licence, invoices and the action log.

import "./style.css";
import { Api, ApiError, type Account, type Invoice, type LogEntry, type Pool, type PoolCounts, type Quote } from "./api";
import { currentToken, signIn, type Config } from "./auth";
import * as fmt from "./format";
import { initialLang, words, type Lang, type Words } from "./i18n";

type Notice = { kind: "ok" | "warn" | "error"; text: string; list?: string[] };

interface State {
  lang: Lang;
  api: Api | null;
  config: Config;
  account: Account | null;
  invoices: Invoice[];
  log: LogEntry[];
  notice: Notice | null;
  /** The pool whose next period is being edited: "licences" or a module id. */
  editing: string | null;
  /** What was typed into the next-period field, kept across re-renders. */
  draft: string;
  /** What was typed into the Buy column, by pool, kept across re-renders. */
  buy: Record<string, string>;
  loadError: ApiError | null;
}

const state: State = {
  lang: initialLang(),
  api: null,
  config: { api_base: "", oidc: null },
  account: null,
  invoices: [],
  log: [],
  notice: null,
  editing: null,
  draft: "",
  buy: {},
  loadError: null,
};

const t = (): Words => words[state.lang];

// ---- DOM helpers: elements are built, never parsed from strings, so no data becomes markup.

type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;
type Child = Node | string | null | undefined | false;

function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

function canManage(): boolean {
  return state.account?.rights.includes("licences.manage") === true && state.account.status === "active";
}

function poolKey(pool: Pool): string {
  return pool.module_id ?? "licences";
}

function poolName(pool: Pool): string {
  return pool.module_id ? (pool.name ?? pool.module_id) : t().licences;
}

function counts(key: string, n: number): PoolCounts {
  return key === "licences" ? { licences: n } : { modules: { [key]: n } };
}

export function explain(error: unknown): string {
  if (!(error instanceof ApiError)) return t().unknownError("internal", "");
  return t().errors[error.code] ?? t().unknownError(error.code, error.requestId);
}

// ---- Loading

async function load(): Promise<void> {
  if (!state.api) return;
  try {
    state.account = await state.api.account();
    state.loadError = null;
  } catch (error) {
    state.loadError = error instanceof ApiError ? error : new ApiError(0, "network", "", "");
    render();
    return;
  }
  render();
  await refreshHistory();
}

async function refreshHistory(): Promise<void> {
  if (!state.api) return;
  try {
    const [invoices, log] = await Promise.all([state.api.invoices(), state.api.actionLog()]);
    state.invoices = invoices.items;
    state.log = log.items;
    renderHistory();
  } catch {
    // The numbers that matter are already shown; the lists catch up on the next load.
  }
}

// ---- The page

function render(): void {
  const root = document.getElementById("app");
  if (!root) return;
  document.documentElement.lang = state.lang;
  document.title = state.account ? `${t().title} – ${state.account.name}` : t().title;
  const skip = document.querySelector(".skip");
  if (skip) skip.textContent = t().skip;
  const focused = document.activeElement?.id;
  root.replaceChildren(header(), h("main", { id: "main", tabindex: -1 }, ...body()));
  // Keeps the keyboard where it was across a re-render.
  if (focused) document.getElementById(focused)?.focus();
}

/**
 * The lists arrive after the numbers; swapping in only their two sections leaves what the
 * user is typing, the focus and an open editor alone.
 */
function renderHistory(): void {
  const a = state.account;
  if (!a) return;
  for (const fresh of [invoices(a), actionLog(a)]) document.getElementById(fresh.id)?.replaceWith(fresh);
}

function header(): HTMLElement {
  const select = h(
    "select",
    {
      id: "lang",
      onchange: (e: Event) => {
        state.lang = (e.target as HTMLSelectElement).value as Lang;
        localStorage.setItem("lang", state.lang);
        render();
      },
    },
    h("option", { value: "en", selected: state.lang === "en" }, "English"),
    h("option", { value: "da", selected: state.lang === "da" }, "Dansk"),
  );
  const a = state.account;
  return h(
    "header",
    {},
    h("div", {}, h("h1", {}, a ? `${t().title} – ${a.name}` : t().title),
      a && h("p", { class: "period" }, t().period(fmt.date(a.period.start, state.lang), fmt.date(fmt.dayBefore(a.period.end), state.lang), t().lengths[a.period.length] ?? a.period.length))),
    h("div", { class: "lang" }, h("label", { for: "lang" }, t().language), select),
  );
}

function body(): Child[] {
  if (!state.api) {
    return [h("p", {}, t().signedOut), state.config.oidc && h("button", { type: "button", onclick: () => void signIn(state.config) }, t().signIn)];
  }
  if (state.loadError && !state.account) {
    const text = state.loadError.code === "forbidden" ? t().noRight : explain(state.loadError);
    return [h("p", { class: "notice error", role: "alert" }, text), h("button", { type: "button", onclick: () => void load() }, t().retry)];
  }
  const a = state.account;
  if (!a) return [h("p", {}, t().loading)];
  return [
    a.status === "terminated" && h("p", { class: "notice warn", role: "status" }, t().terminated),
    h("p", { class: "intro" }, t().intro),
    notice(),
    h("form", { id: "buy-form", onsubmit: (e: Event) => { e.preventDefault(); void purchase(); } }),
    section("licences", t().licences, [a.licences]),
    a.modules.length > 0 ? section("modules", t().modules, a.modules) : h("section", { "aria-labelledby": "modules-h" }, h("h2", { id: "modules-h" }, t().modules), h("p", {}, t().noModules)),
    canManage() && h("p", { class: "actions" }, h("button", { type: "submit", form: "buy-form", id: "purchase-more", class: "primary" }, t().purchaseMore)),
    reds(a),
    invoices(a),
    actionLog(a),
  ];
}

function notice(): Child {
  const n = state.notice;
  if (!n) return null;
  return h(
    "div",
    { class: `notice ${n.kind}`, role: n.kind === "error" ? "alert" : "status", id: "notice", tabindex: -1 },
    h("p", {}, n.text),
    n.list && h("ul", {}, ...n.list.map((item) => h("li", {}, item))),
  );
}

function section(id: string, title: string, pools: Pool[]): HTMLElement {
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
  const reds = pool.over_allocated.length;
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
        ? { kind: "warn", text: t().willBeRemoved(from), list: answer.seats_to_remove.map((s) => s.name) }
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

function reds(a: Account): HTMLElement {
  const pools = [a.licences, ...a.modules].filter((p) => p.over_allocated.length > 0);
  const rows = pools.flatMap((p) =>
    p.over_allocated.map((r) =>
      h(
        "tr",
        { "data-user": r.user_id },
        h("th", { scope: "row" }, r.name),
        h("td", {}, poolName(p)),
        h("td", {}, fmt.instant(r.since, a.time_zone, state.lang)),
        h("td", { class: "deadline" }, fmt.instant(r.deadline, a.time_zone, state.lang)),
      ),
    ),
  );
  return h(
    "section",
    { "aria-labelledby": "reds-h", id: "reds" },
    h("h2", { id: "reds-h" }, t().reds),
    rows.length === 0
      ? h("p", {}, t().noReds)
      : h(
          "div",
          {},
          h("p", {}, t().redsIntro),
          h("table", {}, h("thead", {}, h("tr", {}, col(t().user), col(t().pool), col(t().since), col(t().deadline))), h("tbody", {}, ...rows)),
          canManage() &&
            h(
              "p",
              { class: "actions" },
              ...pools.map((p) =>
                h("button", { type: "button", onclick: () => { fill(poolKey(p), p.over_allocated.length); void purchase(); } }, `${t().buyFor(p.over_allocated.length)} (${poolName(p)})`),
              ),
            ),
        ),
  );
}

function fill(key: string, n: number): void {
  state.buy[key] = String(n);
  const input = document.getElementById(`buy-${key}`) as HTMLInputElement | null;
  if (input) input.value = state.buy[key];
}

/** A column header; `num` right-aligns it over numbers. */
function col(text: string, num = false): HTMLTableCellElement {
  return h("th", { scope: "col", class: num ? "num" : undefined }, text);
}

/** A titled section holding a table, or a sentence when there are no rows. */
function listSection(id: string, title: string, empty: string, head: Child[], rows: HTMLTableRowElement[]): HTMLElement {
  return h(
    "section",
    { "aria-labelledby": `${id}-h`, id: `${id}-section` },
    h("h2", { id: `${id}-h` }, title),
    rows.length === 0 ? h("p", {}, empty) : h("table", { id: `${id}-table` }, h("thead", {}, h("tr", {}, ...head)), h("tbody", {}, ...rows)),
  );
}

function invoices(a: Account): HTMLElement {
  const rows = state.invoices.map((i) =>
    h("tr", {}, h("th", { scope: "row" }, i.invoice_id), h("td", {}, fmt.instant(i.issued_at, a.time_zone, state.lang)), h("td", {}, t().kinds[i.kind] ?? i.kind), h("td", { class: "num" }, fmt.money(i.total, i.currency, state.lang))),
  );
  return listSection("invoices", t().invoices, t().noInvoices, [col(t().invoice), col(t().issued), col(t().kind), col(t().amount, true)], rows);
}

function actor(entry: LogEntry): string {
  const who = entry.actor as { kind?: string; id?: string } | null;
  return who?.kind === "user" && who.id ? who.id : t().system;
}

function actionLog(a: Account): HTMLElement {
  const rows = state.log.map((e) => {
    const subject = (e.details as { user_id?: string } | null)?.user_id;
    const what = (t().actions[e.action] ?? e.action) + (subject ? ` (${subject})` : "");
    return h("tr", {}, h("td", {}, fmt.instant(e.at, a.time_zone, state.lang)), h("td", {}, actor(e)), h("td", {}, what));
  });
  return listSection("log", t().log, t().noLog, [col(t().when), col(t().who), col(t().what)], rows);
}

// ---- Purchase: quantities → quote → confirmation → approval

const dialog = h("dialog", { id: "confirm", "aria-labelledby": "confirm-h" });
document.body.append(dialog);

interface Pending {
  quote: Quote;
  /** One key per quote: a double click, a retry or a replay all buy once. */
  key: string;
  request: PoolCounts;
}

let pending: Pending | null = null;
let approving = false;

function wanted(): PoolCounts | null {
  const result: PoolCounts = {};
  let any = false;
  for (const [key, typed] of Object.entries(state.buy)) {
    if (typed.trim() === "") continue;
    const n = Number(typed);
    if (!Number.isInteger(n) || n < 0 || n > 10000) {
      state.notice = { kind: "error", text: t().errors.quantity_out_of_range ?? "" };
      render();
      document.getElementById(`buy-${key}`)?.focus();
      return null;
    }
    if (n === 0) continue;
    any = true;
    if (key === "licences") result.licences = n;
    else result.modules = { ...(result.modules ?? {}), [key]: n };
  }
  if (!any) {
    state.notice = { kind: "warn", text: t().enterQuantities };
    render();
    document.getElementById("buy-licences")?.focus();
    return null;
  }
  return result;
}

function idempotencyKey(): string {
  return typeof crypto.randomUUID === "function"
    ? crypto.randomUUID()
    : Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

async function purchase(request?: PoolCounts, why?: string): Promise<void> {
  const counts = request ?? wanted();
  if (!counts || !state.api) return;
  const button = document.getElementById("purchase-more") as HTMLButtonElement | null;
  if (button) button.textContent = t().reviewing;
  try {
    const quote = await state.api.quote(counts);
    pending = { quote, key: idempotencyKey(), request: counts };
    showConfirmation(why);
  } catch (error) {
    state.notice = { kind: "error", text: explain(error) };
    render();
  } finally {
    if (button) button.textContent = t().purchaseMore;
  }
}

function showConfirmation(why?: string, error?: string): void {
  if (!pending) return;
  const { quote } = pending;
  const a = state.account;
  const tz = a?.time_zone ?? "UTC";
  const first = quote.lines[0];
  const money = (n: number) => fmt.money(n, quote.currency, state.lang);
  const approve = h("button", { type: "button", class: "primary", id: "approve", onclick: () => void approveQuote() }, t().approve);
  const parts: Child[] = [
    h("h2", { id: "confirm-h" }, t().confirmTitle),
    why && h("p", { class: "notice warn", role: "status" }, why),
    error && h("p", { class: "notice error", role: "alert" }, error),
    first && h("p", {}, t().confirmIntro(first.days_remaining, first.days_in_period)),
    h(
      "table",
      { id: "quote-table" },
      h("thead", {}, h("tr", {}, col(t().item), col(t().quantity, true), col(t().unitPrice, true), col(t().days, true), col(t().amount, true))),
      h(
        "tbody",
        {},
        ...quote.lines.map((l) =>
          h("tr", { "data-pool": l.pool }, h("th", { scope: "row" }, l.pool === "licences" ? t().licences : l.name), h("td", { class: "num" }, fmt.count(l.quantity, state.lang)), h("td", { class: "num" }, money(l.unit_price)), h("td", { class: "num" }, `${l.days_remaining}/${l.days_in_period}`), h("td", { class: "num" }, money(l.amount))),
        ),
      ),
      h("tfoot", {}, h("tr", {}, h("th", { scope: "row", colspan: 4 }, t().total), h("td", { class: "num total", id: "quote-total" }, money(quote.total)))),
    ),
    h("p", { id: "next-total" }, t().nextTotal(fmt.date(quote.period.end, state.lang), money(quote.next_period_total))),
    h("p", { class: "hint" }, t().holds(fmt.instant(quote.expires_at, tz, state.lang))),
    h("div", { class: "actions" }, approve, h("button", { type: "button", onclick: () => closeConfirmation() }, t().cancel)),
  ];
  dialog.replaceChildren(...parts.filter((p): p is Node | string => Boolean(p)));
  if (!dialog.open) dialog.showModal();
  approve.focus();
}

function closeConfirmation(): void {
  pending = null;
  if (dialog.open) dialog.close();
  document.getElementById("purchase-more")?.focus();
}

dialog.addEventListener("cancel", () => {
  pending = null;
});

async function approveQuote(): Promise<void> {
  // A second click while the first is on its way is ignored here; were it not, the same
  // idempotency key would still make the API answer it with the first purchase.
  if (approving || !pending || !state.api) return;
  approving = true;
  const button = document.getElementById("approve") as HTMLButtonElement | null;
  if (button) {
    button.disabled = true;
    button.textContent = t().approving;
  }
  const { quote, key, request } = pending;
  try {
    const bought = await state.api.approve(quote.quote_id, key);
    state.account = bought.account;
    state.notice = { kind: "ok", text: t().bought_ok(fmt.money(bought.total, bought.currency, state.lang), bought.invoice_id) };
    pending = null;
    state.buy = {};
    dialog.close();
    render();
    document.getElementById("notice")?.focus();
    void refreshHistory();
  } catch (error) {
    const code = error instanceof ApiError ? error.code : "";
    if (["quote_expired", "quote_other_period", "quote_stale"].includes(code)) {
      await purchase(request, explain(error));
    } else {
      showConfirmation(undefined, explain(error));
    }
  } finally {
    approving = false;
  }
}

// ---- Start

async function start(): Promise<void> {
  render();
  try {
    const answer = await fetch("./config.json", { cache: "no-cache" });
    if (answer.ok) state.config = { ...state.config, ...((await answer.json()) as Partial<Config>) };
  } catch {
    // No config: the API is on this page's origin and the token comes in the URL.
  }
  const token = await currentToken(state.config);
  state.api = token ? new Api(state.config.api_base, token) : null;
  render();
  await load();
}

void start();

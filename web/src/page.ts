// The page: loading the account, the shell (header, notice, sections) and re-rendering.

import { ApiError, type Api, type Page } from "./api";
import { signIn } from "./auth";
import { h, type Child } from "./dom";
import { page } from "./hooks";
import * as fmt from "./format";
import type { Lang } from "./i18n";
import { purchase } from "./purchase";
import { state, t, canManage, canManageUsers, explain } from "./state";
import { actionLog, invoices } from "./views/history";
import { invoiceInAddress, invoiceView } from "./views/invoice";
import { section } from "./views/pools";
import { reds } from "./views/reds";
import { loadTokens, provisioning } from "./views/provisioning";
import { requests } from "./views/requests";
import { settings } from "./views/settings";
import { usage } from "./views/usage";
import { deactivateButton, loadUsers, users } from "./views/users";
import { loadWebhooks, webhooks } from "./views/webhooks";

export async function load(): Promise<void> {
  if (!state.api) return;
  try {
    state.account = await state.api.account();
    state.loadError = null;
    // A fresh account lists its own first 100 red users: page the rest again from there.
    state.moreReds = [];
    state.redsCursor = undefined;
    state.gone.clear();
  } catch (error) {
    state.loadError = error instanceof ApiError ? error : new ApiError(0, "network", "", "");
    render();
    return;
  }
  render();
  document.documentElement.dataset.loaded = "no";
  await Promise.all([refreshHistory(), refreshRequests(), loadUsage(), loadUsers(), loadTokens(), loadWebhooks(), showAddressedInvoice()]);
  // Every section has what it lists: nothing rebuilds itself from here until the next change.
  document.documentElement.dataset.loaded = "yes";
}

export async function refreshHistory(): Promise<void> {
  if (!state.api) return;
  try {
    const [invoices, log] = await Promise.all([state.api.invoices(), state.api.actionLog()]);
    state.invoices = invoices.items;
    state.invoicesCursor = invoices.next_cursor;
    state.log = log.items;
    state.logCursor = log.next_cursor;
    renderHistory();
  } catch {
    // The numbers that matter are already shown; the lists catch up on the next load.
  }
}

/** R35: the purchase requests, for those who may approve them; shown again in place. */
export async function refreshRequests(): Promise<void> {
  if (!state.api || !canManage()) return;
  try {
    state.requests = (await state.api.requests()).items;
  } catch {
    // The section keeps what it showed; the next load reads them again.
  }
  const fresh = requests();
  if (fresh) document.getElementById("requests-section")?.replaceWith(fresh);
}

/** R37: the usage charts, once read; a failure leaves the section saying so. */
async function loadUsage(): Promise<void> {
  if (!state.api) return;
  try {
    state.usage = await state.api.usage();
  } catch {
    state.usage = { from: "", to: "", time_zone: "", pools: [] };
  }
  document.getElementById("usage-section")?.replaceWith(usage());
}

/**
 * The next page of a list: its items appended and where it goes on kept (`take`), the list
 * shown again, and the keyboard moved to the first new row (`focus`, given its index).
 */
async function nextPage<T>(cursor: string | null, load: (api: Api, cursor: string) => Promise<Page<T>>, take: (page: Page<T>) => number, focus: (first: number) => void): Promise<void> {
  if (!state.api || cursor === null) return;
  let first: number;
  try {
    first = take(await load(state.api, cursor));
  } catch (error) {
    state.notice = { kind: "error", text: explain(error) };
    render();
    return;
  }
  renderHistory();
  focus(first);
}

const moreInvoices = () =>
  nextPage(
    state.invoicesCursor,
    (api, c) => api.invoices(c),
    (page) => {
      const first = state.invoices.length;
      state.invoices.push(...page.items);
      state.invoicesCursor = page.next_cursor;
      return first;
    },
    (first) => (document.querySelector(`#invoices-table tbody tr:nth-child(${first + 1}) a`) as HTMLElement | null)?.focus(),
  );

const moreLog = () =>
  nextPage(
    state.logCursor,
    (api, c) => api.actionLog(c),
    (page) => {
      const first = state.log.length;
      state.log.push(...page.items);
      state.logCursor = page.next_cursor;
      return first;
    },
    (first) => {
      const next = document.querySelector(`#log-table tbody tr:nth-child(${first + 1}) td`) as HTMLElement | null;
      (document.getElementById("log-more") ?? next)?.focus();
    },
  );

/** R31: the invoice the address names (`#invoice=<id>`), shown instead of the page. */
export async function showAddressedInvoice(): Promise<void> {
  const id = invoiceInAddress();
  if (!id) {
    if (state.invoice) {
      state.invoice = null;
      render();
      document.getElementById("invoices-h")?.focus();
    }
    return;
  }
  if (!state.api) return;
  try {
    state.invoice = await state.api.invoice(id);
  } catch (error) {
    state.invoice = null;
    state.notice = { kind: "error", text: explain(error) };
  }
  render();
  document.getElementById(state.invoice ? "invoice-h" : "notice")?.focus();
}

export function render(): void {
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
  for (const fresh of [invoices(a, moreInvoices), actionLog(a, moreLog)]) document.getElementById(fresh.id)?.replaceWith(fresh);
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
  if (state.invoice) return [invoiceView(state.invoice)];
  return [
    a.status === "terminated" && h("p", { class: "notice warn", role: "status" }, t().terminated),
    h("p", { class: "intro" }, t().intro),
    notice(),
    h("form", { id: "buy-form", onsubmit: (e: Event) => { e.preventDefault(); void purchase(); } }),
    section("licences", t().licences, [a.licences]),
    a.modules.length > 0 ? section("modules", t().modules, a.modules) : h("section", { "aria-labelledby": "modules-h" }, h("h2", { id: "modules-h" }, t().modules), h("p", {}, t().noModules)),
    canManage() && h("p", { class: "actions" }, h("button", { type: "submit", form: "buy-form", id: "purchase-more", class: "primary" }, t().purchaseMore)),
    requests(),
    reds(a),
    users(),
    provisioning(a),
    webhooks(a),
    settings(a),
    usage(),
    invoices(a, moreInvoices),
    actionLog(a, moreLog),
    state.config.support_email &&
      h("p", { class: "hint support", id: "support" }, t().support, " ", h("a", { href: `mailto:${state.config.support_email}` }, state.config.support_email)),
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
    // A downscale's seats, each with its Deactivate (R28: act on the users at risk).
    n.users &&
      n.users.length > 0 &&
      h(
        "ul",
        { class: "people" },
        ...n.users.map((u) => h("li", {}, h("span", {}, u.name), canManageUsers() && deactivateButton(u.user_id, u.name, "notice"))),
      ),
    n.more !== undefined && n.more > 0 && h("p", { class: "hint" }, t().andMore(n.more)),
  );
}

// The views and the purchase flow reach the page through these (hooks.ts).
page.render = render;
page.refreshHistory = refreshHistory;
page.refreshRequests = refreshRequests;

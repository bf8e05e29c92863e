// The page: loading the account, the shell (header, notice, sections) and re-rendering.

import { ApiError } from "./api";
import { signIn } from "./auth";
import { h, type Child } from "./dom";
import * as fmt from "./format";
import type { Lang } from "./i18n";
import { purchase } from "./purchase";
import { state, t, canManage, explain } from "./state";
import { actionLog, invoices } from "./views/history";
import { section } from "./views/pools";
import { reds } from "./views/reds";

export async function load(): Promise<void> {
  if (!state.api) return;
  try {
    state.account = await state.api.account();
    state.loadError = null;
    // A fresh account lists its own first 100 red users: page the rest again from there.
    state.moreReds = [];
    state.redsCursor = undefined;
  } catch (error) {
    state.loadError = error instanceof ApiError ? error : new ApiError(0, "network", "", "");
    render();
    return;
  }
  render();
  await refreshHistory();
}

export async function refreshHistory(): Promise<void> {
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
    n.more !== undefined && n.more > 0 && h("p", { class: "hint" }, t().andMore(n.more)),
  );
}

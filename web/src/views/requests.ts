// Purchases waiting for a second approver (R35), for holders of licences.manage: each with
// what was asked, today's price and when it expires. Another manager approves it (at the
// price shown, bought once per request whatever the clicks) or declines it with a reason;
// the requester may withdraw their own.

import { ApiError, type PurchaseRequest } from "../api";
import { col, h } from "../dom";
import * as fmt from "../format";
import { page } from "../hooks";
import { canManage, explain, state, t } from "../state";

/** One idempotency key per request for this page: a double click or a retry buys once. */
const keys = new Map<string, string>();

function keyFor(id: string): string {
  let key = keys.get(id);
  if (!key) {
    key = typeof crypto.randomUUID === "function" ? crypto.randomUUID() : `${id}-${Date.now()}`;
    keys.set(id, key);
  }
  return key;
}

async function approve(r: PurchaseRequest, button: HTMLButtonElement): Promise<void> {
  if (!state.api || r.total === null || button.disabled) return;
  button.disabled = true;
  try {
    const bought = await state.api.approveRequest(r.purchase_request_id, r.total, keyFor(r.purchase_request_id));
    state.account = bought.account;
    state.notice = { kind: "ok", text: t().requestApproved(fmt.money(bought.total, bought.currency, state.lang), bought.invoice_id) };
    void page.refreshHistory();
  } catch (error) {
    // A new day's price: shown again, to be approved as it is now.
    if (error instanceof ApiError && error.code === "price_changed") keys.delete(r.purchase_request_id);
    state.notice = { kind: "error", text: explain(error) };
  }
  await page.refreshRequests();
  page.render();
  document.getElementById("notice")?.focus();
}

async function decline(r: PurchaseRequest, reason: string): Promise<void> {
  if (!state.api) return;
  try {
    await state.api.declineRequest(r.purchase_request_id, reason);
    state.notice = { kind: "ok", text: t().requestDeclined };
  } catch (error) {
    state.notice = { kind: "error", text: explain(error) };
  }
  await page.refreshRequests();
  page.render();
  document.getElementById("notice")?.focus();
}

function actions(r: PurchaseRequest): HTMLElement {
  const id = r.purchase_request_id;
  if (r.yours) {
    return h("td", {}, h("span", { class: "sub" }, t().waitsForOther), h("button", { type: "button", id: `withdraw-${id}`, onclick: () => void decline(r, t().withdrawnReason) }, t().withdraw));
  }
  const approveButton: HTMLButtonElement = h("button", { type: "button", class: "primary", id: `approve-${id}`, disabled: r.total === null, onclick: () => void approve(r, approveButton) }, t().approveRequest);
  const reason = h("input", { id: `reason-${id}`, type: "text", maxlength: 500, required: true });
  const form = h(
    "form",
    { class: "inline decline", onsubmit: (e: Event) => { e.preventDefault(); if (reason.value.trim()) void decline(r, reason.value); } },
    h("label", { for: `reason-${id}` }, t().declineReason),
    reason,
    h("button", { type: "submit", id: `decline-${id}` }, t().decline),
  );
  return h("td", {}, approveButton, form);
}

/** A pool as the tables name it: Licences, or the module's name. */
function poolLabel(pool: string): string {
  if (pool === "licences") return t().licences;
  return state.account?.modules.find((m) => m.module_id === pool)?.name ?? pool;
}

export function requests(): HTMLElement | false {
  if (!canManage()) return false;
  const open = state.requests.filter((r) => r.status === "pending");
  if (open.length === 0) return h("section", { id: "requests-section", hidden: true });
  const a = state.account;
  const tz = a?.time_zone ?? "UTC";
  const rows = open.map((r) =>
    h(
      "tr",
      { "data-request": r.purchase_request_id },
      h("th", { scope: "row" }, r.requested_by, h("span", { class: "sub" }, fmt.instant(r.requested_at, tz, state.lang))),
      h("td", {}, r.items.map((i) => `${fmt.count(i.quantity, state.lang)} × ${poolLabel(i.pool)}`).join(", ")),
      h("td", { class: "num request-total" }, r.total === null ? "–" : fmt.money(r.total, r.currency, state.lang)),
      h("td", {}, fmt.instant(r.expires_at, tz, state.lang)),
      actions(r),
    ),
  );
  return h(
    "section",
    { "aria-labelledby": "requests-h", id: "requests-section" },
    h("h2", { id: "requests-h" }, t().requestsTitle),
    h("p", { class: "hint" }, t().requestsIntro),
    h("table", { id: "requests-table" }, h("thead", {}, h("tr", {}, col(t().requestedBy), col(t().item), col(t().todaysTotal, true), col(t().expires), col(t().decision))), h("tbody", {}, ...rows)),
  );
}

// Purchase: quantities → quote → confirmation → approval, bought once per quote (R10).

import { ApiError, type PoolCounts, type Quote } from "./api";
import { col, h, type Child } from "./dom";
import * as fmt from "./format";
import { page } from "./hooks";
import { explain, state, t } from "./state";

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
      page.render();
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
    page.render();
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

export async function purchase(request?: PoolCounts, why?: string): Promise<void> {
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
    page.render();
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
    const answer = await state.api.approve(quote.quote_id, key);
    if ("purchase_request_id" in answer) {
      // R35: above the tenant's limit, nothing is bought until another manager approves.
      const tz = state.account?.time_zone ?? "UTC";
      state.notice = { kind: "warn", text: t().requestWaits(fmt.money(answer.requested_total, answer.currency, state.lang), fmt.instant(answer.expires_at, tz, state.lang)) };
      void page.refreshRequests();
    } else {
      state.account = answer.account;
      state.notice = { kind: "ok", text: t().bought_ok(fmt.money(answer.total, answer.currency, state.lang), answer.invoice_id) };
    }
    pending = null;
    state.buy = {};
    dialog.close();
    page.render();
    document.getElementById("notice")?.focus();
    void page.refreshHistory();
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

// Invoices and the action log (R19), newest first, 20 at a time with "Show more" (R31: each
// invoice opens its printable view).

import { type Account, type LogEntry } from "../api";
import { col, h, listSection } from "../dom";
import * as fmt from "../format";
import { state, t } from "../state";
import { invoiceLink } from "./invoice";

/** A "Show more" under a list, while the list goes on. */
function more(id: string, cursor: string | null, next: () => Promise<void>): HTMLElement | false {
  return cursor !== null && h("p", {}, h("button", { type: "button", id, onclick: () => void next() }, t().showMoreRows));
}

export function invoices(a: Account, next: () => Promise<void>): HTMLElement {
  const rows = state.invoices.map((i) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, h("a", { href: invoiceLink(i.invoice_id), "aria-label": t().openInvoice(i.invoice_id) }, i.invoice_id)),
      h("td", {}, fmt.instant(i.issued_at, a.time_zone, state.lang)),
      h("td", {}, t().kinds[i.kind] ?? i.kind),
      h("td", { class: "num" }, fmt.money(i.total, i.currency, state.lang)),
    ),
  );
  const section = listSection("invoices", t().invoices, t().noInvoices, [col(t().invoice), col(t().issued), col(t().kind), col(t().amount, true)], rows);
  const pager = more("invoices-more", state.invoicesCursor, next);
  if (pager) section.append(pager);
  return section;
}

function actor(entry: LogEntry): string {
  const who = entry.actor as { kind?: string; id?: string } | null;
  if (who?.kind === "operator") return t().operator;
  return who?.kind === "user" && who.id ? who.id : t().system;
}

export function actionLog(a: Account, next: () => Promise<void>): HTMLElement {
  const rows = state.log.map((e) => {
    // One user, or the users a sweep step handled (their names listed, their count given).
    const details = e.details as { user_id?: string; seats?: { user_id: string }[]; seats_count?: number; count?: number } | null;
    const seats = details?.seats ?? [];
    const many = details?.seats_count ?? details?.count;
    const subject =
      details?.user_id ?? (many === 1 && seats[0] ? seats[0].user_id : many ? t().usersCount(many) : undefined);
    const what = (t().actions[e.action] ?? e.action) + (subject ? ` (${subject})` : "");
    return h("tr", {}, h("td", {}, fmt.instant(e.at, a.time_zone, state.lang)), h("td", {}, actor(e)), h("td", {}, what));
  });
  const section = listSection("log", t().log, t().noLog, [col(t().when), col(t().who), col(t().what)], rows);
  const pager = more("log-more", state.logCursor, next);
  if (pager) section.append(pager);
  return section;
}

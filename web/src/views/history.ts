// Invoices and the action log (R19), newest first.

import { type Account, type LogEntry } from "../api";
import { col, h, listSection } from "../dom";
import * as fmt from "../format";
import { state, t } from "../state";

export function invoices(a: Account): HTMLElement {
  const rows = state.invoices.map((i) =>
    h("tr", {}, h("th", { scope: "row" }, i.invoice_id), h("td", {}, fmt.instant(i.issued_at, a.time_zone, state.lang)), h("td", {}, t().kinds[i.kind] ?? i.kind), h("td", { class: "num" }, fmt.money(i.total, i.currency, state.lang))),
  );
  return listSection("invoices", t().invoices, t().noInvoices, [col(t().invoice), col(t().issued), col(t().kind), col(t().amount, true)], rows);
}

function actor(entry: LogEntry): string {
  const who = entry.actor as { kind?: string; id?: string } | null;
  return who?.kind === "user" && who.id ? who.id : t().system;
}

export function actionLog(a: Account): HTMLElement {
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
  return listSection("log", t().log, t().noLog, [col(t().when), col(t().who), col(t().what)], rows);
}

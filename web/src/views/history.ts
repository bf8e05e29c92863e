// Invoices and the action log (R19), newest first, 20 at a time with "Show more" (R31: each
// invoice opens its printable view), and each whole as a CSV file (R36).

import { type Account, type LogEntry } from "../api";
import { col, h, listSection } from "../dom";
import * as fmt from "../format";
import { explain, state, t } from "../state";
import { invoiceLink } from "./invoice";

/** A "Show more" under a list, while the list goes on. */
function more(id: string, cursor: string | null, next: () => Promise<void>): HTMLElement | false {
  return cursor !== null && h("p", {}, h("button", { type: "button", id, onclick: () => void next() }, t().showMoreRows));
}

/**
 * A button that saves a whole export (R36) as a file. The file starts with a byte-order mark
 * so that spreadsheet programs read æ, ø and å (the API sends plain UTF-8).
 */
function download(what: "invoices" | "action-log", label: string): HTMLElement {
  const status = h("span", { role: "status", class: "csv-status" });
  const button: HTMLButtonElement = h(
    "button",
    {
      type: "button",
      id: `${what}-csv`,
      onclick: async () => {
        if (!state.api) return;
        button.disabled = true;
        status.textContent = t().preparingCsv;
        try {
          const text = await state.api.csv(`/v1/${what}.csv`);
          const url = URL.createObjectURL(new Blob(["\uFEFF", text], { type: "text/csv;charset=utf-8" }));
          const link = h("a", { href: url, download: `${what}-${state.account?.tenant_id ?? "export"}.csv` });
          document.body.append(link);
          link.click();
          link.remove();
          setTimeout(() => URL.revokeObjectURL(url), 0);
          status.textContent = "";
        } catch (error) {
          status.textContent = explain(error);
        } finally {
          button.disabled = false;
        }
      },
    },
    label,
  );
  return h("p", {}, button, " ", status);
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
  if (state.invoices.length > 0) section.append(download("invoices", t().invoicesCsv));
  return section;
}

function actor(entry: LogEntry): string {
  const who = entry.actor as { kind?: string; id?: string } | null;
  if (who?.kind === "operator") return t().operator;
  if (who?.kind === "directory" && who.id) return t().directoryActor(who.id);
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
  if (state.log.length > 0) section.append(download("action-log", t().logCsv));
  return section;
}

// One invoice, printable (R31): opened from the invoices list at `#invoice=<id>`, so it can be
// bookmarked and the browser's Back returns to the page. The print stylesheet leaves only
// the invoice on an A4 page.

import { type Invoice } from "../api";
import { col, h } from "../dom";
import * as fmt from "../format";
import { state, t } from "../state";

export function invoiceLink(id: string): string {
  return `#invoice=${encodeURIComponent(id)}`;
}

/** The invoice id in the address, if the page is showing one. */
export function invoiceInAddress(): string | null {
  const match = /^#invoice=(.+)$/.exec(location.hash);
  return match?.[1] ? decodeURIComponent(match[1]) : null;
}

export function invoiceView(i: Invoice): HTMLElement {
  const a = state.account;
  const tz = a?.time_zone ?? "UTC";
  const money = (n: number) => fmt.money(n, i.currency, state.lang);
  return h(
    "article",
    { id: "invoice", "aria-labelledby": "invoice-h" },
    h(
      "p",
      { class: "actions no-print" },
      h("a", { href: "#", id: "invoice-back" }, t().backToLicences),
      h("button", { type: "button", class: "primary", id: "invoice-print", onclick: () => window.print() }, t().print),
    ),
    h("h2", { id: "invoice-h", tabindex: -1 }, `${t().invoice} ${i.invoice_id}`),
    h(
      "dl",
      { class: "invoice-facts" },
      h("dt", {}, t().customer),
      h("dd", {}, a?.name ?? i.tenant_id),
      h("dt", {}, t().issued),
      h("dd", {}, fmt.instant(i.issued_at, tz, state.lang)),
      h("dt", {}, t().kind),
      h("dd", {}, t().kinds[i.kind] ?? i.kind),
      h("dt", {}, t().periodLabel),
      h("dd", {}, `${fmt.date(i.period.start, state.lang)} – ${fmt.date(fmt.dayBefore(i.period.end), state.lang)}`),
      h("dt", {}, t().currency),
      h("dd", {}, i.currency),
    ),
    h(
      "table",
      { id: "invoice-lines" },
      h("thead", {}, h("tr", {}, col(t().item), col(t().quantity, true), col(t().unitPrice, true), col(t().days, true), col(t().amount, true))),
      h(
        "tbody",
        {},
        ...i.lines.map((l) =>
          h(
            "tr",
            { "data-pool": l.pool },
            h("th", { scope: "row" }, l.pool === "licences" ? t().licences : l.name),
            h("td", { class: "num" }, fmt.count(l.quantity, state.lang)),
            h("td", { class: "num" }, money(l.unit_price)),
            h("td", { class: "num" }, `${l.days}/${l.days_in_period}`),
            h("td", { class: "num" }, money(l.amount)),
          ),
        ),
      ),
      h("tfoot", {}, h("tr", {}, h("th", { scope: "row", colspan: 4 }, t().invoiceTotal), h("td", { class: "num total", id: "invoice-total" }, money(i.total)))),
    ),
    h("p", { class: "hint" }, t().invoiceNote),
  );
}

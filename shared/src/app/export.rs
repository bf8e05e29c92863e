//! R36: the action log and the invoices as CSV files for auditors and accountants. RFC 4180
//! (CRLF, quoted where needed), UTF-8, a header row, oldest first, between two dates of the
//! tenant's zone. No byte-order mark: `lambda_http` decodes a `text/*` answer and drops one
//! (`encoding_rs`), so the page adds it to the file it saves, for spreadsheet programs. A
//! page holds at most 10 000 rows and 2.5 MB (a function's answer is at most 6 MB), so
//! memory stays bounded whatever the tenant's history; the cursor of the next page goes in a
//! `Link` header. A cell that a spreadsheet would run as a formula is neutralised.

use chrono::{DateTime, NaiveDate, Utc};

use crate::app::error::AppError;
use crate::app::{Caller, authorize};
use crate::domain::invoice::{Invoice, InvoiceKind};
use crate::domain::money::format_major;
use crate::domain::period::local_midnight;
use crate::domain::rights::Right;
use crate::ports::{
    AccountReads, Commits, Listings, LogEntry, Page, PageRequest, Span, StoreError,
};

/// Rows a page holds at most (R36).
pub const ROWS_PER_PAGE: usize = 10_000;

/// A page's text stays within this: Lambda's answer is at most 6 MB, and its JSON escapes
/// the quotes RFC 4180 doubled once more.
const BYTES_PER_PAGE: usize = 5 * 1024 * 1024 / 2;

/// What one log entry's row takes at most: details name at most 50 seats (R27), each a user
/// id and a name of at most 200 characters of up to 4 bytes, quotes doubled. A read asks for
/// no more rows than the bytes left can hold at this size, so a page never outgrows
/// `BYTES_PER_PAGE` whatever its rows hold.
const LOG_ROW_BOUND: usize = 64 * 1024;

/// Entries read from the store at a time, at most.
const STORE_PAGE: usize = 500;

/// Invoices read at a time, at most: each is a row per line, at most 51 (50 modules and
/// licences), each row under 1 KB.
const INVOICE_STORE_PAGE: usize = 100;
const MAX_INVOICE_LINES: usize = 51;
const INVOICE_BOUND: usize = 64 * 1024;

/// `from` and `to` as asked: dates of the tenant's zone, both included; either may be absent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ExportDates {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// One page of a CSV file: its text (header included) and where the next
/// page starts, if there is one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvPage {
    pub body: String,
    pub rows: usize,
    pub next_cursor: Option<String>,
}

/// A cell as written: neutralised if a spreadsheet would read it as a formula, quoted if it
/// holds a comma, a quote or a line break (RFC 4180).
pub fn cell(value: &str) -> String {
    let plain_number = {
        let digits = value.strip_prefix('-').unwrap_or(value);
        !digits.is_empty()
            && digits.split_once('.').map_or(
                digits.bytes().all(|b| b.is_ascii_digit()),
                |(whole, fraction)| {
                    !whole.is_empty()
                        && !fraction.is_empty()
                        && (whole.bytes().chain(fraction.bytes())).all(|b| b.is_ascii_digit())
                },
            )
    };
    // OWASP's advice: a leading quote makes the cell text. A negative number is not a
    // formula, and stays a number.
    let neutral = match value.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') if !plain_number => format!("'{value}"),
        _ => value.to_owned(),
    };
    if neutral.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", neutral.replace('"', "\"\""))
    } else {
        neutral
    }
}

fn push_row(out: &mut String, cells: &[&str]) {
    for (i, value) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&cell(value));
    }
    out.push_str("\r\n");
}

/// The instants the dates cover in the tenant's zone: from the first date's midnight to the
/// midnight after the last. `to` before `from` covers nothing (an empty file, as the contract
/// allows any two dates), and so does a date out of the years kept.
fn span_of(dates: ExportDates, zone: chrono_tz::Tz) -> Span {
    let earliest = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    let latest = NaiveDate::from_ymd_opt(9999, 12, 30).unwrap_or_default();
    let from = dates.from.unwrap_or(earliest).clamp(earliest, latest);
    let after = dates
        .to
        .and_then(|to| to.succ_opt())
        .unwrap_or(latest)
        .clamp(from, latest);
    // Never a range that ends before it starts: DynamoDB refuses one.
    Span {
        from: local_midnight(from, zone),
        until: local_midnight(after, zone),
    }
}

fn local(at: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    at.with_timezone(&zone)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// `GET /v1/action-log.csv`: who did what, when (R19), with the rights of the JSON log.
pub async fn export_action_log<S: AccountReads + Listings + Commits>(
    store: &S,
    caller: &Caller,
    dates: ExportDates,
    cursor: Option<String>,
    now: DateTime<Utc>,
) -> Result<CsvPage, AppError> {
    let auth = authorize(store, caller, Right::AccountView, now).await?;
    let zone = auth.loaded.account.subscription.time_zone;
    let span = span_of(dates, zone);
    let mut body = String::new();
    let zone_column = format!("at_{zone}");
    push_row(
        &mut body,
        &["entry_id", "at", &zone_column, "actor", "action", "details"],
    );
    let read =
        |page: PageRequest| async move { store.export_log(&caller.tenant, span, &page).await };
    fill(
        body,
        cursor,
        (STORE_PAGE, LOG_ROW_BOUND, 1),
        read,
        |body, entry| {
            push_log_row(body, entry, zone);
            1
        },
    )
    .await
}

/// Fills a page from `cursor` on: each read asks for at most `per_read` entries, and never more
/// than the rows left (at `rows_each` rows an entry at most) or the bytes left (at `bound`
/// each) can hold, so the page stays within both whatever the entries hold; `write` adds an
/// entry's rows and says how many. The page ends when the listing does or it is full.
async fn fill<T, R, Fut>(
    mut body: String,
    cursor: Option<String>,
    (per_read, bound, rows_each): (usize, usize, usize),
    read: R,
    write: impl Fn(&mut String, &T) -> usize,
) -> Result<CsvPage, AppError>
where
    R: Fn(PageRequest) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let (mut next, mut rows) = (cursor, 0);
    loop {
        let fits = BYTES_PER_PAGE.saturating_sub(body.len()) / bound;
        let limit = per_read.min((ROWS_PER_PAGE - rows) / rows_each).min(fits);
        if limit == 0 {
            break;
        }
        let got = read(PageRequest {
            cursor: next,
            limit: limit as u32,
        })
        .await?;
        for entry in &got.items {
            rows += write(&mut body, entry);
        }
        next = got.next_cursor;
        if next.is_none() {
            break;
        }
    }
    Ok(CsvPage {
        body,
        rows,
        next_cursor: next,
    })
}

fn push_log_row(body: &mut String, entry: &LogEntry, zone: chrono_tz::Tz) {
    push_row(
        body,
        &[
            &entry.entry_id,
            &crate::time::rfc3339(entry.at),
            &local(entry.at, zone),
            &entry.actor.label(),
            &entry.action,
            &entry.details.to_string(),
        ],
    );
}

/// `GET /v1/invoices.csv`: one row per invoice line, the invoice's total on each, amounts as
/// decimals in the invoice's currency, with the rights of the JSON invoices.
pub async fn export_invoices<S: AccountReads + Listings + Commits>(
    store: &S,
    caller: &Caller,
    dates: ExportDates,
    cursor: Option<String>,
    now: DateTime<Utc>,
) -> Result<CsvPage, AppError> {
    let auth = authorize(store, caller, Right::AccountView, now).await?;
    let zone = auth.loaded.account.subscription.time_zone;
    let span = span_of(dates, zone);
    let mut body = String::new();
    let zone_column = format!("issued_at_{zone}");
    push_row(
        &mut body,
        &[
            "invoice_id",
            "issued_at",
            &zone_column,
            "kind",
            "period_start",
            "period_end",
            "currency",
            "pool",
            "item",
            "quantity",
            "unit_price",
            "days",
            "days_in_period",
            "amount",
            "invoice_total",
        ],
    );
    let read =
        |page: PageRequest| async move { store.export_invoices(&caller.tenant, span, &page).await };
    let shape = (INVOICE_STORE_PAGE, INVOICE_BOUND, MAX_INVOICE_LINES);
    fill(body, cursor, shape, read, |body, invoice| {
        push_invoice_rows(body, invoice, zone)
    })
    .await
}

fn push_invoice_rows(body: &mut String, invoice: &Invoice, zone: chrono_tz::Tz) -> usize {
    let kind = match invoice.kind {
        InvoiceKind::Purchase => "purchase",
        InvoiceKind::Period => "period",
    };
    // Amounts are never negative (`Amount`): a decimal with a point, `154.80`.
    let money = |amount| format_major(amount, invoice.currency);
    let (issued, issued_local) = (
        crate::time::rfc3339(invoice.issued_at),
        local(invoice.issued_at, zone),
    );
    let (start, end) = (
        invoice.period.start.to_string(),
        invoice.period.end.to_string(),
    );
    let total = money(invoice.total);
    for line in &invoice.lines {
        push_row(
            body,
            &[
                &invoice.invoice_id,
                &issued,
                &issued_local,
                kind,
                &start,
                &end,
                invoice.currency.as_str(),
                line.pool.as_str(),
                &line.name,
                &line.quantity.to_string(),
                &money(line.unit_price),
                &line.days.to_string(),
                &line.days_in_period.to_string(),
                &money(line.amount),
                &total,
            ],
        );
    }
    invoice.lines.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_a_spreadsheet_would_run_is_neutralised_and_a_number_is_not() {
        assert_eq!(
            cell("=HYPERLINK(\"http://x\")"),
            "\"'=HYPERLINK(\"\"http://x\"\")\""
        );
        assert_eq!(cell("+1+2"), "'+1+2");
        assert_eq!(cell("-2+3"), "'-2+3");
        assert_eq!(cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(cell("\tx"), "'\tx");
        assert_eq!(cell("\rx"), "\"'\rx\"");
        assert_eq!(cell("-154.80"), "-154.80");
        assert_eq!(cell("-"), "'-");
        assert_eq!(cell("Ærø, \"Øst\""), "\"Ærø, \"\"Øst\"\"\"");
        assert_eq!(cell("plain"), "plain");
    }

    #[test]
    fn dates_cover_whole_days_of_the_tenants_zone() {
        let zone: chrono_tz::Tz = "Europe/Copenhagen".parse().unwrap();
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d);
        let span = span_of(
            ExportDates {
                from: day(2026, 11, 1),
                to: day(2026, 11, 30),
            },
            zone,
        );
        assert_eq!(
            span.from,
            "2026-10-31T23:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            span.until,
            "2026-11-30T23:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        let empty = [
            (day(2026, 12, 1), day(2026, 11, 1)),
            (day(9999, 12, 31), None),
            (None, day(1900, 1, 1)),
            (day(-2, 1, 1), day(-1, 1, 1)),
        ];
        for (from, to) in empty {
            let span = span_of(ExportDates { from, to }, zone);
            assert_eq!(span.from, span.until, "{from:?}..{to:?}: nothing");
        }
    }
}

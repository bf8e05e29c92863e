//! What must hold after the month, whatever the faults did: every invoice as the books say,
//! every message out once in effect and none left, no red seat without its record, no
//! tenant left behind.

use chrono::{DateTime, Duration, Utc};
use licensing::domain::identity::Language;
use licensing::domain::invoice::{Invoice, InvoiceKind};
use licensing::notify::mail::subject;
use licensing::notify::recorded::Recorder;
use licensing::outbox::MailKind;
use licensing::ports::{DueWork, OutboxStore, PageRequest, Store};
use std::collections::{BTreeMap, BTreeSet};

use super::Outcome;
use super::model::Billed;
use super::world::Tenant;

/// Runs every check, adding what it finds to `outcome.violations`.
pub async fn after_the_month<S: Store + OutboxStore>(
    store: &S,
    sender: &Recorder,
    tenants: &[Tenant],
    now: DateTime<Utc>,
    outcome: &mut Outcome,
) {
    let mut found = Vec::new();
    for tenant in tenants {
        outcome.invoices += invoices_as_booked(store, tenant, &mut found).await;
        accounts_whole(store, tenant, &mut found).await;
    }
    nothing_left(store, now, &mut found).await;
    messages_once(sender, tenants, outcome, &mut found);
    outcome.violations.extend(found);
}

fn billed(invoice: &Invoice) -> Billed {
    Billed {
        period_start: invoice.period.start,
        purchase: matches!(invoice.kind, InvoiceKind::Purchase),
        lines: invoice
            .lines
            .iter()
            .filter(|line| line.quantity > 0)
            .map(|line| (line.pool.to_string(), line.quantity, line.amount.minor()))
            .collect(),
        total: invoice.total.minor(),
    }
}

/// The tenant's invoices, read back page by page, equal its books; how many there are.
async fn invoices_as_booked<S: Store>(store: &S, tenant: &Tenant, found: &mut Vec<String>) -> u64 {
    let mut read = Vec::new();
    let mut page = PageRequest {
        cursor: None,
        limit: 100,
    };
    loop {
        match store.list_invoices(&tenant.id, &page).await {
            Ok(got) => {
                read.extend(got.items.iter().map(billed));
                match got.next_cursor {
                    Some(cursor) => page.cursor = Some(cursor),
                    None => break,
                }
            }
            Err(e) => {
                found.push(format!("{}: invoices not read: {e}", tenant.id));
                break;
            }
        }
    }
    read.sort();
    let mut booked = tenant.books.billed.clone();
    booked.sort();
    if read != booked {
        let first = read
            .iter()
            .zip(&booked)
            .find(|(a, b)| a != b)
            .map(|(a, b)| format!("stored {a:?}, booked {b:?}"))
            .unwrap_or_default();
        found.push(format!(
            "{}: {} invoices stored, {} booked; first difference: {first}",
            tenant.id,
            read.len(),
            booked.len()
        ));
    }
    read.len() as u64
}

/// The tenant is in the period its books are in, holds what they say, and has a record for
/// every seat over its licences (R3, R4).
async fn accounts_whole<S: Store>(store: &S, tenant: &Tenant, found: &mut Vec<String>) {
    let loaded = match store.load_account(&tenant.id).await {
        Ok(Some(loaded)) => loaded,
        Ok(None) => return found.push(format!("{}: gone", tenant.id)),
        Err(e) => return found.push(format!("{}: not read: {e}", tenant.id)),
    };
    let subscription = &loaded.account.subscription;
    if subscription.period.start != tenant.books.period_start {
        found.push(format!(
            "{}: stuck in the period of {}, the books are in that of {}",
            tenant.id, subscription.period.start, tenant.books.period_start
        ));
    }
    for pool in &subscription.pools {
        let over = pool.in_use.saturating_sub(pool.purchased) as usize;
        let records = loaded.account.reds(&pool.id).len();
        if over != records {
            found.push(format!(
                "{} {}: {over} seats over the licences, {records} red records",
                tenant.id, pool.id
            ));
        }
    }
}

/// No rollover still due, no outbox batch waiting, nothing dead after the operator's redrive.
async fn nothing_left<S: Store + OutboxStore>(
    store: &S,
    now: DateTime<Utc>,
    found: &mut Vec<String>,
) {
    match store.due_work(now).await {
        Ok(work) => {
            for item in work {
                // The subscription's own due work is more than its rollover (the renewal
                // reminder, the day's usage reading): only a rollover left behind is a fault.
                if let DueWork::Rollover { tenant, indexed } = item
                    && indexed.rollover_due().is_some_and(|due| due <= now)
                {
                    found.push(format!("{tenant}: a rollover is still due"));
                }
            }
        }
        Err(e) => found.push(format!("the due index not read: {e}")),
    }
    match store.due_outbox(now + Duration::days(30), 1000).await {
        Ok(waiting) if waiting.is_empty() => {}
        Ok(waiting) => {
            let mut what = format!(
                "{} outbox batches still wait after four calm days:",
                waiting.len()
            );
            // What they are, for whoever reads the violation: enough to tell a capped,
            // leased, uncommitted or retried batch apart.
            for batch in waiting.iter().take(3) {
                let messages: Vec<String> = batch
                    .messages
                    .iter()
                    .take(3)
                    .map(|m| {
                        format!(
                            "{} created {} attempts {} next {} dead {} error {:?}",
                            m.message_id,
                            m.created_at,
                            m.attempts,
                            m.next_attempt_at,
                            m.dead,
                            m.last_error
                        )
                    })
                    .collect();
                what.push_str(&format!(
                    "\n    {} batch {} attempts {} commit {:?}, {} messages: {messages:?}",
                    batch.tenant_id,
                    batch.id,
                    batch.attempts,
                    batch.commit,
                    batch.messages.len()
                ));
            }
            found.push(what);
        }
        Err(e) => found.push(format!("the outbox not read: {e}")),
    }
    match store.redrive_dead(None, now).await {
        Ok(0) => {}
        Ok(n) => found.push(format!(
            "{n} messages dead after the operator's one redrive"
        )),
        Err(e) => found.push(format!("the dead letters not read: {e}")),
    }
}

/// Each message id counted once (receivers deduplicate by it); the events and mails the
/// books call for, each there.
fn messages_once(
    sender: &Recorder,
    tenants: &[Tenant],
    outcome: &mut Outcome,
    found: &mut Vec<String>,
) {
    let mails = sender.mails();
    let events = sender.events();
    let mut by_type: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for event in &events {
        by_type
            .entry(event.detail_type.as_str())
            .or_default()
            .insert(event.message_id.as_str());
    }
    let distinct_mails: BTreeSet<&str> = mails.iter().map(|m| m.message_id.as_str()).collect();
    let distinct_events: usize = by_type.values().map(BTreeSet::len).sum();
    outcome.mails = distinct_mails.len() as u64;
    outcome.events = distinct_events as u64;
    outcome.resent = (mails.len() - distinct_mails.len() + events.len() - distinct_events) as u64;
    let purchases: u64 = tenants.iter().map(|t| t.books.purchases).sum();
    let rollovers: u64 = tenants.iter().map(|t| t.books.rollovers).sum();
    let invoices = outcome.invoices;
    for (detail_type, want) in [
        ("LicencesPurchased", purchases),
        ("PeriodRolledOver", rollovers),
        ("InvoiceIssued", invoices),
    ] {
        let got = by_type.get(detail_type).map_or(0, BTreeSet::len) as u64;
        if got != want {
            found.push(format!(
                "{got} {detail_type} events for {want} in the books"
            ));
        }
    }
    let confirmation: BTreeSet<&str> = [Language::Da, Language::En]
        .into_iter()
        .flat_map(|l| [false, true].map(|many| subject(MailKind::PurchaseConfirmation, l, many)))
        .collect();
    let confirmed: BTreeSet<&str> = mails
        .iter()
        .filter(|m| confirmation.contains(m.subject.as_str()))
        .map(|m| m.message_id.as_str())
        .collect();
    if confirmed.len() as u64 != purchases {
        found.push(format!(
            "{} purchase confirmations mailed for {purchases} purchases",
            confirmed.len()
        ));
    }
}

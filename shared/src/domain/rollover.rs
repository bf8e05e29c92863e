//! R14: at the end of a period the next one starts with the next-period counts.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use super::account::{Account, SeatInfo};
use super::error::DomainError;
use super::events::{DomainEvent, PoolCount};
use super::invoice::{Invoice, InvoiceKind, InvoiceLine, period_invoice_id};
use super::money::Amount;
use super::pool::PoolId;

/// Per pool, how many of its newest seats a rollover at `at` needs to see: those that would be
/// red after it. Empty when nothing is due or no pool shrinks.
pub fn seats_needed(account: &Account, at: DateTime<Utc>) -> BTreeMap<PoolId, u32> {
    let sub = &account.subscription;
    if sub.rollover_due().is_none_or(|due| due > at) {
        return BTreeMap::new();
    }
    sub.pools
        .iter()
        .filter(|p| p.next_period < p.purchased && p.in_use > p.next_period)
        .map(|p| (p.id.clone(), p.in_use - p.next_period))
        .collect()
}

/// Rolls the subscription forward over every period that has ended by `at`, one period at a
/// time (a missed sweep catches up). Each rollover happens at its period's end instant, so a
/// late or replayed sweep decides exactly what a punctual one would have (R15). `newest` holds
/// the seats asked for by [`seats_needed`], newest first.
pub fn roll_over(
    account: &mut Account,
    at: DateTime<Utc>,
    newest: &BTreeMap<PoolId, Vec<SeatInfo>>,
) -> Result<(Vec<Invoice>, Vec<DomainEvent>), DomainError> {
    let mut invoices = Vec::new();
    let mut events = Vec::new();
    while let Some(due) = account.subscription.rollover_due().filter(|due| *due <= at) {
        let from = account.subscription.period;
        let to = from.next()?;
        let first_event = events.len();
        let mut counts = Vec::new();
        let ids: Vec<PoolId> = account
            .subscription
            .pools
            .iter()
            .map(|p| p.id.clone())
            .collect();
        for id in &ids {
            let Some(pool) = account.subscription.pool_mut(id) else {
                continue;
            };
            counts.push(PoolCount {
                pool: id.clone(),
                from: pool.purchased,
                to: pool.next_period,
            });
            pool.purchased = pool.next_period;
            let seats = newest.get(id).map_or(&[][..], Vec::as_slice);
            account.flag_newest(id, seats, due, &mut events);
        }
        account.subscription.period = to;
        let days = to.days_in_period();
        let lines = account
            .subscription
            .pools
            .iter()
            .map(|p| {
                Ok(InvoiceLine {
                    pool: p.id.clone(),
                    name: p.name.clone(),
                    quantity: p.purchased,
                    unit_price: p.unit_price,
                    days,
                    days_in_period: days,
                    amount: p.unit_price.times(p.purchased)?,
                })
            })
            .collect::<Result<Vec<_>, DomainError>>()?;
        let invoice = Invoice {
            invoice_id: period_invoice_id(&account.subscription.tenant_id, &to),
            tenant_id: account.subscription.tenant_id.clone(),
            kind: InvoiceKind::Period,
            issued_at: due,
            period: to,
            currency: account.subscription.currency,
            total: Amount::sum(lines.iter().map(|l| l.amount))?,
            lines,
        };
        events.insert(
            first_event,
            DomainEvent::PeriodRolledOver {
                from,
                to,
                pools: counts,
                at: due,
            },
        );
        events.push(DomainEvent::InvoiceIssued {
            invoice: invoice.clone(),
        });
        invoices.push(invoice);
    }
    Ok((invoices, events))
}

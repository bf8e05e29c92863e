//! R8/R9: approving a quote buys the licences at once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::account::Account;
use super::error::DomainError;
use super::events::{DomainEvent, PoolCount};
use super::identity::{QuoteId, UserId};
use super::invoice::{Invoice, InvoiceKind, InvoiceLine};
use super::pool::MAX_POOL_SIZE;
use super::quote::{Quote, check_quote};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Purchase {
    pub purchase_id: String,
    pub quote_id: QuoteId,
    pub invoice: Invoice,
    pub approved_by: UserId,
    pub approved_at: DateTime<Utc>,
}

/// Carries out an approved quote: `purchased += quantity`, the oldest red seats are licensed,
/// `next_period := purchased` (also after a downscale), and a prorated invoice is issued.
pub fn approve(
    account: &mut Account,
    quote: &Quote,
    approver: &UserId,
    now: DateTime<Utc>,
    purchase_id: String,
) -> Result<(Purchase, Vec<DomainEvent>), DomainError> {
    check_quote(&account.subscription, quote, now)?;
    let at = account.subscription.tick(now);
    let mut events = Vec::new();
    let mut counts = Vec::with_capacity(quote.lines.len());
    for line in &quote.lines {
        let pool = account
            .subscription
            .pool_mut(&line.pool)
            .ok_or_else(|| DomainError::UnknownPool(line.pool.to_string()))?;
        let before = pool.purchased;
        let after = before
            .checked_add(line.quantity.get())
            .filter(|n| *n <= MAX_POOL_SIZE)
            // A refusal of the state, not of the request's shape (which is in range): 422.
            .ok_or(DomainError::PoolFull { max: MAX_POOL_SIZE })?;
        pool.purchased = after;
        pool.next_period = after;
        counts.push(PoolCount {
            pool: line.pool.clone(),
            from: before,
            to: after,
        });
        account.license_oldest(&line.pool, line.quantity.get(), &mut events);
    }
    let invoice = Invoice {
        invoice_id: format!("inv-{purchase_id}"),
        tenant_id: account.subscription.tenant_id.clone(),
        kind: InvoiceKind::Purchase,
        issued_at: at,
        period: quote.period,
        currency: quote.currency,
        lines: quote
            .lines
            .iter()
            .map(|l| InvoiceLine {
                pool: l.pool.clone(),
                name: l.name.clone(),
                quantity: l.quantity.get(),
                unit_price: l.unit_price,
                days: l.days_remaining,
                days_in_period: l.days_in_period,
                amount: l.amount,
            })
            .collect(),
        total: quote.total,
    };
    events.insert(
        0,
        DomainEvent::LicencesPurchased {
            purchase_id: purchase_id.clone(),
            quote_id: quote.quote_id.clone(),
            invoice_id: invoice.invoice_id.clone(),
            pools: counts,
            total: quote.total,
            approved_by: approver.clone(),
        },
    );
    events.insert(
        1,
        DomainEvent::InvoiceIssued {
            invoice: invoice.clone(),
        },
    );
    Ok((
        Purchase {
            purchase_id,
            quote_id: quote.quote_id.clone(),
            invoice,
            approved_by: approver.clone(),
            approved_at: at,
        },
        events,
    ))
}

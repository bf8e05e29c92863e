//! R6: a quote states the extra cost of a purchase before it is approved.

use chrono::{DateTime, Days, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::account::Subscription;
use super::error::DomainError;
use super::identity::{QuoteId, TenantId};
use super::money::{Amount, Currency};
use super::period::{Period, local_date, local_midnight};
use super::pool::PoolId;
use super::proration::prorate;

/// Licences bought in one line of one purchase: 1…10 000 (R6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct Quantity(u32);

impl Quantity {
    pub const MAX: u32 = 10_000;

    pub fn new(value: u32) -> Result<Self, DomainError> {
        if (1..=Self::MAX).contains(&value) {
            Ok(Self(value))
        } else {
            Err(DomainError::QuantityOutOfRange)
        }
    }

    pub fn get(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for Quantity {
    type Error = DomainError;
    fn try_from(value: u32) -> Result<Self, Self::Error> {
        Self::new(value)
    }
}

impl From<Quantity> for u32 {
    fn from(value: Quantity) -> Self {
        value.0
    }
}

/// How long a quote can be approved (R6).
pub fn quote_validity() -> Duration {
    Duration::minutes(30)
}

/// What to buy, per pool. Parsed from `{"licences": 3, "modules": {"crm": 2}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteRequest {
    pub items: BTreeMap<PoolId, Quantity>,
}

impl QuoteRequest {
    pub fn parse(
        licences: Option<u32>,
        modules: &BTreeMap<String, u32>,
    ) -> Result<Self, DomainError> {
        let mut items = BTreeMap::new();
        if let Some(q) = licences {
            items.insert(PoolId::licences(), Quantity::new(q)?);
        }
        for (module, q) in modules {
            let id = PoolId::parse(module)?;
            if id.is_licences() {
                return Err(DomainError::UnknownModule(module.clone()));
            }
            items.insert(id, Quantity::new(*q)?);
        }
        if items.is_empty() {
            return Err(DomainError::EmptyPurchase);
        }
        Ok(Self { items })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuoteLine {
    pub pool: PoolId,
    pub name: String,
    pub quantity: Quantity,
    pub unit_price: Amount,
    pub days_remaining: u32,
    pub days_in_period: u32,
    pub amount: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Quote {
    pub quote_id: QuoteId,
    pub tenant_id: TenantId,
    pub period: Period,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub currency: Currency,
    pub lines: Vec<QuoteLine>,
    pub total: Amount,
    /// What the next period will cost after this purchase (R9 resets next period to purchased).
    pub next_period_total: Amount,
}

/// Prices a purchase at `now`. The quote expires after 30 minutes, and in any case at the
/// tenant's next local midnight: R7 charges by the day of approval, so a quote can only be
/// approved on the day it was priced for, and the amount approved is the amount invoiced.
pub fn prepare_quote(
    subscription: &Subscription,
    request: &QuoteRequest,
    now: DateTime<Utc>,
    quote_id: QuoteId,
) -> Result<Quote, DomainError> {
    subscription.ensure_active()?;
    let tz = subscription.time_zone;
    let period = subscription.period;
    let today = local_date(now, tz);
    let days_remaining = period
        .days_remaining(today)
        .ok_or(DomainError::QuoteOtherPeriod)?;
    let days_in_period = period.days_in_period();
    let mut lines = Vec::with_capacity(request.items.len());
    for (pool_id, quantity) in &request.items {
        let pool = subscription.pool(pool_id).ok_or_else(|| unknown(pool_id))?;
        lines.push(QuoteLine {
            pool: pool_id.clone(),
            name: pool.name.clone(),
            quantity: *quantity,
            unit_price: pool.unit_price,
            days_remaining,
            days_in_period,
            amount: prorate(
                pool.unit_price,
                quantity.get(),
                days_remaining,
                days_in_period,
            )?,
        });
    }
    let total = Amount::sum(lines.iter().map(|l| l.amount))?;
    let next_period_total = Amount::sum(
        subscription
            .pools
            .iter()
            .map(|p| {
                let next = match request.items.get(&p.id) {
                    Some(q) => p.purchased.saturating_add(q.get()),
                    None => p.next_period,
                };
                p.unit_price.times(next)
            })
            .collect::<Result<Vec<_>, _>>()?,
    )?;
    let end_of_day = today
        .checked_add_days(Days::new(1))
        .map_or(now, |d| local_midnight(d, tz));
    Ok(Quote {
        quote_id,
        tenant_id: subscription.tenant_id.clone(),
        period,
        created_at: now,
        expires_at: (now + quote_validity()).min(end_of_day),
        currency: subscription.currency,
        lines,
        total,
        next_period_total,
    })
}

fn unknown(pool: &PoolId) -> DomainError {
    if pool.is_licences() {
        DomainError::UnknownPool(pool.to_string())
    } else {
        DomainError::UnknownModule(pool.to_string())
    }
}

/// R6: a quote can be approved until it expires and only within the period it was made for.
pub fn check_quote(
    subscription: &Subscription,
    quote: &Quote,
    now: DateTime<Utc>,
) -> Result<(), DomainError> {
    subscription.ensure_active()?;
    if quote.period != subscription.period {
        return Err(DomainError::QuoteOtherPeriod);
    }
    if now >= quote.expires_at {
        return Err(DomainError::QuoteExpired);
    }
    for line in &quote.lines {
        let pool = subscription
            .pool(&line.pool)
            .ok_or_else(|| unknown(&line.pool))?;
        if pool.unit_price != line.unit_price {
            return Err(DomainError::QuoteStale);
        }
    }
    Ok(())
}

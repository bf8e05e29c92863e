//! R18: operators create tenants and terminate subscriptions.

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Tz;
use std::collections::BTreeSet;

use super::account::{Account, Subscription};
use super::error::DomainError;
use super::events::DomainEvent;
use super::identity::{DisplayName, TenantId};
use super::money::{Amount, Currency};
use super::period::{Period, PeriodLength};
use super::pool::{MAX_POOL_SIZE, MAX_POOLS, Pool, PoolId};
use super::rights::{Roles, administrator};
use super::user::{NewUser, User, create_user};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPool {
    pub pool: PoolId,
    pub name: String,
    pub unit_price: Amount,
    pub purchased: u32,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTenant {
    pub tenant_id: TenantId,
    pub name: DisplayName,
    pub currency: Currency,
    pub time_zone: Tz,
    pub period_length: PeriodLength,
    pub period_start: NaiveDate,
    pub pools: Vec<NewPool>,
    /// The first user; always active, always `administrator` (R17).
    pub administrator: NewUser,
}

pub fn create_tenant(
    new: NewTenant,
    now: DateTime<Utc>,
) -> Result<(Account, User, Vec<DomainEvent>), DomainError> {
    if new.pools.len() > MAX_POOLS {
        return Err(DomainError::invalid(
            "pools",
            format!("at most {MAX_POOLS} pools"),
        ));
    }
    let mut seen = BTreeSet::new();
    let mut pools = Vec::new();
    for p in &new.pools {
        if !seen.insert(p.pool.clone()) {
            return Err(DomainError::invalid(
                "pools",
                format!("{} appears twice", p.pool),
            ));
        }
        if p.purchased > MAX_POOL_SIZE {
            return Err(DomainError::QuantityOutOfRange);
        }
        if p.pool.is_licences() && p.purchased == 0 {
            return Err(DomainError::NextPeriodBelowOne);
        }
        pools.push(Pool {
            id: p.pool.clone(),
            name: p.name.clone(),
            unit_price: p.unit_price,
            purchased: p.purchased,
            next_period: p.purchased,
            in_use: 0,
            licensed_adds: 0,
        });
    }
    // Every period invoice must be payable in range: refused now rather than at the first
    // rollover, which could never succeed.
    Amount::sum(
        pools
            .iter()
            .map(|p| p.unit_price.times(p.purchased))
            .collect::<Result<Vec<_>, _>>()?,
    )?;
    if !seen.contains(&PoolId::licences()) {
        return Err(DomainError::invalid(
            "pools",
            "must include the pool `licences`",
        ));
    }
    // The core licences come first wherever the operator listed them.
    pools.sort_by_key(|p| !p.id.is_licences());
    let subscription = Subscription {
        tenant_id: new.tenant_id,
        name: new.name,
        currency: new.currency,
        time_zone: new.time_zone,
        period: Period::first(new.period_start, new.period_length)?,
        pools,
        roles: Roles::default(),
        created_at: now,
        terminated_at: None,
        version: 0,
        clock: now - chrono::Duration::microseconds(1),
        active_by_role: Default::default(),
        users: 0,
        renewal_reminder_days: super::account::DEFAULT_RENEWAL_REMINDER_DAYS,
        renewal_reminded: None,
        usage_through: None,
        usage_since: None,
        approval_threshold: None,
        pending_requests: Vec::new(),
        suppressed_addresses: 0,
    };
    // R22: a subscription starts in a period still running, never in one already over.
    if subscription.period.end_instant(subscription.time_zone) <= now {
        return Err(DomainError::PeriodEnded);
    }
    let mut account = Account::new(subscription);
    let admin = NewUser {
        role: administrator(),
        active: true,
        ..new.administrator
    };
    let (user, events) = create_user(&mut account, admin, now)?;
    Ok((account, user, events))
}

/// R18: a terminated subscription keeps its records and refuses every change.
pub fn terminate(account: &mut Account, now: DateTime<Utc>) -> Result<(), DomainError> {
    account.subscription.ensure_active()?;
    let at = account.subscription.tick(now);
    account.subscription.terminated_at = Some(at);
    Ok(())
}

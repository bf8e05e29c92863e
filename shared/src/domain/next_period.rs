//! R11/R12: the licences the next period starts with ("downscale").

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::account::{Account, SeatInfo, Subscription};
use super::error::DomainError;
use super::events::{DomainEvent, PoolCount};
use super::identity::UserId;
use super::pool::PoolId;

/// New next-period counts, per pool. Parsed from `{"licences": 8, "modules": {"crm": 1}}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextPeriodRequest {
    pub items: BTreeMap<PoolId, u32>,
}

impl NextPeriodRequest {
    pub fn parse(
        licences: Option<u32>,
        modules: &BTreeMap<String, u32>,
    ) -> Result<Self, DomainError> {
        let mut items = BTreeMap::new();
        if let Some(n) = licences {
            items.insert(PoolId::licences(), n);
        }
        for (module, n) in modules {
            let id = PoolId::parse(module)?;
            if id.is_licences() {
                return Err(DomainError::UnknownModule(module.clone()));
            }
            items.insert(id, *n);
        }
        if items.is_empty() {
            return Err(DomainError::invalid("body", "name at least one pool"));
        }
        Ok(Self { items })
    }
}

/// A checked request, and how many of each pool's newest seats the answer must list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NextPeriodPlan {
    pub changes: Vec<PoolCount>,
    /// Per pool: seats in use beyond the new count (they would be red after the period change).
    pub seats_over: BTreeMap<PoolId, u32>,
}

/// R11: `1 ≤ n ≤ purchased` for the core licences (0 means terminating: contact support);
/// `0 ≤ n ≤ purchased` for a module (0 drops it from the next period).
pub fn plan(
    subscription: &Subscription,
    request: &NextPeriodRequest,
) -> Result<NextPeriodPlan, DomainError> {
    subscription.ensure_active()?;
    let mut changes = Vec::new();
    let mut seats_over = BTreeMap::new();
    for (pool_id, n) in &request.items {
        let pool = subscription.pool(pool_id).ok_or_else(|| {
            if pool_id.is_licences() {
                DomainError::UnknownPool(pool_id.to_string())
            } else {
                DomainError::UnknownModule(pool_id.to_string())
            }
        })?;
        if pool_id.is_licences() && *n == 0 {
            return Err(DomainError::NextPeriodBelowOne);
        }
        if *n > pool.purchased {
            return Err(DomainError::NextPeriodAbovePurchased {
                pool: pool_id.to_string(),
                purchased: pool.purchased,
            });
        }
        changes.push(PoolCount {
            pool: pool_id.clone(),
            from: pool.next_period,
            to: *n,
        });
        let over = pool.in_use.saturating_sub(*n);
        if over > 0 {
            seats_over.insert(pool_id.clone(), over);
        }
    }
    Ok(NextPeriodPlan {
        changes,
        seats_over,
    })
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatToRemove {
    pub pool: PoolId,
    pub user_id: UserId,
    pub name: String,
}

/// Applies a plan. `newest` holds, per pool in `plan.seats_over`, at least that many of the
/// pool's seats, newest first. Returns the events and the seats that would become red at the
/// period change, in R3 order per pool (R12). The current period is unchanged.
pub fn apply(
    account: &mut Account,
    plan: &NextPeriodPlan,
    newest: &BTreeMap<PoolId, Vec<SeatInfo>>,
) -> Result<(Vec<DomainEvent>, Vec<SeatToRemove>), DomainError> {
    let mut seats_to_remove = Vec::new();
    for change in &plan.changes {
        if let Some(pool) = account.subscription.pool_mut(&change.pool) {
            pool.next_period = change.to;
        }
        if let Some(over) = plan.seats_over.get(&change.pool) {
            let seats = newest.get(&change.pool).map_or(&[][..], Vec::as_slice);
            let mut listed: Vec<SeatToRemove> = seats
                .iter()
                .take(*over as usize)
                .map(|s| SeatToRemove {
                    pool: change.pool.clone(),
                    user_id: s.seat.user_id.clone(),
                    name: s.name.clone(),
                })
                .collect();
            listed.reverse();
            seats_to_remove.extend(listed);
        }
    }
    let events = vec![DomainEvent::NextPeriodChanged {
        pools: plan.changes.clone(),
        effective_from: account.subscription.period.end,
    }];
    Ok((events, seats_to_remove))
}

//! R11/R12: the licences the next period starts with ("downscale").

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::account::{Account, SeatInfo, Subscription};
use super::allocation::SeatKey;
use super::error::DomainError;
use super::events::{DomainEvent, PoolCount};
use super::identity::UserId;
use super::money::Amount;
use super::pool::{Pool, PoolId};

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
    /// Per pool: seats that hold a licence now and lose it at the period change.
    pub seats_over: BTreeMap<PoolId, u32>,
    /// Per pool: the seats already red. They are the pool's newest (R3) and are skipped when
    /// the seats that lose their licence are listed: each is either removed before the change
    /// (its deadline comes first) or stays red through it with its own deadline (R14), so the
    /// change takes no licence from them.
    pub already_red: BTreeMap<PoolId, BTreeSet<SeatKey>>,
}

/// How many of a pool's seats lose their licence at the period change if the next period has
/// `next` licences and nothing else changes (R28): the seats licensed now beyond `next`. A
/// red seat is not counted: it has no licence to lose, whether the sweep removes it before
/// the change or it stays red through it.
pub fn over_at_change(pool: &Pool, next: u32) -> u32 {
    pool.licensed().saturating_sub(next)
}

/// R11: `1 ≤ n ≤ purchased` for the core licences (0 means terminating: contact support);
/// `0 ≤ n ≤ purchased` for a module (0 drops it from the next period).
pub fn plan(account: &Account, request: &NextPeriodRequest) -> Result<NextPeriodPlan, DomainError> {
    let subscription = &account.subscription;
    subscription.ensure_active()?;
    let mut changes = Vec::new();
    let mut seats_over = BTreeMap::new();
    let mut already_red = BTreeMap::new();
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
        let over = over_at_change(pool, *n);
        if over > 0 {
            seats_over.insert(pool_id.clone(), over);
            let reds: BTreeSet<SeatKey> = account
                .reds(pool_id)
                .iter()
                .map(|r| r.seat.clone())
                .collect();
            if !reds.is_empty() {
                already_red.insert(pool_id.clone(), reds);
            }
        }
    }
    Ok(NextPeriodPlan {
        changes,
        seats_over,
        already_red,
    })
}

/// What a period costs at this period's counts and at the next period's with a request
/// applied (R28: the preview's total and saving). Minor units; no proration, since both are
/// whole periods.
pub fn totals(
    subscription: &Subscription,
    request: &NextPeriodRequest,
) -> Result<(Amount, Amount), DomainError> {
    let current = Amount::sum(
        subscription
            .pools
            .iter()
            .map(|p| p.unit_price.times(p.purchased))
            .collect::<Result<Vec<_>, _>>()?,
    )?;
    let next = Amount::sum(
        subscription
            .pools
            .iter()
            .map(|p| {
                p.unit_price
                    .times(request.items.get(&p.id).copied().unwrap_or(p.next_period))
            })
            .collect::<Result<Vec<_>, _>>()?,
    )?;
    Ok((current, next))
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatToRemove {
    pub pool: PoolId,
    pub user_id: UserId,
    pub name: String,
}

/// The seats a plan will leave without a licence at the period change, in R3 order per pool.
/// `newest` holds, per pool in `plan.seats_over`, at least that many plus its `already_red`
/// of the pool's seats, newest first.
pub fn seats_over(
    plan: &NextPeriodPlan,
    newest: &BTreeMap<PoolId, Vec<SeatInfo>>,
) -> Vec<SeatToRemove> {
    let mut seats_to_remove = Vec::new();
    let none = BTreeSet::new();
    for change in &plan.changes {
        if let Some(over) = plan.seats_over.get(&change.pool) {
            let red = plan.already_red.get(&change.pool).unwrap_or(&none);
            let seats = newest.get(&change.pool).map_or(&[][..], Vec::as_slice);
            let mut listed: Vec<SeatToRemove> = seats
                .iter()
                .filter(|s| !red.contains(&s.seat))
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
    seats_to_remove
}

/// Applies a plan. `newest` holds, per pool in `plan.seats_over`, at least that many plus its
/// `already_red` of the pool's seats, newest first. Returns the events and the seats that would become red at the
/// period change, in R3 order per pool (R12). The current period is unchanged.
pub fn apply(
    account: &mut Account,
    plan: &NextPeriodPlan,
    newest: &BTreeMap<PoolId, Vec<SeatInfo>>,
) -> Result<(Vec<DomainEvent>, Vec<SeatToRemove>), DomainError> {
    let seats_to_remove = seats_over(plan, newest);
    for change in &plan.changes {
        if let Some(pool) = account.subscription.pool_mut(&change.pool) {
            pool.next_period = change.to;
        }
    }
    let events = vec![DomainEvent::NextPeriodChanged {
        pools: plan.changes.clone(),
        effective_from: account.subscription.period.end,
    }];
    Ok((events, seats_to_remove))
}

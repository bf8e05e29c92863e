//! The tenant's subscription and its over-allocated seats: the state every command reads,
//! changes and writes back under one version (optimistic locking).
//!
//! The red seats are kept incrementally. Because R3 orders seats by activation and the tenant
//! clock (`tick`) is strictly increasing, a newly activated seat is always the newest one, and
//! the red seats of a pool are always its newest `in_use − purchased` seats. So no command but
//! a rollover needs to see the licensed seats, and status never reads them.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::allocation::{Flag, RedSeat, SeatKey};
use super::error::DomainError;
use super::events::DomainEvent;
use super::identity::RoleName;
use super::identity::{DisplayName, TenantId};
use super::money::Currency;
use super::period::Period;
use super::pool::{Pool, PoolId};
use super::rights::{Right, Roles};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub tenant_id: TenantId,
    pub name: DisplayName,
    pub currency: Currency,
    pub time_zone: Tz,
    pub period: Period,
    /// The core licences first, then the modules in the order they were added.
    pub pools: Vec<Pool>,
    pub roles: Roles,
    pub created_at: DateTime<Utc>,
    pub terminated_at: Option<DateTime<Utc>>,
    /// Incremented by every committed change; the store's optimistic lock.
    pub version: u64,
    /// The instant of the last change. The tenant's clock never goes back, so R3's order is
    /// the order changes were committed in, whatever the callers' clocks say.
    pub clock: DateTime<Utc>,
    /// Active users per role, kept by every activation, deactivation and role change, so that
    /// R23 ("always one active administrator") is checked without reading the users.
    #[serde(default)]
    pub active_by_role: BTreeMap<RoleName, u32>,
    /// Users ever created in the tenant (users are deactivated, never deleted), so that R24's
    /// limit is checked without reading them.
    #[serde(default)]
    pub users: u32,
}

impl Subscription {
    pub fn pool(&self, id: &PoolId) -> Option<&Pool> {
        self.pools.iter().find(|p| &p.id == id)
    }

    pub fn pool_mut(&mut self, id: &PoolId) -> Option<&mut Pool> {
        self.pools.iter_mut().find(|p| &p.id == id)
    }

    pub fn licences(&self) -> Option<&Pool> {
        self.pools.iter().find(|p| p.id.is_licences())
    }

    pub fn modules(&self) -> impl Iterator<Item = &Pool> {
        self.pools.iter().filter(|p| !p.id.is_licences())
    }

    pub fn is_terminated(&self) -> bool {
        self.terminated_at.is_some()
    }

    /// R18: a terminated subscription refuses every change.
    pub fn ensure_active(&self) -> Result<(), DomainError> {
        if self.is_terminated() {
            Err(DomainError::SubscriptionTerminated)
        } else {
            Ok(())
        }
    }

    /// The instant a change made at `now` is recorded at: never before the previous change.
    pub fn tick(&mut self, now: DateTime<Utc>) -> DateTime<Utc> {
        let at = now.max(self.clock + Duration::microseconds(1));
        self.clock = at;
        at
    }

    /// Active users whose role holds every right (R23).
    pub fn administrators(&self) -> u32 {
        self.active_by_role
            .iter()
            .filter(|(role, _)| self.roles.rights_of(role).len() == Right::ALL.len())
            .map(|(_, n)| *n)
            .sum()
    }

    /// R23: a change may not take the last active administrator away. `before` is the
    /// subscription as read; a tenant that had none (an operator restores one) is not held.
    pub fn ensure_administrator_kept(&self, before: &Subscription) -> Result<(), DomainError> {
        if before.administrators() > 0 && self.administrators() == 0 {
            Err(DomainError::LastAdministrator)
        } else {
            Ok(())
        }
    }

    /// Counts a user entering (`+1`) or leaving (`-1`) active use in a role.
    pub fn count_active(&mut self, role: &RoleName, entering: bool) {
        let n = self.active_by_role.entry(role.clone()).or_insert(0);
        *n = if entering {
            n.saturating_add(1)
        } else {
            n.saturating_sub(1)
        };
        if *n == 0 {
            self.active_by_role.remove(role);
        }
    }

    /// When the sweep must roll this subscription over (R14); none once terminated.
    pub fn rollover_due(&self) -> Option<DateTime<Utc>> {
        (!self.is_terminated()).then(|| self.period.end_instant(self.time_zone))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub subscription: Subscription,
    /// Per pool, the red seats in R3 order (oldest first).
    reds: BTreeMap<PoolId, Vec<RedSeat>>,
}

impl Account {
    pub fn new(subscription: Subscription) -> Self {
        Self {
            subscription,
            reds: BTreeMap::new(),
        }
    }

    /// Builds the account from the stored subscription and red-seat records. Records beyond a
    /// pool's `in_use − purchased` newest are stale (a flag whose clearing was deferred, see
    /// the store) and are returned separately so the caller can tidy them; they are never
    /// shown or enforced.
    pub fn from_parts(subscription: Subscription, records: Vec<RedSeat>) -> (Self, Vec<RedSeat>) {
        let mut by_pool: BTreeMap<PoolId, Vec<RedSeat>> = BTreeMap::new();
        let mut stale = Vec::new();
        for record in records {
            if subscription.pool(&record.pool).is_some() {
                by_pool.entry(record.pool.clone()).or_default().push(record);
            } else {
                stale.push(record);
            }
        }
        for (pool_id, seats) in by_pool.iter_mut() {
            seats.sort_by(|a, b| a.seat.cmp(&b.seat));
            let over = subscription
                .pool(pool_id)
                .map_or(0, |p| p.over_allocated() as usize);
            if seats.len() > over {
                let keep = seats.split_off(seats.len() - over);
                stale.extend(std::mem::replace(seats, keep));
            }
        }
        by_pool.retain(|_, seats| !seats.is_empty());
        (
            Self {
                subscription,
                reds: by_pool,
            },
            stale,
        )
    }

    pub fn reds(&self, pool: &PoolId) -> &[RedSeat] {
        self.reds.get(pool).map_or(&[], Vec::as_slice)
    }

    pub fn all_reds(&self) -> impl Iterator<Item = &RedSeat> {
        self.reds.values().flatten()
    }

    pub fn red(&self, pool: &PoolId, seat: &SeatKey) -> Option<&RedSeat> {
        self.reds(pool).iter().find(|r| &r.seat == seat)
    }

    fn pool_mut(&mut self, id: &PoolId) -> Result<&mut Pool, DomainError> {
        self.subscription
            .pool_mut(id)
            .ok_or_else(|| DomainError::UnknownPool(id.to_string()))
    }

    /// R2/R3/R4: a seat enters use. It is the newest seat, so it is red exactly when the pool
    /// had no licence left; activation is never refused for want of a licence.
    pub fn add_seat(
        &mut self,
        pool: &PoolId,
        seat: SeatKey,
        name: &str,
        at: DateTime<Utc>,
        events: &mut Vec<DomainEvent>,
    ) -> Result<(), DomainError> {
        let p = self.pool_mut(pool)?;
        p.in_use = p.in_use.saturating_add(1);
        if p.in_use > p.purchased {
            let red = RedSeat {
                pool: pool.clone(),
                seat,
                name: name.to_owned(),
                flag: Flag::starting(at),
            };
            self.reds.entry(pool.clone()).or_default().push(red.clone());
            events.push(DomainEvent::SeatOverAllocated { seat: red });
        }
        Ok(())
    }

    /// A seat leaves use. If it was licensed, the oldest red seat takes its licence (R3, R4).
    pub fn remove_seat(
        &mut self,
        pool: &PoolId,
        seat: &SeatKey,
        events: &mut Vec<DomainEvent>,
    ) -> Result<(), DomainError> {
        let p = self.pool_mut(pool)?;
        p.in_use = p.in_use.saturating_sub(1);
        let reds = self.reds.entry(pool.clone()).or_default();
        if let Some(index) = reds.iter().position(|r| &r.seat == seat) {
            reds.remove(index);
            events.push(DomainEvent::RedSeatReleased {
                pool: pool.clone(),
                seat: seat.clone(),
            });
        } else {
            self.license_oldest(pool, 1, events);
        }
        self.reds.retain(|_, seats| !seats.is_empty());
        Ok(())
    }

    /// Clears the flags of the oldest `count` red seats of a pool (R4, R8).
    pub fn license_oldest(&mut self, pool: &PoolId, count: u32, events: &mut Vec<DomainEvent>) {
        let Some(reds) = self.reds.get_mut(pool) else {
            return;
        };
        let n = (count as usize).min(reds.len());
        for red in reds.drain(..n) {
            events.push(DomainEvent::SeatLicensed {
                pool: red.pool,
                seat: red.seat,
            });
        }
        self.reds.retain(|_, seats| !seats.is_empty());
    }

    /// Flags seats that became red at `at` (a rollover lowered `purchased`). `newest` is the
    /// pool's seats newest first; its first entries are the seats already red.
    pub fn flag_newest(
        &mut self,
        pool: &PoolId,
        newest: &[SeatInfo],
        at: DateTime<Utc>,
        events: &mut Vec<DomainEvent>,
    ) {
        let Some(p) = self.subscription.pool(pool) else {
            return;
        };
        let target = p.over_allocated() as usize;
        let reds = self.reds.entry(pool.clone()).or_default();
        let already = reds.len();
        if target <= already {
            let surplus = already - target;
            for red in reds.drain(..surplus) {
                events.push(DomainEvent::SeatLicensed {
                    pool: red.pool,
                    seat: red.seat,
                });
            }
        } else {
            let mut added: Vec<RedSeat> = newest
                .iter()
                .skip(already)
                .take(target - already)
                .map(|s| RedSeat {
                    pool: pool.clone(),
                    seat: s.seat.clone(),
                    name: s.name.clone(),
                    flag: Flag::starting(at),
                })
                .collect();
            added.reverse();
            for red in &added {
                events.push(DomainEvent::SeatOverAllocated { seat: red.clone() });
            }
            added.append(reds);
            *reds = added;
        }
        self.reds.retain(|_, seats| !seats.is_empty());
    }

    /// Marks a red seat's reminder as sent (R20).
    pub fn mark_reminded(&mut self, pool: &PoolId, seat: &SeatKey) -> Option<RedSeat> {
        let red = self
            .reds
            .get_mut(pool)?
            .iter_mut()
            .find(|r| &r.seat == seat)?;
        red.flag.reminded = true;
        Some(red.clone())
    }
}

/// A seat in use with the name to show for it (for lists of seats that would be removed).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeatInfo {
    pub pool: PoolId,
    pub seat: SeatKey,
    pub name: String,
}

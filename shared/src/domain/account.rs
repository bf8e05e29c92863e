//! The tenant's subscription and its over-allocated seats: the state every command reads,
//! changes and writes back under one version (optimistic locking).
//!
//! The red seats are kept incrementally. Because R3 orders seats by activation and the tenant
//! clock (`tick`) is strictly increasing, a newly activated seat is always the newest one, and
//! the red seats of a pool are always its newest `in_use − purchased` seats. So no command but
//! a rollover needs to see the licensed seats, and status never reads them.

pub use super::subscription::{
    DEFAULT_RENEWAL_REMINDER_DAYS, MAX_RENEWAL_REMINDER_DAYS, Subscription,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::allocation::{Flag, RedSeat, SeatKey};
use super::error::DomainError;
use super::events::DomainEvent;
use super::pool::{Pool, PoolId};

/// The red seats of one pool in R3 order, shared between copies of the account until one
/// changes them: a command's working copy costs nothing until it touches the pool, however
/// many thousands of red seats the pool has.
type PoolReds = Arc<Vec<RedSeat>>;

#[derive(Clone, Debug)]
pub struct Account {
    pub subscription: Subscription,
    /// Per pool, the red seats in R3 order (oldest first).
    reds: BTreeMap<PoolId, PoolReds>,
    /// The red seats this command added, changed or cleared, each with its record as it was
    /// before the command (none: it was not red): exactly the records the store writes or
    /// deletes, so a change costs what it touches, not what the tenant holds.
    touched: BTreeMap<(PoolId, SeatKey), Option<RedSeat>>,
}

/// Two accounts are equal when their state is; what a command has touched is not state.
impl PartialEq for Account {
    fn eq(&self, other: &Self) -> bool {
        self.subscription == other.subscription && self.reds == other.reds
    }
}

impl Eq for Account {}

/// What a command did to the red-seat records: the seats to write, and the records to delete
/// as they were read (a deletion made after the change's transaction deletes only the
/// record it saw).
#[derive(Debug, Default)]
pub struct RedChanges<'a> {
    pub put: Vec<&'a RedSeat>,
    pub delete: Vec<&'a RedSeat>,
}

impl Account {
    pub fn new(subscription: Subscription) -> Self {
        Self {
            subscription,
            reds: BTreeMap::new(),
            touched: BTreeMap::new(),
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
        let reds = by_pool
            .into_iter()
            .filter(|(_, seats)| !seats.is_empty())
            .map(|(pool, seats)| (pool, Arc::new(seats)))
            .collect();
        (
            Self {
                subscription,
                reds,
                touched: BTreeMap::new(),
            },
            stale,
        )
    }

    pub fn reds(&self, pool: &PoolId) -> &[RedSeat] {
        self.reds.get(pool).map_or(&[], |r| r.as_slice())
    }

    pub fn all_reds(&self) -> impl Iterator<Item = &RedSeat> {
        self.reds.values().flat_map(|r| r.iter())
    }

    /// The red seat of `seat` in `pool`, found by its place in R3 order.
    pub fn red(&self, pool: &PoolId, seat: &SeatKey) -> Option<&RedSeat> {
        let reds = self.reds(pool);
        reds.binary_search_by(|r| r.seat.cmp(seat))
            .ok()
            .map(|i| &reds[i])
    }

    /// The red-seat records this command changed, for the store to write.
    pub fn red_changes(&self) -> RedChanges<'_> {
        let mut changes = RedChanges::default();
        for ((pool, seat), before) in &self.touched {
            match (self.red(pool, seat), before) {
                (Some(red), _) => changes.put.push(red),
                (None, Some(before)) => changes.delete.push(before),
                // Red and cleared within the command: no record was ever written.
                (None, None) => {}
            }
        }
        changes
    }

    /// The account as committed: what it touched is now stored.
    pub fn settled(mut self) -> Self {
        self.touched.clear();
        self
    }

    /// Marks a seat as changed by this command; called before the change, so that the
    /// record as read is kept.
    fn touch(&mut self, pool: &PoolId, seat: &SeatKey) {
        let key = (pool.clone(), seat.clone());
        if !self.touched.contains_key(&key) {
            let before = self.red(pool, seat).cloned();
            self.touched.insert(key, before);
        }
    }

    /// The pool's red seats to change (copied first if another account shares them).
    fn reds_mut(&mut self, pool: &PoolId) -> &mut Vec<RedSeat> {
        Arc::make_mut(self.reds.entry(pool.clone()).or_default())
    }

    fn tidy(&mut self) {
        self.reds.retain(|_, seats| !seats.is_empty());
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
        if p.in_use <= p.purchased {
            p.licensed_adds += 1;
        }
        if p.in_use > p.purchased {
            let red = RedSeat {
                pool: pool.clone(),
                seat,
                name: name.to_owned(),
                flag: Flag::starting(at),
            };
            self.touch(pool, &red.seat);
            self.reds_mut(pool).push(red.clone());
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
        let index = self.reds(pool).binary_search_by(|r| r.seat.cmp(seat)).ok();
        if let Some(index) = index {
            self.touch(pool, seat);
            self.reds_mut(pool).remove(index);
            events.push(DomainEvent::RedSeatReleased {
                pool: pool.clone(),
                seat: seat.clone(),
            });
        } else {
            self.license_oldest(pool, 1, events);
        }
        self.tidy();
        Ok(())
    }

    /// Clears the flags of the oldest `count` red seats of a pool (R4, R8).
    pub fn license_oldest(&mut self, pool: &PoolId, count: u32, events: &mut Vec<DomainEvent>) {
        let n = (count as usize).min(self.reds(pool).len());
        if n == 0 {
            return;
        }
        let clearing: Vec<SeatKey> = self.reds(pool)[..n]
            .iter()
            .map(|r| r.seat.clone())
            .collect();
        for seat in &clearing {
            self.touch(pool, seat);
        }
        let cleared: Vec<RedSeat> = self.reds_mut(pool).drain(..n).collect();
        for red in cleared {
            events.push(DomainEvent::SeatLicensed {
                pool: red.pool,
                seat: red.seat,
            });
        }
        self.tidy();
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
        let already = self.reds(pool).len();
        if target <= already {
            self.license_oldest(pool, (already - target) as u32, events);
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
                self.touch(pool, &red.seat);
                events.push(DomainEvent::SeatOverAllocated { seat: red.clone() });
            }
            let reds = self.reds_mut(pool);
            added.append(reds);
            *reds = added;
        }
        self.tidy();
    }

    /// Marks a red seat's reminder as sent (R20).
    pub fn mark_reminded(&mut self, pool: &PoolId, seat: &SeatKey) -> Option<RedSeat> {
        let index = self
            .reds(pool)
            .binary_search_by(|r| r.seat.cmp(seat))
            .ok()?;
        self.touch(pool, seat);
        let red = &mut self.reds_mut(pool)[index];
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

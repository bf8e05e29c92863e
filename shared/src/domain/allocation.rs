//! Which seats are licensed and which are over-allocated (R2–R4).
//!
//! Seats in use are ordered by the instant the user was last activated (for a module: the
//! instant it was enabled), ties by user id. The first `purchased` are licensed; the rest are
//! over-allocated ("red") and each carries the deadline of its grace (R4).

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::identity::UserId;
use super::pool::PoolId;

/// R4: seven days of grace from the instant a seat became over-allocated.
pub fn grace() -> Duration {
    Duration::days(7)
}

/// A seat's place in the R3 order.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct SeatKey {
    pub since: DateTime<Utc>,
    pub user_id: UserId,
}

/// The over-allocation of one seat: when it started and when its grace ends (R4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    pub flagged_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    /// The reminder one day before the deadline has been sent (R20).
    #[serde(default)]
    pub reminded: bool,
}

impl Flag {
    pub fn starting(at: DateTime<Utc>) -> Self {
        Self {
            flagged_at: at,
            deadline: at + grace(),
            reminded: false,
        }
    }

    /// The instant the reminder is due: one day before the deadline.
    pub fn remind_at(&self) -> DateTime<Utc> {
        self.deadline - Duration::days(1)
    }
}

/// An over-allocated seat as shown in status (R1) and enforced by the sweep (R5).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RedSeat {
    pub pool: PoolId,
    pub seat: SeatKey,
    pub name: String,
    pub flag: Flag,
}

/// The result of allocating one pool from scratch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allocation {
    pub licensed: Vec<SeatKey>,
    pub over_allocated: Vec<(SeatKey, Flag)>,
    /// Seats that were flagged before and are licensed now (their flag and deadline clear).
    pub cleared: Vec<SeatKey>,
    /// Seats that were not flagged before and are now (a new seven days start).
    pub newly_flagged: Vec<SeatKey>,
}

/// R3/R4 from first principles: given every seat in use, the licences in force and the flags
/// already set, which seats are licensed, which are over-allocated and with what deadline.
///
/// The stored state is maintained incrementally (see `account.rs`); this function is the
/// specification those increments are property-tested against.
pub fn allocate(
    seats: &[SeatKey],
    purchased: u32,
    previous: &BTreeMap<SeatKey, Flag>,
    now: DateTime<Utc>,
) -> Allocation {
    let mut ordered: Vec<SeatKey> = seats.to_vec();
    ordered.sort();
    let cut = (purchased as usize).min(ordered.len());
    let over = ordered.split_off(cut);
    let mut allocation = Allocation {
        licensed: ordered,
        ..Allocation::default()
    };
    for seat in &allocation.licensed {
        if previous.contains_key(seat) {
            allocation.cleared.push(seat.clone());
        }
    }
    for seat in over {
        let flag = match previous.get(&seat) {
            Some(flag) => *flag,
            None => {
                allocation.newly_flagged.push(seat.clone());
                Flag::starting(now)
            }
        };
        allocation.over_allocated.push((seat, flag));
    }
    allocation
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn seat(at: &str, id: &str) -> SeatKey {
        SeatKey {
            since: t(at),
            user_id: UserId::parse(id).unwrap(),
        }
    }

    #[test]
    fn r2_r3_the_most_recently_activated_seats_are_over_allocated() {
        let seats = vec![
            seat("2026-11-03T10:00:00Z", "c"),
            seat("2026-11-01T10:00:00Z", "a"),
            seat("2026-11-02T10:00:00Z", "b"),
        ];
        let now = t("2026-11-05T00:00:00Z");
        let a = allocate(&seats, 2, &BTreeMap::new(), now);
        assert_eq!(a.licensed, vec![seats[1].clone(), seats[2].clone()]);
        assert_eq!(a.over_allocated.len(), 1);
        assert_eq!(a.over_allocated[0].0, seats[0]);
        assert_eq!(a.over_allocated[0].1.deadline, t("2026-11-12T00:00:00Z"));
        assert_eq!(a.newly_flagged, vec![seats[0].clone()]);
    }

    #[test]
    fn r3_ties_are_broken_by_user_id() {
        let seats = vec![
            seat("2026-11-01T10:00:00Z", "b"),
            seat("2026-11-01T10:00:00Z", "a"),
        ];
        let a = allocate(&seats, 1, &BTreeMap::new(), t("2026-11-01T10:00:00Z"));
        assert_eq!(a.licensed[0].user_id.as_str(), "a");
        assert_eq!(a.over_allocated[0].0.user_id.as_str(), "b");
    }

    #[test]
    fn r4_flags_keep_their_deadline_clear_when_licensed_and_restart_when_red_again() {
        let s = seat("2026-11-02T10:00:00Z", "b");
        let seats = vec![seat("2026-11-01T10:00:00Z", "a"), s.clone()];
        let first = allocate(&seats, 1, &BTreeMap::new(), t("2026-11-02T10:00:00Z"));
        let flags: BTreeMap<_, _> = first.over_allocated.iter().cloned().collect();
        // A later allocation keeps the deadline.
        let again = allocate(&seats, 1, &flags, t("2026-11-04T00:00:00Z"));
        assert_eq!(
            again.over_allocated[0].1.deadline,
            t("2026-11-09T10:00:00Z")
        );
        assert!(again.newly_flagged.is_empty());
        // Licensed: the flag clears.
        let licensed = allocate(&seats, 2, &flags, t("2026-11-05T00:00:00Z"));
        assert_eq!(licensed.cleared, vec![s.clone()]);
        assert!(licensed.over_allocated.is_empty());
        // Red again later: a new seven days.
        let red = allocate(&seats, 1, &BTreeMap::new(), t("2026-11-20T00:00:00Z"));
        assert_eq!(red.over_allocated[0].1.deadline, t("2026-11-27T00:00:00Z"));
    }
}

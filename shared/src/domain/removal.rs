//! R5: a seat still red when its grace has ended is removed by the sweep.

use chrono::{DateTime, Utc};

use super::account::Account;
use super::allocation::RedSeat;
use super::error::DomainError;
use super::events::DomainEvent;
use super::pool::PoolId;
use super::user::{User, deactivate};

/// The red seats whose deadline has passed at `at`: exactly those the sweep may remove.
pub fn due_removals(account: &Account, at: DateTime<Utc>) -> impl Iterator<Item = &RedSeat> {
    account.all_reds().filter(move |r| r.flag.deadline <= at)
}

/// Red seats whose deadline is less than a day away and whose reminder has not gone out.
pub fn due_reminders(account: &Account, at: DateTime<Utc>) -> impl Iterator<Item = &RedSeat> {
    account
        .all_reds()
        .filter(move |r| !r.flag.reminded && r.flag.remind_at() <= at && at < r.flag.deadline)
}

/// Removes one seat at `at`, re-checking R5 against the current state: a seat that became
/// licensed in the meantime is never removed (`Ok(None)`). For the core licences the user is
/// deactivated; for a module, the module is disabled for that user.
pub fn remove(
    account: &mut Account,
    user: &mut User,
    pool: &PoolId,
    at: DateTime<Utc>,
) -> Result<Option<Vec<DomainEvent>>, DomainError> {
    let Some(key) = user.seat_key(pool) else {
        return Ok(None);
    };
    let Some(red) = account.red(pool, &key).cloned() else {
        return Ok(None);
    };
    if red.flag.deadline > at {
        return Ok(None);
    }
    let mut events = vec![DomainEvent::SeatRemoved { seat: red }];
    if pool.is_licences() {
        events.extend(deactivate(account, user, at, "removed")?);
    } else {
        account.subscription.tick(at);
        account.remove_seat(pool, &key, &mut events)?;
        user.modules.remove(pool);
    }
    Ok(Some(events))
}

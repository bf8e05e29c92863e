//! The sweep's steps on red seats: removals when the grace has ended (R5) and the reminders a
//! day before (R20), each a version-checked change of bounded size.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeSet;

use crate::app::error::AppError;
use crate::app::{UnitOfWork, log_entry};
use crate::domain::events::DomainEvent;
use crate::domain::identity::{Actor, TenantId, UserId};
use crate::domain::pool::PoolId;
use crate::domain::removal;
use crate::ports::{AccountReads, Commits, Loaded, UserWrite};

/// Seats one removal change takes at most. Each writes its user and deletes the seat and its
/// red record (more with modules), so a change stays far inside a transaction's 100 items.
pub const REMOVALS_PER_CHANGE: usize = 25;

/// Reminders one change marks at most: one red record each, inside the transaction.
pub const REMINDERS_PER_CHANGE: usize = 80;

/// A log entry's details for many seats: the first ones and the count (R27).
fn seats_summary(
    seats: impl Iterator<Item = serde_json::Value>,
    count: usize,
) -> serde_json::Value {
    let listed: Vec<serde_json::Value> = seats.take(crate::app::SEATS_LISTED).collect();
    json!({ "seats": listed, "seats_count": count })
}

/// What one removal change did: the state it left (committed, or as read when it removed
/// nothing), how many seats it removed, and the seats it found it cannot remove.
pub(super) struct RemovalStep {
    pub left: Loaded,
    pub removed: usize,
    pub skipped: Vec<(PoolId, UserId)>,
}

/// One attempt at R5 on what was read: the next due seats, not skipped before, removed in one
/// change. Takes the state by value: the seats are removed from it in place. `Err` with the
/// state when none is left.
pub(super) async fn remove_due<S: AccountReads + Commits>(
    store: &S,
    loaded: Loaded,
    at: DateTime<Utc>,
    skipped: &BTreeSet<(PoolId, UserId)>,
) -> Result<Result<RemovalStep, Loaded>, AppError> {
    let tenant = loaded.account.subscription.tenant_id.clone();
    let tenant = &tenant;
    let due: Vec<_> = removal::due_removals(&loaded.account, at)
        .filter(|r| !skipped.contains(&(r.pool.clone(), r.seat.user_id.clone())))
        .take(REMOVALS_PER_CHANGE)
        .cloned()
        .collect();
    if due.is_empty() {
        return Ok(Err(loaded));
    }
    let ids: Vec<UserId> = due.iter().map(|r| r.seat.user_id.clone()).collect();
    let mut read = store.load_users(tenant, &ids).await?;
    let before_change = loaded.account.subscription.clone();
    let version = before_change.version;
    let stale = loaded.stale;
    let mut account = loaded.account;
    let mut writes: Vec<UserWrite> = Vec::new();
    let mut events = Vec::new();
    let mut removed = Vec::new();
    let mut skip = Vec::new();
    for red in &due {
        let key = (red.pool.clone(), red.seat.user_id.clone());
        // A user due in two pools at once is written once, with both removals.
        let (before, mut after) = match writes
            .iter()
            .position(|w| w.after.user_id == red.seat.user_id)
        {
            Some(i) => {
                let w = writes.remove(i);
                (w.before, w.after)
            }
            None => match read.remove(&red.seat.user_id) {
                Some(user) => (Some(user.clone()), user),
                None => {
                    skip.push(key);
                    continue;
                }
            },
        };
        if red.pool.is_licences() && account.subscription.is_last_administrator(&after) {
            tracing::warn!(tenant = %tenant, user = %red.seat.user_id, "seat not removed: its user is the last active administrator");
            skip.push(key);
        } else if let Some(more) = removal::remove(&mut account, &mut after, &red.pool, at)? {
            events.extend(more);
            removed.push(red);
        } else {
            skip.push(key);
        }
        writes.push(UserWrite { before, after });
    }
    writes.retain(|w| w.before.as_ref() != Some(&w.after));
    account
        .subscription
        .ensure_administrator_kept(&before_change)?;
    if removed.is_empty() {
        return Ok(Ok(RemovalStep {
            left: Loaded { account, stale },
            removed: 0,
            skipped: skip,
        }));
    }
    {
        let log = log_entry(
            Actor::System,
            "seat.removed",
            seats_summary(
                removed.iter().map(|r| json!({ "pool": r.pool, "user_id": r.seat.user_id, "name": r.name, "deadline": r.flag.deadline })),
                removed.len(),
            ),
            account.subscription.clock,
        );
        crate::app::commit(
            store,
            UnitOfWork::on(version, account.clone(), log, &events, at)
                .users(writes)
                .into_change(),
        )
        .await?;
    }
    Ok(Ok(RemovalStep {
        left: Loaded::committed(account),
        removed: removed.len(),
        skipped: skip,
    }))
}

/// What one deadline-reminder change did: the state it left, the seats it reminded, and the
/// stale red-seat records it deleted (only once nothing is left to remind).
pub(super) struct DeadlineStep {
    pub left: Loaded,
    pub reminded: usize,
    pub stale: usize,
}

/// One attempt at R20 on what was read: up to REMINDERS_PER_CHANGE reminders one day before a
/// deadline, each marking its seat's record inside the transaction, so a reminder is sent
/// exactly when its mark commits. With none due, the stale red-seat records are tidied.
pub(super) async fn remind_deadlines<S: AccountReads + Commits>(
    store: &S,
    tenant: &TenantId,
    loaded: Loaded,
    at: DateTime<Utc>,
) -> Result<DeadlineStep, AppError> {
    let due: Vec<_> = removal::due_reminders(&loaded.account, at)
        .take(REMINDERS_PER_CHANGE)
        .cloned()
        .collect();
    if due.is_empty() {
        // A tenant whose counts say it has no red seat was read without its records:
        // any left (a deferred clearing) are all stale.
        let stale_records = if loaded.account.all_reds().next().is_none() {
            store.red_records(tenant).await?
        } else {
            loaded.stale.clone()
        };
        let stale = stale_records.len();
        if stale > 0 {
            store.delete_red_records(tenant, &stale_records).await?;
        }
        let left = Loaded {
            account: loaded.account,
            stale: Vec::new(),
        };
        return Ok(DeadlineStep {
            left,
            reminded: 0,
            stale,
        });
    }
    let version = loaded.account.subscription.version;
    let mut account = loaded.account;
    let mut events = Vec::new();
    for red in &due {
        if let Some(marked) = account.mark_reminded(&red.pool, &red.seat) {
            events.push(DomainEvent::DeadlineReminder { seat: marked });
        }
    }
    let seats = due.iter().map(|r| {
        json!({"pool": r.pool, "user_id": r.seat.user_id, "name": r.name, "deadline": r.flag.deadline})
    });
    let log = log_entry(
        Actor::System,
        "deadline.reminded",
        seats_summary(seats, due.len()),
        at,
    );
    crate::app::commit(
        store,
        UnitOfWork::on(version, account.clone(), log, &events, at).into_change(),
    )
    .await?;
    Ok(DeadlineStep {
        left: Loaded::committed(account),
        reminded: due.len(),
        stale: 0,
    })
}

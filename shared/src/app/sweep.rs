//! The scheduled sweep (R5, R14, R15, R20's reminders): finds due work through the sparse due
//! index and does it tenant by tenant, each step one version-checked transaction. Running it
//! twice, late, concurrently or after an interruption ends in the same state: what was done
//! is no longer due, and what a concurrent sweep did first makes this one's transaction fail
//! its version check and re-read.

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use super::{AppError, change, log_entry, retrying};
use crate::domain::account::SeatInfo;
use crate::domain::events::DomainEvent;
use crate::domain::identity::{Actor, TenantId};
use crate::domain::pool::PoolId;
use crate::domain::{removal, rollover};
use crate::ports::{DueWork, Store, UserWrite};

/// How many tenants one invocation works on at once.
pub const TENANT_CONCURRENCY: usize = 8;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub tenants: usize,
    pub rollovers: usize,
    pub invoices: usize,
    pub removals: usize,
    pub reminders: usize,
    pub stale_records: usize,
    pub failed_tenants: usize,
    /// Tenants left for the next invocation because the time budget ran out.
    pub deferred_tenants: usize,
}

impl SweepReport {
    fn add(&mut self, other: &SweepReport) {
        self.tenants += other.tenants;
        self.rollovers += other.rollovers;
        self.invoices += other.invoices;
        self.removals += other.removals;
        self.reminders += other.reminders;
        self.stale_records += other.stale_records;
        self.failed_tenants += other.failed_tenants;
        self.deferred_tenants += other.deferred_tenants;
    }
}

/// Sweeps every tenant with due work at `at`. Stops starting new tenants once `budget_ends`
/// has passed (the Lambda time limit is near); the due index still lists what is left, so the
/// next invocation continues there.
pub async fn sweep<S: Store>(
    store: &S,
    at: DateTime<Utc>,
    budget_ends: Option<Instant>,
) -> Result<SweepReport, AppError> {
    let work = store.due_work(at).await?;
    let tenants: BTreeSet<TenantId> = work
        .into_iter()
        .map(|w| match w {
            DueWork::Rollover { tenant } | DueWork::Seat { tenant, .. } => tenant,
        })
        .collect();
    let results: Vec<Result<SweepReport, (TenantId, AppError)>> = futures::stream::iter(tenants)
        .map(|tenant| async move {
            if budget_ends.is_some_and(|end| Instant::now() >= end) {
                return Ok(SweepReport {
                    deferred_tenants: 1,
                    ..SweepReport::default()
                });
            }
            sweep_tenant(store, &tenant, at)
                .await
                .map_err(|e| (tenant, e))
        })
        .buffer_unordered(TENANT_CONCURRENCY)
        .collect()
        .await;
    let mut report = SweepReport::default();
    for result in results {
        match result {
            Ok(r) => report.add(&r),
            Err((tenant, err)) => {
                tracing::error!(tenant = %tenant, error = %err, "sweep of tenant failed; it stays due");
                report.failed_tenants += 1;
            }
        }
    }
    Ok(report)
}

/// One tenant: catch up its rollovers, then remove the seats whose grace has ended, then send
/// the reminders that are due, then tidy stale red-seat records.
pub async fn sweep_tenant<S: Store>(
    store: &S,
    tenant: &TenantId,
    at: DateTime<Utc>,
) -> Result<SweepReport, AppError> {
    let mut report = SweepReport {
        tenants: 1,
        ..SweepReport::default()
    };
    // Rollovers (R14), period by period, in one change.
    let rolled = retrying(|_| async move {
        let Some(loaded) = store.load_account(tenant).await? else {
            return Ok((0, 0));
        };
        let needed = rollover::seats_needed(&loaded.account, at);
        let mut newest: BTreeMap<PoolId, Vec<SeatInfo>> = BTreeMap::new();
        for (pool, count) in &needed {
            newest.insert(pool.clone(), store.newest_seats(tenant, pool, *count).await?);
        }
        let mut account = loaded.account.clone();
        let (invoices, events) = rollover::roll_over(&mut account, at, &newest)?;
        if invoices.is_empty() {
            return Ok((0, 0));
        }
        let periods: Vec<_> = invoices.iter().map(|i| i.period).collect();
        let log = log_entry(
            Actor::System,
            "period.rolled_over",
            json!({ "periods": periods, "invoices": invoices.iter().map(|i| &i.invoice_id).collect::<Vec<_>>(), "pools": account.subscription.pools }),
            invoices.last().map_or(at, |i| i.issued_at),
        );
        let count = invoices.len();
        let mut change = change(&loaded, account, Vec::new(), log, &events, Vec::new(), at);
        change.invoices = invoices;
        store.commit(change).await?;
        Ok((periods.len(), count))
    })
    .await?;
    report.rollovers += rolled.0;
    report.invoices += rolled.1;

    // Removals (R5): one transaction per seat, each re-checking the rule on a fresh read.
    loop {
        let removed = retrying(|_| async move {
            let Some(loaded) = store.load_account(tenant).await? else {
                return Ok(false);
            };
            let Some(red) = removal::due_removals(&loaded.account, at).into_iter().next() else {
                return Ok(false);
            };
            let Some(before) = store.load_user(tenant, &red.seat.user_id).await? else {
                return Ok(false);
            };
            let mut account = loaded.account.clone();
            let mut after = before.clone();
            let Some(events) = removal::remove(&mut account, &mut after, &red.pool, at)? else {
                return Ok(false);
            };
            let log = log_entry(
                Actor::System,
                "seat.removed",
                json!({ "pool": red.pool, "user_id": red.seat.user_id, "name": red.name, "deadline": red.flag.deadline }),
                account.subscription.clock,
            );
            let write = UserWrite { before: Some(before), after };
            store.commit(change(&loaded, account, vec![write], log, &events, Vec::new(), at)).await?;
            Ok(true)
        })
        .await?;
        if !removed {
            break;
        }
        report.removals += 1;
    }

    // Reminders one day before a deadline (R20), all of the tenant's in one change.
    let reminded = retrying(|_| async move {
        let Some(loaded) = store.load_account(tenant).await? else {
            return Ok((0, 0));
        };
        let stale = loaded.red_records.len() - loaded.account.all_reds().count();
        let due = removal::due_reminders(&loaded.account, at);
        if due.is_empty() {
            if stale > 0 {
                let (_, stale_records) = crate::domain::account::Account::from_parts(
                    loaded.account.subscription.clone(),
                    loaded.red_records.clone(),
                );
                store.delete_red_records(tenant, &stale_records).await?;
            }
            return Ok((0, stale));
        }
        let mut account = loaded.account.clone();
        let mut events = Vec::new();
        for red in &due {
            if let Some(marked) = account.mark_reminded(&red.pool, &red.seat) {
                events.push(DomainEvent::DeadlineReminder { seat: marked });
            }
        }
        let log = log_entry(
            Actor::System,
            "deadline.reminded",
            json!({ "seats": due.iter().map(|r| json!({"pool": r.pool, "user_id": r.seat.user_id, "deadline": r.flag.deadline})).collect::<Vec<_>>() }),
            at,
        );
        store.commit(change(&loaded, account, Vec::new(), log, &events, Vec::new(), at)).await?;
        Ok((due.len(), 0))
    })
    .await?;
    report.reminders += reminded.0;
    report.stale_records += reminded.1;
    Ok(report)
}

//! The scheduled sweep (R5, R14, R15, R20's reminders): finds due work through the sparse due
//! index and does it tenant by tenant, each step one version-checked transaction. Running it
//! twice, late, concurrently or after an interruption ends in the same state: what was done
//! is no longer due, and what a concurrent sweep did first makes this one's transaction fail
//! its version check and re-read.

mod renewal;
mod seats;
mod usage;
pub use seats::{REMINDERS_PER_CHANGE, REMOVALS_PER_CHANGE};

use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use super::{AppError, UnitOfWork, log_entry, retrying};
use crate::domain::account::{Account, SeatInfo, Subscription};
use crate::domain::identity::{Actor, TenantId, UserId};
use crate::domain::pool::PoolId;
use crate::domain::rollover;
use crate::ports::{
    AccountReads, Commits, DueIndex, DueWork, Loaded, PurchaseRequests, UsageHistory,
};

/// How many tenants one invocation works on at once.
pub const TENANT_CONCURRENCY: usize = 16;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct SweepReport {
    pub tenants: usize,
    pub rollovers: usize,
    pub invoices: usize,
    pub removals: usize,
    pub reminders: usize,
    /// Renewal reminders sent (R30), one per tenant and period.
    #[serde(default)]
    pub renewal_reminders: usize,
    pub stale_records: usize,
    /// Days' usage readings taken (R37), and days passed over without one (the sweep came
    /// too late in the day).
    #[serde(default)]
    pub usage_readings: usize,
    #[serde(default)]
    pub usage_missed: usize,
    pub failed_tenants: usize,
    /// Purchase requests expired unapproved (R35).
    #[serde(default)]
    pub expired_requests: usize,
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
        self.renewal_reminders += other.renewal_reminders;
        self.stale_records += other.stale_records;
        self.usage_readings += other.usage_readings;
        self.usage_missed += other.usage_missed;
        self.expired_requests += other.expired_requests;
        self.failed_tenants += other.failed_tenants;
        self.deferred_tenants += other.deferred_tenants;
    }
}

/// When an invocation should stop, and whether it has changed anything yet. The end is
/// honoured only once the invocation has committed a step: an invocation that stopped before
/// its first one (because reading the due index and a tenant of 10 000 red seats took longer
/// than the budget, on a slow engine or a cold start) would leave the next one exactly where it
/// was, run after run. Past the end each tenant in flight finishes at most the change it is
/// making (≤ 25 removals or 80 reminders), which the sweeper's safety margin before the
/// Lambda's own limit covers.
struct Budget {
    ends: Option<Instant>,
    progressed: AtomicBool,
}

impl Budget {
    fn ending(ends: Option<Instant>) -> Self {
        Budget {
            ends,
            progressed: AtomicBool::new(false),
        }
    }

    fn spent(&self) -> bool {
        self.progressed.load(Ordering::Relaxed)
            && self.ends.is_some_and(|end| Instant::now() >= end)
    }

    fn progressed(&self) {
        self.progressed.store(true, Ordering::Relaxed);
    }
}

/// Sweeps every tenant with due work at `at`. Stops starting new tenants once `budget_ends`
/// has passed (the Lambda time limit is near) and a step has been committed (see [`Budget`]);
/// the due index still lists what is left, so the next invocation continues there.
pub async fn sweep<S: AccountReads + Commits + DueIndex + UsageHistory + PurchaseRequests>(
    store: &S,
    at: DateTime<Utc>,
    budget_ends: Option<Instant>,
) -> Result<SweepReport, AppError> {
    let budget = Budget::ending(budget_ends);
    let budget = &budget;
    let work = store.due_work(at).await?;
    let mut tenants: BTreeMap<TenantId, Option<Subscription>> = BTreeMap::new();
    for item in work {
        match item {
            DueWork::Rollover { tenant, indexed } => {
                tenants.insert(tenant, Some(*indexed));
            }
            DueWork::Seat { tenant, .. } => {
                tenants.entry(tenant).or_insert(None);
            }
        }
    }
    let results: Vec<Result<SweepReport, (TenantId, AppError)>> = futures::stream::iter(tenants)
        .map(|(tenant, indexed)| async move {
            if budget.spent() {
                return Ok(SweepReport {
                    deferred_tenants: 1,
                    ..SweepReport::default()
                });
            }
            sweep_tenant(store, &tenant, at, indexed, budget)
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

/// The state a tenant's sweep works on: what it last committed, else a fresh read. Carrying it
/// from step to step keeps the reads proportional to the work (one item per due tenant when
/// the index copy suffices); every commit is still version-checked, and a lost race drops the
/// carried state for a strongly consistent read.
struct Carried(Mutex<Option<Loaded>>);

impl Carried {
    fn take(&self) -> Option<Loaded> {
        self.0.lock().map(|mut c| c.take()).unwrap_or(None)
    }

    /// The state a commit of `account` left, for the next step.
    fn keep(&self, account: Account) {
        self.put_back(Loaded::committed(account));
    }

    /// A state read and not changed, for the next step.
    fn put_back(&self, loaded: Loaded) {
        if let Ok(mut c) = self.0.lock() {
            *c = Some(loaded);
        }
    }

    async fn current<S: AccountReads>(
        &self,
        store: &S,
        tenant: &TenantId,
        attempt: u32,
    ) -> Result<Option<Loaded>, AppError> {
        match self.take() {
            Some(loaded) if attempt == 0 => Ok(Some(loaded)),
            _ => Ok(store.load_account(tenant).await?),
        }
    }
}

/// One attempt at R14 on what was read: every period ended by `at`, in one version-checked
/// change. `None` when nothing was due. Returns the account as committed and the number of
/// periods and invoices.
async fn roll_over_loaded<S: AccountReads + Commits>(
    store: &S,
    loaded: &Loaded,
    at: DateTime<Utc>,
) -> Result<Option<(Account, (usize, usize))>, AppError> {
    let tenant = &loaded.account.subscription.tenant_id;
    let needed = rollover::seats_needed(&loaded.account, at);
    let mut newest: BTreeMap<PoolId, Vec<SeatInfo>> = BTreeMap::new();
    for (pool, count) in &needed {
        newest.insert(
            pool.clone(),
            store.newest_seats(tenant, pool, *count).await?,
        );
    }
    let mut account = loaded.account.clone();
    let (invoices, events) = rollover::roll_over(&mut account, at, &newest)?;
    if invoices.is_empty() {
        return Ok(None);
    }
    let periods: Vec<_> = invoices.iter().map(|i| i.period).collect();
    let log = log_entry(
        Actor::System,
        "period.rolled_over",
        json!({ "periods": periods, "invoices": invoices.iter().map(|i| &i.invoice_id).collect::<Vec<_>>(), "pools": account.subscription.pools }),
        invoices.last().map_or(at, |i| i.issued_at),
    );
    let count = invoices.len();
    let mut change = UnitOfWork::new(loaded, account.clone(), log, &events, at).into_change();
    change.invoices = invoices;
    crate::app::commit(store, change).await?;
    Ok(Some((account, (periods.len(), count))))
}

/// R22: the state a request acts on. When the period it read has ended before the sweep got
/// there, the tenant is first rolled forward exactly as the sweep would (the same rollover at
/// each period's end instant, the same invoice ids) and the committed state is returned;
/// otherwise the read itself. A racing sweep or request loses the version check, re-reads and
/// finds nothing left to do, so each rollover happens once.
pub async fn in_current_period<S: AccountReads + Commits>(
    store: &S,
    loaded: Loaded,
    now: DateTime<Utc>,
) -> Result<Loaded, AppError> {
    let due = loaded.account.subscription.rollover_due();
    if due.is_none_or(|due| due > now) {
        return Ok(loaded);
    }
    let tenant = loaded.account.subscription.tenant_id.clone();
    let carried = Carried(Mutex::new(Some(loaded)));
    let (carried, tenant) = (&carried, &tenant);
    retrying(|attempt| async move {
        let loaded = carried
            .current(store, tenant, attempt)
            .await?
            .ok_or(AppError::NotFound("tenant"))?;
        match roll_over_loaded(store, &loaded, now).await? {
            Some((account, _)) => Ok(Loaded::committed(account)),
            None => Ok(loaded),
        }
    })
    .await
}

/// One tenant: catch up its rollovers, then expire its purchase requests past their time,
/// take the day's usage reading and send the renewal reminder when due, then remove the seats
/// whose grace has ended, then send the reminders that are due, then tidy stale red-seat
/// records. The time budget is checked
/// before every removal and reminder change too: a tenant with thousands of due removals stops
/// when the budget ends (counted as deferred) and the next invocation goes on from the due
/// index; an invocation's first change is always made (see [`Budget`]).
async fn sweep_tenant<S: AccountReads + Commits + UsageHistory + PurchaseRequests>(
    store: &S,
    tenant: &TenantId,
    at: DateTime<Utc>,
    indexed: Option<Subscription>,
    budget: &Budget,
) -> Result<SweepReport, AppError> {
    let mut report = SweepReport {
        tenants: 1,
        ..SweepReport::default()
    };
    // The index's copy of the subscription can stand in for a read only when no pool has red
    // seats (their records are not in the index).
    let initial = indexed
        .filter(|sub| sub.pools.iter().all(|p| p.over_allocated() == 0))
        .map(|sub| Loaded {
            account: Account::new(sub),
            stale: Vec::new(),
        });
    let carried = Carried(Mutex::new(initial));
    let carried = &carried;

    // Rollovers (R14), period by period, in one change.
    let rolled = retrying(|attempt| async move {
        let Some(loaded) = carried.current(store, tenant, attempt).await? else {
            return Ok((0, 0));
        };
        match roll_over_loaded(store, &loaded, at).await? {
            Some((account, counts)) => {
                carried.keep(account);
                Ok(counts)
            }
            None => {
                carried.put_back(loaded);
                Ok((0, 0))
            }
        }
    })
    .await?;
    report.rollovers += rolled.0;
    report.invoices += rolled.1;
    if rolled.0 > 0 {
        budget.progressed();
    }

    // R23: a terminated subscription is left alone: no removals, no reminders, no mail.
    let terminated = match carried.current(store, tenant, 0).await? {
        Some(loaded) => {
            let terminated = loaded.account.subscription.is_terminated();
            carried.put_back(loaded);
            terminated
        }
        None => true,
    };
    if terminated {
        return Ok(report);
    }

    // Purchase requests past their expiry (R35), their requesters told.
    let expired = retrying(|attempt| async move {
        let Some(loaded) = carried.current(store, tenant, attempt).await? else {
            return Ok(false);
        };
        match crate::app::requests::expire_requests(store, &loaded, at).await? {
            Some(account) => {
                carried.keep(account);
                Ok(true)
            }
            None => {
                carried.put_back(loaded);
                Ok(false)
            }
        }
    })
    .await?;
    if expired {
        report.expired_requests += 1;
        budget.progressed();
    }

    // The day's usage reading (R37), after the rollover so that a period's first day reads
    // the new period's licences.
    let read = retrying(|attempt| async move {
        let Some(loaded) = carried.current(store, tenant, attempt).await? else {
            return Ok(None);
        };
        match usage::record_usage(store, &loaded, at).await? {
            Some((account, taken)) => {
                carried.keep(account);
                Ok(Some(taken))
            }
            None => {
                carried.put_back(loaded);
                Ok(None)
            }
        }
    })
    .await?;
    match read {
        Some(true) => report.usage_readings += 1,
        Some(false) => report.usage_missed += 1,
        None => {}
    }
    if read.is_some() {
        budget.progressed();
    }

    // The renewal reminder (R30), once per period: its mark commits with its mail.
    let reminded = retrying(|attempt| async move {
        let Some(loaded) = carried.current(store, tenant, attempt).await? else {
            return Ok(false);
        };
        match renewal::remind_renewal(store, &loaded, at).await? {
            Some(account) => {
                carried.keep(account);
                Ok(true)
            }
            None => {
                carried.put_back(loaded);
                Ok(false)
            }
        }
    })
    .await?;
    report.renewal_reminders += usize::from(reminded);
    if reminded {
        budget.progressed();
    }

    // Removals (R5), up to REMOVALS_PER_CHANGE seats per version-checked change, each seat
    // re-checked on the current state. A seat that cannot be removed (R23's last
    // administrator, a user record gone) is skipped, never a reason to stop the others.
    let mut skipped: BTreeSet<(PoolId, UserId)> = BTreeSet::new();
    loop {
        if budget.spent() {
            report.deferred_tenants += 1;
            return Ok(report);
        }
        let skipped_now = &skipped;
        let step = retrying(|attempt| async move {
            let Some(loaded) = carried.current(store, tenant, attempt).await? else {
                return Ok(None);
            };
            match seats::remove_due(store, loaded, at, skipped_now).await? {
                Ok(step) => {
                    carried.put_back(step.left);
                    Ok(Some((step.removed, step.skipped)))
                }
                Err(loaded) => {
                    carried.put_back(loaded);
                    Ok(None)
                }
            }
        })
        .await?;
        let Some((removed, skipped_now)) = step else {
            break;
        };
        report.removals += removed;
        if removed > 0 {
            budget.progressed();
        }
        skipped.extend(skipped_now);
    }

    // Reminders one day before a deadline (R20), REMINDERS_PER_CHANGE per change.
    let mut reminded = 0;
    let mut stale_records = 0;
    loop {
        if budget.spent() {
            report.deferred_tenants += 1;
            report.reminders += reminded;
            return Ok(report);
        }
        let step = retrying(|attempt| async move {
            let Some(loaded) = carried.current(store, tenant, attempt).await? else {
                return Ok((0, 0));
            };
            let step = seats::remind_deadlines(store, tenant, loaded, at).await?;
            carried.put_back(step.left);
            Ok((step.reminded, step.stale))
        })
        .await?;
        reminded += step.0;
        stale_records += step.1;
        if step.0 > 0 {
            budget.progressed();
        }
        if step.0 == 0 {
            break;
        }
    }
    report.reminders += reminded;
    report.stale_records += stale_records;
    Ok(report)
}

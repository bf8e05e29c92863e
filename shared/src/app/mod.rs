//! The use cases: each reads through the store port, applies the domain rules, and commits
//! the result (state, action log, outbox) as one change. Handlers call these and nothing else.

mod addresses;
pub(crate) use addresses::Known;
mod batch;
pub mod directory;
pub mod error;
pub mod export;
mod next_period;
mod purchase;
pub mod requests;
mod roles;
mod settings;
mod status;
pub mod sweep;
pub mod tenants;
pub mod usage;
pub mod users;
pub mod views;
pub mod webhooks;
pub use batch::{BATCH_USERS, BatchResult, BatchView, create_users};
pub use error::AppError;
pub use next_period::{SEATS_LISTED, preview_next_period, set_next_period};
pub use purchase::{approve_purchase, create_quote};
pub use roles::{get_role, list_roles, put_role};
pub use settings::{Settings, set_settings};
pub use status::{account_status, get_invoice, list_action_log, list_invoices};
pub use tenants::{
    TenantCreatedView, create_tenant, restore_administrator, set_tenant_settings, terminate_tenant,
};
pub use users::{
    Activation, CreateUser, FILTER_READS, UserPatch, create_user, list_users, set_active,
    update_user,
};

use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeSet;
use std::future::Future;

use crate::domain::events::DomainEvent;
use crate::domain::identity::{Actor, TenantId, UserId};
use crate::domain::pool::PoolId;
use crate::domain::rights::Right;
use crate::domain::user::User;
use crate::outbox::{OutboxMessage, Payload, event_payloads, manager_mails};
use crate::ports::{
    AccountReads, Change, Commits, IdempotencyRecord, Loaded, LogEntry, StoreError, UserWrite,
};

/// The authenticated caller of a tenant route (R16): the tenant comes only from the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub tenant: TenantId,
    pub user: UserId,
}

/// How many times a change that lost a race is tried, each from a fresh read, before it
/// answers 409.
/// With full-jitter backoff capped at 250 ms this waits at most a few seconds, enough for
/// dozens of simultaneous changes to one tenant to all commit.
const CONTENTION_ATTEMPTS: u32 = 30;

/// Replays of an approval are kept this long (R10).
pub fn idempotency_window() -> Duration {
    Duration::hours(24)
}

async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, AppError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let (mut n, mut throttled) = (0, 0);
    loop {
        match attempt(n).await {
            Err(AppError::Contention) if n + 1 < CONTENTION_ATTEMPTS => {
                // Full jitter: racing writers spread out instead of colliding again.
                let ceiling = (4u64 << n.min(6)).min(250);
                tokio::time::sleep(std::time::Duration::from_millis(1 + jitter() % ceiling)).await;
                n += 1;
            }
            // DynamoDB throttled (a call, or a transaction cancelled for it): a few tries
            // spread over up to a second, then 503 with Retry-After, never 500.
            Err(AppError::Store(StoreError::Throttled)) if throttled + 1 < THROTTLED_ATTEMPTS => {
                let ceiling = 100u64 << throttled;
                tokio::time::sleep(std::time::Duration::from_millis(25 + jitter() % ceiling)).await;
                throttled += 1;
                n += 1;
            }
            other => return other,
        }
    }
}

/// Tries of a change DynamoDB throttles before the request is answered 503.
pub const THROTTLED_ATTEMPTS: u32 = 4;

/// A random number of milliseconds' worth of jitter.
fn jitter() -> u64 {
    let bytes = uuid::Uuid::new_v4();
    u64::from(u16::from_le_bytes([
        bytes.as_bytes()[0],
        bytes.as_bytes()[1],
    ]))
}

pub struct Authorized {
    pub loaded: Loaded,
    pub user: User,
    pub rights: BTreeSet<Right>,
}

/// R16/R17: the caller's account and user, read fresh (so a revoked right takes effect on the
/// next request), and the right checked. The two reads run concurrently. R22: a period that
/// ended without the sweep is rolled over first, so the request acts on the period running.
pub async fn authorize<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    right: Right,
    now: DateTime<Utc>,
) -> Result<Authorized, AppError> {
    let (loaded, user) = futures::join!(
        store.load_account(&caller.tenant),
        store.load_user(&caller.tenant, &caller.user)
    );
    check_right(
        found_in_current_period(store, loaded?, now).await?,
        user?,
        right,
    )
}

/// R22 on a tenant read that may not exist (see `sweep::in_current_period`).
async fn found_in_current_period<S: AccountReads + Commits>(
    store: &S,
    loaded: Option<Loaded>,
    now: DateTime<Utc>,
) -> Result<Option<Loaded>, AppError> {
    match loaded {
        Some(loaded) => Ok(Some(sweep::in_current_period(store, loaded, now).await?)),
        None => Ok(None),
    }
}

/// The newest seat's instant in `pools`, read after the account (so no seat the account
/// counts is missed): a command that adds a seat puts it after this one (R3), see
/// `Subscription::observe`.
async fn newest_seat<S: AccountReads>(
    store: &S,
    tenant: &TenantId,
    pools: impl IntoIterator<Item = PoolId>,
) -> Result<Option<DateTime<Utc>>, AppError> {
    let pools: BTreeSet<PoolId> = pools.into_iter().collect();
    let reads =
        futures::future::join_all(pools.iter().map(|p| store.newest_seats(tenant, p, 1))).await;
    let mut newest = None;
    for read in reads {
        for seat in read? {
            newest = newest.max(Some(seat.seat.since));
        }
    }
    Ok(newest)
}

/// R17 on what was read: the tenant exists, the caller is an active user of it, and one of
/// the caller's role's rights is `right`.
fn check_right(
    loaded: Option<Loaded>,
    user: Option<User>,
    right: Right,
) -> Result<Authorized, AppError> {
    let loaded = loaded.ok_or(AppError::Unauthenticated)?;
    let user = user
        .filter(|u| u.active)
        .ok_or(AppError::Forbidden(right.as_str()))?;
    let rights = loaded.account.subscription.roles.rights_of(&user.role);
    if !rights.contains(&right) {
        return Err(AppError::Forbidden(right.as_str()));
    }
    Ok(Authorized {
        loaded,
        user,
        rights,
    })
}

fn log_entry(
    actor: Actor,
    action: &str,
    details: serde_json::Value,
    at: DateTime<Utc>,
) -> LogEntry {
    LogEntry {
        entry_id: format!("log-{}", uuid::Uuid::new_v4().simple()),
        at,
        actor,
        action: action.to_owned(),
        details,
    }
}

/// Commits `change` with its mail addressed first (decision 0014): every use case commits
/// through here.
pub(crate) async fn commit<S: Commits>(store: &S, change: Change) -> Result<(), StoreError> {
    commit_knowing(store, change, Known::default()).await
}

/// `commit`, with what the command read already that its mail needs.
pub(crate) async fn commit_knowing<S: Commits>(
    store: &S,
    mut change: Change,
    known: Known,
) -> Result<(), StoreError> {
    addresses::address(store, &mut change, known).await?;
    store.commit(change).await
}

/// The outbox of a change: its bus events, the managers' mails, and any mail of its own.
fn outbox(
    tenant: &TenantId,
    change_id: &str,
    at: DateTime<Utc>,
    events: &[DomainEvent],
    own: Vec<Payload>,
) -> Vec<OutboxMessage> {
    event_payloads(tenant, at, events)
        .into_iter()
        .chain(manager_mails(events))
        .chain(own)
        .enumerate()
        .map(|(i, payload)| OutboxMessage::new(tenant, change_id, i, at, payload))
        .collect()
}

/// One command's unit of work on a tenant read as `loaded`: the account after it, its log
/// entry and the events it caused, plus the users it writes and the mail it sends beyond its
/// events. `into_change` makes the one version-checked transaction the store commits, its
/// outbox built from the events and the mail.
pub(crate) struct UnitOfWork<'a> {
    /// The subscription's version the command read: the change commits only on it.
    version: u64,
    account: crate::domain::account::Account,
    log: LogEntry,
    events: &'a [DomainEvent],
    users: Vec<UserWrite>,
    mail: Vec<Payload>,
    now: DateTime<Utc>,
    /// The subscription as read, with the roles whose rights the command relied on, when the
    /// command may commit as a counter delta (see `counters_only`).
    delta_of: Option<(
        crate::domain::account::Subscription,
        Vec<crate::domain::identity::RoleName>,
    )>,
}

impl<'a> UnitOfWork<'a> {
    pub(crate) fn new(
        loaded: &Loaded,
        account: crate::domain::account::Account,
        log: LogEntry,
        events: &'a [DomainEvent],
        now: DateTime<Utc>,
    ) -> Self {
        Self::on(
            loaded.account.subscription.version,
            account,
            log,
            events,
            now,
        )
    }

    /// A unit of work on the state read at `version`, for a command that took the account
    /// it read by value (a copy of thousands of red seats saved).
    pub(crate) fn on(
        version: u64,
        account: crate::domain::account::Account,
        log: LogEntry,
        events: &'a [DomainEvent],
        now: DateTime<Utc>,
    ) -> Self {
        Self {
            version,
            account,
            log,
            events,
            users: Vec::new(),
            mail: Vec::new(),
            now,
            delta_of: None,
        }
    }

    /// Commits as a counter delta if the command only added users and seats (R25): `read`
    /// is the subscription as read, `roles` those whose rights the command checked.
    pub(crate) fn counters_only(
        mut self,
        read: &crate::domain::account::Subscription,
        roles: Vec<crate::domain::identity::RoleName>,
    ) -> Self {
        self.delta_of = Some((read.clone(), roles));
        self
    }

    /// The users the command writes (each with what it was before).
    pub(crate) fn users(mut self, users: Vec<UserWrite>) -> Self {
        self.users = users;
        self
    }

    /// Mail beyond what the events send, such as the caller's confirmation.
    pub(crate) fn mail(mut self, mail: Vec<Payload>) -> Self {
        self.mail = mail;
        self
    }

    pub(crate) fn into_change(self) -> Change {
        let tenant = self.account.subscription.tenant_id.clone();
        let outbox = outbox(
            &tenant,
            &self.log.entry_id,
            self.log.at,
            self.events,
            self.mail,
        );
        let delta = self
            .delta_of
            .as_ref()
            .and_then(|(read, roles)| counter_delta(read, &self.account.subscription, roles));
        Change {
            delta,
            expected_version: Some(self.version),
            account: self.account,
            users: self.users,
            log: self.log,
            invoices: Vec::new(),
            outbox,
            approve_quote: None,
            idempotency: None,
            requests: Vec::new(),
            now: self.now,
        }
    }
}

/// The counter delta from `before` to `after`, if that is all that changed: users added, active
/// users added per role, one seat added per pool at most, and the clock. Anything else (a
/// purchase, a role edit, a removal) is `None` and commits under the version.
fn counter_delta(
    before: &crate::domain::account::Subscription,
    after: &crate::domain::account::Subscription,
    roles: &[crate::domain::identity::RoleName],
) -> Option<crate::ports::CounterDelta> {
    if before.pools.len() != after.pools.len() {
        return None;
    }
    let mut probe = after.clone();
    let mut seats = Vec::new();
    for (index, (b, a)) in before.pools.iter().zip(&after.pools).enumerate() {
        match a.in_use.checked_sub(b.in_use)? {
            0 => {}
            1 => seats.push(crate::ports::SeatClaim {
                index,
                pool: a.id.clone(),
                licensed: a.in_use <= a.purchased,
                licensed_adds: b.licensed_adds,
            }),
            _ => return None,
        }
        probe.pools[index].in_use = b.in_use;
        probe.pools[index].licensed_adds = b.licensed_adds;
    }
    let users = after.users.checked_sub(before.users)?;
    let mut active = Vec::new();
    for (role, n) in &after.active_by_role {
        let added = n.checked_sub(before.active_by_role.get(role).copied().unwrap_or(0))?;
        active.extend(std::iter::repeat_n(role.clone(), added as usize));
    }
    probe.users = before.users;
    probe.active_by_role = before.active_by_role.clone();
    // The clock the command ticked is not written: its seat's instant is above the pool's
    // newest seat (`Subscription::observe`), which is what R3 needs.
    probe.clock = before.clock;
    if probe != *before || (seats.is_empty() && users == 0) {
        return None;
    }
    Some(crate::ports::CounterDelta {
        users,
        active,
        seats,
        rights: roles
            .iter()
            .map(|r| (r.clone(), after.roles.rights_of(r)))
            .collect(),
        period_start: after.period.start,
    })
}

/// The answer to a request with an `Idempotency-Key`: a status and the exact bytes of the
/// body, replayed for the same key and body (R10).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Replayable {
    pub status: u16,
    pub body: String,
    pub replayed: bool,
}

impl Replayable {
    /// R10 for a key already used: the same request (`print`) replays the first answer,
    /// another request is refused.
    fn replay(record: IdempotencyRecord, print: &str) -> Result<Self, AppError> {
        if record.fingerprint != print {
            return Err(AppError::IdempotencyKeyReused);
        }
        Ok(Self {
            status: record.status,
            body: record.body,
            replayed: true,
        })
    }
}

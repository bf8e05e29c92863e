//! The traits the application needs from the outside world. The domain knows none of them;
//! the adapters implement them with real AWS clients.

mod store;
pub use store::{
    AccountReads, Commits, Directories, DueIndex, Listings, MailSuppressions, OutboxStore,
    PurchaseRequests, Quotes, RoleMembers, Store, UsageHistory, Webhooks,
};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use crate::domain::account::Account;
use crate::domain::allocation::RedSeat;
use crate::domain::identity::{Actor, TenantId, UserId};
use crate::domain::invoice::Invoice;
use crate::domain::pool::PoolId;
use crate::domain::quote::Quote;
use crate::domain::user::User;
use crate::outbox::OutboxMessage;

/// The instant "now", passed in from the entry point.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock, used only by `main`s.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that says what it is told: tests and replayed sweeps.
#[derive(Clone, Copy, Debug)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}

/// Where a name points, as the endpoint is registered (the sender checks again at each send).
pub trait Resolve: Send + Sync {
    fn resolve(
        &self,
        host: &str,
        port: u16,
    ) -> impl std::future::Future<Output = Result<Vec<IpAddr>, String>> + Send;
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another change committed first (version moved, or DynamoDB saw a conflicting transaction).
    #[error("the tenant changed concurrently")]
    Conflict,
    /// A record that must be new exists (tenant, user, invoice).
    #[error("{0} already exists")]
    AlreadyExists(&'static str),
    /// The quote has been approved already.
    #[error("the quote was already approved")]
    QuoteUsed,
    /// An approval with this idempotency key committed meanwhile.
    #[error("the idempotency key was used concurrently")]
    IdempotencyRace,
    /// A record that would pass a tenant's limit (R38's endpoints), counted in the write
    /// itself: two writers racing for the last place cannot both take it.
    #[error("the tenant's limit of {0} is reached")]
    LimitReached(&'static str),
    /// A purchase request was decided meanwhile (R35).
    #[error("the purchase request was decided concurrently")]
    RequestDecided,
    #[error("a cursor is not valid here")]
    BadCursor,
    #[error("storage is throttled")]
    Throttled,
    #[error("storage failure: {0}")]
    Backend(String),
}

/// An entry of the action log (R19).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LogEntry {
    pub entry_id: String,
    pub at: DateTime<Utc>,
    pub actor: Actor,
    pub action: String,
    pub details: serde_json::Value,
}

/// The first answer to an approval, kept for the same key and body (R10): its status, and the
/// purchase it made, from which a replay renders the answer again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub key_digest: String,
    pub fingerprint: String,
    pub status: u16,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredQuote {
    pub quote: Quote,
    pub approved: bool,
}

/// A purchase request written by a change (R35): a new one must not exist; a decided or
/// expired one must still be pending as stored, so two approvals cannot both apply it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestWrite {
    pub request: crate::domain::purchase_request::PurchaseRequest,
    pub new: bool,
}

/// A user record written by a change, with what it was before (the store derives the seat
/// index from the difference).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserWrite {
    pub before: Option<User>,
    pub after: User,
}

/// How a change that only adds users and seats to the subscription commits: an atomic update
/// of those counts, conditioned on what the command's outcome depends on (each new seat still
/// licensed, or still over-allocated with no licensed seat added since its newest-seat read;
/// the rights relied on, the period, not terminated, the user limit) instead of on the whole
/// subscription's version. Creates racing on one tenant then conflict only when one of those
/// moved, not on every commit (R25). The version still moves, so every change made under it
/// sees the create.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CounterDelta {
    pub users: u32,
    /// A role per user entering active use in it.
    pub active: Vec<crate::domain::identity::RoleName>,
    pub seats: Vec<SeatClaim>,
    pub rights: Vec<(
        crate::domain::identity::RoleName,
        std::collections::BTreeSet<crate::domain::rights::Right>,
    )>,
    pub period_start: chrono::NaiveDate,
}

/// One seat a change adds to a pool (its place in the subscription's pools) and whether the
/// command found it licensed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeatClaim {
    pub index: usize,
    pub pool: PoolId,
    pub licensed: bool,
    /// The pool's `licensed_adds` as read: an over-allocated claim holds only if no seat
    /// entered the pool licensed since.
    pub licensed_adds: u64,
}

/// Everything one command changes, committed atomically (one `TransactWriteItems`).
#[derive(Clone, Debug)]
pub struct Change {
    /// The subscription's version as read; `None` creates the tenant.
    pub expected_version: Option<u64>,
    /// Set when the change only adds to the subscription's counts: committed as that delta
    /// (see [`CounterDelta`]) rather than as the whole subscription under its version.
    pub delta: Option<CounterDelta>,
    /// The account after the command; the red-seat records it touched are written
    /// (`Account::red_changes`).
    pub account: Account,
    pub users: Vec<UserWrite>,
    pub log: LogEntry,
    pub invoices: Vec<Invoice>,
    pub outbox: Vec<OutboxMessage>,
    /// A quote this change approves; refused if approved already.
    pub approve_quote: Option<crate::domain::identity::QuoteId>,
    /// The approval's idempotency record; refused if the key exists unexpired.
    pub idempotency: Option<IdempotencyRecord>,
    /// R35's purchase requests this change makes or decides.
    pub requests: Vec<RequestWrite>,
    pub now: DateTime<Utc>,
}

/// What a claim on an outbox batch came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// This dispatcher holds the batch for the lease.
    Taken,
    /// Another dispatcher holds it, or it moved on (settled, gone).
    Held,
    /// Its change has not committed (yet): nothing is sent before it does.
    Uncommitted,
}

pub struct Loaded {
    pub account: Account,
    /// Red-seat records read that no longer count (see `Account::from_parts`), for the sweep
    /// to tidy.
    pub stale: Vec<RedSeat>,
}

impl Loaded {
    /// What a committed change left, without reading it back: the account as committed (its
    /// version one past the one read, nothing left to write).
    pub fn committed(account: Account) -> Self {
        let mut account = account.settled();
        account.subscription.version += 1;
        Self {
            account,
            stale: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: u32,
}

/// The instants an export covers: from `from` (included) until `until` (excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// What an approval reads before it decides: one request on DynamoDB (and the red seats
/// after it when the account has any).
#[derive(Default)]
pub struct ApprovalReads {
    pub account: Option<Loaded>,
    pub user: Option<User>,
    pub idempotency: Option<IdempotencyRecord>,
    pub quote: Option<StoredQuote>,
}

/// Work the sweep finds through the due index.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DueWork {
    /// A subscription whose period has ended, with the copy the index holds (eventually
    /// consistent: good enough to try a version-checked commit with, never to trust blindly).
    Rollover {
        tenant: TenantId,
        indexed: Box<crate::domain::account::Subscription>,
    },
    Seat {
        tenant: TenantId,
        pool: PoolId,
        user: UserId,
    },
}

/// DynamoDB calls made and capacity consumed so far, for logs, metrics and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StoreUsage {
    pub calls: u64,
    pub capacity: f64,
    /// Items written (put, updated or deleted), in transactions and batches: what the
    /// benchmarks compare with the engine's raw write rate.
    pub items_written: u64,
}

impl StoreUsage {
    /// What was used between `before` and this reading.
    pub fn since(self, before: StoreUsage) -> StoreUsage {
        StoreUsage {
            calls: self.calls.saturating_sub(before.calls),
            capacity: self.capacity - before.capacity,
            items_written: self.items_written.saturating_sub(before.items_written),
        }
    }
}

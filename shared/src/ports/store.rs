//! The persistence ports: the store the use cases change and read through, and the outbox as
//! delivery needs it.

use chrono::{DateTime, Utc};

use crate::domain::account::{Account, SeatInfo};
use crate::domain::allocation::RedSeat;
use crate::domain::directory::{DirectoryKey, ProvisioningToken};
use crate::domain::identity::{QuoteId, RoleName, TenantId, UserId};
use crate::domain::invoice::Invoice;
use crate::domain::pool::PoolId;
use crate::domain::purchase_request::PurchaseRequest;
use crate::domain::quote::Quote;
use crate::domain::suppression::MailSuppression;
use crate::domain::usage::UsageReading;
use crate::domain::user::User;
use crate::outbox::OutboxMessage;
use crate::ports::{
    ApprovalReads, Change, Claim, DueWork, IdempotencyRecord, Loaded, LogEntry, Page, PageRequest,
    Span, StoreError, StoreUsage, StoredQuote,
};

/// Reading one tenant: its account (the subscription and its red seats) and its users, as
/// every use case does before it decides.
pub trait AccountReads: Send + Sync {
    fn usage(&self) -> StoreUsage {
        StoreUsage::default()
    }

    /// Opens the store's connection before a request needs it (a function's init), so the
    /// first request does not pay for it. Nothing, where there is no connection.
    fn warm(&self) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// The subscription and its red seats, strongly consistent (R1).
    fn load_account(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Option<Loaded>, StoreError>> + Send;

    fn load_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Every red-seat record of the tenant, effective or stale (the sweep tidies the stale
    /// ones of a tenant whose counts say it has none).
    fn red_records(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<RedSeat>, StoreError>> + Send {
        async move {
            Ok(self
                .load_account(tenant)
                .await?
                .map(|l| l.account.all_reds().cloned().chain(l.stale).collect())
                .unwrap_or_default())
        }
    }

    /// The users of `ids` that exist in the tenant. The DynamoDB store reads them a hundred to
    /// a `BatchGetItem` (the sweep's removals read 25 at a time).
    fn load_users(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
    ) -> impl Future<Output = Result<std::collections::BTreeMap<UserId, User>, StoreError>> + Send
    {
        async move {
            let found =
                futures::future::join_all(ids.iter().map(|u| self.load_user(tenant, u))).await;
            let mut users = std::collections::BTreeMap::new();
            for user in found {
                if let Some(user) = user? {
                    users.insert(user.user_id.clone(), user);
                }
            }
            Ok(users)
        }
    }

    /// Which of `users` exist in the tenant. The DynamoDB store asks for their keys alone, a
    /// hundred to a `BatchGetItem`.
    fn existing_users(
        &self,
        tenant: &TenantId,
        users: &[UserId],
    ) -> impl Future<Output = Result<std::collections::BTreeSet<UserId>, StoreError>> + Send {
        async move { Ok(self.load_users(tenant, users).await?.into_keys().collect()) }
    }

    /// The newest `limit` seats of a pool, newest first (R3 order reversed).
    fn newest_seats(
        &self,
        tenant: &TenantId,
        pool: &PoolId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<SeatInfo>, StoreError>> + Send;
}

/// The pages of a tenant's users (by id), action log and invoices (R19; both newest first).
pub trait Listings: Send + Sync {
    fn list_users(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<User>, StoreError>> + Send;

    fn list_log(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<LogEntry>, StoreError>> + Send;

    fn list_invoices(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Invoice>, StoreError>> + Send;

    /// The action log within `span`, oldest first (R36's export).
    fn export_log(
        &self,
        tenant: &TenantId,
        span: Span,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<LogEntry>, StoreError>> + Send;

    /// The invoices issued within `span`, oldest first (R36's export).
    fn export_invoices(
        &self,
        tenant: &TenantId,
        span: Span,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<Invoice>, StoreError>> + Send;
}

/// Quotes (R6) and the idempotency records of approvals (R10); an approval's reads default to
/// the account's and these.
pub trait Quotes: Send + Sync + AccountReads {
    fn put_quote(&self, quote: &Quote) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_quote(
        &self,
        tenant: &TenantId,
        quote_id: &QuoteId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<StoredQuote>, StoreError>> + Send;

    fn get_idempotency(
        &self,
        tenant: &TenantId,
        key_digest: &str,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<IdempotencyRecord>, StoreError>> + Send;

    /// What an approval reads besides the account: the approver, the idempotency record and
    /// the quote. The DynamoDB store reads the three in one `BatchGetItem`.
    fn load_approval(
        &self,
        tenant: &TenantId,
        user: &UserId,
        key_digest: Option<&str>,
        quote_id: &QuoteId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<ApprovalReads, StoreError>> + Send {
        async move {
            let idempotency = match key_digest {
                Some(digest) => self.get_idempotency(tenant, digest, now).await?,
                None => None,
            };
            Ok(ApprovalReads {
                account: self.load_account(tenant).await?,
                user: self.load_user(tenant, user).await?,
                idempotency,
                quote: self.get_quote(tenant, quote_id, now).await?,
            })
        }
    }
}

/// Writing a change: one version-checked commit (state, log, outbox), and the tidy of red-seat
/// records a change left behind. A change's mail is addressed before it commits (decision
/// 0014), from the reads of the other three ports, so whatever commits has them.
pub trait Commits: AccountReads + MailSuppressions + RoleMembers {
    fn commit(&self, change: Change) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Red-seat records left behind by a change too large for one transaction, or found stale.
    fn delete_red_records(
        &self,
        tenant: &TenantId,
        records: &[RedSeat],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// The sweep's way in: the due work at an instant, through the sparse due index.
pub trait DueIndex: Send + Sync {
    /// Due work at `at`, through the sparse due index (never a scan).
    fn due_work(
        &self,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<DueWork>, StoreError>> + Send;
}

/// Who a change's mail reaches (decision 0014): the active users of some roles, through an
/// index of active users by role, so mailing the managers never reads every user. The index is
/// eventually consistent: a user activated a moment before may be missed, which the change's
/// own writes make up for.
pub trait RoleMembers: Send + Sync {
    fn active_in_roles(
        &self,
        tenant: &TenantId,
        roles: &[RoleName],
    ) -> impl Future<Output = Result<Vec<User>, StoreError>> + Send;
}

/// Every port the use cases have, for the callers that need them all (the functions' wiring
/// and the tests); a use case asks only for the ones it uses.
pub trait Store:
    AccountReads
    + Listings
    + Quotes
    + Commits
    + DueIndex
    + MailSuppressions
    + UsageHistory
    + PurchaseRequests
    + RoleMembers
{
}

impl<
    T: AccountReads
        + Listings
        + Quotes
        + Commits
        + DueIndex
        + MailSuppressions
        + UsageHistory
        + PurchaseRequests
        + RoleMembers,
> Store for T
{
}

/// The outbox as delivery needs it (R20, R21): the batches a change wrote, those due, a lease
/// so that one dispatcher sends a batch, the attempt written back, and the users to mail.
pub trait OutboxStore: Send + Sync {
    /// The batches `messages` were stored as by a change of `tenant`.
    fn batches_of(
        &self,
        tenant: &TenantId,
        messages: &[OutboxMessage],
    ) -> Vec<crate::outbox::OutboxBatch>;

    /// Batches due at `at`, at most `limit` from each part of the due index.
    fn due_outbox(
        &self,
        at: DateTime<Utc>,
        limit: i32,
    ) -> impl Future<Output = Result<Vec<crate::outbox::OutboxBatch>, StoreError>> + Send;

    /// Takes a batch for `lease_secs`. A batch written ahead of its change's transaction is
    /// taken only once that change committed (its marker, the log entry, exists), checked in
    /// the same write.
    fn claim_outbox(
        &self,
        batch: &crate::outbox::OutboxBatch,
        now: DateTime<Utc>,
        lease_secs: i64,
    ) -> impl Future<Output = Result<Claim, StoreError>> + Send;

    /// Writes an attempt back: gone when nothing remains, otherwise the remaining messages
    /// (each with its own attempts), due again at `next_attempt` or dead. Every settle moves
    /// the batch's `attempts` on (its version), so a copy read before it (a stream record
    /// handed over again) can no longer claim it. False when another dispatcher settled first.
    fn settle_outbox(
        &self,
        batch: &crate::outbox::OutboxBatch,
        remaining: Vec<OutboxMessage>,
        next_attempt: DateTime<Utc>,
        dead: bool,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Every user of the tenant (the notifier picks the managers it mails).
    fn all_users(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<User>, StoreError>> + Send;

    /// R32: every dead batch (of `tenant`, or of all) due again at `now`, its messages live
    /// with no attempt counted; how many messages were redriven.
    fn redrive_dead(
        &self,
        tenant: Option<&TenantId>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

/// Addresses whose mail bounced for good or drew a complaint (SES's events): delivery skips
/// them and the users view shows them.
pub trait MailSuppressions: Send + Sync {
    /// The tenant's suppressed addresses.
    fn suppressions(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<MailSuppression>, StoreError>> + Send;

    /// Records one; a later event for the same address replaces it.
    fn suppress(
        &self,
        tenant: &TenantId,
        suppression: &MailSuppression,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// R37: the daily usage readings.
pub trait UsageHistory: Send + Sync {
    /// Commits a day's usage step: the subscription as `account` holds it (its mark of the
    /// day), if it is still at the version read, with the day's reading when one was taken.
    fn record_usage(
        &self,
        account: &Account,
        reading: Option<&UsageReading>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The readings of the days from `from` to `to`, both included, oldest first.
    fn usage_readings(
        &self,
        tenant: &TenantId,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> impl Future<Output = Result<Vec<UsageReading>, StoreError>> + Send;
}

/// R35's purchase requests, each its own record (the subscription lists the pending ones).
pub trait PurchaseRequests: Send + Sync {
    fn get_request(
        &self,
        tenant: &TenantId,
        request_id: &str,
    ) -> impl Future<Output = Result<Option<PurchaseRequest>, StoreError>> + Send;

    /// A page of the tenant's requests, newest first.
    fn list_requests(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> impl Future<Output = Result<Page<PurchaseRequest>, StoreError>> + Send;
}

/// R34: provisioning tokens and the directory keys of the users SCIM manages. A token's
/// create and revoke write the action log's entry with it, in one transaction.
pub trait Directories: Send + Sync {
    /// The user holding a directory key (a `userName`, an `externalId`), read consistently.
    fn directory_user(
        &self,
        tenant: &TenantId,
        key: &DirectoryKey,
    ) -> impl Future<Output = Result<Option<UserId>, StoreError>> + Send;

    fn put_token(
        &self,
        token: &ProvisioningToken,
        log: &LogEntry,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn tokens(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<ProvisioningToken>, StoreError>> + Send;

    /// Deletes the token; `Ok(false)` when the tenant has no such token.
    fn revoke_token(
        &self,
        tenant: &TenantId,
        token_id: &str,
        log: &LogEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The token whose hash this is, of any tenant.
    fn token_by_hash(
        &self,
        hash: &str,
    ) -> impl Future<Output = Result<Option<ProvisioningToken>, StoreError>> + Send;

    /// Notes the token's use at `at` (best effort: a lost note loses only a timestamp).
    fn token_used(
        &self,
        token: &ProvisioningToken,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// R38's webhook endpoints (a handful per tenant, read whole) and each one's recent attempts.
pub trait Webhooks: Send + Sync {
    /// The tenant's endpoints, oldest first.
    fn endpoints(
        &self,
        tenant: &TenantId,
    ) -> impl Future<Output = Result<Vec<crate::domain::webhooks::Endpoint>, StoreError>> + Send;

    /// Writes `endpoint` at its `version`: new at 1, otherwise only over `version - 1`
    /// (`Conflict` when another write came first), with `log` in the same transaction. A new
    /// one is counted in the same write: `LimitReached("webhook endpoints")` when the tenant
    /// has `MAX_ENDPOINTS` already, however many administrators add one at once. `mail` is an
    /// outbox batch of that name written in the same transaction (the managers' mail about an
    /// endpoint the dispatcher turned off: never one without the other).
    fn put_endpoint(
        &self,
        endpoint: &crate::domain::webhooks::Endpoint,
        log: Option<&LogEntry>,
        mail: Option<(&str, &OutboxMessage)>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes `endpoint` (false when gone already) and its attempts, with `log`.
    fn delete_endpoint(
        &self,
        endpoint: &crate::domain::webhooks::Endpoint,
        log: &LogEntry,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Keeps `attempts`, and of each endpoint only its newest
    /// [`crate::domain::webhooks::ATTEMPTS_KEPT`].
    fn record_attempts(
        &self,
        tenant: &TenantId,
        attempts: &[crate::domain::webhooks::Attempt],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// An endpoint's kept attempts, newest first.
    fn attempts(
        &self,
        tenant: &TenantId,
        endpoint_id: &str,
    ) -> impl Future<Output = Result<Vec<crate::domain::webhooks::Attempt>, StoreError>> + Send;

    /// Stores R38's `messages` of `tenant` (webhooks, and the mail about a disabled endpoint)
    /// as new outbox batches named after `name`, due at once, each only if no batch of its
    /// name exists (so a fan-out repeated after a crash writes nothing twice); how many were
    /// new.
    fn queue_outbox(
        &self,
        tenant: &TenantId,
        name: &str,
        messages: &[OutboxMessage],
    ) -> impl Future<Output = Result<usize, StoreError>> + Send;
}

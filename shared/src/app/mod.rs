//! The use cases: each reads through the store port, applies the domain rules, and commits
//! the result (state, action log, outbox) as one change. Handlers call these and nothing else.

pub mod error;
pub mod sweep;
pub mod tenants;
pub mod users;
pub mod views;

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;

use crate::domain::account::SeatInfo;
use crate::domain::events::DomainEvent;
use crate::domain::idempotency::{IdempotencyKey, fingerprint};
use crate::domain::identity::{Actor, TenantId, UserId};
use crate::domain::invoice::Invoice;
use crate::domain::next_period::{self, NextPeriodRequest};
use crate::domain::pool::PoolId;
use crate::domain::purchase;
use crate::domain::quote::{PurchaseRequest, prepare_quote};
use crate::domain::rights::Right;
use crate::domain::user::User;
use crate::outbox::{MailKind, OutboxMessage, Payload, Recipient, event_payloads, manager_mails};
use crate::ports::{
    Change, IdempotencyRecord, Loaded, LogEntry, Page, PageRequest, Store, StoreError, UserWrite,
};
pub use error::AppError;
pub use tenants::*;
pub use users::*;
use views::*;

/// The authenticated caller of a tenant route (R16): the tenant comes only from the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub tenant: TenantId,
    pub user: UserId,
}

/// How often a change that lost a race is retried from a fresh read before answering 409.
/// With full-jitter backoff capped at 250 ms this waits at most a few seconds, enough for
/// dozens of simultaneous changes to one tenant to all commit.
const MAX_ATTEMPTS: u32 = 30;

/// Replays of an approval are kept this long (R10).
pub fn idempotency_window() -> Duration {
    Duration::hours(24)
}

async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T, AppError>
where
    F: FnMut(u32) -> Fut,
    Fut: Future<Output = Result<T, AppError>>,
{
    let mut n = 0;
    loop {
        match attempt(n).await {
            Err(AppError::Contention) if n + 1 < MAX_ATTEMPTS => {
                // Full jitter: racing writers spread out instead of colliding again.
                let ceiling = (4u64 << n.min(6)).min(250);
                let random = u64::from(u16::from_le_bytes([
                    uuid::Uuid::new_v4().as_bytes()[0],
                    uuid::Uuid::new_v4().as_bytes()[1],
                ]));
                tokio::time::sleep(std::time::Duration::from_millis(1 + random % ceiling)).await;
                n += 1;
            }
            other => return other,
        }
    }
}

pub struct Authorized {
    pub loaded: Loaded,
    pub user: User,
    pub rights: BTreeSet<Right>,
}

/// R16/R17: the caller's account and user, read fresh (so a revoked right takes effect on the
/// next request), and the right checked. The two reads run concurrently. R22: a period that
/// ended without the sweep is rolled over first, so the request acts on the period running.
pub async fn authorize<S: Store>(
    store: &S,
    caller: &Caller,
    right: Right,
    now: DateTime<Utc>,
) -> Result<Authorized, AppError> {
    let (loaded, user) = futures::join!(
        store.load_account(&caller.tenant),
        store.load_user(&caller.tenant, &caller.user)
    );
    check_right(in_current_period(store, loaded?, now).await?, user?, right)
}

/// R22 on a tenant read that may not exist (see `sweep::in_current_period`).
async fn in_current_period<S: Store>(
    store: &S,
    loaded: Option<Loaded>,
    now: DateTime<Utc>,
) -> Result<Option<Loaded>, AppError> {
    match loaded {
        Some(loaded) => Ok(Some(sweep::in_current_period(store, loaded, now).await?)),
        None => Ok(None),
    }
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

fn change(
    loaded: &Loaded,
    account: crate::domain::account::Account,
    users: Vec<UserWrite>,
    log: LogEntry,
    events: &[DomainEvent],
    own_mail: Vec<Payload>,
    now: DateTime<Utc>,
) -> Change {
    let tenant = account.subscription.tenant_id.clone();
    let outbox = outbox(&tenant, &log.entry_id, log.at, events, own_mail);
    Change {
        expected_version: Some(loaded.account.subscription.version),
        reds_before: loaded.red_records.clone(),
        account,
        users,
        log,
        invoices: Vec::new(),
        outbox,
        approve_quote: None,
        idempotency: None,
        now,
    }
}

// ---- status -------------------------------------------------------------------------------

pub async fn account_status<S: Store>(
    store: &S,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<AccountView, AppError> {
    let auth = authorize(store, caller, Right::AccountView, now).await?;
    Ok(AccountView::new(&auth.loaded.account, &auth.rights))
}

pub async fn list_invoices<S: Store>(
    store: &S,
    caller: &Caller,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<PageView<Invoice>, AppError> {
    authorize(store, caller, Right::AccountView, now).await?;
    let Page { items, next_cursor } = store.list_invoices(&caller.tenant, page).await?;
    Ok(PageView { items, next_cursor })
}

pub async fn list_action_log<S: Store>(
    store: &S,
    caller: &Caller,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<PageView<LogEntry>, AppError> {
    authorize(store, caller, Right::AccountView, now).await?;
    let Page { items, next_cursor } = store.list_log(&caller.tenant, page).await?;
    Ok(PageView { items, next_cursor })
}

// ---- purchase -----------------------------------------------------------------------------

pub async fn create_quote<S: Store>(
    store: &S,
    caller: &Caller,
    licences: Option<u32>,
    modules: &BTreeMap<String, u32>,
    now: DateTime<Utc>,
) -> Result<QuoteView, AppError> {
    let request = PurchaseRequest::parse(licences, modules)?;
    let auth = authorize(store, caller, Right::LicencesManage, now).await?;
    let quote_id = format!("q-{}", uuid::Uuid::new_v4().simple());
    let quote = prepare_quote(&auth.loaded.account.subscription, &request, now, quote_id)?;
    store.put_quote(&quote).await?;
    Ok(QuoteView::new(&quote))
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

pub async fn approve_purchase<S: Store>(
    store: &S,
    caller: &Caller,
    idempotency_key: Option<&str>,
    request: &serde_json::Value,
    quote_id: &str,
    now: DateTime<Utc>,
) -> Result<Replayable, AppError> {
    let key = idempotency_key.map(IdempotencyKey::parse).transpose();
    let print = fingerprint(request);
    retrying(|_| {
        let key = key.clone();
        let print = print.clone();
        async move {
            // Two reads: the account, and the approver, key and quote together.
            let digest = key
                .as_ref()
                .ok()
                .and_then(|k| k.as_ref())
                .map(IdempotencyKey::digest);
            let (loaded, reads) = futures::join!(
                store.load_account(&caller.tenant),
                store.load_approval(
                    &caller.tenant,
                    &caller.user,
                    digest.as_deref(),
                    quote_id,
                    now
                )
            );
            let reads = reads?;
            let loaded = in_current_period(store, loaded?, now).await?;
            // Rights first: a caller without them learns nothing about the request's validity.
            let auth = check_right(loaded, reads.user, Right::LicencesManage)?;
            let digest = key?.ok_or(AppError::IdempotencyKeyMissing)?.digest();
            if let Some(record) = reads.idempotency {
                return Replayable::replay(record, &print);
            }
            let stored = reads.quote.ok_or(AppError::NotFound("quote"))?;
            if stored.approved {
                // Approved together with its idempotency record: if this key did it, replay.
                return match store.get_idempotency(&caller.tenant, &digest, now).await? {
                    Some(record) => Replayable::replay(record, &print),
                    None => Err(AppError::QuoteUsed),
                };
            }
            let loaded = auth.loaded;
            let mut account = loaded.account.clone();
            let purchase_id = format!("p-{}", uuid::Uuid::new_v4().simple());
            let (purchase, events) =
                purchase::approve(&mut account, &stored.quote, &caller.user, now, purchase_id)?;
            let body = serde_json::to_string(&PurchaseView {
                purchase_id: purchase.purchase_id.clone(),
                invoice_id: purchase.invoice.invoice_id.clone(),
                quote_id: purchase.quote_id.clone(),
                currency: purchase.invoice.currency.to_string(),
                total: purchase.invoice.total.minor(),
                account: AccountView::new(&account, &auth.rights),
            })
            .map_err(|e| AppError::Internal(e.to_string()))?;
            let log = log_entry(
                Actor::User(caller.user.clone()),
                "licences.purchased",
                json!({
                    "purchase_id": purchase.purchase_id,
                    "quote_id": purchase.quote_id,
                    "invoice_id": purchase.invoice.invoice_id,
                    "lines": purchase.invoice.lines,
                    "total": purchase.invoice.total,
                    "currency": purchase.invoice.currency,
                }),
                purchase.approved_at,
            );
            let confirmation = Payload::Mail {
                kind: MailKind::PurchaseConfirmation,
                to: Recipient::User {
                    user_id: caller.user.clone(),
                },
                language: Some(auth.user.language),
                data: json!({ "invoice": purchase.invoice, "pools": account.subscription.pools }),
            };
            let mut change = change(
                &loaded,
                account,
                Vec::new(),
                log,
                &events,
                vec![confirmation],
                now,
            );
            change.invoices.push(purchase.invoice.clone());
            change.approve_quote = Some(stored.quote.quote_id.clone());
            change.idempotency = Some(IdempotencyRecord {
                key_digest: digest.clone(),
                fingerprint: print.clone(),
                status: 201,
                body: body.clone(),
                created_at: now,
                expires_at: now + idempotency_window(),
            });
            let (currency, total) = (
                purchase.invoice.currency.to_string(),
                purchase.invoice.total.minor(),
            );
            match store.commit(change).await {
                Ok(()) => {
                    crate::telemetry::purchase(&currency, total);
                    Ok(Replayable {
                        status: 201,
                        body,
                        replayed: false,
                    })
                }
                // Another request with this key, or for this quote, committed first: the next
                // attempt answers with its result (or says the quote is used).
                Err(StoreError::IdempotencyRace | StoreError::QuoteUsed) => {
                    Err(AppError::Contention)
                }
                Err(e) => Err(e.into()),
            }
        }
    })
    .await
}

// ---- downscale ----------------------------------------------------------------------------

pub async fn set_next_period<S: Store>(
    store: &S,
    caller: &Caller,
    licences: Option<u32>,
    modules: &BTreeMap<String, u32>,
    now: DateTime<Utc>,
) -> Result<NextPeriodView, AppError> {
    let request = NextPeriodRequest::parse(licences, modules)?;
    retrying(|_| {
        let request = request.clone();
        async move {
            let auth = authorize(store, caller, Right::LicencesManage, now).await?;
            let loaded = auth.loaded;
            let mut account = loaded.account.clone();
            let plan = next_period::plan(&account.subscription, &request)?;
            let mut newest: BTreeMap<PoolId, Vec<SeatInfo>> = BTreeMap::new();
            for (pool, over) in &plan.seats_over {
                newest.insert(
                    pool.clone(),
                    store.newest_seats(&caller.tenant, pool, *over).await?,
                );
            }
            let (events, seats) = next_period::apply(&mut account, &plan, &newest)?;
            let at = account.subscription.tick(now);
            let seats_view: Vec<SeatToRemoveView> = seats
                .iter()
                .map(|s| SeatToRemoveView {
                    pool: s.pool.to_string(),
                    user_id: s.user_id.to_string(),
                    name: s.name.clone(),
                })
                .collect();
            let log = log_entry(
                Actor::User(caller.user.clone()),
                "next_period.changed",
                json!({ "changes": plan.changes, "seats_to_remove": seats }),
                at,
            );
            let confirmation = Payload::Mail {
                kind: MailKind::DownscaleConfirmation,
                to: Recipient::User {
                    user_id: caller.user.clone(),
                },
                language: Some(auth.user.language),
                data: json!({
                    "changes": plan.changes,
                    "effective_from": account.subscription.period.end,
                    "seats_to_remove": seats,
                }),
            };
            let view = NextPeriodView {
                effective_from: account.subscription.period.end,
                licences: account.subscription.licences().map_or(0, |p| p.next_period),
                modules: account
                    .subscription
                    .modules()
                    .map(|p| (p.id.to_string(), p.next_period))
                    .collect(),
                seats_to_remove: seats_view,
                account: AccountView::new(&account, &auth.rights),
            };
            store
                .commit(change(
                    &loaded,
                    account,
                    Vec::new(),
                    log,
                    &events,
                    vec![confirmation],
                    now,
                ))
                .await?;
            Ok(view)
        }
    })
    .await
}

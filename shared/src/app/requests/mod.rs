//! R35: purchases above the tenant's approval threshold wait for a second holder of
//! `licences.manage`. The request is made where the approval would have bought
//! (`purchase::approve_purchase` answers 202); here it is listed, priced for today, approved
//! (the purchase applied, once) or declined, and expired by the sweep.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::app::error::AppError;
use crate::app::purchase::{Bought, purchase_change, replay_purchase};
use crate::app::views::PageView;
use crate::app::{Caller, Replayable, UnitOfWork, authorize, log_entry, retrying};
use crate::domain::account::Account;
use crate::domain::events::DomainEvent;
use crate::domain::idempotency::{IdempotencyKey, fingerprint};
use crate::domain::identity::{Actor, QuoteId, TenantId};
use crate::domain::purchase;
use crate::domain::purchase_request::{
    PurchaseRequest, RequestStatus, close, ensure_not_own, ensure_open, ensure_price, parse_reason,
};
use crate::domain::quote::prepare_quote;
use crate::domain::rights::Right;
use crate::outbox::{MailKind, Payload, Recipient};

mod view;
use crate::ports::{
    AccountReads, Commits, Loaded, Page, PageRequest, PurchaseRequests, Quotes, RequestWrite,
    StoreError,
};
pub use view::{RequestView, RequestedItem, request_view};

/// A request's id as a path gives it: anything else is simply not found.
fn lookup_id(id: &str) -> Result<&str, AppError> {
    let shaped = id.len() <= 64
        && id.starts_with("pr-")
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if shaped {
        Ok(id)
    } else {
        Err(AppError::NotFound("purchase request"))
    }
}

async fn find<S: PurchaseRequests>(
    store: &S,
    tenant: &TenantId,
    id: &str,
) -> Result<PurchaseRequest, AppError> {
    store
        .get_request(tenant, lookup_id(id)?)
        .await?
        .ok_or(AppError::NotFound("purchase request"))
}

pub async fn list_requests<S: AccountReads + Commits + PurchaseRequests>(
    store: &S,
    caller: &Caller,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<PageView<RequestView>, AppError> {
    let auth = authorize(store, caller, Right::LicencesManage, now).await?;
    let Page { items, next_cursor } = store.list_requests(&caller.tenant, page).await?;
    let sub = &auth.loaded.account.subscription;
    Ok(PageView {
        items: items
            .iter()
            .map(|r| request_view(sub, r, &caller.user, now))
            .collect(),
        next_cursor,
    })
}

pub async fn get_request<S: AccountReads + Commits + PurchaseRequests>(
    store: &S,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Result<RequestView, AppError> {
    let auth = authorize(store, caller, Right::LicencesManage, now).await?;
    let request = find(store, &caller.tenant, id).await?;
    let sub = &auth.loaded.account.subscription;
    Ok(request_view(sub, &request, &caller.user, now))
}

/// The mail that tells the requester how their request ended.
fn decided_mail(request: &PurchaseRequest, by: Option<&str>) -> Payload {
    let (reason, invoice_id, total) = match &request.status {
        RequestStatus::Approved {
            invoice_id, total, ..
        } => (None, Some(invoice_id), *total),
        RequestStatus::Declined { reason, .. } => (Some(reason), None, request.requested_total),
        _ => (None, None, request.requested_total),
    };
    Payload::Mail {
        kind: MailKind::PurchaseRequestDecided,
        to: Recipient::User {
            user_id: request.requested_by.clone(),
        },
        language: None,
        addressed: None,
        data: json!({
            "request_id": request.request_id,
            "status": request.status.name(),
            "by": by,
            "reason": reason,
            "invoice_id": invoice_id,
            "total": total,
            "currency": request.currency,
        }),
    }
}

/// R35: applies a pending request as a purchase priced for today, if the approver's `total`
/// is today's, once per request whatever the races and retries (the request's write is
/// conditioned on its still being pending, in the purchase's transaction). The requester
/// cannot approve their own.
pub async fn approve_request<S: AccountReads + Quotes + Commits + PurchaseRequests>(
    store: &S,
    caller: &Caller,
    id: &str,
    idempotency_key: Option<&str>,
    body: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Replayable, AppError> {
    let shown = body
        .get("total")
        .and_then(serde_json::Value::as_i64)
        .filter(|_| body.as_object().is_some_and(|o| o.len() == 1))
        .ok_or_else(|| AppError::BadRequest("the body is {\"total\": <the total shown>}".into()));
    let digest = idempotency_key
        .map(|k| IdempotencyKey::parse(k).map(|k| k.digest()))
        .transpose();
    let print = fingerprint(&json!({ "request": id, "body": body }));
    let (digest, print, shown) = (&digest, &print, &shown);
    retrying(|_| async move {
        let auth = authorize(store, caller, Right::LicencesManage, now).await?;
        let digest = digest.clone()?.ok_or(AppError::IdempotencyKeyMissing)?;
        let shown = shown
            .as_ref()
            .map_err(|e| AppError::BadRequest(e.to_string()))?;
        // The key's record and the request, read together.
        let (record, request) = futures::join!(
            store.get_idempotency(&caller.tenant, &digest, now),
            find(store, &caller.tenant, id)
        );
        if let Some(record) = record? {
            return replay_purchase(store, caller, record, print, &auth.rights, now).await;
        }
        let mut request = request?;
        ensure_open(&request, now)?;
        ensure_not_own(&request, &caller.user)?;
        let loaded = &auth.loaded;
        let today = prepare_quote(
            &loaded.account.subscription,
            &request.items,
            now,
            QuoteId::generate(),
        )?;
        ensure_price(*shown, &today)?;
        let mut account = loaded.account.clone();
        let purchase_id = format!("p-{}", uuid::Uuid::new_v4().simple());
        let (purchase, events) =
            purchase::approve(&mut account, &today, &caller.user, now, purchase_id)?;
        close(
            &mut account.subscription,
            &mut request,
            RequestStatus::Approved {
                by: caller.user.clone(),
                at: purchase.approved_at,
                invoice_id: purchase.invoice.invoice_id.clone(),
                total: purchase.invoice.total,
            },
        );
        let bought = Bought {
            purchase: &purchase,
            events: &events,
            about: json!({
                "purchase_request_id": request.request_id,
                "requested_by": request.requested_by,
            }),
            mail: vec![decided_mail(&request, Some(auth.user.name.as_str()))],
        };
        let keyed = (digest, print.as_str());
        let mut change = purchase_change(
            loaded,
            account,
            bought,
            (&auth.user, &auth.rights),
            keyed,
            now,
        )?;
        change.change.requests.push(RequestWrite {
            request,
            new: false,
        });
        change.commit(store).await
    })
    .await
}

/// R35: declines a pending request with a reason; the requester may withdraw their own.
pub async fn decline_request<S: AccountReads + Commits + PurchaseRequests>(
    store: &S,
    caller: &Caller,
    id: &str,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<RequestView, AppError> {
    retrying(|_| async move {
        let auth = authorize(store, caller, Right::LicencesManage, now).await?;
        let mut request = find(store, &caller.tenant, id).await?;
        let reason = &parse_reason(reason)?;
        ensure_open(&request, now)?;
        let loaded = &auth.loaded;
        let mut account = loaded.account.clone();
        let at = account.subscription.tick(now);
        close(
            &mut account.subscription,
            &mut request,
            RequestStatus::Declined { by: caller.user.clone(), at, reason: reason.clone() },
        );
        let log = log_entry(
            Actor::User(caller.user.clone()),
            "purchase_request.declined",
            json!({ "purchase_request_id": request.request_id, "requested_by": request.requested_by, "reason": reason }),
            at,
        );
        let mail = (request.requested_by != caller.user)
            .then(|| decided_mail(&request, Some(auth.user.name.as_str())));
        let view = request_view(&account.subscription, &request, &caller.user, now);
        let event = DomainEvent::PurchaseRequestDeclined {
            purchase_request_id: request.request_id.clone(),
            declined_by: caller.user.clone(),
            reason: reason.clone(),
        };
        let mut change = UnitOfWork::new(loaded, account, log, &[event], now)
            .mail(mail.into_iter().collect())
            .into_change();
        change.requests.push(RequestWrite { request, new: false });
        match crate::app::commit(store, change).await {
            Ok(()) => Ok(view),
            Err(StoreError::RequestDecided) => Err(AppError::Contention),
            Err(e) => Err(e.into()),
        }
    })
    .await
}

/// The sweep's part (R35): every pending request past its expiry closed as expired and its
/// requester told, in one change. The account committed, or `None` when none was due.
pub(crate) async fn expire_requests<S: AccountReads + Commits + PurchaseRequests>(
    store: &S,
    loaded: &Loaded,
    at: DateTime<Utc>,
) -> Result<Option<Account>, AppError> {
    let sub = &loaded.account.subscription;
    if sub.requests_due().is_none_or(|due| due > at) {
        return Ok(None);
    }
    let mut account = loaded.account.clone();
    let due: Vec<String> = sub
        .pending_requests
        .iter()
        .filter(|p| p.expires_at <= at)
        .map(|p| p.request_id.clone())
        .collect();
    let mut writes = Vec::new();
    let mut mails = Vec::new();
    let mut events = Vec::new();
    for id in &due {
        match store.get_request(&sub.tenant_id, id).await? {
            Some(mut request) if request.status == RequestStatus::Pending => {
                close(
                    &mut account.subscription,
                    &mut request,
                    RequestStatus::Expired { at },
                );
                mails.push(decided_mail(&request, None));
                events.push(DomainEvent::PurchaseRequestExpired {
                    purchase_request_id: request.request_id.clone(),
                });
                writes.push(RequestWrite {
                    request,
                    new: false,
                });
            }
            // Decided, or never written: only the subscription's list is tidied.
            _ => account
                .subscription
                .pending_requests
                .retain(|p| &p.request_id != id),
        }
    }
    let log = log_entry(
        Actor::System,
        "purchase_requests.expired",
        json!({ "purchase_request_ids": due }),
        at,
    );
    let mut change = UnitOfWork::new(loaded, account.clone(), log, &events, at)
        .mail(mails)
        .into_change();
    change.requests = writes;
    crate::app::commit(store, change).await?;
    Ok(Some(account))
}

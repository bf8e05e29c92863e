//! Buying licences: a quote (R6, R7), and its approval (R8–R10), replayed for the same key
//! and body.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

use crate::app::error::AppError;
use crate::app::views::{AccountView, PurchaseView, QuoteView};
use crate::app::{
    Caller, Replayable, UnitOfWork, authorize, check_right, found_in_current_period,
    idempotency_window, log_entry, retrying,
};
use crate::domain::idempotency::{IdempotencyKey, fingerprint};
use crate::domain::identity::{Actor, QuoteId};
use crate::domain::purchase;
use crate::domain::quote::{PurchaseRequest, prepare_quote};
use crate::domain::rights::Right;
use crate::outbox::{MailKind, Payload, Recipient};
use crate::ports::{AccountReads, Commits, IdempotencyRecord, Quotes, StoreError};

pub async fn create_quote<S: AccountReads + Quotes + Commits>(
    store: &S,
    caller: &Caller,
    licences: Option<u32>,
    modules: &BTreeMap<String, u32>,
    now: DateTime<Utc>,
) -> Result<QuoteView, AppError> {
    let request = PurchaseRequest::parse(licences, modules)?;
    let auth = authorize(store, caller, Right::LicencesManage, now).await?;
    let quote = prepare_quote(
        &auth.loaded.account.subscription,
        &request,
        now,
        QuoteId::generate(),
    )?;
    store.put_quote(&quote).await?;
    Ok(QuoteView::new(&quote))
}

pub async fn approve_purchase<S: AccountReads + Quotes + Commits>(
    store: &S,
    caller: &Caller,
    idempotency_key: Option<&str>,
    request: &serde_json::Value,
    quote_id: &QuoteId,
    now: DateTime<Utc>,
) -> Result<Replayable, AppError> {
    // The key's digest and the body's fingerprint once, whatever the attempts; a bad or
    // missing key is said only after the rights are checked.
    let digest = idempotency_key
        .map(|k| IdempotencyKey::parse(k).map(|k| k.digest()))
        .transpose();
    let print = fingerprint(request);
    let (digest, print) = (&digest, &print);
    retrying(|_| {
        async move {
            // One read of the account, approver, key and quote together (then the red seats,
            // when the account has any).
            let known = digest.as_ref().ok().and_then(Option::as_deref);
            let mut reads = store
                .load_approval(&caller.tenant, &caller.user, known, quote_id, now)
                .await?;
            let loaded = found_in_current_period(store, reads.account.take(), now).await?;
            // Rights first: a caller without them learns nothing about the request's validity.
            let auth = check_right(loaded, reads.user, Right::LicencesManage)?;
            let digest = digest.clone()?.ok_or(AppError::IdempotencyKeyMissing)?;
            if let Some(record) = reads.idempotency {
                return replay_purchase(store, &caller.tenant, record, print, &auth.rights).await;
            }
            let stored = reads.quote.ok_or(AppError::NotFound("quote"))?;
            if stored.approved {
                // Approved together with its idempotency record: if this key did it, replay.
                return match store.get_idempotency(&caller.tenant, &digest, now).await? {
                    Some(record) => {
                        replay_purchase(store, &caller.tenant, record, print, &auth.rights).await
                    }
                    None => Err(AppError::QuoteUsed),
                };
            }
            let loaded = auth.loaded;
            let mut account = loaded.account.clone();
            let purchase_id = format!("p-{}", uuid::Uuid::new_v4().simple());
            let (purchase, events) =
                purchase::approve(&mut account, &stored.quote, &caller.user, now, purchase_id)?;
            let made = PurchaseMade {
                purchase_id: purchase.purchase_id.clone(),
                invoice_id: purchase.invoice.invoice_id.clone(),
                quote_id: purchase.quote_id.clone(),
                currency: purchase.invoice.currency.to_string(),
                total: purchase.invoice.total.minor(),
            };
            let record =
                serde_json::to_string(&made).map_err(|e| AppError::Internal(e.to_string()))?;
            // The account as this commit leaves it (its version moved on), as a replay reads it.
            let body = made.answer(AccountView::committing(&account, &auth.rights))?;
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
            let mut change = UnitOfWork::new(&loaded, account, log, &events, now)
                .mail(vec![confirmation])
                .into_change();
            change.invoices.push(purchase.invoice.clone());
            change.approve_quote = Some(stored.quote.quote_id.clone());
            change.idempotency = Some(IdempotencyRecord {
                key_digest: digest,
                fingerprint: print.clone(),
                status: 201,
                body: record,
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

/// What an approval's idempotency record keeps (R10, R27): the purchase, a few hundred bytes
/// whatever the tenant's size. A replay answers it with the account as it is now, which is the
/// account the first answer showed unless something changed since.
#[derive(serde::Serialize, serde::Deserialize)]
struct PurchaseMade {
    purchase_id: String,
    invoice_id: String,
    quote_id: QuoteId,
    currency: String,
    total: i64,
}

impl PurchaseMade {
    /// The answer, with the account as `account` shows it.
    fn answer(self, account: AccountView) -> Result<String, AppError> {
        serde_json::to_string(&PurchaseView {
            purchase_id: self.purchase_id,
            invoice_id: self.invoice_id,
            quote_id: self.quote_id,
            currency: self.currency,
            total: self.total,
            account,
        })
        .map_err(|e| AppError::Internal(e.to_string()))
    }
}

/// R10: the same key and body answer the purchase made first, with the account read again:
/// the request's own read may predate the purchase's commit (it ran beside the record's read).
async fn replay_purchase<S: AccountReads>(
    store: &S,
    tenant: &crate::domain::identity::TenantId,
    record: IdempotencyRecord,
    print: &str,
    rights: &BTreeSet<Right>,
) -> Result<Replayable, AppError> {
    let status = record.status;
    let replayed = Replayable::replay(record, print)?;
    let made: PurchaseMade = serde_json::from_str(&replayed.body)
        .map_err(|e| AppError::Internal(format!("idempotency record: {e}")))?;
    let loaded = store
        .load_account(tenant)
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    Ok(Replayable {
        status,
        body: made.answer(AccountView::new(&loaded.account, rights))?,
        replayed: true,
    })
}

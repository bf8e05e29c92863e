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
use crate::domain::quote::{QuoteRequest, prepare_quote};
use crate::domain::rights::Right;
use crate::outbox::{MailKind, Payload, Recipient};
use crate::ports::{
    AccountReads, Commits, IdempotencyRecord, PurchaseRequests, Quotes, StoreError,
};

pub async fn create_quote<S: AccountReads + Quotes + Commits>(
    store: &S,
    caller: &Caller,
    licences: Option<u32>,
    modules: &BTreeMap<String, u32>,
    now: DateTime<Utc>,
) -> Result<QuoteView, AppError> {
    let request = QuoteRequest::parse(licences, modules)?;
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

pub async fn approve_purchase<S: AccountReads + Quotes + Commits + PurchaseRequests>(
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
            let key = digest.as_ref().ok().and_then(Option::as_deref);
            let mut reads = store
                .load_approval(&caller.tenant, &caller.user, key, quote_id, now)
                .await?;
            let loaded = found_in_current_period(store, reads.account.take(), now).await?;
            // Rights first: a caller without them learns nothing about the request's validity.
            let auth = check_right(loaded, reads.user, Right::LicencesManage)?;
            let digest = digest.clone()?.ok_or(AppError::IdempotencyKeyMissing)?;
            if let Some(record) = reads.idempotency {
                return replay_purchase(store, caller, record, print, &auth.rights, now).await;
            }
            let stored = reads.quote.ok_or(AppError::NotFound("quote"))?;
            if stored.approved {
                // Approved together with its idempotency record: if this key did it, replay.
                return match store.get_idempotency(&caller.tenant, &digest, now).await? {
                    Some(record) => {
                        replay_purchase(store, caller, record, print, &auth.rights, now).await
                    }
                    None => Err(AppError::QuoteUsed),
                };
            }
            let loaded = auth.loaded;
            if loaded
                .account
                .subscription
                .needs_approval(stored.quote.total)
            {
                let asked = RequestAsked {
                    caller,
                    digest,
                    print,
                    name: auth.user.name.to_string(),
                };
                return request_approval(store, &loaded, &stored.quote, asked, now).await;
            }
            let mut account = loaded.account.clone();
            let purchase_id = format!("p-{}", uuid::Uuid::new_v4().simple());
            let (purchase, events) =
                purchase::approve(&mut account, &stored.quote, &caller.user, now, purchase_id)?;
            let bought = Bought {
                purchase: &purchase,
                events: &events,
                about: json!({ "quote_id": purchase.quote_id }),
                mail: Vec::new(),
            };
            let keyed = (digest, print.as_str());
            let mut change = purchase_change(
                &loaded,
                account,
                bought,
                (&auth.user, &auth.rights),
                keyed,
                now,
            )?;
            change.change.approve_quote = Some(stored.quote.quote_id.clone());
            change.commit(store).await
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
    fn of(purchase: &crate::domain::purchase::Purchase) -> Self {
        Self {
            purchase_id: purchase.purchase_id.clone(),
            invoice_id: purchase.invoice.invoice_id.clone(),
            quote_id: purchase.quote_id.clone(),
            currency: purchase.invoice.currency.to_string(),
            total: purchase.invoice.total.minor(),
        }
    }
}

/// A purchase's answer, with the account as `account` shows it.
fn purchase_answer(made: PurchaseMade, account: AccountView) -> Result<String, AppError> {
    serde_json::to_string(&PurchaseView {
        purchase_id: made.purchase_id,
        invoice_id: made.invoice_id,
        quote_id: made.quote_id,
        currency: made.currency,
        total: made.total,
        account,
    })
    .map_err(|e| AppError::Internal(e.to_string()))
}

/// The key's record of a first answer (R10), kept for the idempotency window.
pub(crate) fn key_record(
    (digest, print): (String, &str),
    status: u16,
    body: String,
    now: DateTime<Utc>,
) -> IdempotencyRecord {
    IdempotencyRecord {
        key_digest: digest,
        fingerprint: print.to_owned(),
        status,
        body,
        created_at: now,
        expires_at: now + idempotency_window(),
    }
}

/// A purchase as both approvals commit it (a quote's, R8–R10, and a purchase request's, R35):
/// the log entry (`about`'s fields added to the purchase's), the buyer's confirmation, the
/// invoice and the key's record, with the answer to give once it commits.
pub(crate) struct PurchaseChange {
    pub change: crate::ports::Change,
    /// The approver its confirmation goes to.
    pub known: crate::app::Known,
    answer: String,
    currency: String,
    total: i64,
}

/// What a purchase adds to its change: `about`'s fields in the log entry, and more mail after
/// the buyer's confirmation.
pub(crate) struct Bought<'a> {
    pub purchase: &'a crate::domain::purchase::Purchase,
    pub events: &'a [crate::domain::events::DomainEvent],
    pub about: serde_json::Value,
    pub mail: Vec<Payload>,
}

pub(crate) fn purchase_change(
    loaded: &crate::ports::Loaded,
    account: crate::domain::account::Account,
    bought: Bought<'_>,
    (user, rights): (&crate::domain::user::User, &BTreeSet<Right>),
    keyed: (String, &str),
    now: DateTime<Utc>,
) -> Result<PurchaseChange, AppError> {
    let Bought {
        purchase,
        events,
        about,
        mail,
    } = bought;
    let made = PurchaseMade::of(purchase);
    let record = serde_json::to_string(&made).map_err(|e| AppError::Internal(e.to_string()))?;
    // The account as this commit leaves it (its version moved on), as a replay reads it.
    let answer = purchase_answer(made, AccountView::committing(&account, rights))?;
    let mut details = json!({
        "purchase_id": purchase.purchase_id,
        "invoice_id": purchase.invoice.invoice_id,
        "lines": purchase.invoice.lines,
        "total": purchase.invoice.total,
        "currency": purchase.invoice.currency,
    });
    if let (Some(details), Some(about)) = (details.as_object_mut(), about.as_object()) {
        details.extend(about.clone());
    }
    let actor = Actor::User(purchase.approved_by.clone());
    let log = log_entry(actor, "licences.purchased", details, purchase.approved_at);
    let confirmation = Payload::Mail {
        kind: MailKind::PurchaseConfirmation,
        to: Recipient::User {
            user_id: purchase.approved_by.clone(),
        },
        language: Some(user.language),
        addressed: None,
        data: json!({ "invoice": purchase.invoice, "pools": account.subscription.pools }),
    };
    let mut change = UnitOfWork::new(loaded, account, log, events, now)
        .mail(std::iter::once(confirmation).chain(mail).collect())
        .into_change();
    change.invoices.push(purchase.invoice.clone());
    change.idempotency = Some(key_record(keyed, 201, record, now));
    Ok(PurchaseChange {
        change,
        known: crate::app::Known {
            users: vec![user.clone()],
        },
        answer,
        currency: purchase.invoice.currency.to_string(),
        total: purchase.invoice.total.minor(),
    })
}

impl PurchaseChange {
    pub(crate) async fn commit<S: Commits>(self, store: &S) -> Result<Replayable, AppError> {
        match crate::app::commit_knowing(store, self.change, self.known).await {
            Ok(()) => {
                crate::telemetry::purchase(&self.currency, self.total);
                Ok(Replayable {
                    status: 201,
                    body: self.answer,
                    replayed: false,
                })
            }
            // Another approval with this key, for this quote or of this request committed
            // first: the next attempt answers with its result (or says it is used or closed).
            Err(
                StoreError::IdempotencyRace | StoreError::QuoteUsed | StoreError::RequestDecided,
            ) => Err(AppError::Contention),
            Err(e) => Err(e.into()),
        }
    }
}

/// What a 202's idempotency record keeps (R35): the request it made, shown again as it is now.
#[derive(serde::Serialize, serde::Deserialize)]
struct RequestMade {
    purchase_request_id: String,
}

/// Who asks for an approval above the threshold, and the key they asked with.
struct RequestAsked<'a> {
    caller: &'a Caller,
    digest: String,
    print: &'a str,
    name: String,
}

/// R35: an approval above the tenant's threshold charges nothing. It becomes a pending
/// request (the quote used up, the key kept for a replay), answered 202, and the other
/// holders of `licences.manage` are mailed.
async fn request_approval<S: AccountReads + Quotes + Commits>(
    store: &S,
    loaded: &crate::ports::Loaded,
    quote: &crate::domain::quote::Quote,
    asked: RequestAsked<'_>,
    now: DateTime<Utc>,
) -> Result<Replayable, AppError> {
    use crate::domain::purchase_request::{request, request_id};
    crate::domain::quote::check_quote(&loaded.account.subscription, quote, now)?;
    let mut account = loaded.account.clone();
    let at = account.subscription.tick(now);
    let items = QuoteRequest {
        items: quote
            .lines
            .iter()
            .map(|l| (l.pool.clone(), l.quantity))
            .collect(),
    };
    let made = request(
        &mut account.subscription,
        quote,
        items,
        &asked.caller.user,
        at,
        request_id(at),
    )?;
    let view =
        crate::app::requests::request_view(&account.subscription, &made, &asked.caller.user, now);
    let body = serde_json::to_string(&view).map_err(|e| AppError::Internal(e.to_string()))?;
    let record = serde_json::to_string(&RequestMade {
        purchase_request_id: made.request_id.clone(),
    })
    .map_err(|e| AppError::Internal(e.to_string()))?;
    let log = log_entry(
        Actor::User(asked.caller.user.clone()),
        "purchase.requested",
        json!({
            "purchase_request_id": made.request_id,
            "quote_id": quote.quote_id,
            "lines": quote.lines,
            "total": quote.total,
            "currency": quote.currency,
            "expires_at": made.expires_at,
        }),
        at,
    );
    let lines: Vec<_> = quote
        .lines
        .iter()
        .map(|l| json!({"name": l.name, "quantity": l.quantity}))
        .collect();
    let mail = Payload::Mail {
        kind: MailKind::PurchaseRequested,
        to: Recipient::OtherManagers {
            except: asked.caller.user.clone(),
        },
        language: None,
        addressed: None,
        data: json!({
            "request_id": made.request_id,
            "requested_by": asked.name,
            "lines": lines,
            "total": quote.total,
            "currency": quote.currency,
            "expires_at": made.expires_at,
        }),
    };
    let event = crate::domain::events::DomainEvent::PurchaseRequested {
        purchase_request_id: made.request_id.clone(),
        requested_by: made.requested_by.clone(),
        items: made
            .items
            .items
            .iter()
            .map(|(pool, q)| crate::domain::events::RequestedCount {
                pool: pool.clone(),
                quantity: q.get(),
            })
            .collect(),
        total: made.requested_total,
        expires_at: made.expires_at,
    };
    let mut change = UnitOfWork::new(loaded, account, log, &[event], now)
        .mail(vec![mail])
        .into_change();
    change.approve_quote = Some(quote.quote_id.clone());
    change.requests.push(crate::ports::RequestWrite {
        request: made,
        new: true,
    });
    change.idempotency = Some(key_record((asked.digest, asked.print), 202, record, now));
    match crate::app::commit(store, change).await {
        Ok(()) => Ok(Replayable {
            status: 202,
            body,
            replayed: false,
        }),
        Err(StoreError::IdempotencyRace | StoreError::QuoteUsed) => Err(AppError::Contention),
        Err(e) => Err(e.into()),
    }
}

/// R10: the same key and body answer the purchase made first, with the account read again:
/// the request's own read may predate the purchase's commit (it ran beside the record's read).
/// A 202's record (R35) answers the request it made, as it is now.
pub(crate) async fn replay_purchase<S: AccountReads + crate::ports::PurchaseRequests>(
    store: &S,
    caller: &Caller,
    record: IdempotencyRecord,
    print: &str,
    rights: &BTreeSet<Right>,
    now: DateTime<Utc>,
) -> Result<Replayable, AppError> {
    let status = record.status;
    let replayed = Replayable::replay(record, print)?;
    let tenant = &caller.tenant;
    let loaded = store
        .load_account(tenant)
        .await?
        .ok_or(AppError::NotFound("tenant"))?;
    let body = if status == 202 {
        let made: RequestMade = serde_json::from_str(&replayed.body)
            .map_err(|e| AppError::Internal(format!("idempotency record: {e}")))?;
        let request = store
            .get_request(tenant, &made.purchase_request_id)
            .await?
            .ok_or(AppError::NotFound("purchase request"))?;
        let view = crate::app::requests::request_view(
            &loaded.account.subscription,
            &request,
            &caller.user,
            now,
        );
        serde_json::to_string(&view).map_err(|e| AppError::Internal(e.to_string()))?
    } else {
        let made: PurchaseMade = serde_json::from_str(&replayed.body)
            .map_err(|e| AppError::Internal(format!("idempotency record: {e}")))?;
        purchase_answer(made, AccountView::new(&loaded.account, rights))?
    };
    Ok(Replayable {
        status,
        body,
        replayed: true,
    })
}

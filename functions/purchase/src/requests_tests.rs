//! R35 through the purchase function's routes on the memory world: a purchase above the
//! threshold waits, a second manager approves it once at today's price, a decline and an
//! expiry charge nothing, and the requester cannot approve their own.

use super::handle;
use lambda_http::http::HeaderValue;
use licensing::app;
use licensing::domain::identity::{DisplayName, EmailAddress, Language, TenantId, UserId};
use licensing::http::HttpResult;
use licensing::http::testing::{ADA, Who, World, answer, refused};
use licensing::outbox::{MailKind, Payload, Recipient};
use serde_json::{Value, json};

const CY: Who<'static> = Who::User("acme", "cy");

fn acme() -> TenantId {
    TenantId::parse("acme").expect("acme")
}

fn caller(user: &str) -> app::Caller {
    app::Caller {
        tenant: acme(),
        user: UserId::parse(user).expect("a user id"),
    }
}

async fn call(
    w: &World,
    who: Who<'_>,
    method: &str,
    path: &str,
    body: Option<Value>,
    key: Option<&str>,
) -> HttpResult {
    let mut request = w.request(who, method, path, body);
    if let Some(key) = key {
        let value = HeaderValue::from_str(key).expect("a header value");
        request.headers_mut().insert("idempotency-key", value);
    }
    handle(&w.store, &w.clock, &w.auth, request).await
}

/// Acme with a limit of 100.00 DKK and Cy, a second administrator.
async fn acme_with_a_limit() -> World {
    let w = World::acme().await;
    let cy = licensing::domain::user::NewUser {
        user_id: UserId::parse("cy").expect("cy"),
        name: DisplayName::parse("Cy Clausen").expect("a name"),
        email: EmailAddress::parse("cy@example.com").expect("an address"),
        language: Language::Da,
        role: licensing::domain::rights::administrator(),
        modules: Default::default(),
        active: true,
    };
    let now = w.clock.0;
    app::create_user(&w.store, &caller("ada"), cy.into(), None, &json!({}), now)
        .await
        .expect("cy");
    let limit = app::Settings {
        approval_threshold: Some(Some(10_000)),
        ..app::Settings::default()
    };
    let account = app::set_settings(&w.store, &caller("ada"), &limit, now)
        .await
        .expect("a limit");
    assert_eq!(account.approval_threshold, Some(10_000));
    w
}

/// A purchase of `licences` asked by `who` with `key`: the 202's request.
async fn asked(w: &World, who: Who<'_>, licences: u32, key: &str) -> Value {
    asked_with(w, who, licences, key).await.0
}

/// The 202's request, and the approval's body it answered.
async fn asked_with(w: &World, who: Who<'_>, licences: u32, key: &str) -> (Value, Value) {
    let (status, quote) = answer(
        call(
            w,
            who,
            "POST",
            "/v1/purchases/quotes",
            Some(json!({"licences": licences})),
            None,
        )
        .await,
    );
    assert_eq!(status, 201, "{quote}");
    let body = json!({"quote_id": quote["quote_id"]});
    let (status, request) = answer(
        call(
            w,
            who,
            "POST",
            "/v1/purchases",
            Some(body.clone()),
            Some(key),
        )
        .await,
    );
    assert_eq!(status, 202, "{request}");
    (request, body)
}

/// The bus events of `detail_type` in Acme's outbox (R21).
fn events(w: &World, detail_type: &str) -> Vec<Value> {
    w.store
        .outbox(&acme())
        .into_iter()
        .filter_map(|m| match m.payload {
            Payload::Event {
                detail_type: t,
                detail,
            } if t == detail_type => Some(detail),
            _ => None,
        })
        .collect()
}

fn mails(w: &World, kind: MailKind) -> Vec<(Recipient, Value)> {
    w.store
        .outbox(&acme())
        .into_iter()
        .filter_map(|m| match m.payload {
            Payload::Mail {
                kind: k, to, data, ..
            } if k == kind => Some((to, data)),
            _ => None,
        })
        .collect()
}

/// `who` approves request `id` at `total` under `key`.
async fn approve_as(w: &World, who: Who<'_>, id: &str, total: i64, key: &str) -> HttpResult {
    let path = format!("/v1/purchase-requests/{id}/approve");
    call(
        w,
        who,
        "POST",
        &path,
        Some(json!({ "total": total })),
        Some(key),
    )
    .await
}

/// `who` reads request `id`.
async fn shown(w: &World, who: Who<'_>, id: &str) -> Value {
    let path = format!("/v1/purchase-requests/{id}");
    answer(call(w, who, "GET", &path, None, None).await).1
}

/// The request's id and today's total.
fn id_and_total(request: &Value) -> (String, i64) {
    let id = request["purchase_request_id"].as_str().expect("an id");
    (
        id.to_owned(),
        request["total"].as_i64().expect("priced for today"),
    )
}

#[tokio::test]
async fn r35_a_purchase_above_the_limit_waits_replays_and_the_other_managers_are_told() {
    let w = acme_with_a_limit().await;
    let (request, body) = asked_with(&w, ADA, 2, "k-ask").await;
    assert_eq!(request["status"], "pending");
    assert_eq!(w.licences().await.purchased, 3, "nothing charged");
    let (id, total) = id_and_total(&request);
    assert_eq!(request["requested_total"], total);
    assert_eq!(
        request["items"],
        json!([{"pool": "licences", "quantity": 2}])
    );
    let asked_mail = mails(&w, MailKind::PurchaseRequested);
    let ada = UserId::parse("ada").expect("ada");
    assert_eq!(asked_mail.len(), 1);
    assert_eq!(asked_mail[0].0, Recipient::OtherManagers { except: ada });
    // The same key and body answer the same request; the list shows it.
    let again = call(&w, ADA, "POST", "/v1/purchases", Some(body), Some("k-ask")).await;
    assert_eq!(
        answer(again),
        (202, request.clone()),
        "the same request, replayed"
    );
    let (_, list) = answer(call(&w, CY, "GET", "/v1/purchase-requests", None, None).await);
    assert_eq!(list["items"][0]["purchase_request_id"], id.as_str());
    assert_eq!(list["items"][0]["yours"], false, "Cy's view");
    assert!(actions(&w).await.contains("purchase.requested"));
}

#[tokio::test]
async fn r35_a_second_manager_applies_it_once_at_todays_price() {
    let w = acme_with_a_limit().await;
    let (request, body) = asked_with(&w, ADA, 2, "k-ask").await;
    let (id, total) = id_and_total(&request);
    use licensing::ports::PurchaseRequests;
    let pending = w.store.get_request(&acme(), &id).await.expect("a read");
    let own = refused(approve_as(&w, ADA, &id, total, "k-own").await);
    assert_eq!(own, (403, "own_request".into()));
    let (status, changed) = answer(approve_as(&w, CY, &id, total - 1, "k-cy").await);
    assert_eq!(
        (status, changed["code"].as_str()),
        (409, Some("price_changed"))
    );
    assert_eq!(changed["total"], total, "the total to approve");
    let (status, bought) = answer(approve_as(&w, CY, &id, total, "k-cy").await);
    assert_eq!(status, 201, "{bought}");
    assert_eq!(bought["account"]["licences"]["purchased"], 5);
    let replay = answer(approve_as(&w, CY, &id, total, "k-cy").await);
    assert_eq!(
        replay,
        (201, bought.clone()),
        "the same key replays the purchase"
    );
    let twice = refused(approve_as(&w, CY, &id, total, "k-cy-2").await);
    assert_eq!(twice, (409, "request_closed".into()));
    assert_eq!(w.licences().await.purchased, 5, "bought once");
    let asked_again = call(&w, ADA, "POST", "/v1/purchases", Some(body), Some("k-ask")).await;
    let (status, now) = answer(asked_again);
    assert_eq!(
        (status, now["status"].as_str()),
        (202, Some("approved")),
        "as it is now"
    );
    // A decision written from a read taken before the approval is refused whole.
    let stale = stale_decision(&w, pending.expect("the request")).await;
    assert!(
        matches!(stale, Err(licensing::ports::StoreError::RequestDecided)),
        "{stale:?}"
    );
    let view = shown(&w, ADA, &id).await;
    assert_eq!(
        (view["status"].as_str(), view["decided_by"].as_str()),
        (Some("approved"), Some("cy"))
    );
    assert_eq!(view["invoice_id"], bought["invoice_id"]);
    let told = mails(&w, MailKind::PurchaseRequestDecided);
    assert_eq!((told.len(), &told[0].1["status"]), (1, &json!("approved")));
    assert!(actions(&w).await.contains("licences.purchased"));
}

/// Commits `request` (read while pending) as declined, on the account as it is now: the
/// store's condition that a decided request is still pending, met or not.
async fn stale_decision(
    w: &World,
    mut request: licensing::domain::purchase_request::PurchaseRequest,
) -> Result<(), licensing::ports::StoreError> {
    use licensing::ports::{AccountReads, Change, Commits, LogEntry, RequestWrite};
    let now = w.clock.0;
    let loaded = w.store.load_account(&acme()).await?.expect("acme");
    request.status = licensing::domain::purchase_request::RequestStatus::Declined {
        by: UserId::parse("cy").expect("cy"),
        at: now,
        reason: "stale".into(),
    };
    w.store
        .commit(Change {
            expected_version: Some(loaded.account.subscription.version),
            delta: None,
            account: loaded.account,
            users: Vec::new(),
            log: LogEntry {
                entry_id: "stale".into(),
                at: now,
                actor: licensing::domain::identity::Actor::System,
                action: "test.stale".into(),
                details: Value::Null,
            },
            invoices: Vec::new(),
            outbox: Vec::new(),
            approve_quote: None,
            idempotency: None,
            requests: vec![RequestWrite {
                request,
                new: false,
            }],
            now,
        })
        .await
}

/// The action log's actions, newest first, as one string.
async fn actions(w: &World) -> String {
    use licensing::ports::{Listings, PageRequest};
    let first = PageRequest {
        cursor: None,
        limit: 50,
    };
    let page = w.store.list_log(&acme(), &first).await.expect("the log");
    let actions: Vec<String> = page.items.into_iter().map(|e| e.action).collect();
    actions.join(" ")
}

/// Joined, but the memory store never yields: the second approval reads the first's result
/// (the conditional write itself is `stale_decision`'s, and DynamoDB Local's in
/// `tests/tests/api/approvals.rs`).
#[tokio::test]
async fn r35_two_approvers_one_after_the_other_apply_a_request_once() {
    let w = acme_with_a_limit().await;
    let dee = licensing::domain::user::NewUser {
        user_id: UserId::parse("dee").expect("dee"),
        name: DisplayName::parse("Dee Dahl").expect("a name"),
        email: EmailAddress::parse("dee@example.com").expect("an address"),
        language: Language::En,
        role: licensing::domain::rights::administrator(),
        modules: Default::default(),
        active: true,
    };
    app::create_user(
        &w.store,
        &caller("ada"),
        dee.into(),
        None,
        &json!({}),
        w.clock.0,
    )
    .await
    .expect("dee");
    let request = asked(&w, ADA, 3, "k-ask").await;
    let id = request["purchase_request_id"].as_str().expect("an id");
    let body = json!({"total": request["total"]});
    let approve = format!("/v1/purchase-requests/{id}/approve");
    let (cy, dee) = tokio::join!(
        call(&w, CY, "POST", &approve, Some(body.clone()), Some("k-cy")),
        call(
            &w,
            Who::User("acme", "dee"),
            "POST",
            &approve,
            Some(body.clone()),
            Some("k-dee")
        ),
    );
    let mut statuses = [answer(cy).0, answer(dee).0];
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 409]);
    assert_eq!(w.licences().await.purchased, 6);
    use licensing::ports::{Listings, PageRequest};
    let invoices = w
        .store
        .list_invoices(
            &acme(),
            &PageRequest {
                cursor: None,
                limit: 10,
            },
        )
        .await
        .expect("invoices");
    assert_eq!(invoices.items.len(), 1, "one invoice");
}

#[path = "requests_outcomes_tests.rs"]
mod outcomes;

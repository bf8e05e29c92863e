//! R35 on DynamoDB Local: a pending request expires in the sweep 72 hours on and charges
//! nothing, and a decision written after it (a stale read) is refused whole.

use super::tenant_with;
use licensing::app;
use licensing::domain::identity::TenantId;
use licensing::ports::{AccountReads, PurchaseRequests};
use licensing_tests::{ada, at, fresh_store, require_engines};
use std::collections::BTreeMap;

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r35_a_request_nobody_decides_expires_in_the_sweep_and_charges_nothing() {
    require_engines();
    let store = fresh_store().await;
    tenant_with(&store, "expiry", 5).await;
    let tenant = TenantId::parse("expiry").unwrap();
    let now = at("2026-11-20T10:00:00Z");
    let limit = app::Settings {
        approval_threshold: Some(Some(100)),
        ..app::Settings::default()
    };
    app::set_settings(&store, &ada("expiry"), &limit, now)
        .await
        .unwrap();
    let quote = app::create_quote(&store, &ada("expiry"), Some(1), &BTreeMap::new(), now)
        .await
        .unwrap();
    let body = serde_json::json!({ "quote_id": quote.quote_id });
    let asked = app::approve_purchase(
        &store,
        &ada("expiry"),
        Some("k"),
        &body,
        &quote.quote_id,
        now,
    )
    .await
    .unwrap();
    assert_eq!(asked.status, 202, "{}", asked.body);
    let id = serde_json::from_str::<serde_json::Value>(&asked.body).unwrap()["purchase_request_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let pending = store.get_request(&tenant, &id).await.unwrap().unwrap();
    let swept = app::sweep::sweep(&store, at("2026-11-23T10:00:01Z"), None)
        .await
        .unwrap();
    assert_eq!(swept.expired_requests, 1, "{swept:?}");
    let stored = store.get_request(&tenant, &id).await.unwrap().unwrap();
    assert_eq!(stored.status.name(), "expired");
    let loaded = store.load_account(&tenant).await.unwrap().unwrap();
    let sub = &loaded.account.subscription;
    assert!(sub.pending_requests.is_empty());
    assert_eq!(
        sub.pool(&licensing::domain::pool::PoolId::licences())
            .unwrap()
            .purchased,
        5
    );
    let again = app::sweep::sweep(&store, at("2026-11-23T10:05:00Z"), None)
        .await
        .unwrap();
    assert_eq!(again.expired_requests, 0, "once");
    // A decision written from the read taken before the sweep: refused whole.
    let refused = stale_decision(&store, &tenant, pending).await;
    assert!(
        matches!(refused, Err(licensing::ports::StoreError::RequestDecided)),
        "{refused:?}"
    );
    // The requester's own withdrawal, after the expiry: refused, the request stays expired.
    let late = app::requests::decline_request(
        &store,
        &ada("expiry"),
        &id,
        "too late",
        at("2026-11-23T11:00:00Z"),
    )
    .await;
    assert!(
        matches!(
            late,
            Err(app::AppError::Domain(
                licensing::domain::DomainError::RequestClosed("expired")
            ))
        ),
        "{late:?}"
    );
}

/// Commits `request` (read while pending) as declined, on the account as it is now.
async fn stale_decision(
    store: &licensing::adapters::dynamodb::DynamoStore,
    tenant: &TenantId,
    mut request: licensing::domain::purchase_request::PurchaseRequest,
) -> Result<(), licensing::ports::StoreError> {
    use licensing::ports::{Change, Commits, LogEntry, RequestWrite};
    let now = at("2026-11-23T11:00:00Z");
    let loaded = store.load_account(tenant).await?.unwrap();
    request.status = licensing::domain::purchase_request::RequestStatus::Declined {
        by: licensing::domain::identity::UserId::parse("ada").unwrap(),
        at: now,
        reason: "stale".into(),
    };
    let log = LogEntry {
        entry_id: "stale".into(),
        at: now,
        actor: licensing::domain::identity::Actor::System,
        action: "test.stale".into(),
        details: serde_json::Value::Null,
    };
    let requests = vec![RequestWrite {
        request,
        new: false,
    }];
    store
        .commit(Change {
            expected_version: Some(loaded.account.subscription.version),
            delta: None,
            account: loaded.account,
            users: Vec::new(),
            log,
            invoices: Vec::new(),
            outbox: Vec::new(),
            approve_quote: None,
            idempotency: None,
            requests,
            now,
        })
        .await
}

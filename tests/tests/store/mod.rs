//! The DynamoDB adapter against DynamoDB Local: every access pattern, the cost of status,
//! concurrency and idempotency (issue: platform and persistence).

mod pages;
mod races;
mod requests;
mod usage;

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Duration;
use futures::future::join_all;
use licensing::adapters::dynamodb::DynamoStore;
use licensing::app::Caller;
use licensing::app::{self, AppError};
use licensing::domain::identity::{Language, QuoteId, TenantId};
use licensing::ports::{AccountReads, Listings, PageRequest, Quotes, Span};
use licensing_tests::*;
use std::collections::{BTreeMap, BTreeSet};

async fn tenant_with(store: &licensing::adapters::dynamodb::DynamoStore, id: &str, licences: u32) {
    app::create_tenant(
        store,
        "op",
        acme(id, nov(), licences, 2),
        at("2026-11-01T08:00:00Z"),
    )
    .await
    .unwrap();
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn reading_a_tenant_of_2000_users_reads_its_subscription_and_only_its_red_seats() {
    require_engines();
    let store = fresh_store().await;
    tenant_with(&store, "big", 2000).await;
    let tenant = TenantId::parse("big").unwrap();
    bulk_users(&store, &tenant, 1999, at("2026-11-02T00:00:00Z")).await;
    // No red seat: the subscription alone, one GetItem.
    let before = store.metrics().calls();
    let loaded = store.load_account(&tenant).await.unwrap().unwrap();
    assert_eq!(store.metrics().calls() - before, 1, "one GetItem");
    assert_eq!(loaded.account.all_reds().count(), 0);
    for i in 0..5 {
        let user = new_user(&format!("late-{i}"), "Late", Language::En, &[]);
        app::create_user(
            &store,
            &ada("big"),
            user.into(),
            None,
            &serde_json::Value::Null,
            at("2026-11-03T00:00:00Z"),
        )
        .await
        .unwrap();
    }
    // Five red seats: the subscription, then one Query of the red-seat records.
    let before = store.metrics().calls();
    let loaded = store.load_account(&tenant).await.unwrap().unwrap();
    assert_eq!(
        store.metrics().calls() - before,
        2,
        "a GetItem and one Query"
    );
    let pool = loaded.account.subscription.licences().unwrap();
    assert_eq!((pool.purchased, pool.in_use), (2000, 2005));
    // The five newest are red, and only they were read besides the subscription.
    assert_eq!(
        (loaded.account.all_reds().count(), loaded.stale.len()),
        (5, 0)
    );
    let reds: Vec<String> = loaded
        .account
        .reds(&pool.id)
        .iter()
        .map(|r| r.seat.user_id.to_string())
        .collect();
    assert_eq!(reds, vec!["late-0", "late-1", "late-2", "late-3", "late-4"]);
    // The whole account view (what GET /v1/account answers) costs those two reads and the
    // caller's user.
    let before = store.metrics().calls();
    let view = app::account_status(&store, &ada("big"), at("2026-11-20T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(
        store.metrics().calls() - before,
        3,
        "the subscription, its red seats and the caller's user"
    );
    assert_eq!(view.licences.over_allocated.len(), 5);
}

/// An approval decides on one read request (the subscription, approver, quote and key
/// together; the red seats after it only when there are any) and commits in one transaction;
/// what it writes keeps each document as one string attribute (decision 0006), and reads back.
#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn an_approval_reads_in_one_request_and_stores_its_documents_as_strings() {
    require_engines();
    let store = fresh_store().await;
    tenant_with(&store, "one-read", 5).await;
    let tenant = TenantId::parse("one-read").unwrap();
    let caller = ada("one-read");
    let now = at("2026-11-20T10:00:00Z");
    let quote = app::create_quote(&store, &caller, Some(1), &BTreeMap::new(), now)
        .await
        .unwrap();
    let body = serde_json::json!({ "quote_id": quote.quote_id });
    let before = store.metrics().calls();
    let made = app::approve_purchase(&store, &caller, Some("k-1"), &body, &quote.quote_id, now)
        .await
        .unwrap();
    assert_eq!(made.status, 201);
    assert_eq!(
        store.metrics().calls() - before,
        2,
        "one BatchGetItem, one TransactWriteItems: a tenant with no suppressed address reads \
         no suppression list for its mail"
    );

    // Over-allocated: the red seats are read after the batch, one Query more.
    bulk_users(&store, &tenant, 8, at("2026-11-02T00:00:00Z")).await;
    let quote = app::create_quote(&store, &caller, Some(1), &BTreeMap::new(), now)
        .await
        .unwrap();
    let body = serde_json::json!({ "quote_id": quote.quote_id });
    let before = store.metrics().calls();
    app::approve_purchase(&store, &caller, Some("k-2"), &body, &quote.quote_id, now)
        .await
        .unwrap();
    assert_eq!(store.metrics().calls() - before, 3);

    // As stored: each document one string attribute.
    for (prefix, attribute) in [
        ("L#", "entry"),
        ("I#", "invoice"),
        ("Q#", "quote"),
        ("K#", "record"),
        ("O#", "messages"),
    ] {
        let out = store
            .client()
            .query()
            .table_name(store.table())
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", AttributeValue::S("T#one-read".into()))
            .expression_attribute_values(":p", AttributeValue::S(prefix.into()))
            .send()
            .await
            .unwrap();
        let items = out.items.unwrap_or_default();
        assert!(!items.is_empty(), "{prefix}");
        for item in items {
            assert!(
                matches!(item.get(attribute), Some(AttributeValue::S(text)) if text.starts_with(['{', '['])),
                "{prefix} {attribute}: {:?}",
                item.get(attribute)
            );
        }
    }
    // And read back through the port.
    let invoices = store
        .list_invoices(
            &tenant,
            &PageRequest {
                cursor: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(invoices.items.len(), 2);
    assert!(invoices.items.iter().all(|i| i.total.minor() > 0));
}

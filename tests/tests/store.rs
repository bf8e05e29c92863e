//! The DynamoDB adapter against DynamoDB Local: every access pattern, the cost of status,
//! concurrency and idempotency (issue: platform and persistence).

use aws_sdk_dynamodb::types::AttributeValue;
use chrono::Duration;
use futures::future::join_all;
use licensing::app::{self, AppError};
use licensing::domain::identity::{Language, QuoteId, TenantId};
use licensing::ports::{AccountReads, Listings, PageRequest, Quotes};
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
        "one BatchGetItem, one TransactWriteItems"
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

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn users_log_and_invoices_paginate_without_gaps_or_repeats() {
    require_engines();
    let store = fresh_store().await;
    tenant_with(&store, "pages", 5).await;
    let caller = ada("pages");
    for i in 0..20 {
        let user = new_user(
            &format!("p-{i:02}"),
            &format!("Person {i}"),
            Language::En,
            &[],
        );
        app::create_user(
            &store,
            &caller,
            user.into(),
            None,
            &serde_json::Value::Null,
            at("2026-11-03T00:00:00Z") + Duration::minutes(i),
        )
        .await
        .unwrap();
    }
    let mut seen = Vec::new();
    let mut page = PageRequest {
        cursor: None,
        limit: 7,
    };
    let mut pages = 0;
    loop {
        let got = app::list_users(&store, &caller, &page, None, at("2026-11-20T00:00:00Z"))
            .await
            .unwrap();
        pages += 1;
        seen.extend(got.items.iter().map(|u| u.user_id.clone()));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert!(pages >= 3);
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), 21);
    assert_eq!(unique.len(), 21);
    let over: Vec<_> = app::list_users(
        &store,
        &caller,
        &PageRequest {
            cursor: None,
            limit: 100,
        },
        None,
        at("2026-11-20T00:00:00Z"),
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .filter(|u| u.licence_state == licensing::domain::user::LicenceState::OverAllocated)
    .map(|u| u.user_id)
    .collect();
    assert_eq!(over.len(), 16, "5 licences for 21 users");

    // The action log: newest first, across pages.
    let mut log = Vec::new();
    let mut page = PageRequest {
        cursor: None,
        limit: 6,
    };
    loop {
        let got = app::list_action_log(&store, &caller, &page, at("2026-11-20T00:00:00Z"))
            .await
            .unwrap();
        log.extend(got.items);
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(log.len(), 21, "tenant created + 20 users");
    assert!(log.windows(2).all(|w| w[0].at >= w[1].at), "newest first");
    assert_eq!(log.last().unwrap().action, "tenant.created");

    // A cursor is a position inside the listing it is given to: one taken from the users'
    // listing still reads log entries only (a user item would not read as one), and a cursor
    // that is not hex is refused.
    let users_cursor = app::list_users(
        &store,
        &caller,
        &PageRequest {
            cursor: None,
            limit: 1,
        },
        None,
        at("2026-11-20T00:00:00Z"),
    )
    .await
    .unwrap()
    .next_cursor
    .unwrap();
    let log_page = |cursor: &str| PageRequest {
        cursor: Some(cursor.to_owned()),
        limit: 5,
    };
    let got = app::list_action_log(
        &store,
        &caller,
        &log_page(&users_cursor),
        at("2026-11-20T00:00:00Z"),
    )
    .await
    .unwrap();
    assert!(got.items.len() <= 5);
    let err = app::list_action_log(
        &store,
        &caller,
        &log_page("not-hex"),
        at("2026-11-20T00:00:00Z"),
    )
    .await;
    assert!(matches!(err, Err(AppError::BadRequest(_))));
}

fn buy(n: u32) -> (Option<u32>, BTreeMap<String, u32>) {
    (Some(n), BTreeMap::new())
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn thirty_two_racing_purchases_and_downscales_each_count_exactly_once() {
    require_engines();
    let store = fresh_store().await;
    tenant_with(&store, "race", 10).await;
    let caller = ada("race");
    let now = at("2026-11-19T10:00:00Z");
    let tasks = (0..32u32).map(|i| {
        let store = store.clone();
        let caller = caller.clone();
        async move {
            if i % 4 == 3 {
                let n = 1 + i % 5;
                app::set_next_period(&store, &caller, Some(n), &BTreeMap::new(), now)
                    .await
                    .map(|_| 0)
            } else {
                let q = 1 + i % 3;
                let (licences, modules) = buy(q);
                let quote = app::create_quote(&store, &caller, licences, &modules, now).await?;
                let body = serde_json::json!({ "quote_id": quote.quote_id });
                app::approve_purchase(
                    &store,
                    &caller,
                    Some(&format!("key-{i}")),
                    &body,
                    &quote.quote_id,
                    now,
                )
                .await
                .map(|_| q)
            }
        }
    });
    let results = join_all(tasks).await;
    let bought: u32 = results
        .iter()
        .map(|r| *r.as_ref().expect("every change commits"))
        .sum();
    let expected: u32 = (0..32u32).filter(|i| i % 4 != 3).map(|i| 1 + i % 3).sum();
    assert_eq!(bought, expected);
    let loaded = store.load_account(&caller.tenant).await.unwrap().unwrap();
    let pool = loaded.account.subscription.licences().unwrap();
    assert_eq!(pool.purchased, 10 + expected);
    assert!(pool.next_period <= pool.purchased);
    // Versions are gapless: one per committed change (the tenant's creation is version 1).
    assert_eq!(loaded.account.subscription.version, 1 + 32);
    let log = app::list_action_log(
        &store,
        &caller,
        &PageRequest {
            cursor: None,
            limit: 100,
        },
        at("2026-11-20T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(log.items.len(), 33);
    let invoices = app::list_invoices(
        &store,
        &caller,
        &PageRequest {
            cursor: None,
            limit: 100,
        },
        at("2026-11-20T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(invoices.items.len(), 24);
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn one_idempotency_key_replayed_fifty_times_concurrently_buys_once() {
    require_engines();
    let store = fresh_store().await;
    tenant_with(&store, "idem", 10).await;
    let caller = ada("idem");
    let now = at("2026-11-19T10:00:00Z");
    let (licences, modules) = buy(3);
    let quote = app::create_quote(&store, &caller, licences, &modules, now)
        .await
        .unwrap();
    let body = serde_json::json!({ "quote_id": quote.quote_id });
    let answers = join_all((0..50).map(|_| {
        let store = store.clone();
        let caller = caller.clone();
        let body = body.clone();
        let quote_id = quote.quote_id.clone();
        async move {
            app::approve_purchase(&store, &caller, Some("same-key"), &body, &quote_id, now).await
        }
    }))
    .await;
    let answers: Vec<_> = answers
        .into_iter()
        .map(|a| a.expect("every replay answers"))
        .collect();
    assert!(
        answers
            .iter()
            .all(|a| a.status == 201 && a.body == answers[0].body),
        "identical answers"
    );
    assert_eq!(
        answers.iter().filter(|a| !a.replayed).count(),
        1,
        "one effect"
    );
    let loaded = store.load_account(&caller.tenant).await.unwrap().unwrap();
    assert_eq!(
        loaded.account.subscription.licences().unwrap().purchased,
        13
    );
    let invoices = app::list_invoices(
        &store,
        &caller,
        &PageRequest {
            cursor: None,
            limit: 10,
        },
        at("2026-11-20T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(invoices.items.len(), 1);
    assert_eq!(invoices.items[0].total.minor(), 15_480);

    // The same key with another body is refused; another key for a used quote is a conflict.
    let other = serde_json::json!({ "quote_id": "q-other" });
    let err = app::approve_purchase(
        &store,
        &caller,
        Some("same-key"),
        &other,
        &QuoteId::parse("q-other").unwrap(),
        now,
    )
    .await;
    assert!(matches!(err, Err(AppError::IdempotencyKeyReused)));
    let err = app::approve_purchase(
        &store,
        &caller,
        Some("new-key"),
        &body,
        &quote.quote_id,
        now,
    )
    .await;
    assert!(matches!(err, Err(AppError::QuoteUsed)));
    // A first attempt that died before committing left nothing behind: the key is usable.
    let (licences, modules) = buy(1);
    let quote2 = app::create_quote(&store, &caller, licences, &modules, now)
        .await
        .unwrap();
    let body2 = serde_json::json!({ "quote_id": quote2.quote_id });
    let ok = app::approve_purchase(
        &store,
        &caller,
        Some("died-key"),
        &body2,
        &quote2.quote_id,
        now,
    )
    .await
    .unwrap();
    assert_eq!((ok.status, ok.replayed), (201, false));
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn another_tenants_quote_is_not_found() {
    require_engines();
    let store = fresh_store().await;
    tenant_with(&store, "aaa", 10).await;
    tenant_with(&store, "bbb", 10).await;
    let now = at("2026-11-19T10:00:00Z");
    let (licences, modules) = buy(1);
    let quote = app::create_quote(&store, &ada("bbb"), licences, &modules, now)
        .await
        .unwrap();
    let body = serde_json::json!({ "quote_id": quote.quote_id });
    let err =
        app::approve_purchase(&store, &ada("aaa"), Some("k"), &body, &quote.quote_id, now).await;
    assert!(matches!(err, Err(AppError::NotFound("quote"))));
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn expired_quotes_and_idempotency_records_are_ignored_before_ttl_deletes_them() {
    require_engines();
    let store = fresh_store().await;
    tenant_with(&store, "ttl", 10).await;
    let caller = ada("ttl");
    let now = at("2026-11-19T10:00:00Z");
    let (licences, modules) = buy(1);
    let quote = app::create_quote(&store, &caller, licences, &modules, now)
        .await
        .unwrap();
    let body = serde_json::json!({ "quote_id": quote.quote_id });
    let late = now + Duration::minutes(31);
    let err = app::approve_purchase(&store, &caller, Some("k"), &body, &quote.quote_id, late).await;
    assert!(matches!(
        err,
        Err(AppError::Domain(
            licensing::domain::DomainError::QuoteExpired
        ))
    ));
    // Far past the quote's TTL the item reads as gone.
    let much_later = now + Duration::days(3);
    assert!(
        store
            .get_quote(&caller.tenant, &quote.quote_id, much_later)
            .await
            .unwrap()
            .is_none()
    );
}

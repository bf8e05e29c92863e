//! Racing changes and replayed keys count exactly once; quotes and keys of others or past their time are not found.

use super::*;

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
    a_key_keeps_its_body_and_a_quote_is_bought_once(&store, &caller, &quote).await;
}

async fn a_key_keeps_its_body_and_a_quote_is_bought_once(
    store: &DynamoStore,
    caller: &Caller,
    used: &app::views::QuoteView,
) {
    let now = at("2026-11-19T10:00:00Z");
    let body = serde_json::json!({ "quote_id": used.quote_id });
    // The same key with another body is refused; another key for a used quote is a conflict.
    let other = serde_json::json!({ "quote_id": "q-other" });
    let err = app::approve_purchase(
        store,
        caller,
        Some("same-key"),
        &other,
        &QuoteId::parse("q-other").unwrap(),
        now,
    )
    .await;
    assert!(matches!(err, Err(AppError::IdempotencyKeyReused)));
    let err =
        app::approve_purchase(store, caller, Some("new-key"), &body, &used.quote_id, now).await;
    assert!(matches!(err, Err(AppError::QuoteUsed)));
    // A first attempt that died before committing left nothing behind: the key is usable.
    let (licences, modules) = buy(1);
    let quote2 = app::create_quote(store, caller, licences, &modules, now)
        .await
        .unwrap();
    let body2 = serde_json::json!({ "quote_id": quote2.quote_id });
    let ok = app::approve_purchase(
        store,
        caller,
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

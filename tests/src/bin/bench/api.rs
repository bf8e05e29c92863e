//! `bench api`: each use case's calls, capacity and latency, then its throughput against
//! the engine's raw rates.

use crate::measure::measure;
use crate::ratios::ratios;
use chrono::{Duration, NaiveDate};
use licensing::app::{self, Caller};
use licensing::domain::identity::{TenantId, UserId};
use licensing::ports::PageRequest;

use licensing_tests::{acme, at, bulk_users, fresh_store, new_user};
use std::collections::BTreeMap;

pub(crate) async fn api(n: u64, callers: u64) {
    let store = fresh_store().await;
    let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let now = at("2026-11-19T10:00:00Z");
    app::create_tenant(
        &store,
        "bench",
        acme("bench", start, 10, 2),
        at("2026-11-01T08:00:00Z"),
    )
    .await
    .unwrap();
    let tenant = TenantId::parse("bench").unwrap();
    bulk_users(&store, &tenant, 20, at("2026-11-02T00:00:00Z")).await;
    let caller = Caller {
        tenant,
        user: UserId::parse("ada").unwrap(),
    };
    println!(
        "| use case | DynamoDB calls | capacity units | p50 ms | p99 ms |\n|---|---|---|---|---|"
    );
    let page = PageRequest {
        cursor: None,
        limit: 50,
    };
    measure(&store, "GET /v1/account (status)", n, |_| async {
        app::account_status(&store, &caller, now).await.unwrap();
    })
    .await
    .print();
    measure(&store, "GET /v1/users (50)", n, |_| async {
        app::list_users(&store, &caller, &page, None, now)
            .await
            .unwrap();
    })
    .await
    .print();
    measure(&store, "POST /v1/purchases/quotes", n, |_| async {
        app::create_quote(&store, &caller, Some(1), &BTreeMap::new(), now)
            .await
            .unwrap();
    })
    .await
    .print();
    let mut quotes = Vec::new();
    for _ in 0..n {
        quotes.push(
            app::create_quote(&store, &caller, Some(1), &BTreeMap::new(), now)
                .await
                .unwrap()
                .quote_id,
        );
    }
    measure(&store, "POST /v1/purchases (approval)", n, |i| {
        let quote = quotes[i as usize].clone();
        let store = &store;
        let caller = &caller;
        async move {
            let body = serde_json::json!({ "quote_id": quote });
            app::approve_purchase(
                store,
                caller,
                Some(&format!("bench-{i}")),
                &body,
                &quote,
                now,
            )
            .await
            .unwrap();
        }
    })
    .await
    .print();
    let (s, c) = (&store, &caller);
    measure(&store, "PUT /v1/next-period", n, |i| async move {
        app::set_next_period(s, c, Some(5 + (i % 5) as u32), &BTreeMap::new(), now)
            .await
            .unwrap();
    })
    .await
    .print();
    measure(&store, "POST /v1/users", n, |i| async move {
        let user = new_user(
            &format!("n-{i}"),
            "New User",
            licensing::domain::identity::Language::En,
            &[],
        );
        app::create_user(
            s,
            c,
            user.into(),
            None,
            &serde_json::Value::Null,
            now + Duration::seconds(i as i64),
        )
        .await
        .unwrap();
    })
    .await
    .print();
    ratios(callers, n.max(400)).await;
}

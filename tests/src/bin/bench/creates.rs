//! `bench creates`: single creates racing on one tenant.

use chrono::NaiveDate;
use licensing::app::{self, Caller};
use licensing::domain::identity::{TenantId, UserId};
use licensing::ports::AccountReads;

use licensing_tests::{acme, at, fresh_store, new_user, unique};
use std::time::Instant;

/// Single creates racing on one tenant (R25): `clients` concurrent callers each creating users
/// until `total` exist, in process against DynamoDB Local, or through the local API when
/// `LICENSING_API_URL` is set (the run or test command started it). Prints creates per second
/// and the latency and DynamoDB calls per create.
pub(crate) async fn creates(clients: u64, total: u64) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let next = AtomicU64::new(0);
    // BENCH_LICENCES=1: every create over-allocates (the pool is full from the start).
    let licences: u32 = std::env::var("BENCH_LICENCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let started = Instant::now();
    let mut micros: Vec<u128> = Vec::new();
    let mut calls = 0;
    if let Some(api) = licensing_tests::http::api() {
        let tenant = unique("creates");
        api.tenant(&tenant, licences).await;
        let admin = api.user(&tenant, "ada");
        let started_at = Instant::now();
        let runs = futures::future::join_all((0..clients).map(|_| async {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    return mine;
                }
                let body = serde_json::json!({"user_id": format!("c-{i:05}"), "name": format!("User {i}"), "email": format!("c-{i}@example.com")});
                let t = Instant::now();
                let (status, answer) = api.call(reqwest::Method::POST, "/v1/users", Some(&admin), Some(body)).await;
                assert_eq!(status, reqwest::StatusCode::CREATED, "{answer}");
                mine.push(t.elapsed().as_micros());
            }
        }))
        .await;
        micros.extend(runs.into_iter().flatten());
        report_creates(
            "through the local API",
            clients,
            total,
            started_at,
            &mut micros,
            None,
        );
        return;
    }
    let store = fresh_store().await;
    let id = unique("creates");
    app::create_tenant(
        &store,
        "bench",
        acme(
            &id,
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            licences,
            2,
        ),
        at("2026-11-01T08:00:00Z"),
    )
    .await
    .unwrap();
    let caller = Caller {
        tenant: TenantId::parse(&id).unwrap(),
        user: UserId::parse("ada").unwrap(),
    };
    let before = store.usage();
    let runs = futures::future::join_all((0..clients).map(|_| async {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            if i >= total {
                return mine;
            }
            let new = new_user(
                &format!("c-{i:05}"),
                &format!("User {i}"),
                licensing::domain::identity::Language::En,
                &[],
            );
            let t = Instant::now();
            app::create_user(
                &store,
                &caller,
                new.into(),
                None,
                &serde_json::Value::Null,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
            mine.push(t.elapsed().as_micros());
        }
    }))
    .await;
    calls += store.usage().since(before).calls;
    micros.extend(runs.into_iter().flatten());
    report_creates(
        "in process",
        clients,
        total,
        started,
        &mut micros,
        Some(calls),
    );
}

pub(crate) fn report_creates(
    how: &str,
    clients: u64,
    total: u64,
    started: Instant,
    micros: &mut [u128],
    calls: Option<u64>,
) {
    micros.sort_unstable();
    let secs = started.elapsed().as_secs_f64();
    let pct =
        |p: f64| micros[((micros.len() as f64 * p) as usize).min(micros.len() - 1)] as f64 / 1000.0;
    let calls = calls.map_or(String::new(), |c| {
        format!(", {:.1} DynamoDB calls per create", c as f64 / total as f64)
    });
    println!(
        "{how}: {clients} clients, {total} creates in {secs:.2} s = {:.1} creates/s, p50 {:.1} ms, p99 {:.1} ms{calls}",
        total as f64 / secs,
        pct(0.5),
        pct(0.99)
    );
}

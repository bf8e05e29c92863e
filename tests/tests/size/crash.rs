//! A sweep of 400 removals killed between any two writes ends as a clean one.

use super::*;

/// What a crashed-and-restarted run must end with, exactly as a clean one: the account's items
/// (the subscription and every red-seat record, stale ones included), users, seats, invoices,
/// the log's entries and the outbox's messages (their ids, drawn per change, aside).
async fn state(store: &DynamoStore, tenant: &TenantId) -> serde_json::Value {
    let part = |prefix: &'static str| store.partition(tenant, prefix);
    // Entries of one instant are ordered by their ids, drawn per change: compared as a set.
    let mut log: Vec<String> = part("L#")
        .await
        .unwrap()
        .into_iter()
        .map(|i| {
            serde_json::json!([
                i["entry"]["action"],
                i["entry"]["at"],
                i["entry"]["details"]
            ])
            .to_string()
        })
        .collect();
    log.sort();
    let mut outbox: Vec<String> = part("O#")
        .await
        .unwrap()
        .iter()
        .flat_map(|i| i["messages"].as_array().cloned().unwrap_or_default())
        .map(|m| m["payload"].to_string())
        .collect();
    outbox.sort();
    serde_json::json!({
        "account": part("A#").await.unwrap(),
        "users": part("U#").await.unwrap(),
        "seats": part("S#").await.unwrap(),
        "invoices": part("I#").await.unwrap(),
        "log": log,
        "outbox": outbox,
    })
}

/// 400 users downscaled to one licence, then the sweep at the period end, the day before
/// the deadline and after it; with `crash`, the store dies after that many writes and every
/// step from the one that failed is run again by a healthy sweep, as the next invocation.
async fn crash_run(crash: Option<i64>) -> serde_json::Value {
    let store = fresh_store().await;
    let caller = big_named(&store, "crash", 401, 0, 400, &[]).await;
    app::set_next_period(
        &store,
        &caller,
        Some(1),
        &BTreeMap::new(),
        at("2026-11-20T10:00:00Z"),
    )
    .await
    .unwrap();
    let steps = [
        "2026-11-30T23:00:00Z",
        "2026-12-06T23:00:00Z",
        "2026-12-07T23:00:01Z",
    ];
    let crashing = crash.map(|writes| store.crashing_after(writes));
    let mut dead = crashing.is_none();
    for step in steps {
        if let Some(crashing) = crashing.as_ref().filter(|_| !dead) {
            let report = app::sweep::sweep(crashing, at(step), None).await;
            dead = report.is_err() || report.is_ok_and(|r| r.failed_tenants > 0);
            if !dead {
                continue;
            }
        }
        let report = app::sweep::sweep(&store, at(step), None).await.unwrap();
        assert_eq!(report.failed_tenants, 0);
    }
    state(&store, &caller.tenant).await
}

#[tokio::test]
#[ignore = "needs DynamoDB Local: ./scripts/test.sh runs it (default profile)"]
async fn r15_r13_a_sweep_of_400_removals_killed_between_any_two_writes_ends_as_a_clean_one() {
    require_engines();
    let expected = crash_run(None).await;
    let account = expected["account"].as_array().unwrap();
    assert_eq!(
        account.len(),
        1,
        "only the subscription is left: {}",
        account.len()
    );
    // Every early kill point (inside the rollover's red-seat writes and its transaction), then
    // points spread over the reminders and removals.
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let points: Vec<i64> = (0..12)
        .chain((0..8).map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            12 + (seed % 26) as i64
        }))
        .collect();
    let runs = futures::stream::iter(
        points
            .iter()
            .map(|&p| async move { (p, crash_run(Some(p)).await) }),
    )
    .buffer_unordered(6)
    .collect::<Vec<_>>()
    .await;
    for (point, got) in runs {
        assert!(
            got == expected,
            "killed after {point} writes: the states differ"
        );
    }
}

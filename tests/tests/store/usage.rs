//! R37 on DynamoDB Local: a day's reading and the subscription's mark of it commit together,
//! under the subscription's version, so racing sweeps read a day once and a change made
//! meanwhile sends the reading back for a fresh read.

use super::tenant_with;
use chrono::NaiveDate;
use licensing::app::sweep::sweep;
use licensing::domain::identity::TenantId;
use licensing::ports::{AccountReads, StoreError, UsageHistory};
use licensing_tests::{at, bulk_users, fresh_store, require_engines};

fn nov(day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, day).unwrap()
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r37_racing_sweeps_read_a_day_once_and_a_change_meanwhile_is_read_again() {
    require_engines();
    let store = fresh_store().await;
    tenant_with(&store, "usage", 5).await;
    let tenant = TenantId::parse("usage").unwrap();

    // Copenhagen's midnight of 2 November, swept twice at once: one reading.
    let midnight = at("2026-11-01T23:01:00Z");
    let (a, b) = tokio::join!(sweep(&store, midnight, None), sweep(&store, midnight, None));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.usage_readings + b.usage_readings, 1, "{a:?} {b:?}");

    // A reading written on a version another change has moved is refused whole.
    let read = store.load_account(&tenant).await.unwrap().unwrap();
    bulk_users(&store, &tenant, 3, at("2026-11-02T09:00:00Z")).await;
    let mut stale = read.account.clone();
    stale.subscription.usage_through = Some(nov(3));
    let refused = store.record_usage(&stale, None).await;
    assert!(matches!(refused, Err(StoreError::Conflict)), "{refused:?}");

    let next = sweep(&store, at("2026-11-02T23:00:30Z"), None)
        .await
        .unwrap();
    assert_eq!(next.usage_readings, 1);
    let readings = store
        .usage_readings(&tenant, nov(1), nov(30))
        .await
        .unwrap();
    let seen: Vec<(NaiveDate, u32, u32)> = readings
        .iter()
        .map(|r| (r.date, r.pools[0].purchased, r.pools[0].in_use))
        .collect();
    assert_eq!(
        seen,
        [(nov(2), 5, 1), (nov(3), 5, 4)],
        "Ada, then three more"
    );
    let one = store.usage_readings(&tenant, nov(3), nov(3)).await.unwrap();
    assert_eq!(one.len(), 1, "both ends included");
    let loaded = store.load_account(&tenant).await.unwrap().unwrap();
    assert_eq!(loaded.account.subscription.usage_through, Some(nov(3)));
}

//! The scheduled sweep against DynamoDB Local (issue: the sweeper): grace, rollovers,
//! catch-up, concurrency and crash safety.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use licensing::adapters::dynamodb::DynamoStore;
use licensing::app::sweep::{SweepReport, sweep};
use licensing::app::{self, Activation, Caller};
use licensing::domain::allocation::RedSeat;
use licensing::domain::identity::{Language, TenantId, UserId};
use licensing::domain::pool::PoolId;
use licensing::ports::{AccountReads, Commits, Listings, PageRequest};
use licensing_tests::faults::Faulty;
use licensing_tests::*;
use std::collections::BTreeMap;

/// Acme with 10 licences and `users` more users created an hour apart from 2 Nov 00:00 UTC.
async fn tenant(store: &DynamoStore, id: &str, users: usize) -> Caller {
    app::create_tenant(
        store,
        "op",
        acme(id, nov(), 10, 2),
        at("2026-11-01T08:00:00Z"),
    )
    .await
    .unwrap();
    let caller = ada(id);
    for i in 1..=users {
        let user = new_user(
            &format!("u-{i:02}"),
            &format!("User {i}"),
            Language::En,
            &[],
        );
        app::create_user(
            store,
            &caller,
            user.into(),
            None,
            &serde_json::Value::Null,
            at("2026-11-02T00:00:00Z") + Duration::hours(i as i64),
        )
        .await
        .unwrap();
    }
    caller
}

async fn reds(store: &DynamoStore, tenant: &TenantId) -> Vec<(String, DateTime<Utc>)> {
    let loaded = store.load_account(tenant).await.unwrap().unwrap();
    loaded
        .account
        .reds(&PoolId::licences())
        .iter()
        .map(|r| (r.seat.user_id.to_string(), r.flag.deadline))
        .collect()
}

async fn active(store: &DynamoStore, tenant: &TenantId, user: &str) -> bool {
    store
        .load_user(tenant, &UserId::parse(user).unwrap())
        .await
        .unwrap()
        .unwrap()
        .active
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r5_a_red_seat_is_kept_until_its_deadline_and_removed_at_the_first_sweep_after() {
    require_engines();
    let store = fresh_store().await;
    let caller = tenant(&store, "grace", 10).await; // u-10 red since 2 Nov 10:00
    let t = at("2026-11-02T10:00:00Z");
    assert_eq!(
        reds(&store, &caller.tenant).await,
        vec![("u-10".to_owned(), t + Duration::days(7))]
    );
    let report = sweep(&store, t + Duration::days(7) - Duration::seconds(1), None)
        .await
        .unwrap();
    assert_eq!(report.removals, 0);
    assert_eq!(report.reminders, 1, "the reminder a day before went out");
    assert!(active(&store, &caller.tenant, "u-10").await);
    let report = sweep(&store, t + Duration::days(7), None).await.unwrap();
    assert_eq!(report.removals, 1);
    assert!(!active(&store, &caller.tenant, "u-10").await);
    assert!(reds(&store, &caller.tenant).await.is_empty());
    let log = app::list_action_log(
        &store,
        &caller,
        &PageRequest {
            cursor: None,
            limit: 1,
        },
        at("2026-11-20T00:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(log.items[0].action, "seat.removed");
    // Swept again: nothing more happens.
    let again = sweep(&store, t + Duration::days(8), None).await.unwrap();
    assert_eq!((again.removals, again.rollovers), (0, 0));
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r5_a_purchase_or_an_older_users_deactivation_before_the_deadline_saves_the_seat() {
    require_engines();
    let store = fresh_store().await;
    let t = at("2026-11-02T10:00:00Z");
    let buyer = tenant(&store, "saved-a", 10).await;
    buy_one_licence(&store, &buyer, "k", t + Duration::days(6)).await;
    let leaver = tenant(&store, "saved-b", 10).await;
    app::set_active(
        &store,
        &leaver,
        &UserId::parse("u-01").unwrap(),
        Activation::Deactivate,
        t + Duration::days(6),
    )
    .await
    .unwrap();
    let report = sweep(&store, t + Duration::days(8), None).await.unwrap();
    assert_eq!(report.removals, 0);
    assert!(active(&store, &buyer.tenant, "u-10").await);
    assert!(active(&store, &leaver.tenant, "u-10").await);
    assert!(reds(&store, &leaver.tenant).await.is_empty());
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r14_downscale_below_in_use_then_rollover_reds_the_newest_and_removes_them_seven_days_later()
 {
    require_engines();
    let store = fresh_store().await;
    let caller = tenant(&store, "shrink", 9).await; // 10 in use, 10 licences
    app::set_next_period(
        &store,
        &caller,
        Some(7),
        &BTreeMap::new(),
        at("2026-11-20T00:00:00Z"),
    )
    .await
    .unwrap();
    let rollover = at("2026-11-30T23:00:00Z"); // midnight in Copenhagen
    let report = sweep(&store, at("2026-12-01T02:00:00Z"), None)
        .await
        .unwrap();
    assert_eq!((report.rollovers, report.invoices), (1, 1));
    let red = reds(&store, &caller.tenant).await;
    let ids: Vec<&str> = red.iter().map(|(u, _)| u.as_str()).collect();
    assert_eq!(ids, vec!["u-07", "u-08", "u-09"]);
    assert!(red.iter().all(|(_, d)| *d == rollover + Duration::days(7)));
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
    assert_eq!(invoices.items[0].total.minor(), 7 * 12_900 + 2 * 4_900);
    let report = sweep(&store, rollover + Duration::days(7), None)
        .await
        .unwrap();
    assert_eq!(report.removals, 3);
    let loaded = store.load_account(&caller.tenant).await.unwrap().unwrap();
    let pool = loaded.account.subscription.licences().unwrap();
    assert_eq!((pool.purchased, pool.in_use), (7, 7));
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r14_a_tenant_missed_for_three_periods_is_rolled_three_times_with_three_invoices() {
    require_engines();
    let store = fresh_store().await;
    let caller = tenant(&store, "late", 0).await;
    let report = sweep(&store, at("2027-02-10T00:00:00Z"), None)
        .await
        .unwrap();
    assert_eq!((report.rollovers, report.invoices), (3, 3));
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
    let starts: Vec<String> = invoices
        .items
        .iter()
        .map(|i| i.period.start.to_string())
        .collect();
    assert_eq!(
        starts,
        vec!["2027-02-01", "2027-01-01", "2026-12-01"],
        "newest first"
    );
}

/// What two runs are compared on: the subscription, every user, the invoices, the red seats
/// and the actions logged.
async fn snapshot(store: &DynamoStore, caller: &Caller) -> serde_json::Value {
    let loaded = store.load_account(&caller.tenant).await.unwrap().unwrap();
    let users = store
        .list_users(
            &caller.tenant,
            &PageRequest {
                cursor: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let invoices = store
        .list_invoices(
            &caller.tenant,
            &PageRequest {
                cursor: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let log = store
        .list_log(
            &caller.tenant,
            &PageRequest {
                cursor: None,
                limit: 100,
            },
        )
        .await
        .unwrap();
    let reds: Vec<&RedSeat> = loaded.account.all_reds().collect();
    serde_json::json!({
        "subscription": loaded.account.subscription,
        "users": users.items,
        "invoices": invoices.items,
        "reds": reds,
        "log": log.items.iter().map(|e| (&e.action, e.at)).collect::<Vec<_>>(),
    })
}

/// Two periods late, with a downscale: a rollover, new reds, and removals all fall due.
async fn scenario(store: &DynamoStore, id: &str) -> Caller {
    let caller = tenant(store, id, 11).await;
    app::set_next_period(
        store,
        &caller,
        Some(8),
        &BTreeMap::new(),
        at("2026-11-20T00:00:00Z"),
    )
    .await
    .unwrap();
    caller
}

const SWEEP_AT: &str = "2027-01-09T00:00:00Z";

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r15_two_sweeps_at_once_end_as_one() {
    require_engines();
    let clean = fresh_store().await;
    let one = scenario(&clean, "twice").await;
    sweep(&clean, at(SWEEP_AT), None).await.unwrap();
    let racing = fresh_store().await;
    let two = scenario(&racing, "twice").await;
    let (a, b) = futures::join!(
        sweep(&racing, at(SWEEP_AT), None),
        sweep(&racing, at(SWEEP_AT), None)
    );
    let (a, b): (SweepReport, SweepReport) = (a.unwrap(), b.unwrap());
    assert_eq!(a.invoices + b.invoices, 2, "each period invoiced once");
    assert_eq!(snapshot(&clean, &one).await, snapshot(&racing, &two).await);
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r15_a_sweep_killed_after_any_number_of_writes_and_restarted_ends_as_a_clean_one() {
    require_engines();
    let clean = fresh_store().await;
    let reference = scenario(&clean, "crash").await;
    let report = sweep(&clean, at(SWEEP_AT), None).await.unwrap();
    assert!(report.rollovers == 2 && report.removals >= 3, "{report:?}");
    let expected = snapshot(&clean, &reference).await;
    // A small deterministic generator: every kill point, then random ones, 100 runs in all.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for run in 0..100i64 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let kill_after = if run < 8 { run as u64 } else { seed % 8 };
        let store = fresh_store().await;
        let caller = scenario(&store, "crash").await;
        let crashing = Faulty::killed_after_writes(store.clone(), kill_after);
        let _ = sweep(&crashing, at(SWEEP_AT), None).await;
        sweep(&store, at(SWEEP_AT), None).await.unwrap();
        assert_eq!(
            snapshot(&store, &caller).await,
            expected,
            "killed after {kill_after} writes"
        );
    }
}

/// R22: requests that find the period ended race the sweep for the same rollover: each ended
/// period is rolled over exactly once, with the invoice ids the sweep alone would give.
#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r22_requests_racing_the_sweep_roll_each_ended_period_over_exactly_once() {
    require_engines();
    let store = fresh_store().await;
    let sept = NaiveDate::from_ymd_opt(2026, 9, 1).unwrap();
    app::create_tenant(
        &store,
        "op",
        acme("late", sept, 10, 2),
        at("2026-09-01T08:00:00Z"),
    )
    .await
    .unwrap();
    let caller = ada("late");
    let now = at("2026-11-20T10:00:00Z");
    let no_modules = BTreeMap::new();
    let (swept, status, next) = tokio::join!(
        sweep(&store, now, None),
        app::account_status(&store, &caller, now),
        app::set_next_period(&store, &caller, Some(9), &no_modules, now),
    );
    swept.unwrap();
    let status = status.unwrap();
    let next = next.unwrap();
    assert_eq!(status.period.start, nov());
    assert_eq!(
        next.effective_from,
        NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
    );
    // A sweep afterwards finds nothing left to roll.
    assert_eq!(sweep(&store, now, None).await.unwrap().rollovers, 0);
    let page = PageRequest {
        cursor: None,
        limit: 100,
    };
    let invoices = app::list_invoices(&store, &caller, &page, now)
        .await
        .unwrap();
    let ids: Vec<&str> = invoices
        .items
        .iter()
        .map(|i| i.invoice_id.as_str())
        .collect();
    let tenant = TenantId::parse("late").unwrap();
    let expected: Vec<String> = [nov(), NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()]
        .iter()
        .map(|start| {
            let period = licensing::domain::period::Period::first(
                *start,
                licensing::domain::period::PeriodLength::Monthly,
            )
            .unwrap();
            licensing::domain::invoice::period_invoice_id(&tenant, &period)
        })
        .collect();
    assert_eq!(ids, expected.iter().map(String::as_str).collect::<Vec<_>>());
    let log = app::list_action_log(&store, &caller, &page, now)
        .await
        .unwrap();
    let rollovers = log
        .items
        .iter()
        .filter(|e| e.action == "period.rolled_over")
        .count();
    assert_eq!(rollovers, 1);
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn the_red_record_tidy_never_deletes_a_record_made_live_since_it_was_read() {
    require_engines();
    let store = fresh_store().await;
    let id = unique("tidy");
    // 10 licences, Ada and 10 more users: the 11th is red.
    let caller = tenant(&store, &id, 10).await;
    let live = store
        .load_account(&caller.tenant)
        .await
        .unwrap()
        .unwrap()
        .account
        .reds(&PoolId::licences())
        .to_vec();
    assert_eq!(live.len(), 1);
    // What a sweep read before the seat was flagged again, with another deadline: deleting
    // it as stale must leave the record the later change wrote.
    let mut seen_before: RedSeat = live[0].clone();
    seen_before.flag.deadline -= Duration::days(1);
    store
        .delete_red_records(&caller.tenant, &[seen_before])
        .await
        .unwrap();
    assert_eq!(
        store.red_records(&caller.tenant).await.unwrap(),
        live,
        "the live record is kept"
    );
    // The record as it is stored is deleted.
    store
        .delete_red_records(&caller.tenant, &live)
        .await
        .unwrap();
    assert!(store.red_records(&caller.tenant).await.unwrap().is_empty());
}

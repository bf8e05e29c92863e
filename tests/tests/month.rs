//! The production month (#31): tenants of every size through three billing periods of
//! simulated time with every fault kind the harness (`licensing_tests::month`) injects, then
//! its checks. On DynamoDB Local an outbox item no one can read waits from the first hour.
//! The long run is `bench month`; these are the short ones of the test command.

use licensing::adapters::memory::MemoryStore;
use licensing::domain::identity::TenantId;
use licensing_tests::month::{self, Outcome, Plan};
use licensing_tests::{fresh_store, put_unreadable_outbox_item, require_engines, unique};

/// Every fault kind happened, and nothing the checks look for went wrong.
fn held_up(outcome: &Outcome) {
    assert!(
        outcome.violations.is_empty(),
        "{} violations: {:#?}",
        outcome.violations.len(),
        outcome.violations
    );
    for fault in [
        "process killed between two calls",
        "DynamoDB call throttled",
        "hours SES refused every mail",
        "hours EventBridge refused every event",
        "hours SES said slow down",
        "hours EventBridge throttled",
        "scheduled event lost",
        "scheduled event delivered twice",
        "scheduled event an hour late",
    ] {
        assert!(
            outcome.faults.get(fault).copied().unwrap_or(0) > 0,
            "no {fault:?} in {:?}",
            outcome.faults
        );
    }
    assert!(
        outcome.rollovers >= 3 * outcome.tenants as u64,
        "{outcome:?}"
    );
    assert!(outcome.redriven > 0, "{outcome:?}");
    assert!(
        outcome.statuses.contains_key(&503),
        "{:?}",
        outcome.statuses
    );
}

#[tokio::test]
#[ignore = "a simulated quarter of faults, about 20 s: scripts/test.sh runs it"]
async fn a_short_production_month_on_the_memory_store_loses_nothing_and_charges_nothing_twice() {
    let outcome = month::run(MemoryStore::new(), &Plan::short(7, "m")).await;
    println!("{outcome:#?}");
    held_up(&outcome);
}

#[tokio::test]
#[ignore = "needs DynamoDB Local: scripts/test.sh runs it"]
async fn a_short_production_month_on_dynamodb_local_loses_nothing_and_charges_nothing_twice() {
    require_engines();
    let plan = Plan {
        tenants: 4,
        sizes: vec![3, 30, 8, 60],
        step_hours: 6,
        ..Plan::short(11, &unique("m"))
    };
    let store = fresh_store().await;
    // One outbox item no dispatcher can read, due from the first hour (R32: set aside alone).
    let poisoned = TenantId::parse(&unique("poison")).unwrap();
    put_unreadable_outbox_item(&store, &poisoned, "2026-11-01T01:00:00.000000Z").await;
    let outcome = month::run(store.clone(), &plan).await;
    println!("{outcome:#?}");
    held_up(&outcome);
    let states: Vec<_> = store
        .partition(&poisoned, "O#")
        .await
        .unwrap()
        .into_iter()
        .map(|item| item["state"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(states, ["unreadable"]);
}

//! The use cases through `app::` on the in-memory store: the rules end to end, in
//! milliseconds and without an engine. What only DynamoDB can show (its transactions racing,
//! item sizes, the due index, consistency) stays in `store.rs` and `sweeper.rs`.

use futures::future::join_all;
use licensing::adapters::memory::MemoryStore;
use licensing::app::{self, Activation, AppError, CreateUser};
use licensing::domain::DomainError;
use licensing::domain::identity::{Language, QuoteId, UserId};
use licensing::ports::AccountReads;
use licensing_tests::*;
use std::collections::BTreeMap;

/// Acme from 1 November with `licences` bought, and `users` more users (u-01, u-02, …)
/// activated a day apart from 2 November, so the newest are the red ones (R2, R3).
async fn acme_with(licences: u32, users: u32) -> MemoryStore {
    let store = MemoryStore::new();
    app::create_tenant(
        &store,
        "op",
        acme("acme", nov(), licences, 2),
        at("2026-11-01T08:00:00Z"),
    )
    .await
    .unwrap();
    for i in 1..=users {
        let id = format!("u-{i:02}");
        let new: CreateUser = new_user(&id, &format!("User {i}"), Language::En, &[]).into();
        let now = at("2026-11-02T08:00:00Z") + chrono::Duration::days(i64::from(i));
        app::create_user(&store, &ada("acme"), new, None, &serde_json::json!({}), now)
            .await
            .unwrap();
    }
    store
}

/// `n` more users (u-001, u-002, …) activated a minute apart on 2 November.
async fn add_users_a_minute_apart(store: &MemoryStore, n: u32) {
    for i in 1..=n {
        let id = format!("u-{i:03}");
        let new: CreateUser = new_user(&id, &format!("User {i}"), Language::En, &[]).into();
        let now = at("2026-11-02T08:00:00Z") + chrono::Duration::minutes(i64::from(i));
        app::create_user(store, &ada("acme"), new, None, &serde_json::json!({}), now)
            .await
            .unwrap();
    }
}

async fn licences(store: &MemoryStore) -> (u32, u32, u32) {
    let loaded = store
        .load_account(&ada("acme").tenant)
        .await
        .unwrap()
        .expect("the tenant");
    let pool = loaded.account.subscription.licences().unwrap().clone();
    (pool.purchased, pool.in_use, pool.next_period)
}

#[tokio::test]
async fn r10_an_approval_replays_for_its_key_and_body_and_refuses_another_body() {
    let store = acme_with(10, 0).await;
    let now = at("2026-11-19T10:00:00Z");
    let quote = app::create_quote(&store, &ada("acme"), Some(1), &BTreeMap::new(), now)
        .await
        .unwrap();
    let body = serde_json::json!({ "quote_id": quote.quote_id });
    let first = app::approve_purchase(
        &store,
        &ada("acme"),
        Some("k1"),
        &body,
        &quote.quote_id,
        now,
    )
    .await
    .unwrap();
    let again = app::approve_purchase(
        &store,
        &ada("acme"),
        Some("k1"),
        &body,
        &quote.quote_id,
        now,
    )
    .await
    .unwrap();
    assert_eq!((first.status, first.replayed), (201, false));
    assert_eq!((again.body, again.replayed), (first.body, true));
    let other = serde_json::json!({ "quote_id": "q-another" });
    let refused = app::approve_purchase(
        &store,
        &ada("acme"),
        Some("k1"),
        &other,
        &QuoteId::parse("q-another").unwrap(),
        now,
    )
    .await;
    assert!(matches!(refused, Err(AppError::IdempotencyKeyReused)));
    assert_eq!(licences(&store).await.0, 11, "bought once");
}

#[tokio::test]
async fn r10_twenty_racing_approvals_under_twenty_keys_each_count_once() {
    let store = acme_with(10, 0).await;
    let now = at("2026-11-19T10:00:00Z");
    let keys: Vec<String> = (0..20).map(|i| format!("key-{i}")).collect();
    let caller = ada("acme");
    let answers = join_all(
        keys.iter()
            .map(|key| buy_one_licence(&store, &caller, key, now)),
    )
    .await;
    assert!(answers.iter().all(|a| a.status == 201 && !a.replayed));
    assert_eq!(licences(&store).await.0, 30);
}

#[tokio::test]
async fn r12_r14_r5_a_downscale_reds_the_newest_at_the_rollover_and_removes_them_after_the_grace() {
    // 10 bought, Ada and 9 users in use; next period 7 licences.
    let store = acme_with(10, 9).await;
    let now = at("2026-11-20T10:00:00Z");
    let changed = app::set_next_period(&store, &ada("acme"), Some(7), &BTreeMap::new(), now)
        .await
        .unwrap();
    let removed: Vec<String> = changed
        .seats_to_remove
        .iter()
        .map(|s| s.user_id.to_string())
        .collect();
    assert_eq!(
        removed,
        ["u-07", "u-08", "u-09"],
        "the three newest, in R3 order"
    );
    assert_eq!(licences(&store).await, (10, 10, 7));
    // The period ends at midnight in Copenhagen: 23:00 UTC on 30 November.
    let report = app::sweep::sweep(&store, at("2026-11-30T23:00:00Z"), None)
        .await
        .unwrap();
    assert_eq!((report.rollovers, report.invoices), (1, 1));
    assert_eq!(licences(&store).await, (7, 10, 7));
    let account = store
        .load_account(&ada("acme").tenant)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(account.account.all_reds().count(), 3);
    // Seven days later they are removed (R5); a second sweep then finds nothing to do (R15).
    let later = at("2026-12-07T23:00:01Z");
    let report = app::sweep::sweep(&store, later, None).await.unwrap();
    assert_eq!(report.removals, 3);
    assert_eq!(licences(&store).await, (7, 7, 7));
    let again = app::sweep::sweep(&store, later, None).await.unwrap();
    assert_eq!((again.rollovers, again.removals), (0, 0));
}

#[tokio::test]
async fn r23_the_last_administrator_cannot_be_deactivated() {
    let store = acme_with(10, 1).await;
    let now = at("2026-11-20T10:00:00Z");
    let refused = app::set_active(
        &store,
        &ada("acme"),
        &UserId::parse("ada").unwrap(),
        Activation::Deactivate,
        now,
    )
    .await;
    assert!(matches!(
        refused,
        Err(AppError::Domain(DomainError::LastAdministrator))
    ));
    let user = app::set_active(
        &store,
        &ada("acme"),
        &UserId::parse("u-01").unwrap(),
        Activation::Deactivate,
        now,
    )
    .await
    .unwrap();
    assert!(!user.active);
    assert_eq!(licences(&store).await.1, 1, "only Ada in use");
}

#[tokio::test]
async fn r18_a_repeated_terminate_answers_the_terminated_account_and_logs_once() {
    let store = acme_with(10, 1).await;
    let tenant = ada("acme").tenant;
    let first = app::terminate_tenant(&store, "op", &tenant, at("2026-11-20T10:00:00Z"))
        .await
        .unwrap();
    let again = app::terminate_tenant(&store, "op", &tenant, at("2026-11-20T10:05:00Z"))
        .await
        .unwrap();
    assert_eq!((first.status, again.status), ("terminated", "terminated"));
    let stored = app::account_status(&store, &ada("acme"), at("2026-11-20T10:06:00Z"))
        .await
        .unwrap();
    assert_eq!(
        (first.version, again.version),
        (stored.version, stored.version),
        "both answers carry the version stored: the repeat wrote nothing"
    );
    let page = licensing::ports::PageRequest {
        cursor: None,
        limit: 100,
    };
    let log = app::list_action_log(&store, &ada("acme"), &page, at("2026-11-20T10:06:00Z"))
        .await
        .unwrap();
    let terminated = log
        .items
        .iter()
        .filter(|e| e.action == "tenant.terminated")
        .count();
    assert_eq!(terminated, 1);
    let refused = app::set_next_period(
        &store,
        &ada("acme"),
        Some(5),
        &BTreeMap::new(),
        at("2026-11-20T10:07:00Z"),
    )
    .await;
    assert!(matches!(
        refused,
        Err(AppError::Domain(DomainError::SubscriptionTerminated))
    ));
}

#[tokio::test]
async fn r26_the_account_lists_the_first_hundred_red_seats_and_counts_them_all() {
    // 10 licences, Ada and 160 users (a minute apart) in use: 151 red.
    let store = acme_with(10, 0).await;
    add_users_a_minute_apart(&store, 160).await;
    let view = app::account_status(&store, &ada("acme"), at("2026-11-03T00:00:00Z"))
        .await
        .unwrap();
    assert_eq!(view.licences.over_allocated_count, 151);
    assert_eq!(view.licences.over_allocated.len(), 100);
    // R3 order: the oldest red seats (the nearest deadlines) first.
    assert_eq!(view.licences.over_allocated[0].user_id, "u-010");
    assert_eq!(view.licences.over_allocated[99].user_id, "u-109");
}

#[tokio::test]
async fn r5_a_tenants_removals_stop_when_the_sweeps_time_budget_ends_and_the_next_run_goes_on() {
    // 10 licences, Ada and 60 users: 51 red, their grace over by 20 November (and the renewal
    // reminder, another change, not yet due). Every run's budget has ended before it starts,
    // as on an engine so slow that reading the due work outlasts it: each run still makes its
    // first change, so the removals end in as many runs as they take changes. The first run's
    // change is the day's usage step (R37), before the removals.
    let store = acme_with(10, 0).await;
    add_users_a_minute_apart(&store, 60).await;
    let at = at("2026-11-20T00:00:00Z");
    let mut runs = Vec::new();
    for _ in 0..10 {
        let run = app::sweep::sweep(&store, at, Some(std::time::Instant::now()))
            .await
            .unwrap();
        runs.push((run.removals, run.deferred_tenants));
        if run.deferred_tenants == 0 {
            break;
        }
    }
    let per_change = app::sweep::REMOVALS_PER_CHANGE;
    assert_eq!(
        runs[..4],
        [
            (0, 1),
            (per_change, 1),
            (per_change, 1),
            (51 - 2 * per_change, 1)
        ],
        "one change a run, each run deferring the rest: {runs:?}"
    );
    assert_eq!(runs.iter().map(|r| r.0).sum::<usize>(), 51, "{runs:?}");
    assert_eq!(licences(&store).await.1, 10);
}

#[tokio::test]
async fn r27_a_downscale_of_160_seats_logs_and_mails_50_names_and_the_count() {
    // Licences for everyone, so every seat is still in use at the period change (R28).
    let store = acme_with(170, 0).await;
    add_users_a_minute_apart(&store, 160).await;
    let now = at("2026-11-20T10:00:00Z");
    let changed = app::set_next_period(&store, &ada("acme"), Some(1), &BTreeMap::new(), now)
        .await
        .unwrap();
    assert_eq!(
        (changed.seats_to_remove.len(), changed.seats_to_remove_count),
        (100, 160),
        "the answer lists the first hundred and counts them all (R26)"
    );
    let page = licensing::ports::PageRequest {
        cursor: None,
        limit: 1,
    };
    let log = app::list_action_log(&store, &ada("acme"), &page, now)
        .await
        .unwrap();
    let details = &log.items[0].details;
    assert_eq!(log.items[0].action, "next_period.changed");
    assert_eq!(details["seats_to_remove"].as_array().unwrap().len(), 50);
    assert_eq!(details["seats_to_remove_count"], 160);
    let mail = store
        .outbox(&ada("acme").tenant)
        .into_iter()
        .rev()
        .find_map(|m| match m.payload {
            licensing::outbox::Payload::Mail { data, .. } if data.get("seats_more").is_some() => {
                Some(data)
            }
            _ => None,
        })
        .expect("the confirmation");
    assert_eq!(mail["seats_to_remove"].as_array().unwrap().len(), 50);
    assert_eq!(mail["seats_more"], 110);
}

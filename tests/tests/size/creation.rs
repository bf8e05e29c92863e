//! Creating users at size: batches in order, racing creators, counter deltas.

use super::*;

/// `n` entries of a batch create: users b-00001 … with the given id offset.
fn batch(from: usize, n: usize) -> Vec<app::CreateUser> {
    (from..from + n)
        .map(|i| {
            new_user(
                &format!("b-{i:05}"),
                &format!("Batch {i}"),
                Language::En,
                &[],
            )
            .into()
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs DynamoDB Local: ./scripts/test.sh runs it (default profile)"]
async fn r25_twenty_batches_of_500_create_10_000_users_in_order_with_the_newest_red() {
    require_engines();
    let store = fresh_store().await;
    let caller = big_named(&store, &unique("onboard"), 9_000, 0, 0, &[]).await;
    let now = at("2026-11-02T08:00:00Z");
    for n in 0..20 {
        let answer = app::create_users(&store, &caller, batch(1 + n * 500, 500), now)
            .await
            .unwrap();
        assert_eq!((answer.created, answer.failed), (500, 0));
        assert!(
            answer
                .results
                .iter()
                .enumerate()
                .all(|(i, r)| r.index == i && r.status == 201)
        );
    }
    // R2/R3: 10 001 in use on 9 000 bought, and the red ones are the 1 001 created last.
    assert_eq!(
        pool(&store, &caller.tenant, "licences").await,
        (9_000, 10_001, 9_000, 1_001)
    );
    let loaded = store.load_account(&caller.tenant).await.unwrap().unwrap();
    let reds = loaded.account.reds(&PoolId::licences());
    assert_eq!(reds[0].seat.user_id.as_str(), "b-09000");
    assert_eq!(reds[1_000].seat.user_id.as_str(), "b-10000");
    assert_eq!(loaded.account.subscription.users, 10_001);
    // R26: the red users, paged by the filter; no request reads more than 1 000 users.
    let mut page = licensing::ports::PageRequest {
        cursor: None,
        limit: 100,
    };
    let (mut red, mut requests) = (Vec::new(), 0);
    loop {
        let before = store.metrics().calls();
        let got = app::list_users(
            &store,
            &caller,
            &page,
            Some(LicenceState::OverAllocated),
            now,
        )
        .await
        .unwrap();
        // Ten pages of 100 users, the account and its red seats, the caller, and the
        // tenant's suppressed mail addresses (the list shows them).
        assert!(store.metrics().calls() - before <= 1_000 / 100 + 4);
        requests += 1;
        red.extend(got.items.into_iter().map(|u| u.user_id));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(red.len(), 1_001);
    assert_eq!(red.first().map(String::as_str), Some("b-09000"));
    assert!(requests >= 10, "{requests} requests");
    // Each entry is a single create: an existing user is that entry's 409, the others go on.
    let again = app::create_users(&store, &caller, batch(9_999, 3), now)
        .await
        .unwrap();
    let statuses: Vec<(u16, Option<&str>)> =
        again.results.iter().map(|r| (r.status, r.code)).collect();
    assert_eq!(
        statuses,
        [
            (409, Some("user_exists")),
            (409, Some("user_exists")),
            (201, None)
        ]
    );
    assert_items_bounded(&store).await;
}

/// R2/R3/R25: 120 single creates from 8 concurrent callers on a pool with 60 licences left.
/// Creates commit as counter deltas, not under the version, so they do not hold each other
/// back; the red seats must still be exactly the newest (by activation instant), each create
/// counted once, and the administrator count exact.
#[tokio::test]
#[ignore = "needs DynamoDB Local: ./scripts/test.sh runs it (default profile)"]
async fn r3_r25_eight_racing_creators_leave_the_newest_seats_red() {
    require_engines();
    use std::sync::atomic::{AtomicUsize, Ordering};
    let store = fresh_store().await;
    let caller = big_named(&store, &unique("race"), 61, 0, 0, &[]).await;
    let next = AtomicUsize::new(0);
    let base = at("2026-11-10T10:00:00Z");
    futures::future::join_all((0..8).map(|_| async {
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            if i >= 120 {
                return;
            }
            let new = new_user(
                &format!("r-{i:03}"),
                &format!("Racer {i}"),
                Language::En,
                &[],
            );
            // Each caller's clock: close together and out of order, as concurrent requests are.
            let now = base + Duration::milliseconds((i as i64 * 7) % 13);
            app::create_user(
                &store,
                &caller,
                new.into(),
                None,
                &serde_json::Value::Null,
                now,
            )
            .await
            .unwrap();
        }
    }))
    .await;
    let loaded = store.load_account(&caller.tenant).await.unwrap().unwrap();
    let pool = loaded.account.subscription.licences().unwrap().clone();
    assert_eq!((pool.purchased, pool.in_use), (61, 121));
    assert_eq!(loaded.account.subscription.users, 121);
    let newest: Vec<String> = store
        .newest_seats(&caller.tenant, &PoolId::licences(), 60)
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.seat.user_id.to_string())
        .rev()
        .collect();
    let reds: Vec<String> = loaded
        .account
        .reds(&PoolId::licences())
        .iter()
        .map(|r| r.seat.user_id.to_string())
        .collect();
    assert_eq!(reds, newest, "the red seats are the 60 newest, in order");
    assert!(loaded.stale.is_empty());
}

/// A create that adds no seat (an inactive user) and one of a module user: each commits as a
/// counter delta naming only what it changes (the fuzzer found the first answering 500).
#[tokio::test]
#[ignore = "needs DynamoDB Local: ./scripts/test.sh runs it (default profile)"]
async fn r2_r25_inactive_and_module_users_are_created_as_counter_deltas() {
    require_engines();
    let store = fresh_store().await;
    let caller = big(&store, 3, 1, 0, &[]).await;
    let mut inactive = new_user("asleep", "Asleep", Language::En, &[]);
    inactive.active = false;
    let crm = new_user("crm-user", "Crm User", Language::En, &["crm"]);
    let now = at("2026-11-10T10:00:00Z");
    for new in [inactive, crm] {
        let answer = app::create_user(
            &store,
            &caller,
            new.into(),
            None,
            &serde_json::Value::Null,
            now,
        )
        .await
        .unwrap();
        assert_eq!(answer.status, 201, "{}", answer.body);
    }
    let loaded = store.load_account(&caller.tenant).await.unwrap().unwrap();
    let sub = &loaded.account.subscription;
    assert_eq!(sub.users, 3);
    assert_eq!(sub.licences().unwrap().in_use, 2);
    assert_eq!(sub.pool(&PoolId::parse("crm").unwrap()).unwrap().in_use, 1);
}

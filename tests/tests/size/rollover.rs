//! Ten thousand users downscaled to one and rolled over, five thousand module seats flagged at once, a purchase that licenses 9 999 red seats.

use super::*;

#[tokio::test]
#[ignore = "needs DynamoDB Local: ./scripts/test.sh runs it (default profile)"]
async fn r13_r14_r5_ten_thousand_users_downscaled_to_one_roll_over_and_are_removed_over_several_runs()
 {
    require_engines();
    let store = fresh_store().await;
    let caller = big(&store, 10_000, 0, 9_999, &[]).await;
    let tenant = caller.tenant.clone();
    assert_eq!(
        pool(&store, &tenant, "licences").await,
        (10_000, 10_000, 10_000, 0)
    );

    downscaled_to_one_after_a_preview(&store, &caller).await;
    reminded_of_the_renewal_once(&store).await;
    let deadline = rolled_over_with_every_seat_red(&store, &caller).await;
    reminded_then_removed_over_several_runs(&store, &caller, deadline).await;
}

async fn downscaled_to_one_after_a_preview(store: &DynamoStore, caller: &Caller) {
    let tenant = caller.tenant.clone();
    // R28 at size: the preview lists 100, counts all and changes nothing.
    let version = |store: &DynamoStore| {
        let tenant = tenant.clone();
        let store = store.clone();
        async move {
            let loaded = store.load_account(&tenant).await.unwrap().unwrap();
            loaded.account.subscription.version
        }
    };
    let before = version(store).await;
    let preview = app::preview_next_period(
        store,
        caller,
        Some(1),
        &BTreeMap::new(),
        at("2026-11-20T09:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(
        (preview.seats_to_remove.len(), preview.seats_to_remove_count),
        (100, 9_999)
    );
    assert!(serde_json::to_vec(&preview).unwrap().len() < 64 * 1024);
    assert_eq!(version(store).await, before, "a preview changes nothing");

    let changed = app::set_next_period(
        store,
        caller,
        Some(1),
        &BTreeMap::new(),
        at("2026-11-20T10:00:00Z"),
    )
    .await
    .unwrap();
    assert_eq!(changed.seats_to_remove_count, 9_999);
    assert_items_bounded(store).await;
}

async fn reminded_of_the_renewal_once(store: &DynamoStore) {
    // R30 at size: the renewal reminder a week before the end names 50 of the 9 999 seats
    // that will lose their licence, counts the rest, and comes once.
    let reminded = app::sweep::sweep(store, at("2026-11-24T00:00:00Z"), None)
        .await
        .unwrap();
    assert_eq!(reminded.renewal_reminders, 1, "{reminded:?}");
    let again = app::sweep::sweep(store, at("2026-11-24T00:01:00Z"), None)
        .await
        .unwrap();
    assert_eq!(again.renewal_reminders, 0);
    assert_items_bounded(store).await;
}

async fn rolled_over_with_every_seat_red(store: &DynamoStore, caller: &Caller) -> DateTime<Utc> {
    let tenant = caller.tenant.clone();
    // The period ends at midnight in Copenhagen: the rollover reds 9 999 seats in one sweep.
    let (report, _) = sweep_to_the_end(
        store,
        at("2026-11-30T23:00:00Z"),
        std::time::Duration::from_secs(60),
    )
    .await;
    assert_eq!((report.rollovers, report.invoices), (1, 1));
    assert_eq!(
        pool(store, &tenant, "licences").await,
        (1, 10_000, 1, 9_999)
    );
    let loaded = store.load_account(&tenant).await.unwrap().unwrap();
    let deadline = at("2026-12-07T23:00:00Z");
    assert!(
        loaded
            .account
            .reds(&PoolId::licences())
            .iter()
            .all(|r| r.flag.deadline == deadline),
        "every red seat has the rollover's deadline"
    );
    // R26: the account answer lists a hundred of them and counts them all.
    let view = app::account_status(store, caller, at("2026-12-01T10:00:00Z"))
        .await
        .unwrap();
    let body = serde_json::to_vec(&view).unwrap();
    assert!(
        body.len() <= 64 * 1024,
        "GET /v1/account is {} bytes",
        body.len()
    );
    assert_eq!(
        (
            view.licences.over_allocated.len(),
            view.licences.over_allocated_count
        ),
        (100, 9_999)
    );
    let invoices = store
        .list_invoices(&tenant, &Default::default())
        .await
        .unwrap();
    assert_eq!(invoices.items.len(), 1, "the rollover's");
    assert_eq!(invoices.items[0].period.start.to_string(), "2026-12-01");
    assert_eq!(invoices.items[0].lines[0].quantity, 1);
    assert_items_bounded(store).await;
    deadline
}

async fn reminded_then_removed_over_several_runs(
    store: &DynamoStore,
    caller: &Caller,
    deadline: DateTime<Utc>,
) {
    let tenant = caller.tenant.clone();
    // The day before the deadline every manager is reminded; after it, 9 999 are removed
    // over as many invocations as a 2-second budget needs.
    let (report, _) = sweep_to_the_end(
        store,
        at("2026-12-06T23:00:00Z"),
        std::time::Duration::from_secs(2),
    )
    .await;
    assert_eq!(report.reminders, 9_999);
    let (report, invocations) = sweep_to_the_end(
        store,
        deadline + Duration::seconds(1),
        std::time::Duration::from_secs(2),
    )
    .await;
    assert_eq!(report.removals, 9_999);
    assert!(invocations > 1, "a 2-second budget takes several runs");
    assert_eq!(pool(store, &tenant, "licences").await, (1, 1, 1, 0));
    assert!(
        store
            .load_user(&tenant, &caller.user)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    assert_items_bounded(store).await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local: ./scripts/test.sh runs it (default profile)"]
async fn r13_r14_five_thousand_users_of_a_module_set_to_none_are_all_flagged_at_the_rollover() {
    require_engines();
    let store = fresh_store().await;
    let caller = big(&store, 5_001, 5_000, 5_000, &["crm"]).await;
    let modules = BTreeMap::from([("crm".to_owned(), 0)]);
    let changed = app::set_next_period(&store, &caller, None, &modules, at("2026-11-20T10:00:00Z"))
        .await
        .unwrap();
    assert_eq!(changed.seats_to_remove_count, 5_000);
    let (report, _) = sweep_to_the_end(
        &store,
        at("2026-11-30T23:00:00Z"),
        std::time::Duration::from_secs(60),
    )
    .await;
    assert_eq!(report.rollovers, 1);
    assert_eq!(
        pool(&store, &caller.tenant, "crm").await,
        (0, 5_000, 0, 5_000)
    );
    assert_eq!(
        pool(&store, &caller.tenant, "licences").await,
        (5_001, 5_001, 5_001, 0)
    );
    assert_items_bounded(&store).await;
}

#[tokio::test]
#[ignore = "needs DynamoDB Local: ./scripts/test.sh runs it (default profile)"]
async fn r8_r10_a_purchase_that_licenses_9999_red_seats_answers_201_and_replays_the_same_body() {
    require_engines();
    let store = fresh_store().await;
    let caller = big(&store, 1, 0, 9_999, &[]).await;
    assert_eq!(
        pool(&store, &caller.tenant, "licences").await,
        (1, 10_000, 1, 9_999)
    );
    let now = at("2026-11-20T10:00:00Z");
    let quote = app::create_quote(&store, &caller, Some(9_999), &BTreeMap::new(), now)
        .await
        .unwrap();
    let request = serde_json::json!({ "quote_id": quote.quote_id });
    let first = app::approve_purchase(
        &store,
        &caller,
        Some("big-purchase-1"),
        &request,
        &quote.quote_id,
        now,
    )
    .await
    .unwrap();
    assert_eq!((first.status, first.replayed), (201, false));
    let again = app::approve_purchase(
        &store,
        &caller,
        Some("big-purchase-1"),
        &request,
        &quote.quote_id,
        now,
    )
    .await
    .unwrap();
    assert_eq!((again.status, again.replayed), (201, true));
    assert_eq!(again.body, first.body);
    assert_eq!(
        pool(&store, &caller.tenant, "licences").await,
        (10_000, 10_000, 10_000, 0)
    );
    // The cleared flags' records are deleted after the commit; none is left behind.
    let loaded = store.load_account(&caller.tenant).await.unwrap().unwrap();
    assert!(
        loaded.stale.is_empty(),
        "{} stale records",
        loaded.stale.len()
    );
    assert_items_bounded(&store).await;
}

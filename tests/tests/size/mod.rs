//! Tenants at the size customers have (R24–R27), against DynamoDB Local: thousands of users
//! seeded in bulk through the store, then the real use cases and the real sweep on them, with
//! every stored item held to 100 KB.

mod crash;
mod creation;
mod rollover;

use chrono::{DateTime, Duration, Utc};
use futures::StreamExt;
use licensing::adapters::dynamodb::DynamoStore;
use licensing::app::{self, Caller};
use licensing::domain::identity::{DisplayName, EmailAddress, Language, TenantId, UserId};
use licensing::domain::pool::PoolId;
use licensing::domain::rights::plain_user;
use licensing::domain::user::{LicenceState, User};
use licensing::ports::{AccountReads, Listings};
use licensing_tests::*;
use std::collections::BTreeMap;
use std::time::Instant;

/// The most any stored item may hold: a quarter of DynamoDB's 400 KB, so that no change's
/// growth can reach the limit unnoticed (R27).
const ITEM_LIMIT: usize = 100 * 1024;

/// `n` users activated a second apart from 2 November, each with the modules given.
fn users(n: usize, modules: &[&str]) -> Vec<User> {
    let start = at("2026-11-02T00:00:00Z");
    (1..=n)
        .map(|i| {
            let since = start + Duration::seconds(i as i64);
            User {
                user_id: UserId::parse(&format!("u-{i:05}")).expect("id"),
                name: DisplayName::parse(&format!("User {i}")).expect("name"),
                email: EmailAddress::parse(&format!("u-{i:05}@example.com")).expect("email"),
                language: Language::En,
                role: plain_user(),
                active: true,
                activated_at: Some(since),
                modules: modules
                    .iter()
                    .map(|m| (PoolId::parse(m).expect("pool"), since))
                    .collect(),
                created_at: since,
                directory: None,
            }
        })
        .collect()
}

/// Acme from 1 November with `licences` and `crm` bought and `n` users more than Ada.
async fn big(store: &DynamoStore, licences: u32, crm: u32, n: usize, modules: &[&str]) -> Caller {
    big_named(store, &unique("big"), licences, crm, n, modules).await
}

async fn big_named(
    store: &DynamoStore,
    id: &str,
    licences: u32,
    crm: u32,
    n: usize,
    modules: &[&str],
) -> Caller {
    let id = id.to_owned();
    app::create_tenant(
        store,
        "op",
        acme(&id, nov(), licences, crm),
        at("2026-11-01T08:00:00Z"),
    )
    .await
    .unwrap();
    let caller = ada(&id);
    if n > 0 {
        store
            .seed_users(&caller.tenant, users(n, modules))
            .await
            .unwrap();
    }
    caller
}

async fn pool(store: &DynamoStore, tenant: &TenantId, id: &str) -> (u32, u32, u32, usize) {
    let loaded = store.load_account(tenant).await.unwrap().unwrap();
    let pool = PoolId::parse(id).unwrap();
    let p = loaded.account.subscription.pool(&pool).unwrap().clone();
    (
        p.purchased,
        p.in_use,
        p.next_period,
        loaded.account.reds(&pool).len(),
    )
}

async fn assert_items_bounded(store: &DynamoStore) {
    let sizes = store.item_sizes().await.unwrap();
    let (pk, sk, largest) = sizes.first().cloned().unwrap_or_default();
    assert!(
        largest <= ITEM_LIMIT,
        "{pk} {sk} is {largest} bytes, over {ITEM_LIMIT}"
    );
}

/// Sweeps at `at` with a small time budget per invocation until nothing is left, as the
/// scheduler would call it minute after minute. Returns the total and the invocations.
async fn sweep_to_the_end(
    store: &DynamoStore,
    at: DateTime<Utc>,
    budget: std::time::Duration,
) -> (app::sweep::SweepReport, usize) {
    let mut total = app::sweep::SweepReport::default();
    for invocation in 1..=500 {
        let report = app::sweep::sweep(store, at, Some(Instant::now() + budget))
            .await
            .unwrap();
        assert_eq!(report.failed_tenants, 0, "{report:?}");
        total.rollovers += report.rollovers;
        total.invoices += report.invoices;
        total.removals += report.removals;
        total.reminders += report.reminders;
        if report.deferred_tenants == 0 {
            return (total, invocation);
        }
    }
    panic!("the sweep did not finish in 500 invocations: {total:?}");
}

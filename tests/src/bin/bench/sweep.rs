//! `bench sweep`: one sweep over a seeded table.

use chrono::NaiveDate;
use futures::StreamExt;
use licensing::app;
use licensing::domain::identity::TenantId;
use licensing::ports::AccountReads;

use licensing_tests::{acme, at, bulk_users, fresh_store};
use std::time::Instant;

pub(crate) async fn sweep_bench(tenants: u64, users: u64, due_percent: u64) {
    let store = fresh_store().await;
    let seed_start = Instant::now();
    let due_every = (100 / due_percent.max(1)).max(1);
    futures::stream::iter(0..tenants)
        .map(|i| {
            let store = store.clone();
            async move {
                let id = format!("t{i:06}");
                // Every `due_every`-th tenant's period ended on 1 November: its rollover is due.
                let start = if i % due_every == 0 {
                    NaiveDate::from_ymd_opt(2026, 10, 1).unwrap()
                } else {
                    NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
                };
                app::create_tenant(
                    &store,
                    "bench",
                    acme(&id, start, users as u32 + 5, 1),
                    at("2026-10-01T08:00:00Z"),
                )
                .await
                .unwrap();
                bulk_users(
                    &store,
                    &TenantId::parse(&id).unwrap(),
                    users as usize - 1,
                    at("2026-10-02T00:00:00Z"),
                )
                .await;
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    println!(
        "seeded {tenants} tenants × {users} users in {:.1} s",
        seed_start.elapsed().as_secs_f64()
    );

    // The raw write rate of this engine, same run: single-item puts at 16 in flight.
    let raw = 2000u64;
    let client = store.client().clone();
    let table = store.table().to_owned();
    let started = Instant::now();
    futures::stream::iter(0..raw)
        .map(|i| {
            let client = client.clone();
            let table = table.clone();
            async move {
                client
                    .put_item()
                    .table_name(table)
                    .item(
                        "pk",
                        aws_sdk_dynamodb::types::AttributeValue::S(format!("RAW#{i}")),
                    )
                    .item("sk", aws_sdk_dynamodb::types::AttributeValue::S("x".into()))
                    .send()
                    .await
                    .unwrap();
            }
        })
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let raw_rate = raw as f64 / started.elapsed().as_secs_f64();

    let before = store.usage();
    let started = Instant::now();
    let report = app::sweep::sweep(&store, at("2026-11-15T00:00:00Z"), None)
        .await
        .unwrap();
    let elapsed = started.elapsed().as_secs_f64();
    let used = store.usage().since(before);
    let due = report.rollovers as f64;
    let calls = used.calls as f64;
    let writes = used.items_written as f64 / elapsed;
    println!(
        "| tenants | users | due | sweep s | DynamoDB calls | calls per due item | due items/s | items written/s | raw puts/s | item writes vs raw puts | capacity units |"
    );
    println!(
        "| {tenants} | {} | {} | {elapsed:.2} | {calls} | {:.2} | {:.0} | {writes:.0} | {raw_rate:.0} | {:.0} % | {:.1} |",
        tenants * users,
        report.rollovers,
        calls / due.max(1.0),
        due / elapsed,
        100.0 * writes / raw_rate,
        used.capacity
    );
    println!("{report:?}");
}

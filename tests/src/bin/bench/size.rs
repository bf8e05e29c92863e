//! `bench size`: each use case on tenants of 100 to 50 000 users.

use crate::measure::{Stats, measure};
use chrono::{Duration, NaiveDate};
use licensing::app::{self, Caller};
use licensing::domain::identity::{TenantId, UserId};
use licensing::ports::AccountReads;

use licensing_tests::{acme, at, fresh_store, new_user};
use std::collections::BTreeMap;
use std::time::Instant;

/// `n` users `s-00001` … activated a second apart from 2 November.
pub(crate) fn seeded_users(n: u64) -> Vec<licensing::domain::user::User> {
    let start = at("2026-11-02T00:00:00Z");
    (1..=n)
        .map(|i| {
            let since = start + Duration::seconds(i as i64);
            let new = new_user(
                &format!("s-{i:06}"),
                &format!("User {i}"),
                licensing::domain::identity::Language::En,
                &[],
            );
            licensing::domain::user::User {
                user_id: new.user_id,
                name: new.name,
                email: new.email,
                language: new.language,
                role: new.role,
                active: true,
                activated_at: Some(since),
                modules: BTreeMap::new(),
                created_at: since,
                directory: None,
            }
        })
        .collect()
}

/// The use cases on tenants of each size (R24–R27): a tenant of `size` users seeded in bulk with
/// licences to spare, each use case `n` times in sequence (the batch import 5 times), then a
/// downscale to half rolled over and removed after the grace, timed per seat.
pub(crate) async fn size_bench(sizes: &[u64], n: u64) {
    println!(
        "| users | use case | DynamoDB calls | capacity units | p50 ms | p99 ms |\n|---|---|---|---|---|---|"
    );
    for &size in sizes {
        let store = fresh_store().await;
        let id = format!("size-{size}");
        let now = at("2026-11-19T10:00:00Z");
        let licences = size as u32 + 5_000;
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
        let tenant = TenantId::parse(&id).unwrap();
        let seeding = Instant::now();
        store
            .seed_users(&tenant, seeded_users(size - 1))
            .await
            .unwrap();
        eprintln!("{size}: seeded in {:.1} s", seeding.elapsed().as_secs_f64());
        let caller = Caller {
            tenant,
            user: UserId::parse("ada").unwrap(),
        };
        let (s, c) = (&store, &caller);
        let row = |mut stats: Stats| {
            print!("| {size} ");
            stats.print();
        };
        // The engine's own time for the same reads, on the same partition: what the use cases'
        // latencies are to be compared with (DynamoDB Local's grows with the partition).
        let pk = format!("T#{id}");
        let pk = &pk;
        row(measure(
            s,
            "engine: GetItem of the subscription",
            n,
            |_| async move {
                s.client()
                    .get_item()
                    .table_name(s.table())
                    .key("pk", aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()))
                    .key(
                        "sk",
                        aws_sdk_dynamodb::types::AttributeValue::S("A#SUB".into()),
                    )
                    .consistent_read(true)
                    .send()
                    .await
                    .unwrap();
            },
        )
        .await);
        row(measure(
            s,
            "engine: Query of the subscription's A# range",
            n,
            |_| async move {
                s.client()
                    .query()
                    .table_name(s.table())
                    .key_condition_expression("pk = :pk AND begins_with(sk, :a)")
                    .expression_attribute_values(
                        ":pk",
                        aws_sdk_dynamodb::types::AttributeValue::S(pk.clone()),
                    )
                    .expression_attribute_values(
                        ":a",
                        aws_sdk_dynamodb::types::AttributeValue::S("A#".into()),
                    )
                    .consistent_read(true)
                    .send()
                    .await
                    .unwrap();
            },
        )
        .await);
        row(measure(
            s,
            "engine: TransactWriteItems of 4 new items",
            n,
            |i| async move {
                use aws_sdk_dynamodb::types::{AttributeValue as V, Put, TransactWriteItem};
                let items = (0..4).map(|k| {
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(s.table())
                                .item("pk", V::S(pk.clone()))
                                .item("sk", V::S(format!("X#{i}#{k}")))
                                .item("body", V::S("x".repeat(300)))
                                .condition_expression("attribute_not_exists(pk)")
                                .build()
                                .unwrap(),
                        )
                        .build()
                });
                s.client()
                    .transact_write_items()
                    .set_transact_items(Some(items.collect()))
                    .send()
                    .await
                    .unwrap();
            },
        )
        .await);
        row(measure(s, "GET /v1/account", n, |_| async move {
            app::account_status(s, c, now).await.unwrap();
        })
        .await);
        row(measure(s, "POST /v1/purchases/quotes", n, |_| async move {
            app::create_quote(s, c, Some(1), &BTreeMap::new(), now)
                .await
                .unwrap();
        })
        .await);
        let mut quotes = Vec::new();
        for _ in 0..n {
            quotes.push(
                app::create_quote(s, c, Some(1), &BTreeMap::new(), now)
                    .await
                    .unwrap()
                    .quote_id,
            );
        }
        let quotes = &quotes;
        row(
            measure(s, "POST /v1/purchases (approval)", n, |i| async move {
                let quote = &quotes[i as usize];
                let body = serde_json::json!({ "quote_id": quote });
                app::approve_purchase(s, c, Some(&format!("size-{i}")), &body, quote, now)
                    .await
                    .unwrap();
            })
            .await,
        );
        let bought = licences + n as u32;
        row(
            measure(s, "PUT /v1/next-period (10 below)", n, |i| async move {
                app::set_next_period(
                    s,
                    c,
                    Some(bought - 10 - (i % 2) as u32),
                    &BTreeMap::new(),
                    now,
                )
                .await
                .unwrap();
            })
            .await,
        );
        row(measure(s, "POST /v1/users", n, |i| async move {
            let user = new_user(
                &format!("n-{i:05}"),
                "New User",
                licensing::domain::identity::Language::En,
                &[],
            );
            app::create_user(
                s,
                c,
                user.into(),
                None,
                &serde_json::Value::Null,
                now + Duration::seconds(i as i64),
            )
            .await
            .unwrap();
        })
        .await);
        row(measure(s, "POST /v1/users/batch (500)", 5, |i| async move {
            let users = (0..500)
                .map(|k| {
                    new_user(
                        &format!("b-{i}-{k:03}"),
                        "Batch User",
                        licensing::domain::identity::Language::En,
                        &[],
                    )
                    .into()
                })
                .collect();
            let done = app::create_users(s, c, users, now + Duration::minutes(1 + i as i64))
                .await
                .unwrap();
            assert_eq!(done.created, 500);
        })
        .await);
        // Half the seats red at the period end, removed after the grace.
        let in_use = s
            .load_account(&c.tenant)
            .await
            .unwrap()
            .unwrap()
            .account
            .subscription
            .licences()
            .unwrap()
            .in_use;
        let keep = in_use / 2;
        app::set_next_period(s, c, Some(keep), &BTreeMap::new(), now)
            .await
            .unwrap();
        let red = in_use - keep;
        let timed = Instant::now();
        let report = app::sweep::sweep(s, at("2026-11-30T23:00:00Z"), None)
            .await
            .unwrap();
        assert_eq!(report.rollovers, 1, "{report:?}");
        let per_seat = timed.elapsed().as_secs_f64() * 1e6 / f64::from(red);
        let timed = Instant::now();
        let report = app::sweep::sweep(s, at("2026-12-07T23:00:01Z"), None)
            .await
            .unwrap();
        assert_eq!(report.removals as u32, red, "{report:?}");
        let removal = timed.elapsed().as_secs_f64() * 1e6 / f64::from(red);
        println!(
            "| {size} | rollover, per seat turned red ({red}) | | | {:.0} µs | |",
            per_seat
        );
        println!(
            "| {size} | removal sweep, per seat removed ({red}) | | | {:.0} µs | |",
            removal
        );
    }
}

//! The use cases' rates against their bare DynamoDB calls (`bench api`'s second part).

use crate::rates::{PAIRS, compared, in_both_orders, percent, throughput};
use chrono::NaiveDate;
use licensing::app::{self, Caller};
use licensing::domain::identity::{TenantId, UserId};
use licensing::ports::AccountReads;

use licensing_tests::{acme, at, bulk_users, fresh_store};
use std::collections::{BTreeMap, HashMap};

/// Each use case's throughput as a share of the engine's own rate for the same calls, with
/// the same number of callers in flight, in the same run (absolute figures move ± 50 %
/// between runs on this machine; the ratios are what the targets are about). One tenant
/// per caller and approval round, each with 21 users on 10 licences (so status reads red
/// seats, and every round's approvals license the same share of red seats).
pub(crate) async fn ratios(clients: u64, total: u64) {
    use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem};
    let store = fresh_store().await;
    let now = at("2026-11-19T10:00:00Z");
    let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    // Caller `k` of approval round `r` acts in tenant `r-{r * clients + k}`; status and the
    // raw reads use round 0's.
    let mut callers = Vec::new();
    for k in 0..clients * PAIRS {
        let id = format!("r-{k}");
        app::create_tenant(
            &store,
            "bench",
            acme(&id, start, 10, 2),
            at("2026-11-01T08:00:00Z"),
        )
        .await
        .unwrap();
        let tenant = TenantId::parse(&id).unwrap();
        bulk_users(&store, &tenant, 20, at("2026-11-02T00:00:00Z")).await;
        callers.push(Caller {
            tenant,
            user: UserId::parse("ada").unwrap(),
        });
    }
    let client = store.client().clone();
    let table = store.table().to_owned();
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let (client, table, callers, st) = (&client, &table, &callers, &store);
    // Every call of ours asks for the capacity it consumed (the requests' metrics and logs);
    // free on AWS, work for DynamoDB Local. The raw rows do not ask, the bare calls do.
    let capacity =
        |asked: bool| asked.then_some(aws_sdk_dynamodb::types::ReturnConsumedCapacity::Total);
    let transact_as = move |actions: Vec<TransactWriteItem>, asked: bool| async move {
        client
            .transact_write_items()
            .set_transact_items(Some(actions))
            .set_return_consumed_capacity(capacity(asked))
            .send()
            .await
            .unwrap();
    };

    // Status: what it reads, raw: the subscription, then the red seats (Query), beside the
    // caller's user (GetItem), all strongly consistent.
    let raw_status = || {
        throughput(clients, total, |k, _| async move {
            let pk = format!("T#r-{k}");
            let sub = async {
                client
                    .get_item()
                    .table_name(table)
                    .key("pk", s(&pk))
                    .key("sk", s("A#SUB"))
                    .consistent_read(true)
                    .send()
                    .await
                    .unwrap();
                client
                    .query()
                    .table_name(table)
                    .key_condition_expression("pk = :pk AND begins_with(sk, :r)")
                    .expression_attribute_values(":pk", s(&pk))
                    .expression_attribute_values(":r", s("A#OA#"))
                    .consistent_read(true)
                    .send()
                    .await
                    .unwrap();
            };
            let user = client
                .get_item()
                .table_name(table)
                .key("pk", s(&pk))
                .key("sk", s("U#ada"))
                .consistent_read(true)
                .send();
            let (_, u) = futures::join!(sub, user);
            u.unwrap();
        })
    };
    let status = || {
        throughput(clients, total, |k, _| async move {
            app::account_status(st, &callers[k as usize], now)
                .await
                .unwrap();
        })
    };
    let before = store.usage();
    let (status, raw_status) = in_both_orders(status, raw_status).await;
    let status_calls = store.usage().since(before).calls as f64 / (PAIRS * total) as f64;

    // Approval: quotes made first; then each caller approves its own tenant's, a tenant of
    // its own each round.
    let per = total / clients;
    let mut quotes = Vec::new();
    for caller in callers {
        let mut mine = Vec::new();
        for _ in 0..per {
            mine.push(
                app::create_quote(&store, caller, Some(1), &BTreeMap::new(), now)
                    .await
                    .unwrap()
                    .quote_id,
            );
        }
        quotes.push(mine);
    }
    let quotes = &quotes;
    let round = std::cell::Cell::new(0_u64);
    let round = &round;
    // What the first round wrote per approval: the raw transaction's item count, and the calls.
    let shape = std::cell::Cell::new((0_usize, 0.0_f64));
    let shape = &shape;
    let approval = || async move {
        let r = round.replace(round.get() + 1);
        let before = st.usage();
        let rate = throughput(clients, total, move |k, i| async move {
            let at = (r * clients + k) as usize;
            let quote = &quotes[at][i as usize];
            let body = serde_json::json!({ "quote_id": quote });
            app::approve_purchase(
                st,
                &callers[at],
                Some(&format!("r-{k}-{i}")),
                &body,
                quote,
                now,
            )
            .await
            .unwrap();
        })
        .await;
        if r == 0 {
            let used = st.usage().since(before);
            let items = (used.items_written as f64 / total as f64).round().max(1.0) as usize;
            shape.set((items, used.calls as f64 / total as f64));
        }
        rate
    };
    let raw_round = std::cell::Cell::new(0_u64);
    let raw_round = &raw_round;
    // The same number of items in one raw TransactWriteItems, on the caller's partition.
    let raw_actions = move |pk: String, tag: String| -> Vec<TransactWriteItem> {
        (0..shape.get().0)
            .map(|j| {
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(table)
                            .item("pk", s(&pk))
                            .item("sk", s(&format!("{tag}#{j}")))
                            .item("body", s(&"x".repeat(300)))
                            .build()
                            .unwrap(),
                    )
                    .build()
            })
            .collect()
    };
    let raw_tx_op = || {
        let r = raw_round.replace(raw_round.get() + 1);
        throughput(clients, total, move |k, i| {
            transact_as(
                raw_actions(format!("T#r-{}", r * clients + k), format!("RAW#{r}#{i}")),
                false,
            )
        })
    };
    // The approval runs first in its first round, so the raw count is known when needed.
    let (approval, raw_tx) = in_both_orders(approval, &raw_tx_op).await;
    let (items, approval_calls) = shape.get();
    // Not a target, a diagnosis: the approval's own six items (one of each kind it wrote, as
    // stored: sizes, due-index attributes, and the conditions of the new ones), replayed raw.
    // What separates it from the 6-item figure is the write set's shape; what separates the
    // approval from it is the approval's reads and code.
    let mut written = Vec::new();
    for prefix in ["A#SUB", "Q#", "K#", "I#", "L#", "O#"] {
        let out = client
            .query()
            .table_name(table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
            .expression_attribute_values(":pk", s("T#r-0"))
            .expression_attribute_values(":p", s(prefix))
            .limit(1)
            .send()
            .await
            .unwrap();
        written.push((prefix, out.items.unwrap_or_default().remove(0)));
    }
    let written = &written;
    let replay = move |k: u64, i: u64, tag: String, asked: bool| async move {
        let actions: Vec<TransactWriteItem> = written
            .iter()
            .map(|(prefix, item)| {
                let mut item = item.clone();
                item.insert("pk".into(), s(&format!("T#r-{k}")));
                // The subscription is overwritten, as an approval does; the rest are new.
                let sk = match *prefix {
                    "A#SUB" => format!("{tag}#SUB"),
                    _ => format!("{tag}#{prefix}{i}"),
                };
                item.insert("sk".into(), s(&sk));
                let mut put = Put::builder().table_name(table).set_item(Some(item));
                if matches!(*prefix, "K#" | "I#" | "Q#") {
                    put = put.condition_expression("attribute_not_exists(pk)");
                }
                TransactWriteItem::builder()
                    .put(put.build().unwrap())
                    .build()
            })
            .collect();
        transact_as(actions, asked).await;
    };
    // The approval's read, raw: one BatchGetItem of the four keys it reads (the subscription,
    // the approver, a quote and a key record, as replayed).
    let read = move |k: u64, i: u64, asked: bool| async move {
        let pk = format!("T#r-{k}");
        let keys = [
            "A#SUB".to_owned(),
            "U#ada".to_owned(),
            format!("REPLAY#Q#{i}"),
            format!("REPLAY#K#{i}"),
        ]
        .into_iter()
        .map(|sk| HashMap::from([("pk".to_owned(), s(&pk)), ("sk".to_owned(), s(&sk))]))
        .collect::<Vec<_>>();
        let keys = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
            .set_keys(Some(keys))
            .consistent_read(true)
            .build()
            .unwrap();
        client
            .batch_get_item()
            .request_items(table, keys)
            .set_return_consumed_capacity(capacity(asked))
            .send()
            .await
            .unwrap();
    };
    let replayed = throughput(clients, total, |k, i| replay(k, i, "REPLAY".into(), false)).await;
    let raw_batch = throughput(clients, total, |k, i| read(k, i, false)).await;
    // Also a diagnosis: the approval's calls with none of its code — that read, then those six
    // items, each asking for its consumed capacity as ours do — against the raw transaction in
    // alternating rounds like the targets. What separates the approval from it is our own code
    // (decoding, deciding, encoding), its conditions and quote update, the red seats' Query
    // and the seventh item; what separates it from the replay alone is the engine serving a
    // read between writes, and sizing what it is asked to.
    let bare_round = std::cell::Cell::new(0_u64);
    let bare_round = &bare_round;
    let bare = || {
        let r = bare_round.replace(bare_round.get() + 1);
        throughput(clients, total, move |k, i| async move {
            read(k, i, true).await;
            replay(k, i, format!("BARE{r}"), true).await;
        })
    };
    let (bare, raw_tx_again) = in_both_orders(bare, &raw_tx_op).await;
    // The raw transaction asking for its consumed capacity, as the approval's does.
    let raw_tx_capacity = throughput(clients, total, |k, i| {
        transact_as(raw_actions(format!("T#r-{k}"), format!("RAWCAP#{i}")), true)
    })
    .await;
    let raw_put = throughput(clients, total, |k, i| async move {
        client
            .put_item()
            .table_name(table)
            .item("pk", s(&format!("T#r-{k}")))
            .item("sk", s(&format!("PUT#{i}")))
            .send()
            .await
            .unwrap();
    })
    .await;
    println!(
        "\n{clients} callers in flight, {total} operations a round; each use case and its raw \
         counterpart in {PAIRS} rounds each, alternating which goes first (one run):\n"
    );
    let cpu = if raw_put.engine_ms.is_some() {
        "CPU ms/op, bench + engine (its / raw)"
    } else {
        "bench CPU ms/op (its / raw)"
    };
    println!(
        "| use case | its rate /s | raw rate /s (same calls) | ratio | by round (its first / raw first) | target | {cpu} |"
    );
    println!("|---|---|---|---|---|---|---|");
    compared(
        &format!("status ({status_calls:.1} calls)"),
        "GetItem → Query, beside a GetItem",
        &status,
        &raw_status,
        "≥ 80 %",
    );
    compared(
        &format!("approval ({approval_calls:.1} calls)"),
        &format!("TransactWriteItems of {items} items"),
        &approval,
        &raw_tx,
        "≥ 70 %",
    );
    compared(
        "(its calls without its code: its read, then its 6 items, asking for capacity)",
        &format!("TransactWriteItems of {items} items"),
        &bare,
        &raw_tx_again,
        "",
    );
    let raw_tx = raw_tx.both();
    println!(
        "| (so the approval against its calls without its code) | | | {:.0} % | | | |",
        percent(approval.both(), raw_tx) / percent(bare.both(), raw_tx_again.both()) * 100.0
    );
    println!(
        "| (the approval's own 6 items, replayed raw) | {:.0} | {:.0} | {:.0} % | | | {} |",
        replayed.per_second,
        raw_tx.per_second,
        percent(replayed, raw_tx),
        replayed.cpu()
    );
    println!(
        "| (the approval's read, a raw BatchGetItem of its 4 keys) | {:.0} | | | | | {} |",
        raw_batch.per_second,
        raw_batch.cpu()
    );
    println!(
        "| (a raw TransactWriteItems of {items} items asking for its consumed capacity) | {:.0} | {:.0} | {:.0} % | | | {} |",
        raw_tx_capacity.per_second,
        raw_tx.per_second,
        percent(raw_tx_capacity, raw_tx),
        raw_tx_capacity.cpu()
    );
    println!(
        "| raw PutItem | {:.0} | | | | | {} |",
        raw_put.per_second,
        raw_put.cpu()
    );
}

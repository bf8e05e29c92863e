//! The use cases' rates against their bare DynamoDB calls (`bench api`'s second part).

use crate::rates::{PAIRS, Rate, Rounds, compared, in_both_orders, percent, throughput};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, PutRequest, ReturnConsumedCapacity, TransactWriteItem,
    WriteRequest,
};
use chrono::{DateTime, NaiveDate, Utc};
use licensing::adapters::dynamodb::DynamoStore;
use licensing::app::{self, Caller};
use licensing::domain::identity::{TenantId, UserId};
use licensing::ports::AccountReads;

use licensing_tests::{acme, at, bulk_users, fresh_store};
use std::collections::{BTreeMap, HashMap};

type Item = HashMap<String, AttributeValue>;

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.to_owned())
}

/// A raw Query of the items of `pk` whose sort key starts with `prefix`: the red seats' read,
/// and the diagnoses' look at what an approval wrote.
fn prefix_query(store: &DynamoStore, pk: &str, prefix: &str) -> QueryFluentBuilder {
    store
        .client()
        .query()
        .table_name(store.table())
        .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
        .expression_attribute_values(":pk", s(pk))
        .expression_attribute_values(":p", s(prefix))
}

/// An item's sort key.
fn sort_key(item: &Item) -> &str {
    item.get("sk")
        .and_then(|v| v.as_s().ok())
        .map_or("", String::as_str)
}

/// Every call of ours asks for the capacity it consumed (the requests' metrics and logs);
/// free on AWS, work for DynamoDB Local. The raw rows do not ask, the bare calls do.
fn capacity(asked: bool) -> Option<ReturnConsumedCapacity> {
    asked.then_some(ReturnConsumedCapacity::Total)
}

/// What every measurement shares: the table, its client, and the callers (caller `k` of
/// approval round `r` acts in tenant `r-{r * clients + k}`; status and the raw reads use
/// round 0's).
struct Bench<'a> {
    store: &'a DynamoStore,
    callers: &'a [Caller],
    /// A seeded tenant's red-seat records, as stored before any approval licensed them.
    reds: Vec<Item>,
    clients: u64,
    total: u64,
    now: DateTime<Utc>,
}

impl Bench<'_> {
    fn client(&self) -> &aws_sdk_dynamodb::Client {
        self.store.client()
    }

    fn table(&self) -> &str {
        self.store.table()
    }

    async fn transact(&self, actions: Vec<TransactWriteItem>, asked: bool) {
        self.client()
            .transact_write_items()
            .set_transact_items(Some(actions))
            .set_return_consumed_capacity(capacity(asked))
            .send()
            .await
            .unwrap();
    }

    /// `items` new items in one raw TransactWriteItems, on the partition `pk`.
    fn raw_actions(&self, pk: String, tag: String, items: usize) -> Vec<TransactWriteItem> {
        (0..items)
            .map(|j| {
                let put = Put::builder()
                    .table_name(self.table())
                    .item("pk", s(&pk))
                    .item("sk", s(&format!("{tag}#{j}")))
                    .item("body", s(&"x".repeat(300)))
                    .build()
                    .unwrap();
                TransactWriteItem::builder().put(put).build()
            })
            .collect()
    }

    /// The approval's read, raw: one BatchGetItem of the four keys it reads (the
    /// subscription, the approver, a quote and a key record, as replayed).
    async fn read(&self, k: u64, i: u64, asked: bool) {
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
        self.client()
            .batch_get_item()
            .request_items(self.table(), keys)
            .set_return_consumed_capacity(capacity(asked))
            .send()
            .await
            .unwrap();
    }

    /// The approval's own items (`written`), written again raw under `tag` in tenant `k`, and
    /// the red-seat record `licensed` (a sort key) deleted with them, as an approval that
    /// licenses a red seat does.
    async fn replay(
        &self,
        written: &[(&str, Item)],
        (k, i): (u64, u64),
        tag: String,
        licensed: Option<String>,
        asked: bool,
    ) {
        let mut actions: Vec<TransactWriteItem> = written
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
                let mut put = Put::builder().table_name(self.table()).set_item(Some(item));
                if matches!(*prefix, "K#" | "I#" | "Q#") {
                    put = put.condition_expression("attribute_not_exists(pk)");
                }
                TransactWriteItem::builder()
                    .put(put.build().unwrap())
                    .build()
            })
            .collect();
        if let Some(sk) = licensed {
            let delete = Delete::builder()
                .table_name(self.table())
                .key("pk", s(&format!("T#r-{k}")))
                .key("sk", s(&sk))
                .build()
                .unwrap();
            actions.push(TransactWriteItem::builder().delete(delete).build());
        }
        self.transact(actions, asked).await;
    }

    /// The red-seat records under `prefix` in tenant `k`, raw: the Query an approval makes
    /// when the account has red seats.
    async fn query_reds(&self, k: u64, prefix: &str, asked: bool) {
        prefix_query(self.store, &format!("T#r-{k}"), prefix)
            .consistent_read(true)
            .set_return_consumed_capacity(capacity(asked))
            .send()
            .await
            .unwrap();
    }

    /// Copies of [`Bench::reds`] under `{tag}#` in each caller's round-0 tenant, for the bare
    /// calls to query and delete as the approvals did theirs.
    async fn plant_reds(&self, tag: &str) {
        let mut requests = Vec::new();
        for k in 0..self.clients {
            for red in &self.reds {
                let mut item = red.clone();
                item.insert("pk".into(), s(&format!("T#r-{k}")));
                item.insert("sk".into(), s(&format!("{tag}#{}", sort_key(red))));
                let put = PutRequest::builder().set_item(Some(item)).build().unwrap();
                requests.push(WriteRequest::builder().put_request(put).build());
            }
        }
        for chunk in requests.chunks(25) {
            self.client()
                .batch_write_item()
                .request_items(self.table(), chunk.to_vec())
                .send()
                .await
                .unwrap();
        }
    }

    /// The sort key of the red record that a bare approval `i` licenses under `tag`, if the
    /// approval it mirrors found any: each approval buys one licence, so approval `i` of a
    /// tenant with `n` red seats found `n - i` and licensed one.
    fn licensed(&self, tag: &str, i: u64) -> Option<String> {
        let red = self.reds.get(i as usize)?;
        Some(format!("{tag}#{}", sort_key(red)))
    }
}

/// A tenant's red-seat records, raw.
async fn red_items(store: &DynamoStore, pk: &str) -> Vec<Item> {
    let out = prefix_query(store, pk, "A#OA#")
        .consistent_read(true)
        .send()
        .await
        .unwrap();
    out.items.unwrap_or_default()
}

/// Tenants of 21 users on 10 licences (so status reads red seats, and every round's approvals
/// license the same share of red seats), one per caller and approval round.
async fn seed(store: &DynamoStore, clients: u64) -> Vec<Caller> {
    let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let mut callers = Vec::new();
    for k in 0..clients * PAIRS {
        let id = format!("r-{k}");
        let tenant = acme(&id, start, 10, 2);
        app::create_tenant(store, "bench", tenant, at("2026-11-01T08:00:00Z"))
            .await
            .unwrap();
        let tenant = TenantId::parse(&id).unwrap();
        bulk_users(store, &tenant, 20, at("2026-11-02T00:00:00Z")).await;
        callers.push(Caller {
            tenant,
            user: UserId::parse("ada").unwrap(),
        });
    }
    callers
}

/// Status against what it reads, raw: the subscription, then the red seats (Query), beside
/// the caller's user (GetItem), all strongly consistent. The rounds and status's calls each.
async fn status_rates(b: &Bench<'_>) -> (Rounds, Rounds, f64) {
    let raw_status = || {
        throughput(b.clients, b.total, |k, _| async move {
            let pk = format!("T#r-{k}");
            let sub = async {
                b.client()
                    .get_item()
                    .table_name(b.table())
                    .key("pk", s(&pk))
                    .key("sk", s("A#SUB"))
                    .consistent_read(true)
                    .send()
                    .await
                    .unwrap();
                prefix_query(b.store, &pk, "A#OA#")
                    .consistent_read(true)
                    .send()
                    .await
                    .unwrap();
            };
            let user = b
                .client()
                .get_item()
                .table_name(b.table())
                .key("pk", s(&pk))
                .key("sk", s("U#ada"))
                .consistent_read(true)
                .send();
            let (_, u) = futures::join!(sub, user);
            u.unwrap();
        })
    };
    let status = || {
        throughput(b.clients, b.total, |k, _| async move {
            app::account_status(b.store, &b.callers[k as usize], b.now)
                .await
                .unwrap();
        })
    };
    let before = b.store.usage();
    let (status, raw_status) = in_both_orders(status, raw_status).await;
    let calls = b.store.usage().since(before).calls as f64 / (PAIRS * b.total) as f64;
    (status, raw_status, calls)
}

/// The approvals against a raw transaction of as many items as one wrote.
struct Approvals {
    approval: Rounds,
    raw_tx: Rounds,
    items: usize,
    calls: f64,
}

/// Quotes made first; then each caller approves its own tenant's, a tenant of its own each
/// round; the approval runs first in its first round, so the raw count is known when needed.
async fn approval_rates(b: &Bench<'_>) -> Approvals {
    let per = b.total / b.clients;
    let (mut quotes, none) = (Vec::new(), BTreeMap::new());
    for caller in b.callers {
        let mut mine = Vec::new();
        for _ in 0..per {
            let quote = app::create_quote(b.store, caller, Some(1), &none, b.now);
            mine.push(quote.await.unwrap().quote_id);
        }
        quotes.push(mine);
    }
    let quotes = &quotes;
    let round = &std::cell::Cell::new(0_u64);
    // What the first round wrote per approval: the raw transaction's item count, and the calls.
    let shape = &std::cell::Cell::new((0_usize, 0.0_f64));
    let approval = || async move {
        let r = round.replace(round.get() + 1);
        let before = b.store.usage();
        let rate = throughput(b.clients, b.total, move |k, i| async move {
            let at = (r * b.clients + k) as usize;
            let quote = &quotes[at][i as usize];
            let body = serde_json::json!({ "quote_id": quote });
            let key = format!("r-{k}-{i}");
            app::approve_purchase(b.store, &b.callers[at], Some(&key), &body, quote, b.now)
                .await
                .unwrap();
        })
        .await;
        if r == 0 {
            let used = b.store.usage().since(before);
            let items = (used.items_written as f64 / b.total as f64)
                .round()
                .max(1.0) as usize;
            shape.set((items, used.calls as f64 / b.total as f64));
        }
        rate
    };
    let raw_round = &std::cell::Cell::new(0_u64);
    let raw_tx = || {
        let r = raw_round.replace(raw_round.get() + 1);
        throughput(b.clients, b.total, move |k, i| {
            let (pk, tag) = (format!("T#r-{}", r * b.clients + k), format!("RAW#{r}#{i}"));
            b.transact(b.raw_actions(pk, tag, shape.get().0), false)
        })
    };
    let (approval, raw_tx) = in_both_orders(approval, raw_tx).await;
    let (items, calls) = shape.get();
    Approvals {
        approval,
        raw_tx,
        items,
        calls,
    }
}

/// Not targets, diagnoses: what separates the approval from the raw transaction.
struct Diagnoses {
    replayed: Rate,
    raw_batch: Rate,
    bare: Rounds,
    raw_tx_again: Rounds,
    raw_tx_capacity: Rate,
    raw_put: Rate,
}

async fn diagnoses(b: &Bench<'_>, items: usize) -> Diagnoses {
    // The approval's own six items (one of each kind it wrote, as stored: sizes, due-index
    // attributes, and the conditions of the new ones), replayed raw. What separates it from
    // the 6-item figure is the write set's shape; what separates the approval from it is the
    // approval's reads and code.
    let mut written = Vec::new();
    for prefix in ["A#SUB", "Q#", "K#", "I#", "L#", "O#"] {
        let out = prefix_query(b.store, "T#r-0", prefix)
            .limit(1)
            .send()
            .await
            .unwrap();
        written.push((prefix, out.items.unwrap_or_default().remove(0)));
    }
    let written = &written;
    let (clients, total) = (b.clients, b.total);
    let replayed = throughput(clients, total, |k, i| {
        b.replay(written, (k, i), "REPLAY".into(), None, false)
    })
    .await;
    let raw_batch = throughput(clients, total, |k, i| b.read(k, i, false)).await;
    // The approval's calls with none of its code — that read; the red seats' Query while the
    // tenant has red seats (each approval licenses one, so the first 11 of each tenant's);
    // those six items, and the licensed red record's delete with them; each asking for its
    // consumed capacity as ours do — against the raw transaction in alternating rounds like
    // the targets. What separates the approval from it is our own code (decoding, deciding,
    // encoding) and its conditions and quote update; what separates it from the replay alone
    // is the engine serving reads between writes, and sizing what it is asked to.
    for r in 0..PAIRS {
        b.plant_reds(&format!("BARE{r}")).await;
    }
    let bare_round = &std::cell::Cell::new(0_u64);
    let bare = || {
        let r = bare_round.replace(bare_round.get() + 1);
        throughput(clients, total, move |k, i| async move {
            let tag = format!("BARE{r}");
            b.read(k, i, true).await;
            let licensed = b.licensed(&tag, i);
            if licensed.is_some() {
                b.query_reds(k, &format!("{tag}#A#OA#"), true).await;
            }
            b.replay(written, (k, i), tag, licensed, true).await;
        })
    };
    let raw_round = &std::cell::Cell::new(0_u64);
    let raw_tx = || {
        let r = raw_round.replace(raw_round.get() + 1);
        throughput(clients, total, move |k, i| {
            let (pk, tag) = (format!("T#r-{}", r * clients + k), format!("RAWB#{r}#{i}"));
            b.transact(b.raw_actions(pk, tag, items), false)
        })
    };
    let (bare, raw_tx_again) = in_both_orders(bare, raw_tx).await;
    // The raw transaction asking for its consumed capacity, as the approval's does.
    let raw_tx_capacity = throughput(clients, total, |k, i| {
        let (pk, tag) = (format!("T#r-{k}"), format!("RAWCAP#{i}"));
        b.transact(b.raw_actions(pk, tag, items), true)
    })
    .await;
    let raw_put = throughput(clients, total, |k, i| async move {
        b.client()
            .put_item()
            .table_name(b.table())
            .item("pk", s(&format!("T#r-{k}")))
            .item("sk", s(&format!("PUT#{i}")))
            .send()
            .await
            .unwrap();
    })
    .await;
    Diagnoses {
        replayed,
        raw_batch,
        bare,
        raw_tx_again,
        raw_tx_capacity,
        raw_put,
    }
}

/// Each use case's throughput as a share of the engine's own rate for the same calls, with
/// the same number of callers in flight, in the same run (absolute figures move ± 50 %
/// between runs on this machine; the ratios are what the targets are about).
pub(crate) async fn ratios(clients: u64, total: u64) {
    let store = fresh_store().await;
    let callers = seed(&store, clients).await;
    let reds = red_items(&store, "T#r-0").await;
    let b = Bench {
        store: &store,
        callers: &callers,
        reds,
        clients,
        total,
        now: at("2026-11-19T10:00:00Z"),
    };
    let (status, raw_status, status_calls) = status_rates(&b).await;
    let a = approval_rates(&b).await;
    let d = diagnoses(&b, a.items).await;
    println!(
        "\n{clients} callers in flight, {total} operations a round; each use case and its raw \
         counterpart in {PAIRS} rounds each, alternating which goes first (one run):\n"
    );
    let cpu = if d.raw_put.engine_ms.is_some() {
        "CPU ms/op, bench + engine (its / raw)"
    } else {
        "bench CPU ms/op (its / raw)"
    };
    println!(
        "| use case | its rate /s | raw rate /s (same calls) | ratio | by round (its first / raw first) | target | {cpu} |"
    );
    println!("|---|---|---|---|---|---|---|");
    let (items, calls) = (a.items, a.calls);
    let tx = format!("TransactWriteItems of {items} items");
    let status_name = format!("status ({status_calls:.1} calls)");
    let pair = "GetItem → Query, beside a GetItem";
    compared(&status_name, pair, &status, &raw_status, "≥ 80 %");
    let approval_name = format!("approval ({calls:.1} calls)");
    compared(&approval_name, &tx, &a.approval, &a.raw_tx, "≥ 70 %");
    let bare_name = "(its calls without its code: its read, the red seats' Query while it finds \
        some, then its items and the licensed red seat's delete, asking for capacity)";
    compared(bare_name, &tx, &d.bare, &d.raw_tx_again, "");
    let raw_tx = a.raw_tx.both();
    let quotient =
        percent(a.approval.both(), raw_tx) / percent(d.bare.both(), d.raw_tx_again.both());
    println!(
        "| (so the approval against its calls without its code) | | | {:.0} % | | | |",
        quotient * 100.0
    );
    println!(
        "| (the approval's own 6 items, replayed raw) | {:.0} | {:.0} | {:.0} % | | | {} |",
        d.replayed.per_second,
        raw_tx.per_second,
        percent(d.replayed, raw_tx),
        d.replayed.cpu()
    );
    println!(
        "| (the approval's read, a raw BatchGetItem of its 4 keys) | {:.0} | | | | | {} |",
        d.raw_batch.per_second,
        d.raw_batch.cpu()
    );
    println!(
        "| (a raw TransactWriteItems of {items} items asking for its consumed capacity) | {:.0} | {:.0} | {:.0} % | | | {} |",
        d.raw_tx_capacity.per_second,
        raw_tx.per_second,
        percent(d.raw_tx_capacity, raw_tx),
        d.raw_tx_capacity.cpu()
    );
    println!(
        "| raw PutItem | {:.0} | | | | | {} |",
        d.raw_put.per_second,
        d.raw_put.cpu()
    );
}

//! Benchmarks against the local platform (DynamoDB Local; start it with the test or run
//! command's engines, or any endpoint in `AWS_ENDPOINT_URL_DYNAMODB`).
//!
//! `bench api [iterations] [callers]`   DynamoDB calls, consumed capacity and latency per use
//!   case, then throughput against the engine's raw rates with `callers` in flight (16);
//!   with `BENCH_ENGINE_PID` set to the engine's process id, the engine's CPU per operation too
//! `bench sweep [tenants] [users_per_tenant] [due_percent]`   one sweep over a seeded table
//! `bench size [users …]`   each use case on tenants of 100 / 1 000 / 10 000 / 50 000 users
//! `bench creates [clients] [total]`   single creates racing on one tenant (in process, or
//!   through the local API when `LICENSING_API_URL` is set)
//! `bench notify [purchases]`   approval latency with and without the stream path delivering,
//!   answer-to-sent latency and the scheduled dispatcher's throughput (moto)
//! `bench startup <bootstrap> [runs]`   process start to the first `invocation/next` request,
//!   the function started under a stub Lambda Runtime API (no engines needed)
//!
//! Figures and the commands that produced them are recorded in BENCHMARKS.md.

use chrono::{Duration, NaiveDate};
use futures::StreamExt;
use licensing::adapters::dynamodb::DynamoStore;
use licensing::app::{self, Caller};
use licensing::domain::identity::{TenantId, UserId};
use licensing::ports::{AccountReads, PageRequest};
use licensing_tests::*;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Instant;

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

struct Stats {
    name: &'static str,
    calls: f64,
    capacity: f64,
    micros: Vec<u128>,
}

impl Stats {
    fn print(&mut self) {
        self.micros.sort_unstable();
        let pct = |p: f64| {
            self.micros[((self.micros.len() as f64 * p) as usize).min(self.micros.len() - 1)] as f64
                / 1000.0
        };
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.2} |",
            self.name,
            self.calls,
            self.capacity,
            pct(0.5),
            pct(0.99)
        );
    }
}

async fn measure<F, Fut>(store: &DynamoStore, name: &'static str, n: u64, mut op: F) -> Stats
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let before = store.usage();
    let mut micros = Vec::new();
    for i in 0..n {
        let start = Instant::now();
        op(i).await;
        micros.push(start.elapsed().as_micros());
    }
    let used = store.usage().since(before);
    Stats {
        name,
        calls: used.calls as f64 / n as f64,
        capacity: used.capacity / n as f64,
        micros,
    }
}

async fn api(n: u64, callers: u64) {
    let store = fresh_store().await;
    let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let now = at("2026-11-19T10:00:00Z");
    app::create_tenant(
        &store,
        "bench",
        acme("bench", start, 10, 2),
        at("2026-11-01T08:00:00Z"),
    )
    .await
    .unwrap();
    let tenant = TenantId::parse("bench").unwrap();
    bulk_users(&store, &tenant, 20, at("2026-11-02T00:00:00Z")).await;
    let caller = Caller {
        tenant,
        user: UserId::parse("ada").unwrap(),
    };
    println!(
        "| use case | DynamoDB calls | capacity units | p50 ms | p99 ms |\n|---|---|---|---|---|"
    );
    let page = PageRequest {
        cursor: None,
        limit: 50,
    };
    measure(&store, "GET /v1/account (status)", n, |_| async {
        app::account_status(&store, &caller, now).await.unwrap();
    })
    .await
    .print();
    measure(&store, "GET /v1/users (50)", n, |_| async {
        app::list_users(&store, &caller, &page, None, now)
            .await
            .unwrap();
    })
    .await
    .print();
    measure(&store, "POST /v1/purchases/quotes", n, |_| async {
        app::create_quote(&store, &caller, Some(1), &BTreeMap::new(), now)
            .await
            .unwrap();
    })
    .await
    .print();
    let mut quotes = Vec::new();
    for _ in 0..n {
        quotes.push(
            app::create_quote(&store, &caller, Some(1), &BTreeMap::new(), now)
                .await
                .unwrap()
                .quote_id,
        );
    }
    measure(&store, "POST /v1/purchases (approval)", n, |i| {
        let quote = quotes[i as usize].clone();
        let store = &store;
        let caller = &caller;
        async move {
            let body = serde_json::json!({ "quote_id": quote });
            app::approve_purchase(
                store,
                caller,
                Some(&format!("bench-{i}")),
                &body,
                &quote,
                now,
            )
            .await
            .unwrap();
        }
    })
    .await
    .print();
    let (s, c) = (&store, &caller);
    measure(&store, "PUT /v1/next-period", n, |i| async move {
        app::set_next_period(s, c, Some(5 + (i % 5) as u32), &BTreeMap::new(), now)
            .await
            .unwrap();
    })
    .await
    .print();
    measure(&store, "POST /v1/users", n, |i| async move {
        let user = new_user(
            &format!("n-{i}"),
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
    .await
    .print();
    ratios(callers, n.max(400)).await;
}

/// A phase's rate, and the CPU this process spent per operation in it: the engine shares this
/// machine's two cores with the bench, so what our code costs in CPU is taken from the engine.
/// With `BENCH_ENGINE_PID` set to the engine's process, also the CPU the engine spent per
/// operation: a sharper split than rates, which move with the machine, of where an
/// operation's cost lies.
#[derive(Clone, Copy)]
struct Rate {
    per_second: f64,
    cpu_ms: Option<f64>,
    engine_ms: Option<f64>,
}

impl Rate {
    fn cpu(&self) -> String {
        let ms = |v: Option<f64>| v.map_or("–".to_owned(), |ms| format!("{ms:.2}"));
        match self.engine_ms {
            Some(_) => format!("{} + {}", ms(self.cpu_ms), ms(self.engine_ms)),
            None => ms(self.cpu_ms),
        }
    }
}

/// Runs `total` operations with `clients` in flight, client `k` doing its share with its own
/// index; returns operations per second and this process's CPU per operation.
async fn throughput<F, Fut>(clients: u64, total: u64, op: F) -> Rate
where
    F: Fn(u64, u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let per = total / clients;
    let engine = std::env::var("BENCH_ENGINE_PID").ok();
    let engine_before = engine.as_deref().and_then(cpu_ticks);
    let cpu_before = cpu_ticks("self");
    let started = Instant::now();
    futures::future::join_all((0..clients).map(|k| {
        let op = &op;
        async move {
            for i in 0..per {
                op(k, i).await;
            }
        }
    }))
    .await;
    let n = (per * clients) as f64;
    let per_second = n / started.elapsed().as_secs_f64();
    // /proc counts in clock ticks of 10 ms (USER_HZ 100 on Linux).
    let per_op = |before: Option<u64>, after: Option<u64>| {
        before
            .zip(after)
            .map(|(before, after)| after.saturating_sub(before) as f64 * 10.0 / n)
    };
    Rate {
        per_second,
        cpu_ms: per_op(cpu_before, cpu_ticks("self")),
        engine_ms: per_op(engine_before, engine.as_deref().and_then(cpu_ticks)),
    }
}

/// User plus system CPU of a process (`self`, or a pid) in clock ticks, all its threads, from
/// `/proc/<pid>/stat` (Linux).
fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces) start at its closing ')'.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// How many times each use case and its raw counterpart run, alternating which goes first.
const PAIRS: u64 = 4;

/// A use case and its raw counterpart, run in [`PAIRS`] pairs of equal operation counts,
/// alternately use case first and raw first (use case, raw, raw, use case, …): the engine
/// runs faster as a run goes on (a JVM still compiling the paths each phase meets first, a
/// collection now and then), which one fixed order credits to whichever runs second, and
/// one long phase each leaves to chance.
#[derive(Clone, Default)]
struct Rounds {
    /// The rounds in which the use case ran before its raw counterpart.
    first: Vec<Rate>,
    /// The rounds in which it ran after.
    second: Vec<Rate>,
}

/// Rates of equal operation counts as one: all operations over all the time, CPU averaged.
fn pooled(rates: &[Rate]) -> Rate {
    let n = rates.len() as f64;
    let mean = |of: fn(&Rate) -> Option<f64>| {
        let all: Option<Vec<f64>> = rates.iter().map(of).collect();
        all.map(|c| c.iter().sum::<f64>() / n)
    };
    Rate {
        per_second: n / rates.iter().map(|r| 1.0 / r.per_second).sum::<f64>(),
        cpu_ms: mean(|r| r.cpu_ms),
        engine_ms: mean(|r| r.engine_ms),
    }
}

impl Rounds {
    fn both(&self) -> Rate {
        pooled(&[self.first.as_slice(), self.second.as_slice()].concat())
    }
}

/// `a`'s rate as a percentage of `b`'s.
fn percent(a: Rate, b: Rate) -> f64 {
    100.0 * a.per_second / b.per_second
}

/// One row of the ratio table: a use case against its raw counterpart, over all rounds and
/// by which went first.
fn compared(name: &str, raw_calls: &str, case: &Rounds, raw: &Rounds, target: &str) {
    println!(
        "| {name} | {:.0} | {:.0} ({raw_calls}) | {:.0} % | {:.0} % / {:.0} % | {target} | {} / {} |",
        case.both().per_second,
        raw.both().per_second,
        percent(case.both(), raw.both()),
        percent(pooled(&case.first), pooled(&raw.first)),
        percent(pooled(&case.second), pooled(&raw.second)),
        case.both().cpu(),
        raw.both().cpu()
    );
}

/// Runs `case` and `raw` in [`PAIRS`] pairs, alternating which goes first (see [`Rounds`]).
async fn in_both_orders<C, CF, R, RF>(case: C, raw: R) -> (Rounds, Rounds)
where
    C: Fn() -> CF,
    CF: Future<Output = Rate>,
    R: Fn() -> RF,
    RF: Future<Output = Rate>,
{
    let (mut case_rounds, mut raw_rounds) = (Rounds::default(), Rounds::default());
    for pair in 0..PAIRS {
        if pair % 2 == 0 {
            case_rounds.first.push(case().await);
            raw_rounds.first.push(raw().await);
        } else {
            raw_rounds.second.push(raw().await);
            case_rounds.second.push(case().await);
        }
    }
    (case_rounds, raw_rounds)
}

/// Each use case's throughput as a share of the engine's own rate for the same calls, with
/// the same number of callers in flight, in the same run (absolute figures move ± 50 %
/// between runs on this machine; the ratios are what the targets are about). One tenant
/// per caller and approval round, each with 21 users on 10 licences (so status reads red
/// seats, and every round's approvals license the same share of red seats).
async fn ratios(clients: u64, total: u64) {
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

/// `n` users `s-00001` … activated a second apart from 2 November.
fn seeded_users(n: u64) -> Vec<licensing::domain::user::User> {
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
            }
        })
        .collect()
}

/// The use cases on tenants of each size (R24–R27): a tenant of `size` users seeded in bulk with
/// licences to spare, each use case `n` times in sequence (the batch import 5 times), then a
/// downscale to half rolled over and removed after the grace, timed per seat.
async fn size_bench(sizes: &[u64], n: u64) {
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

async fn sweep_bench(tenants: u64, users: u64, due_percent: u64) {
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

/// Counts the batches the in-process dispatcher delivered and when the last one was.
struct Timed<'a> {
    inner: licensing_tests::stream_reader::InProcess<'a>,
    delivered: std::sync::Arc<std::sync::Mutex<(u64, Option<Instant>)>>,
}

impl licensing_tests::stream_reader::Dispatch for Timed<'_> {
    async fn dispatch(
        &self,
        event: aws_lambda_events::event::dynamodb::Event,
    ) -> Result<aws_lambda_events::event::streams::DynamoDbEventResponse, String> {
        let (response, report) = licensing::startup::on_stream(
            self.inner.store,
            self.inner.notifier,
            &event,
            self.inner.now.unwrap_or_else(chrono::Utc::now),
        )
        .await;
        if let Ok(mut d) = self.delivered.lock() {
            d.0 += report.batches as u64;
            d.1 = Some(Instant::now());
        }
        Ok(response)
    }
}

/// Approval latency with no delivery at all and with the stream path delivering beside it
/// (an in-process stream reader and the dispatcher's handler, as `./scripts/up.sh` runs
/// them), the answer-to-sent latency, and the scheduled dispatcher's throughput; against
/// DynamoDB Local and moto, in one run.
async fn notify(n: u64) {
    use licensing::notify::Notifier;
    let sdk = sdk().await;
    provision_messaging(&sdk, "licensing", "bench-events", "licensing@example.com")
        .await
        .unwrap();
    let notifier = Notifier::new(&sdk, "licensing", "licensing@example.com");
    let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let now = at("2026-11-19T10:00:00Z");
    let caller = Caller {
        tenant: TenantId::parse("bench").unwrap(),
        user: UserId::parse("ada").unwrap(),
    };
    let mut timings = Vec::new();
    let mut sent_ms: Vec<f64> = Vec::new();
    for streamed in [false, true] {
        let plain = fresh_streamed_store().await;
        app::create_tenant(
            &plain,
            "bench",
            acme("bench", start, 10, 2),
            at("2026-11-01T08:00:00Z"),
        )
        .await
        .unwrap();
        // The stream path: a reader polling every 10 ms, delivering through the handler.
        let delivered = std::sync::Arc::new(std::sync::Mutex::new((0u64, None::<Instant>)));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let reader = streamed.then(|| {
            let (store, notifier) = (plain.clone(), notifier.clone());
            let (delivered, stop) = (delivered.clone(), stop.clone());
            tokio::spawn(async move {
                let mut reader = licensing_tests::stream_reader::StreamReader::open(
                    &licensing_tests::sdk().await,
                    store.table(),
                    None,
                )
                .await
                .unwrap();
                let dispatch = Timed {
                    inner: licensing_tests::stream_reader::InProcess {
                        store: &store,
                        notifier: &notifier,
                        now: Some(now),
                    },
                    delivered,
                };
                // The tenant's own creation is on the stream: delivered before the run.
                while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                    if reader.poll(&dispatch).await.unwrap() == 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    }
                }
            })
        });
        if streamed {
            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        }
        let mut micros = Vec::new();
        for i in 0..n {
            let quote = app::create_quote(&plain, &caller, Some(1), &BTreeMap::new(), now)
                .await
                .unwrap();
            let body = serde_json::json!({ "quote_id": quote.quote_id });
            let key = format!("k-{i}");
            let before = delivered.lock().map(|d| d.0).unwrap_or(0);
            let started = Instant::now();
            app::approve_purchase(&plain, &caller, Some(&key), &body, &quote.quote_id, now)
                .await
                .unwrap();
            let answered = Instant::now();
            micros.push((answered - started).as_micros() as f64 / 1000.0);
            if streamed {
                // Answer to sent: until the reader has delivered this approval's batch.
                let waited = Instant::now();
                loop {
                    let (count, at) = delivered.lock().map(|d| *d).unwrap_or((0, None));
                    if count > before {
                        if let Some(at) = at {
                            sent_ms.push((at - answered).as_micros() as f64 / 1000.0);
                        }
                        break;
                    }
                    if waited.elapsed() > std::time::Duration::from_secs(5) {
                        panic!("approval {i} was not delivered within 5 s");
                    }
                    tokio::time::sleep(std::time::Duration::from_micros(500)).await;
                }
            }
        }
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(reader) = reader {
            let _ = reader.await;
        }
        micros.sort_by(f64::total_cmp);
        timings.push((micros[micros.len() / 2], micros[micros.len() * 99 / 100]));
        if !streamed {
            // What the plain run left in the outbox: the dispatcher's throughput.
            timed_dispatch(&plain, &notifier, now + Duration::minutes(1), "dispatcher").await;
        }
    }
    sent_ms.sort_by(f64::total_cmp);
    println!(
        "approval p50/p99 ms without delivery {:.2}/{:.2}, with the stream path delivering {:.2}/{:.2} ({:.2}×); answer to sent p50/p99 {:.1}/{:.1} ms over {} approvals",
        timings[0].0,
        timings[0].1,
        timings[1].0,
        timings[1].1,
        timings[1].0 / timings[0].0,
        sent_ms[sent_ms.len() / 2],
        sent_ms[sent_ms.len() * 99 / 100],
        sent_ms.len()
    );
    // The dispatcher across tenants: the same number of purchases spread over 10 tenants,
    // whose batches are delivered concurrently.
    let store = fresh_store().await;
    let tenants = 10;
    for t in 0..tenants {
        let id = format!("bench-{t}");
        app::create_tenant(
            &store,
            "bench",
            acme(&id, start, 10, 2),
            at("2026-11-01T08:00:00Z"),
        )
        .await
        .unwrap();
        let caller = Caller {
            tenant: TenantId::parse(&id).unwrap(),
            user: UserId::parse("ada").unwrap(),
        };
        for i in 0..n / tenants {
            buy_one_licence(&store, &caller, &format!("k-{i}"), now).await;
        }
    }
    timed_dispatch(
        &store,
        &notifier,
        now + Duration::minutes(1),
        &format!("dispatcher over {tenants} tenants"),
    )
    .await;
}

/// One scheduled dispatch of everything due at `at`, timed.
async fn timed_dispatch(
    store: &DynamoStore,
    notifier: &licensing::notify::Notifier,
    at: chrono::DateTime<chrono::Utc>,
    label: &str,
) {
    let started = Instant::now();
    let report = licensing::notify::dispatch_due(store, notifier, at)
        .await
        .unwrap();
    let secs = started.elapsed().as_secs_f64();
    let messages = report.mails + report.events;
    println!(
        "{label}: {} batches, {messages} messages ({} mails, {} events) in {secs:.2} s = {:.0} messages/s",
        report.batches,
        report.mails,
        report.events,
        messages as f64 / secs
    );
}

/// Single creates racing on one tenant (R25): `clients` concurrent callers each creating users
/// until `total` exist, in process against DynamoDB Local, or through the local API when
/// `LICENSING_API_URL` is set (the run or test command started it). Prints creates per second
/// and the latency and DynamoDB calls per create.
async fn creates(clients: u64, total: u64) {
    use std::sync::atomic::{AtomicU64, Ordering};
    let next = AtomicU64::new(0);
    // BENCH_LICENCES=1: every create over-allocates (the pool is full from the start).
    let licences: u32 = std::env::var("BENCH_LICENCES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let started = Instant::now();
    let mut micros: Vec<u128> = Vec::new();
    let mut calls = 0;
    if let Some(api) = licensing_tests::http::api() {
        let tenant = unique("creates");
        api.tenant(&tenant, licences).await;
        let admin = api.user(&tenant, "ada");
        let started_at = Instant::now();
        let runs = futures::future::join_all((0..clients).map(|_| async {
            let mut mine = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                if i >= total {
                    return mine;
                }
                let body = serde_json::json!({"user_id": format!("c-{i:05}"), "name": format!("User {i}"), "email": format!("c-{i}@example.com")});
                let t = Instant::now();
                let (status, answer) = api.call(reqwest::Method::POST, "/v1/users", Some(&admin), Some(body)).await;
                assert_eq!(status, reqwest::StatusCode::CREATED, "{answer}");
                mine.push(t.elapsed().as_micros());
            }
        }))
        .await;
        micros.extend(runs.into_iter().flatten());
        report_creates(
            "through the local API",
            clients,
            total,
            started_at,
            &mut micros,
            None,
        );
        return;
    }
    let store = fresh_store().await;
    let id = unique("creates");
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
    let caller = Caller {
        tenant: TenantId::parse(&id).unwrap(),
        user: UserId::parse("ada").unwrap(),
    };
    let before = store.usage();
    let runs = futures::future::join_all((0..clients).map(|_| async {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            if i >= total {
                return mine;
            }
            let new = new_user(
                &format!("c-{i:05}"),
                &format!("User {i}"),
                licensing::domain::identity::Language::En,
                &[],
            );
            let t = Instant::now();
            app::create_user(
                &store,
                &caller,
                new.into(),
                None,
                &serde_json::Value::Null,
                chrono::Utc::now(),
            )
            .await
            .unwrap();
            mine.push(t.elapsed().as_micros());
        }
    }))
    .await;
    calls += store.usage().since(before).calls;
    micros.extend(runs.into_iter().flatten());
    report_creates(
        "in process",
        clients,
        total,
        started,
        &mut micros,
        Some(calls),
    );
}

fn report_creates(
    how: &str,
    clients: u64,
    total: u64,
    started: Instant,
    micros: &mut [u128],
    calls: Option<u64>,
) {
    micros.sort_unstable();
    let secs = started.elapsed().as_secs_f64();
    let pct =
        |p: f64| micros[((micros.len() as f64 * p) as usize).min(micros.len() - 1)] as f64 / 1000.0;
    let calls = calls.map_or(String::new(), |c| {
        format!(", {:.1} DynamoDB calls per create", c as f64 / total as f64)
    });
    println!(
        "{how}: {clients} clients, {total} creates in {secs:.2} s = {:.1} creates/s, p50 {:.1} ms, p99 {:.1} ms{calls}",
        total as f64 / secs,
        pct(0.5),
        pct(0.99)
    );
}

/// Starts `bootstrap` `runs` times against a stub Runtime API on loopback and measures the
/// time from spawning the process to its first `GET …/runtime/invocation/next`: all its
/// start-up work (runtime, SDK configuration, clients) is done by then.
fn startup(bootstrap: &str, runs: u64) {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::process::{Command, Stdio};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    listener.set_nonblocking(true).expect("nonblocking");
    let mut micros = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = Command::new(bootstrap)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "startup-bench")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/startup-bench")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", "bench")
            .env("AWS_SECRET_ACCESS_KEY", "bench")
            .env("LICENSING_TABLE", "licensing")
            .env("LICENSING_EVENT_BUS", "licensing")
            .env("LICENSING_MAIL_FROM", "licensing@example.com")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the bootstrap");
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        started.elapsed() < std::time::Duration::from_secs(5),
                        "the function never asked for an invocation"
                    );
                    if let Ok(Some(status)) = child.try_wait() {
                        panic!("the function exited before asking: {status}");
                    }
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        let mut line = String::new();
        BufReader::new(&stream)
            .read_line(&mut line)
            .expect("request line");
        let elapsed = started.elapsed();
        assert!(
            line.starts_with("GET /2018-06-01/runtime/invocation/next"),
            "{line}"
        );
        micros.push(elapsed.as_micros() as u64);
        let _ = child.kill();
        let _ = child.wait();
    }
    micros.sort_unstable();
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    println!(
        "{bootstrap}: start to ready for the first request over {runs} runs: min {:.2} ms, p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        at(0.0),
        at(0.5),
        at(0.95),
        at(1.0)
    );
}

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("api") => api(arg(2, 200), arg(3, 16).max(1)).await,
        Some("sweep") => sweep_bench(arg(2, 10_000), arg(3, 20), arg(4, 1)).await,
        Some("notify") => notify(arg(2, 100)).await,
        Some("creates") => creates(arg(2, 8), arg(3, 400)).await,
        Some("size") => {
            let sizes: Vec<u64> = std::env::args()
                .skip(2)
                .filter_map(|a| a.parse().ok())
                .collect();
            let sizes = if sizes.is_empty() {
                vec![100, 1_000, 10_000, 50_000]
            } else {
                sizes
            };
            size_bench(&sizes, 50).await
        }
        Some("startup") => match std::env::args().nth(2) {
            Some(bootstrap) => startup(&bootstrap, arg(3, 50)),
            None => eprintln!("usage: bench startup <bootstrap> [runs]"),
        },
        _ => eprintln!(
            "usage: bench api [iterations] [callers] | bench creates [clients] [total] | bench size [users …] | bench sweep [tenants] [users_per_tenant] [due_percent] | bench notify [purchases] | bench startup <bootstrap> [runs]"
        ),
    }
}

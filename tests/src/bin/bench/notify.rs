//! `bench notify`: approval latency with and without the stream path, answer-to-sent
//! latency, and the scheduled dispatcher's throughput.

use chrono::{Duration, NaiveDate};
use licensing::adapters::dynamodb::DynamoStore;
use licensing::app::{self, Caller};
use licensing::domain::identity::{TenantId, UserId};

use licensing_tests::{
    acme, at, buy_one_licence, fresh_store, fresh_streamed_store, provision_messaging, sdk,
};
use std::collections::BTreeMap;
use std::time::Instant;

/// Counts the batches the in-process dispatcher delivered and when the last one was.
pub(crate) struct Timed<'a> {
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
pub(crate) async fn notify(n: u64) {
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
                let dispatch = Timed {
                    inner: licensing_tests::stream_reader::InProcess {
                        store: &store,
                        notifier: &notifier,
                        now: Some(now),
                    },
                    delivered,
                };
                // The tenant's own creation is on the stream: delivered before the run.
                licensing_tests::stream_reader::StreamReader::run_until(
                    store.table(),
                    &dispatch,
                    &stop,
                )
                .await
                .unwrap();
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
pub(crate) async fn timed_dispatch(
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

//! `bench webhooks`: R38's cost on the request path. Approvals on a tenant with 10 endpoints
//! subscribed to every event against approvals on a tenant with none, interleaved in one run,
//! with the stream path delivering beside them (an in-process reader and the dispatcher's
//! handler) and every webhook POSTed for real (the webhook sender's own code, in process) to
//! a local receiver.

use chrono::NaiveDate;
use licensing::adapters::webhook_post::{Poster, post};
use licensing::app::webhooks::{NewEndpoint, WebhookSettings, create_endpoint};
use licensing::app::{self, Caller};
use licensing::domain::identity::{TenantId, UserId};
use licensing::domain::webhooks::{Answer, EVENT_TYPES, Post};
use licensing::notify::{Notifier, Refusal, Sender};
use licensing::ports::Resolve;
use licensing_tests::stream_reader::StreamReader;
use licensing_tests::{acme, at, fresh_streamed_store, provision_messaging, sdk};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The dispatcher's sender with the webhook sender's code run in process (on AWS the
/// dispatcher invokes it as a function of its own).
#[derive(Clone)]
struct InProcessWebhooks {
    notifier: Notifier,
    poster: Arc<Poster>,
}

impl Sender for InProcessWebhooks {
    async fn send_mail(
        &self,
        to: &str,
        mail: &licensing::notify::mail::RenderedMail,
        message_id: &str,
        tenant: &TenantId,
    ) -> Result<(), Refusal> {
        self.notifier.send_mail(to, mail, message_id, tenant).await
    }

    async fn put_events(&self, events: &[(&str, &str, String)]) -> (Vec<String>, Option<Refusal>) {
        self.notifier.put_events(events).await
    }

    async fn post_webhook(&self, message: &Post) -> Result<Answer, Refusal> {
        Ok(post(&self.poster, message).await)
    }

    fn mail_cap(&self) -> usize {
        self.notifier.mail_cap()
    }
}

/// Names resolve to nothing here: the endpoints are addresses.
struct NoNames;

impl Resolve for NoNames {
    async fn resolve(&self, host: &str, _port: u16) -> Result<Vec<std::net::IpAddr>, String> {
        Err(format!("{host}: the bench resolves no names"))
    }
}

/// A receiver that answers every request 204 and counts them.
async fn receiver() -> (u16, Arc<AtomicU64>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let count = Arc::new(AtomicU64::new(0));
    let counted = count.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                continue;
            };
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 64 * 1024];
                let mut request = Vec::new();
                // Reads until the body the request announces is in.
                loop {
                    let Ok(n) = socket.read(&mut buffer).await else {
                        return;
                    };
                    if n == 0 {
                        return;
                    }
                    request.extend_from_slice(&buffer[..n]);
                    let text = String::from_utf8_lossy(&request);
                    if let Some(end) = text.find("\r\n\r\n") {
                        let length = text[..end]
                            .lines()
                            .find_map(|l| {
                                l.to_ascii_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                }
                counted.fetch_add(1, Ordering::SeqCst);
                let _ = socket
                    .write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
                    .await;
            });
        }
    });
    (port, count)
}

pub(crate) async fn webhooks(n: u64) {
    let sdk = sdk().await;
    provision_messaging(&sdk, "licensing", "bench-events", "licensing@example.com")
        .await
        .unwrap();
    let sender = InProcessWebhooks {
        notifier: Notifier::new(&sdk, "licensing", "licensing@example.com"),
        poster: Arc::new(Poster::new(true)),
    };
    let store = fresh_streamed_store().await;
    let start = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let now = at("2026-11-19T10:00:00Z");
    let (port, received) = receiver().await;
    let caller = |tenant: &str| Caller {
        tenant: TenantId::parse(tenant).unwrap(),
        user: UserId::parse("ada").unwrap(),
    };
    for tenant in ["bench-none", "bench-ten"] {
        app::create_tenant(
            &store,
            "bench",
            acme(tenant, start, 10, 2),
            at("2026-11-01T08:00:00Z"),
        )
        .await
        .unwrap();
    }
    let settings = WebhookSettings {
        allow_private: true,
        resolver: &NoNames,
    };
    for e in 0..10 {
        let new = NewEndpoint {
            url: format!("http://127.0.0.1:{port}/e{e}"),
            events: EVENT_TYPES.iter().map(|t| (*t).to_owned()).collect(),
            description: format!("endpoint {e}"),
        };
        create_endpoint(
            &store,
            &caller("bench-ten"),
            new,
            &settings,
            at("2026-11-19T09:00:00Z"),
        )
        .await
        .unwrap();
    }
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, sender, stop) = (store.clone(), sender.clone(), stop.clone());
        tokio::spawn(async move {
            let dispatch = Dispatcher {
                store: &store,
                sender: &sender,
            };
            StreamReader::run_until(store.table(), &dispatch, &stop)
                .await
                .unwrap();
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let mut ms: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for i in 0..n {
        for tenant in ["bench-none", "bench-ten"] {
            let who = caller(tenant);
            let quote = app::create_quote(&store, &who, Some(1), &BTreeMap::new(), now)
                .await
                .unwrap();
            let body = serde_json::json!({ "quote_id": quote.quote_id });
            let started = Instant::now();
            app::approve_purchase(
                &store,
                &who,
                Some(&format!("k-{i}")),
                &body,
                &quote.quote_id,
                now,
            )
            .await
            .unwrap();
            ms.entry(tenant)
                .or_default()
                .push(started.elapsed().as_micros() as f64 / 1000.0);
        }
    }
    // Every purchase's LicencesPurchased and InvoiceIssued to each of the 10 endpoints.
    let expected = n * 2 * 10;
    let waited = Instant::now();
    while received.load(Ordering::SeqCst) < expected && waited.elapsed().as_secs() < 60 {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::SeqCst);
    let _ = reader.await;
    let pct = |v: &mut Vec<f64>, p: usize| {
        v.sort_by(f64::total_cmp);
        v[(v.len() * p / 100).min(v.len() - 1)]
    };
    let mut none = ms.remove("bench-none").unwrap_or_default();
    let mut ten = ms.remove("bench-ten").unwrap_or_default();
    let (none50, none99) = (pct(&mut none, 50), pct(&mut none, 99));
    let (ten50, ten99) = (pct(&mut ten, 50), pct(&mut ten, 99));
    println!(
        "approval p50/p99 ms with no endpoint {none50:.2}/{none99:.2}, with 10 endpoints {ten50:.2}/{ten99:.2} ({:.3}× at p50); webhooks received {} of {expected} within {:.1} s of the last approval",
        ten50 / none50,
        received.load(Ordering::SeqCst),
        waited.elapsed().as_secs_f64()
    );
}

/// The stream reader's dispatch through the dispatcher's handler with the bench's sender.
struct Dispatcher<'a> {
    store: &'a licensing::adapters::dynamodb::DynamoStore,
    sender: &'a InProcessWebhooks,
}

impl licensing_tests::stream_reader::Dispatch for Dispatcher<'_> {
    async fn dispatch(
        &self,
        event: aws_lambda_events::event::dynamodb::Event,
    ) -> Result<aws_lambda_events::event::streams::DynamoDbEventResponse, String> {
        let (response, _) =
            licensing::startup::on_stream(self.store, self.sender, &event, chrono::Utc::now())
                .await;
        Ok(response)
    }
}

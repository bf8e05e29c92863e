//! R38 on the memory world (the fast tier): endpoints as an administrator makes them, each
//! event fanned out once to the endpoints that subscribe, signed as Standard Webhooks says,
//! retried on R32's schedule, `410 Gone` and five days of failures disabling the endpoint, a
//! rotated secret signing beside the new one for a day, and any kept message sent again. The
//! real sender, DNS and a receiver with the published `standardwebhooks` library are in
//! `api::webhooks`.

use std::net::IpAddr;

use chrono::Duration;
use licensing::adapters::memory::MemoryStore;
use licensing::app::webhooks::{self, EndpointPatch, NewEndpoint, WebhookSettings};
use licensing::app::{AppError, Caller};
use licensing::domain::DomainError;
use licensing::domain::identity::{Language, TenantId, UserId};
use licensing::domain::webhooks::{Disabled, Post, verify};
use licensing::notify::dispatch_due;
use licensing::notify::recorded::Recorder;
use licensing::outbox::backoff;
use licensing::ports::{
    AccountReads, Commits, Listings, OutboxStore, PageRequest, Resolve, Webhooks,
};
use licensing_tests::at;

use crate::delivery::acme_after_a_purchase;

/// A resolver that answers what the test says a name resolves to.
struct Names(Vec<(&'static str, &'static str)>);

impl Resolve for Names {
    async fn resolve(&self, host: &str, _port: u16) -> Result<Vec<IpAddr>, String> {
        let found: Vec<IpAddr> = self
            .0
            .iter()
            .filter(|(name, _)| *name == host)
            .map(|(_, ip)| ip.parse().expect("an address"))
            .collect();
        if found.is_empty() {
            Err(format!("{host} does not resolve"))
        } else {
            Ok(found)
        }
    }
}

fn public() -> Names {
    Names(vec![
        ("hooks.example.com", "93.184.215.14"),
        ("erp.example.com", "93.184.215.15"),
    ])
}

fn on_aws(names: &Names) -> WebhookSettings<'_, Names> {
    WebhookSettings {
        allow_private: false,
        resolver: names,
    }
}

fn endpoint(url: &str, events: &[&str]) -> NewEndpoint {
    NewEndpoint {
        url: url.to_owned(),
        events: events.iter().map(|e| (*e).to_owned()).collect(),
        description: "ERP".to_owned(),
    }
}

async fn make(
    store: &MemoryStore,
    caller: &Caller,
    url: &str,
    events: &[&str],
    now: chrono::DateTime<chrono::Utc>,
) -> (String, String) {
    let names = public();
    let made =
        webhooks::create_endpoint(store, caller, endpoint(url, events), &on_aws(&names), now)
            .await
            .expect("an endpoint");
    (made.endpoint.endpoint_id, made.secret)
}

fn tenant() -> TenantId {
    TenantId::parse("acme").unwrap()
}

/// The tenant's log's actions, newest first.
async fn actions(store: &MemoryStore) -> Vec<String> {
    let page = PageRequest {
        cursor: None,
        limit: 100,
    };
    store
        .list_log(&tenant(), &page)
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// The webhooks posted to `url`.
fn posted(sender: &Recorder, url: &str) -> Vec<Post> {
    sender
        .webhooks()
        .into_iter()
        .filter(|p| p.url == url)
        .collect()
}

/// The tenant's webhook messages still in the outbox.
fn waiting_webhooks(store: &MemoryStore) -> Vec<licensing::outbox::OutboxMessage> {
    store
        .outbox(&tenant())
        .into_iter()
        .filter(|m| matches!(m.payload, licensing::outbox::Payload::Webhook { .. }))
        .collect()
}

fn event_type(post: &Post) -> String {
    let body: serde_json::Value = serde_json::from_str(&post.body).expect("JSON");
    body["type"].as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_purchase_reaches_each_subscribed_endpoint_once_signed_as_standard_webhooks_says() {
    let made = at("2026-11-19T09:00:00Z");
    let now = at("2026-11-19T10:00:00Z");
    let (store, caller) = acme_after_a_purchase(now).await;
    let erp = "https://erp.example.com/licences";
    let hr = "https://hooks.example.com/hr";
    let (endpoint_id, secret) = make(
        &store,
        &caller,
        erp,
        &["LicencesPurchased", "InvoiceIssued"],
        made,
    )
    .await;
    make(&store, &caller, hr, &["UserActivated"], made).await;

    let sender = Recorder::new();
    let report = dispatch_due(&store, &sender, now).await.unwrap();
    let to_erp = posted(&sender, erp);
    let mut types: Vec<String> = to_erp.iter().map(event_type).collect();
    types.sort();
    assert_eq!(types, ["InvoiceIssued", "LicencesPurchased"], "{report:?}");
    assert!(posted(&sender, hr).is_empty(), "not subscribed");
    for post in &to_erp {
        assert!(
            verify(
                &secret,
                &post.webhook_id,
                post.timestamp,
                &post.body,
                &post.signature,
                now
            ),
            "{post:?}"
        );
        let body: serde_json::Value = serde_json::from_str(&post.body).unwrap();
        assert_eq!(body["data"]["tenant_id"], "acme");
        assert!(body["timestamp"].is_string());
    }
    let purchased = to_erp
        .iter()
        .find(|p| event_type(p) == "LicencesPurchased")
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&purchased.body).unwrap();
    assert_eq!(body["data"]["pools"][0]["to"], 4, "{body}");
    // Nothing twice: the outbox is empty, a later run sends nothing.
    assert!(store.outbox(&tenant()).is_empty());
    dispatch_due(&store, &sender, now + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(posted(&sender, erp).len(), 2);
    // Each attempt is kept, with its status.
    let kept = webhooks::list_attempts(&store, &caller, &endpoint_id, now)
        .await
        .unwrap();
    assert_eq!(kept.len(), 2);
    assert!(kept.iter().all(|a| a.status == Some(200)));
}

#[tokio::test]
async fn an_outage_of_two_days_loses_nothing_and_sends_each_message_once() {
    let now = at("2026-11-19T10:00:00Z");
    let (store, caller) = acme_after_a_purchase(now).await;
    let erp = "https://erp.example.com/licences";
    let (endpoint_id, _) = make(&store, &caller, erp, &["LicencesPurchased"], now).await;
    let sender = Recorder::new();
    sender.answer_webhooks(Some(503));
    // The schedule's first six waits: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h after the failures.
    let mut at_time = now;
    dispatch_due(&store, &sender, at_time).await.unwrap();
    for failures in 1..=6 {
        at_time += backoff(failures);
        dispatch_due(&store, &sender, at_time).await.unwrap();
    }
    assert_eq!(
        posted(&sender, erp).len(),
        7,
        "each attempt on the schedule"
    );
    let endpoint = &store.endpoints(&tenant()).await.unwrap()[0];
    assert_eq!(endpoint.failing_since, Some(now), "failing since the first");
    assert!(endpoint.enabled());
    // Back after 2 days: the next scheduled attempt delivers it, once.
    sender.answer_webhooks(Some(204));
    at_time = now + Duration::days(2);
    dispatch_due(&store, &sender, at_time).await.unwrap();
    dispatch_due(&store, &sender, at_time + Duration::days(2))
        .await
        .unwrap();
    let sent = posted(&sender, erp);
    assert_eq!(sent.len(), 8);
    assert!(
        sent.iter().all(|p| p.webhook_id == sent[0].webhook_id),
        "one webhook-id"
    );
    assert!(store.outbox(&tenant()).is_empty());
    assert_eq!(
        store.endpoints(&tenant()).await.unwrap()[0].failing_since,
        None
    );
    let kept = webhooks::list_attempts(&store, &caller, &endpoint_id, at_time)
        .await
        .unwrap();
    let statuses: Vec<Option<u16>> = kept.iter().map(|a| a.status).collect();
    assert_eq!(statuses[0], Some(204), "newest first");
    assert_eq!(statuses[1..], [Some(503); 7]);
}

#[tokio::test]
async fn gone_disables_the_endpoint_at_once_and_five_days_of_failures_disable_it_too() {
    let now = at("2026-11-19T10:00:00Z");
    let (store, caller) = acme_after_a_purchase(now).await;
    let gone = "https://erp.example.com/gone";
    make(
        &store,
        &caller,
        gone,
        &["LicencesPurchased", "InvoiceIssued"],
        now,
    )
    .await;
    let sender = Recorder::new();
    sender.answer_webhooks(Some(410));
    dispatch_due(&store, &sender, now).await.unwrap();
    assert_eq!(
        posted(&sender, gone).len(),
        1,
        "the second message is dropped, not sent"
    );
    let endpoint = &store.endpoints(&tenant()).await.unwrap()[0];
    assert_eq!(endpoint.disabled, Some(Disabled::Gone));
    assert!(
        store.outbox(&tenant()).is_empty(),
        "nothing retried to a gone endpoint"
    );
    let log = actions(&store).await;
    assert!(log.iter().any(|a| a == "webhook.disabled"), "{log:?}");
    // The managers are told, in their language.
    let told = |sender: &Recorder| -> Vec<String> {
        sender
            .mails()
            .into_iter()
            .filter(|m| m.subject == "Et webhook-endepunkt er slået fra")
            .map(|m| m.text)
            .collect()
    };
    let mails = told(&sender);
    assert_eq!(mails.len(), 1, "{:?}", sender.mails());
    assert!(
        mails[0].contains(gone) && mails[0].contains("410 Gone"),
        "{}",
        mails[0]
    );

    // Another endpoint that fails for five days (an outage longer than R32's schedule: its
    // messages go dead, and the endpoint is disabled at the first failure five days in).
    let failing = "https://hooks.example.com/failing";
    let later = now + Duration::hours(1);
    let (id, _) = make(&store, &caller, failing, &["UserActivated"], later).await;
    sender.answer_webhooks(None);
    for day in 0..6 {
        let at_time = later + Duration::days(day);
        let user = format!("u{day}");
        app_user(&store, &caller, &user, at_time).await;
        dispatch_due(&store, &sender, at_time).await.unwrap();
    }
    let endpoint = store
        .endpoints(&tenant())
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.endpoint_id == id)
        .unwrap();
    assert_eq!(endpoint.disabled, Some(Disabled::Failing));
    let mails = told(&sender);
    assert_eq!(mails.len(), 2);
    assert!(
        mails[1].contains(failing) && mails[1].contains("siden"),
        "{}",
        mails[1]
    );
    // Enabled again by an administrator: the streak starts anew.
    let patch = EndpointPatch {
        enabled: Some(true),
        ..Default::default()
    };
    let names = public();
    let view = webhooks::update_endpoint(
        &store,
        &caller,
        &id,
        patch,
        &on_aws(&names),
        later + Duration::days(6),
    )
    .await
    .unwrap();
    assert!(view.enabled && view.failing_since.is_none());
}

/// A user created by Ada at `at` (an `UserActivated` event).
async fn app_user(
    store: &MemoryStore,
    caller: &Caller,
    id: &str,
    at: chrono::DateTime<chrono::Utc>,
) {
    let user = licensing_tests::new_user(id, "New User", Language::En, &[]);
    let body = serde_json::json!({});
    licensing::app::create_user(store, caller, user.into(), None, &body, at)
        .await
        .unwrap();
}

#[tokio::test]
async fn addresses_inside_are_refused_and_the_metadata_service_always() {
    let now = at("2026-11-19T10:00:00Z");
    let (store, caller) = acme_after_a_purchase(now).await;
    let names = Names(vec![
        ("loopback.example.com", "127.0.0.1"),
        ("metadata.example.com", "169.254.169.254"),
        ("mixed.example.com", "93.184.215.14"),
        ("mixed.example.com", "10.0.0.7"),
        ("receiver.local.test", "127.0.0.1"),
    ]);
    let refused = |result: Result<webhooks::EndpointWithSecret, AppError>| match result {
        Err(AppError::Domain(DomainError::AddressRefused(why))) => why,
        other => panic!("not refused: {other:?}"),
    };
    for url in [
        "https://loopback.example.com/hook",
        "https://metadata.example.com/latest/meta-data",
        "https://mixed.example.com/hook",
        "https://127.0.0.1/hook",
        "https://[::ffff:169.254.169.254]/",
        "https://localhost/hook",
        "https://nowhere.example.com/hook",
    ] {
        let new = endpoint(url, &["LicencesPurchased"]);
        let why =
            refused(webhooks::create_endpoint(&store, &caller, new, &on_aws(&names), now).await);
        assert!(!why.is_empty(), "{url}");
    }
    let http = endpoint("http://hooks.example.com/", &["LicencesPurchased"]);
    assert!(matches!(
        webhooks::create_endpoint(&store, &caller, http, &on_aws(&names), now).await,
        Err(AppError::Domain(DomainError::AddressRefused(_)))
    ));
    // A local run allows receivers inside, over http; never the metadata service.
    let local = WebhookSettings {
        allow_private: true,
        resolver: &names,
    };
    let new = endpoint(
        "http://receiver.local.test:8080/hook",
        &["LicencesPurchased"],
    );
    assert!(
        webhooks::create_endpoint(&store, &caller, new, &local, now)
            .await
            .is_ok()
    );
    let new = endpoint("http://metadata.example.com/", &["LicencesPurchased"]);
    refused(webhooks::create_endpoint(&store, &caller, new, &local, now).await);
}

#[tokio::test]
async fn a_rotated_secret_signs_beside_the_new_one_for_a_day_and_a_message_is_resent_under_its_id()
{
    let now = at("2026-11-19T10:00:00Z");
    let (store, caller) = acme_after_a_purchase(now).await;
    let erp = "https://erp.example.com/licences";
    let (id, old) = make(&store, &caller, erp, &["LicencesPurchased"], now).await;
    let rotated = webhooks::rotate_secret(&store, &caller, &id, now)
        .await
        .unwrap();
    assert_ne!(rotated.secret, old);
    assert_eq!(
        rotated.endpoint.previous_secret_until,
        Some(now + Duration::hours(24))
    );
    let sender = Recorder::new();
    dispatch_due(&store, &sender, now).await.unwrap();
    let post = posted(&sender, erp).pop().expect("sent");
    assert_eq!(post.signature.split(' ').count(), 2);
    for secret in [&old, &rotated.secret] {
        assert!(verify(
            secret,
            &post.webhook_id,
            post.timestamp,
            &post.body,
            &post.signature,
            now
        ));
    }
    // A day later only the new secret signs.
    let test = webhooks::send_test(&store, &caller, &id, now + Duration::hours(25))
        .await
        .unwrap();
    dispatch_due(&store, &sender, now + Duration::hours(25))
        .await
        .unwrap();
    let post = posted(&sender, erp).pop().expect("the test message");
    assert_eq!(post.webhook_id, test.message_id);
    assert_eq!(event_type(&post), "WebhookTest");
    assert_eq!(post.signature.split(' ').count(), 1);
    let later = now + Duration::hours(25);
    assert!(verify(
        &rotated.secret,
        &post.webhook_id,
        post.timestamp,
        &post.body,
        &post.signature,
        later
    ));
    assert!(!verify(
        &old,
        &post.webhook_id,
        post.timestamp,
        &post.body,
        &post.signature,
        later
    ));

    // The purchase's message, sent again under its id.
    let first = posted(&sender, erp)[0].clone();
    let again = webhooks::resend(&store, &caller, &id, &first.webhook_id, later)
        .await
        .unwrap();
    assert_eq!(again.message_id, first.webhook_id);
    dispatch_due(&store, &sender, later).await.unwrap();
    let resent = posted(&sender, erp).pop().unwrap();
    assert_eq!(
        (resent.webhook_id.as_str(), resent.body.as_str()),
        (first.webhook_id.as_str(), first.body.as_str())
    );
    assert!(matches!(
        webhooks::resend(&store, &caller, &id, "msg-unknown", later).await,
        Err(AppError::NotFound(_))
    ));
    let actions = actions(&store).await;
    for action in [
        "webhook.created",
        "webhook.secret_rotated",
        "webhook.test_sent",
        "webhook.resent",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}

#[tokio::test]
async fn only_an_administrator_manages_webhooks_and_a_tenant_has_ten_at_most() {
    let now = at("2026-11-19T10:00:00Z");
    let (store, caller) = acme_after_a_purchase(now).await;
    app_user(&store, &caller, "bo", now).await;
    let bo = Caller {
        tenant: tenant(),
        user: UserId::parse("bo").unwrap(),
    };
    let names = public();
    let new = endpoint("https://erp.example.com/", &["LicencesPurchased"]);
    let refused = webhooks::create_endpoint(&store, &bo, new, &on_aws(&names), now).await;
    assert!(
        matches!(
            refused,
            Err(AppError::Domain(DomainError::AdministratorOnly)) | Err(AppError::Forbidden(_))
        ),
        "{refused:?}"
    );
    for _ in 0..10 {
        make(
            &store,
            &caller,
            "https://erp.example.com/",
            &["LicencesPurchased"],
            now,
        )
        .await;
    }
    let eleventh = endpoint("https://erp.example.com/", &["LicencesPurchased"]);
    assert!(matches!(
        webhooks::create_endpoint(&store, &caller, eleventh, &on_aws(&names), now).await,
        Err(AppError::Domain(DomainError::LimitReached { max: 10, .. }))
    ));
    let unknown = endpoint("https://erp.example.com/", &["Everything"]);
    assert!(matches!(
        webhooks::create_endpoint(&store, &caller, unknown, &on_aws(&names), now).await,
        Err(AppError::Domain(DomainError::InvalidInput {
            field: "events",
            ..
        }))
    ));
    // Deleted: gone from the list, its messages dropped.
    let id = store.endpoints(&tenant()).await.unwrap()[0]
        .endpoint_id
        .clone();
    webhooks::delete_endpoint(&store, &caller, &id, now)
        .await
        .unwrap();
    assert_eq!(store.endpoints(&tenant()).await.unwrap().len(), 9);
    assert!(matches!(
        webhooks::get_endpoint(&store, &caller, &id, now).await,
        Err(AppError::NotFound(_))
    ));
}

fn post_to(url: String) -> Post {
    Post {
        url,
        webhook_id: "msg-1".into(),
        timestamp: 1_700_000_000,
        signature: "v1,x".into(),
        body: "{}".into(),
    }
}

/// The webhook sender itself (the `webhooks` function's one job): a name is checked as it
/// resolves, and nothing is connected to when it is refused; a redirect is an answer, never
/// followed; an endpoint that does not answer is given up on at the timeout.
#[tokio::test]
async fn the_sender_checks_every_address_as_it_resolves_and_follows_no_redirect() {
    use licensing::adapters::webhook_post::{Poster, post, resolve};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let refused = resolve("localhost", port, false).await.unwrap_err();
    assert!(refused.contains("loopback"), "{refused}");
    for url in [
        format!("https://localhost:{port}/hook"),
        format!("https://127.0.0.1:{port}/hook"),
        format!("http://127.0.0.1:{port}/hook"),
    ] {
        let answer = post(&Poster::new(false), &post_to(url.clone())).await;
        assert_eq!(answer.status, None, "{url}");
        assert!(answer.error.is_some(), "{url}");
    }
    let connected =
        tokio::time::timeout(std::time::Duration::from_millis(200), listener.accept()).await;
    assert!(connected.is_err(), "nothing connected to a refused address");

    // Where private receivers are allowed: a redirect to the metadata service is an answer.
    let server = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut request = vec![0u8; 4096];
        let _ = socket.read(&mut request).await.unwrap();
        let body = "x".repeat(300);
        let head = format!(
            "HTTP/1.1 302 Found\r\nLocation: http://169.254.169.254/\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        socket.write_all(head.as_bytes()).await.unwrap();
        socket.write_all(body.as_bytes()).await.unwrap();
        String::from_utf8_lossy(&request).into_owned()
    });
    let answer = post(
        &Poster::new(true),
        &post_to(format!("http://127.0.0.1:{port}/hook")),
    )
    .await;
    assert_eq!(answer.status, Some(302), "{answer:?}");
    assert_eq!(answer.answer.len(), 256, "the start of the answer");
    let request = server.await.unwrap();
    for header in [
        "webhook-id: msg-1",
        "webhook-timestamp: 1700000000",
        "webhook-signature: v1,x",
    ] {
        assert!(
            request.to_lowercase().contains(header),
            "{header}: {request}"
        );
    }

    // An endpoint that takes the connection and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let (socket, _) = silent.accept().await.unwrap();
        tokio::time::sleep(std::time::Duration::from_secs(5)).await;
        drop(socket);
    });
    let poster = Poster {
        allow_private: true,
        timeout: std::time::Duration::from_millis(300),
    };
    let answer = post(&poster, &post_to(format!("http://127.0.0.1:{port}/"))).await;
    assert_eq!(answer.status, None);
    assert!(
        answer
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("timed out")),
        "{answer:?}"
    );
    hold.abort();
}

/// An endpoint written by someone else between a delivery's attempt and its write of the
/// endpoint's state (an administrator's change, another dispatcher): the delivery reads it
/// again and applies its outcomes to it as it is, and the endpoint's later messages in the
/// same delivery are neither dropped nor sent into the same failure.
#[tokio::test]
async fn a_write_that_loses_a_race_for_the_endpoint_is_applied_again_and_drops_nothing() {
    use licensing_tests::faults::{Fault, Faulty, Method};
    use std::sync::atomic::{AtomicBool, Ordering};
    let made = at("2026-11-19T09:00:00Z");
    let now = at("2026-11-19T10:00:00Z");
    let (store, caller) = acme_after_a_purchase(now).await;
    // A second purchase: two changes, so two batches for the endpoint in one delivery.
    let quote = licensing::app::create_quote(&store, &caller, Some(1), &Default::default(), now)
        .await
        .unwrap();
    let body = serde_json::json!({ "quote_id": quote.quote_id });
    licensing::app::approve_purchase(&store, &caller, Some("k-2"), &body, &quote.quote_id, now)
        .await
        .unwrap();
    let erp = "https://erp.example.com/licences";
    let (id, _) = make(&store, &caller, erp, &["LicencesPurchased"], made).await;
    let lost_once = std::sync::Arc::new(AtomicBool::new(false));
    let lost = lost_once.clone();
    let racing = Faulty::new(store.clone(), move |call| {
        if call.method == Method::PutEndpoint && !lost.swap(true, Ordering::SeqCst) {
            Fault::Fail(licensing::ports::StoreError::Conflict)
        } else {
            Fault::Pass
        }
    });
    let sender = Recorder::new();
    sender.answer_webhooks(Some(503));
    // A second later: the second purchase's instant is a microsecond after the first's.
    let later = now + Duration::seconds(1);
    let report = dispatch_due(&racing, &sender, later).await.unwrap();
    assert!(
        lost_once.load(Ordering::SeqCst),
        "the race happened: {report:?}"
    );
    assert_eq!(
        posted(&sender, erp).len(),
        1,
        "one attempt; the other message failed with it"
    );
    let endpoint = store
        .endpoints(&tenant())
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.endpoint_id == id)
        .unwrap();
    assert_eq!(
        endpoint.failing_since,
        Some(later),
        "written on the second try"
    );
    let waiting = waiting_webhooks(&store);
    assert_eq!(
        waiting.len(),
        2,
        "both purchases' messages wait for their retry: {report:?}"
    );
    assert!(waiting.iter().all(|m| m.attempts == 1));
}

/// The webhook sender throttled (Lambda's `TooManyRequestsException`): a "slow down" (R32),
/// which spends no attempt of any of the endpoint's messages and fills no history.
#[tokio::test]
async fn a_throttled_sender_spends_no_attempt_and_keeps_no_history() {
    let now = at("2026-11-19T10:00:00Z");
    let (store, caller) = acme_after_a_purchase(now).await;
    let erp = "https://erp.example.com/licences";
    let (id, _) = make(
        &store,
        &caller,
        erp,
        &["LicencesPurchased", "InvoiceIssued"],
        now,
    )
    .await;
    let sender = Recorder::new();
    sender.refuse_webhooks(Some("TooManyRequestsException"));
    let report = dispatch_due(&store, &sender, now).await.unwrap();
    assert!(report.slowed >= 2, "{report:?}");
    let waiting = waiting_webhooks(&store);
    assert_eq!(waiting.len(), 2);
    assert!(waiting.iter().all(|m| m.attempts == 0), "{waiting:?}");
    assert!(
        webhooks::list_attempts(&store, &caller, &id, now)
            .await
            .unwrap()
            .is_empty()
    );
    // A minute later the sender takes them.
    sender.refuse_webhooks(None);
    dispatch_due(&store, &sender, now + Duration::seconds(61))
        .await
        .unwrap();
    assert_eq!(posted(&sender, erp).len(), 2);
}

/// Creates racing for the last places of the ten: as many are made as there are places, the
/// rest refused with `limit_reached`, in both stores: the count is in the store's write, and a
/// delete gives its place back.
async fn ten_at_most_when_made_at_once<S: AccountReads + Commits + Webhooks>(store: &S) {
    let now = at("2026-11-19T10:00:00Z");
    let caller = acme_in(store, now).await;
    let names = public();
    let settings = on_aws(&names);
    let create = || {
        let new = endpoint("https://erp.example.com/", &["LicencesPurchased"]);
        webhooks::create_endpoint(store, &caller, new, &settings, now)
    };
    for _ in 0..7 {
        create().await.unwrap();
    }
    let answers = futures::future::join_all((0..6).map(|_| create())).await;
    let made: Vec<_> = answers.iter().filter_map(|a| a.as_ref().ok()).collect();
    assert_eq!(made.len(), 3, "{answers:?}");
    assert!(
        answers.iter().filter(|a| a.is_err()).all(|a| matches!(
            a,
            Err(AppError::Domain(DomainError::LimitReached { max: 10, .. }))
        )),
        "{answers:?}"
    );
    let listed = store.endpoints(&tenant()).await.unwrap();
    assert_eq!(listed.len(), 10);
    // The store's write itself refuses the eleventh.
    let mut eleventh = listed[0].clone();
    eleventh.endpoint_id = "we-eleventh".into();
    eleventh.version = 1;
    assert!(matches!(
        store.put_endpoint(&eleventh, None, None).await,
        Err(licensing::ports::StoreError::LimitReached(_))
    ));
    webhooks::delete_endpoint(store, &caller, &made[0].endpoint.endpoint_id, now)
        .await
        .unwrap();
    create().await.expect("the place given back");
}

/// The tenant `acme` in `store`, and its administrator Ada.
async fn acme_in<S: AccountReads + Commits>(
    store: &S,
    now: chrono::DateTime<chrono::Utc>,
) -> Caller {
    let start = chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    licensing::app::create_tenant(store, "op", licensing_tests::acme("acme", start, 2, 1), now)
        .await
        .unwrap();
    Caller {
        tenant: tenant(),
        user: UserId::parse("ada").unwrap(),
    }
}

/// The managers' mail about an endpoint the dispatcher turned off is written with that
/// version of the endpoint, in both stores: a write that loses to another leaves no mail, and
/// one that is made cannot be left without its mail by a process dying after it.
async fn the_mail_goes_with_the_endpoint<S: AccountReads + Commits + Webhooks + OutboxStore>(
    store: &S,
) {
    let now = at("2026-11-19T10:00:00Z");
    let caller = acme_in(store, now).await;
    let names = public();
    let new = endpoint("https://erp.example.com/", &["LicencesPurchased"]);
    webhooks::create_endpoint(store, &caller, new, &on_aws(&names), now)
        .await
        .unwrap();
    let mut endpoint = store.endpoints(&tenant()).await.unwrap().remove(0);
    let mail = |name: &str| {
        licensing::outbox::OutboxMessage::new(
            &tenant(),
            name,
            0,
            now,
            licensing::outbox::Payload::Webhook {
                endpoint_id: endpoint.endpoint_id.clone(),
                event_type: "WebhookTest".into(),
                at: now,
                data: serde_json::json!({}),
            },
        )
    };
    let (made, lost) = (mail("made"), mail("lost"));
    endpoint.version += 1;
    endpoint.disabled = Some(Disabled::Gone);
    store
        .put_endpoint(&endpoint, None, Some(("made", &made)))
        .await
        .unwrap();
    // The same version again: another writer was first.
    assert!(matches!(
        store
            .put_endpoint(&endpoint, None, Some(("lost", &lost)))
            .await,
        Err(licensing::ports::StoreError::Conflict)
    ));
    // Beside the tenant's own events.
    let due = store.due_outbox(now, 100).await.unwrap();
    let named: Vec<_> = due
        .iter()
        .filter(|b| b.id.starts_with("O#made#") || b.id.starts_with("O#lost#"))
        .collect();
    assert_eq!(named.len(), 1, "{due:?}");
    assert_eq!(named[0].messages, [made]);
}

#[tokio::test]
async fn the_mail_about_an_endpoint_turned_off_is_written_with_it_in_memory() {
    the_mail_goes_with_the_endpoint(&MemoryStore::new()).await;
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn the_mail_about_an_endpoint_turned_off_is_written_with_it_in_the_table() {
    licensing_tests::require_engines();
    the_mail_goes_with_the_endpoint(&licensing_tests::fresh_store().await).await;
}

#[tokio::test]
async fn a_tenant_has_ten_endpoints_at_most_however_many_are_made_at_once_in_memory() {
    ten_at_most_when_made_at_once(&MemoryStore::new()).await;
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn a_tenant_has_ten_endpoints_at_most_however_many_are_made_at_once_in_the_table() {
    licensing_tests::require_engines();
    ten_at_most_when_made_at_once(&licensing_tests::fresh_store().await).await;
}

fn attempt(endpoint: &str, n: i64) -> licensing::domain::webhooks::Attempt {
    licensing::domain::webhooks::Attempt {
        endpoint_id: endpoint.to_owned(),
        message_id: format!("msg-{n:03}"),
        event_type: "LicencesPurchased".into(),
        at: at("2026-11-19T10:00:00Z") + Duration::seconds(n),
        status: Some(200),
        latency_ms: 3,
        answer: String::new(),
        error: None,
        event_at: at("2026-11-19T10:00:00Z"),
        data: serde_json::json!({}),
    }
}

/// Each endpoint keeps its newest 100 attempts, newest first, in both stores; another
/// endpoint's are its own.
async fn the_newest_hundred<S: Webhooks>(store: &S) {
    let tenant = tenant();
    let first: Vec<_> = (0..60).map(|n| attempt("we-a", n)).collect();
    let second: Vec<_> = (60..105).map(|n| attempt("we-a", n)).collect();
    store.record_attempts(&tenant, &first).await.unwrap();
    store
        .record_attempts(&tenant, &[attempt("we-b", 0)])
        .await
        .unwrap();
    store.record_attempts(&tenant, &second).await.unwrap();
    let kept = store.attempts(&tenant, "we-a").await.unwrap();
    assert_eq!(kept.len(), 100);
    assert_eq!(kept[0].message_id, "msg-104", "newest first");
    assert_eq!(kept[99].message_id, "msg-005");
    assert_eq!(store.attempts(&tenant, "we-b").await.unwrap().len(), 1);
}

#[tokio::test]
async fn each_endpoint_keeps_its_newest_hundred_attempts_in_memory() {
    the_newest_hundred(&MemoryStore::new()).await;
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn each_endpoint_keeps_its_newest_hundred_attempts_in_the_table() {
    licensing_tests::require_engines();
    the_newest_hundred(&licensing_tests::fresh_store().await).await;
}

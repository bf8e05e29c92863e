//! R32 on DynamoDB Local (the engine tier): what only the table shows of delivery across an
//! outage — the dead letter out of the due index and back with a redrive, and an item that
//! cannot be read set aside without holding back another tenant, with the recording sender.
//! Then the whole path: a 54-hour SES refusal through the run command's API, stream and
//! sweeper, on moto, its days passed on the functions' clock.

use chrono::{DateTime, Duration, Utc};
use licensing::adapters::dynamodb::DynamoStore;
use licensing::app;
use licensing::domain::identity::Language;
use licensing::domain::identity::TenantId;
use licensing::notify::dispatch_due;
use licensing::notify::mail::subject;
use licensing::notify::recorded::Recorder;
use licensing::outbox::MailKind;
use licensing::outbox::{FAILURES_BEFORE_DEAD, backoff};
use licensing::ports::OutboxStore;
use licensing_tests::http::require_api;
use licensing_tests::mail::sent_mail;
use licensing_tests::{
    acme, at, buy_one_licence, fresh_store, nov, put_unreadable_outbox_item, require_engines, sdk,
    token, unique,
};
use serde_json::{Value, json};

/// A tenant with a licence just bought at `now`: its confirmation waits in the outbox.
async fn tenant_after_a_purchase(
    store: &DynamoStore,
    now: chrono::DateTime<chrono::Utc>,
) -> TenantId {
    let id = unique("outage");
    app::create_tenant(
        store,
        "op",
        acme(&id, nov(), 3, 0),
        at("2026-11-01T08:00:00Z"),
    )
    .await
    .unwrap();
    let caller = licensing_tests::ada(&id);
    assert_eq!(buy_one_licence(store, &caller, "k", now).await.status, 201);
    caller.tenant
}

/// The tenant's outbox items as stored: (state, due_pk).
async fn outbox_states(store: &DynamoStore, tenant: &TenantId) -> Vec<(String, String)> {
    store
        .partition(tenant, "O#")
        .await
        .unwrap()
        .into_iter()
        .map(|item| {
            (
                item["state"].as_str().unwrap_or_default().to_owned(),
                item["due_pk"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Purchase confirmations sent (each test has its own table and sender).
fn confirmations(sender: &Recorder) -> usize {
    sender
        .mails()
        .iter()
        .filter(|m| m.subject == "Dit køb af licenser er bekræftet")
        .count()
}

#[tokio::test]
#[ignore = "needs DynamoDB Local: ./scripts/test.sh runs it"]
async fn r32_a_dead_letter_leaves_the_due_index_and_a_redrive_delivers_it_once() {
    require_engines();
    let store = fresh_store().await;
    let mut now = at("2026-11-19T10:00:00Z");
    let tenant = tenant_after_a_purchase(&store, now).await;
    let sender = Recorder::new();
    sender.refuse_mail(Some("MessageRejected"));
    for failure in 1..=FAILURES_BEFORE_DEAD {
        let report = dispatch_due(&store, &sender, now).await.unwrap();
        assert!(report.failed > 0, "attempt {failure}: {report:?}");
        // A claim goes by the clock as it runs (whole seconds): a slow engine may add one.
        now += backoff(failure) + chrono::Duration::seconds(2);
    }
    let states = outbox_states(&store, &tenant).await;
    assert!(
        !states.is_empty()
            && states
                .iter()
                .all(|(state, due)| state == "dead" && due.starts_with("OUTBOX_DEAD#")),
        "{states:?}"
    );
    sender.refuse_mail(None);
    assert_eq!(dispatch_due(&store, &sender, now).await.unwrap().batches, 0);
    assert_eq!(confirmations(&sender), 0);

    // The operator's command (README, "Operations"), then the same call again: nothing left.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_redrive"))
        .args(["--table", store.table(), "--tenant", tenant.as_str()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("redriven 1 dead messages of tenant {tenant}")
    );
    let again = store.redrive_dead(Some(&tenant), now).await.unwrap();
    assert_eq!(again, 0, "once");
    // Due at the command's instant (the real clock's, R33).
    let after = chrono::Utc::now().max(now);
    dispatch_due(&store, &sender, after).await.unwrap();
    dispatch_due(&store, &sender, after + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(confirmations(&sender), 1);
    assert!(outbox_states(&store, &tenant).await.is_empty());
}

#[tokio::test]
#[ignore = "needs DynamoDB Local: ./scripts/test.sh runs it"]
async fn r32_an_outbox_item_that_cannot_be_read_is_set_aside_alone() {
    require_engines();
    let store = fresh_store().await;
    let now = at("2026-11-19T10:00:00Z");
    let good = tenant_after_a_purchase(&store, now).await;
    // Another tenant's batch whose messages are not JSON, due first.
    let poisoned = TenantId::parse(&unique("poison")).unwrap();
    put_unreadable_outbox_item(&store, &poisoned, "2026-11-01T00:00:00.000000Z").await;
    let sender = Recorder::new();
    let report = dispatch_due(&store, &sender, now).await.unwrap();
    assert!(report.batches > 0, "{report:?}");
    assert_eq!(
        confirmations(&sender),
        1,
        "the other tenant is not held back"
    );
    assert!(outbox_states(&store, &good).await.is_empty());
    assert_eq!(
        outbox_states(&store, &poisoned).await,
        [("unreadable".to_owned(), String::new())],
        "kept, out of the due index"
    );
    let again = dispatch_due(&store, &sender, now).await.unwrap();
    assert_eq!(again.batches, 0);
}

/// The run command's sweeper invoked as EventBridge Scheduler does, for `time`: its outcome.
async fn sweep_through_the_api(api: &licensing_tests::http::Api, time: DateTime<Utc>) -> Value {
    let event = json!({
        "version": "0", "id": format!("outage-{}", time.timestamp()), "detail-type": "Scheduled Event",
        "source": "aws.scheduler", "account": "123456789012", "time": time.to_rfc3339(),
        "region": "eu-west-1", "resources": [], "detail": {}
    });
    let url = format!("{}/2015-03-31/functions/sweeper/invocations", api.url);
    let answer = api.http.post(url).json(&event).send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.json().await.unwrap()
}

/// The done-when of R32 through `./scripts/up.sh`: the test command starts it on ports of its
/// own with `LICENSING_CLOCK_FILE`, and this test moves the functions' clock an hour at a time,
/// invoking the sweeper at each hour as the schedule would. SES refuses (moto's sender
/// identity deleted) from before a purchase until hour 54, then comes back: the confirmation,
/// and every other mail queued meanwhile, arrives once, and nothing is dead-lettered.
#[tokio::test]
#[ignore = "needs ./scripts/up.sh with LICENSING_CLOCK_FILE: ./scripts/test.sh starts it and runs this"]
async fn r32_a_54_hour_mail_outage_through_the_run_command_delivers_each_mail_once() {
    let api = require_api();
    let clock = std::env::var("LICENSING_CLOCK_FILE")
        .expect("LICENSING_CLOCK_FILE unset: ./scripts/test.sh starts ./scripts/up.sh with one");
    let from = std::env::var("LICENSING_MAIL_FROM").expect("LICENSING_MAIL_FROM");
    let ses = aws_sdk_sesv2::Client::new(&sdk().await);
    let move_clock = |hours: i64| std::fs::write(&clock, format!("+{hours}h\n")).unwrap();
    let confirmations = || async {
        let sent = sent_mail(&api.http).await.unwrap();
        let confirmed = [Language::En, Language::Da]
            .map(|language| subject(MailKind::PurchaseConfirmation, language, false));
        sent.iter()
            .filter(|m| confirmed.contains(&m.subject.as_str()))
            .count()
    };
    let started = Utc::now();
    move_clock(0);
    ses.delete_email_identity()
        .email_identity(&from)
        .send()
        .await
        .unwrap();
    // The demo tenant's administrator; valid past the rehearsal's last hour.
    let ada = token(&api.secret, "ada", Some("acme"), None, 5 * 86_400);
    let (status, bought) = api.buy(&ada, json!({"licences": 1}), "outage-54h").await;
    assert_eq!(status, 201, "{bought}");

    let (mut failed, mut dead) = (0, 0);
    let mut tally = |outcome: &Value| {
        failed += outcome["outbox"]["failed"].as_u64().unwrap();
        dead += outcome["outbox"]["dead"].as_u64().unwrap();
    };
    for hour in 1..=54 {
        move_clock(hour);
        tally(&sweep_through_the_api(&api, started + Duration::hours(hour)).await);
        assert_eq!(confirmations().await, 0, "hour {hour}: SES refuses");
    }
    ses.create_email_identity()
        .email_identity(&from)
        .send()
        .await
        .unwrap();
    let mut arrived = None;
    // The schedule's next attempt after hour 54 is due within 24 hours (RETRY_SCHEDULE_SECS).
    for hour in 55..=84 {
        move_clock(hour);
        tally(&sweep_through_the_api(&api, started + Duration::hours(hour)).await);
        let sent = confirmations().await;
        assert!(sent <= 1, "hour {hour}: {sent} confirmations");
        if sent == 1 && arrived.is_none() {
            arrived = Some(hour);
        }
    }
    assert!(
        failed >= 5,
        "the sweeps tried during the outage ({failed} failed)"
    );
    assert_eq!(dead, 0, "a 54-hour outage is inside the schedule");
    let arrived = arrived.expect("the confirmation arrives after the outage");
    let sent = sent_mail(&api.http).await.unwrap();
    let mut seen = std::collections::HashSet::new();
    for mail in &sent {
        assert!(
            seen.insert((&mail.to, &mail.subject, &mail.body)),
            "sent twice: {mail:?}"
        );
    }
    eprintln!(
        "54-hour SES outage through the run command: {failed} failed attempts in the sweeper's runs, the confirmation \
         delivered at hour {arrived}, {} mails in all, each once",
        sent.len()
    );
}

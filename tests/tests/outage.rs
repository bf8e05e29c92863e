//! R32 on DynamoDB Local (the engine tier): what only the table shows of delivery across an
//! outage — the dead letter out of the due index and back with a redrive, and an item that
//! cannot be read set aside without holding back another tenant. The sender is the recording
//! one: SES and EventBridge are not what is tested here (`notify.rs` delivers through moto).

use licensing::adapters::dynamodb::DynamoStore;
use licensing::app;
use licensing::domain::identity::TenantId;
use licensing::notify::dispatch_due;
use licensing::notify::recorded::Recorder;
use licensing::outbox::{FAILURES_BEFORE_DEAD, backoff};
use licensing::ports::OutboxStore;
use licensing_tests::{
    acme, at, buy_one_licence, fresh_store, nov, put_unreadable_outbox_item, require_engines,
    unique,
};

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

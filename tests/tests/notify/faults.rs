//! Delivery when the bus is missing, the sender unverified, a dispatcher dies after sending, or the per-run cap holds mail back.

use super::*;

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn with_the_bus_missing_and_the_sender_unverified_a_purchase_answers_at_once_and_the_sweeper_delivers_later_exactly_once()
 {
    require_engines();
    let good = world("licensing").await;
    let sdk = sdk().await;
    // The same table, but EventBridge not answering and a sender never verified. (Not a bus
    // that does not exist: LocalStack accepts events to one, tests/tests/engines.rs.)
    let (ses, bus) = Notifier::client_configs(&sdk);
    let broken = Streamed::open(
        good.store.store.clone(),
        Notifier::from_configs(
            ses,
            bus.endpoint_url(closed_endpoint()),
            "licensing",
            "nobody@unverified.example",
        ),
    )
    .await;
    let c = caller(&good, "ada");
    let now = at("2026-11-19T10:00:00Z");
    // The purchase function's path: it commits and answers, and sends nothing, whatever SES
    // and EventBridge do (it has no sender, nor the permission to send).
    let answer = buy_one_licence(&good.store.store, &c, "fault", now).await;
    assert_eq!(
        answer.status, 201,
        "the purchase commits whatever the mail and bus do"
    );
    let waiting = good.store.store.pending_outbox(&c.tenant).await.unwrap();
    assert!(!waiting.is_empty() && waiting.iter().all(|b| b.attempts == 0));
    // The dispatcher reads the stream while both fail: its attempt fails, the messages wait.
    broken.deliver(now).await;
    let pending = good.store.store.pending_outbox(&c.tenant).await.unwrap();
    let waiting: usize = pending.iter().map(|b| b.messages.0.len()).sum();
    assert!(
        waiting >= 3,
        "mail and events wait in the outbox: {waiting}"
    );
    assert!(pending.iter().all(|b| b.attempts == 1));
    assert!(mails(&good.marker).await.is_empty());
    // Not due again before its backoff.
    let early = dispatch_due(&good.store.store, &good.store.then.notifier, now)
        .await
        .unwrap();
    assert_eq!(early.batches, 0);
    // The fault clears; with no stream reader running, the sweeper's outbox run delivers each
    // message once.
    let later = now + Duration::minutes(5);
    let report = dispatch_due(&good.store.store, &good.store.then.notifier, later)
        .await
        .unwrap();
    assert!(report.batches >= 1 && report.failed == 0, "{report:?}");
    let again = dispatch_due(
        &good.store.store,
        &good.store.then.notifier,
        later + Duration::minutes(5),
    )
    .await
    .unwrap();
    assert_eq!(again.batches, 0);
    assert_eq!(confirmations(&good).await, 1);
    let seen = events(&good.queue_url, &good.tenant).await;
    assert_eq!(
        seen.iter()
            .filter(|(t, _)| t == "LicencesPurchased")
            .count(),
        1
    );
    assert!(
        good.store
            .store
            .pending_outbox(&c.tenant)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn a_dispatcher_that_dies_after_sending_causes_at_most_one_duplicate_with_the_same_id() {
    require_engines();
    let w = world("licensing").await;
    let store = w.store.store.clone();
    let c = caller(&w, "ada");
    let now = at("2026-11-19T10:00:00Z");
    // Committed without delivery, so the outbox holds the purchase's messages.
    buy_one_licence(&store, &c, "crash", now).await;
    let batches = store.pending_outbox(&c.tenant).await.unwrap();
    assert!(!batches.is_empty());
    // A dispatcher sends everything, then "dies" before recording it: the batches are back as
    // they were when it had claimed them (lease held, attempts unchanged).
    let t1 = now + Duration::minutes(1);
    let report = dispatch_due(&store, &w.store.then.notifier, t1)
        .await
        .unwrap();
    assert_eq!(report.failed, 0);
    for batch in &batches {
        let mut claimed = batch.clone();
        claimed.lease_until = Some(t1.timestamp() + 60);
        let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
            serde_dynamo::to_item(&claimed).unwrap();
        store
            .client()
            .put_item()
            .table_name(store.table())
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
    }
    // While the dead dispatcher's lease holds, nobody sends; after it, one redelivery.
    let held = dispatch_due(&store, &w.store.then.notifier, t1 + Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(held.batches, 0);
    let redo = dispatch_due(&store, &w.store.then.notifier, t1 + Duration::seconds(90))
        .await
        .unwrap();
    assert_eq!(redo.batches, batches.len());
    let after = dispatch_due(&store, &w.store.then.notifier, t1 + Duration::minutes(10))
        .await
        .unwrap();
    assert_eq!(after.batches, 0);
    let seen = events(&w.queue_url, &w.tenant).await;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (_, detail) in &seen {
        *counts
            .entry(detail["message_id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let purchased: Vec<&(String, Value)> = seen
        .iter()
        .filter(|(t, _)| t == "LicencesPurchased")
        .collect();
    assert_eq!(purchased.len(), 2, "one duplicate");
    assert_eq!(
        purchased[0].1["message_id"], purchased[1].1["message_id"],
        "with the same id"
    );
    assert!(
        counts.values().all(|n| *n <= 2),
        "at most one duplicate each: {counts:?}"
    );
    assert_eq!(confirmations(&w).await, 2);
}

/// Mail held back by the per-run cap waits for the next run without counting as a failed
/// attempt: however many runs it takes, it is delivered, never dead-lettered.
#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn mail_over_the_per_run_cap_waits_without_an_attempt_and_is_never_dead_lettered() {
    require_engines();
    let w = world("licensing").await;
    let sdk = sdk().await;
    let capped = Streamed::open(
        w.store.store.clone(),
        Notifier::new(&sdk, "licensing", "licensing@example.com").with_mail_cap(1),
    )
    .await;
    add(
        &w,
        "b1",
        "Bo One",
        Language::En,
        true,
        "2026-11-02T08:00:00Z",
    )
    .await;
    // The third seat on two licences is red: the managers (ada, b1 and b2) are each told.
    let mut user = new_user("b2", "Bo Two", Language::En, &[]);
    user.email = EmailAddress::parse(&format!("b2@{}.dk", w.tenant)).unwrap();
    user.role = administrator();
    app::create_user(
        &capped,
        &caller(&w, "ada"),
        user.into(),
        None,
        &Value::Null,
        at("2026-11-03T08:00:00Z"),
    )
    .await
    .unwrap();
    let tenant = TenantId::parse(&w.tenant).unwrap();
    let pending = w.store.store.pending_outbox(&tenant).await.unwrap();
    assert!(!pending.is_empty(), "the cap held mail back");
    // Held back, not failed: no message counts an attempt.
    let attempts: Vec<u32> = pending
        .iter()
        .flat_map(|b| &b.messages.0)
        .map(|m| m.attempts)
        .collect();
    assert!(attempts.iter().all(|a| *a == 0), "{attempts:?}");
    // More runs than the dead letter allows attempts; one mail a run.
    let mut now = at("2026-11-03T08:01:00Z");
    for _ in 0..licensing::outbox::FAILURES_BEFORE_DEAD + 2 {
        let report = dispatch_due(&capped.store, &capped.then.notifier, now)
            .await
            .unwrap();
        assert_eq!((report.dead, report.failed), (0, 0), "{report:?}");
        now += Duration::minutes(1);
    }
    assert!(
        w.store
            .store
            .pending_outbox(&tenant)
            .await
            .unwrap()
            .is_empty()
    );
    let told: BTreeSet<String> = mails(&w.marker)
        .await
        .into_iter()
        .map(|(to, _, _)| to)
        .collect();
    for who in ["ada", "b1", "b2"] {
        assert!(
            told.contains(&format!("{who}@{}.dk", w.tenant)),
            "{who}: {told:?}"
        );
    }
}

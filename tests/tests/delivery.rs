//! Delivery on the memory world (the fast tier): the outbox a change writes, claimed, sent
//! through a recording sender and settled, with the backoff, the lease and the dead letter,
//! in milliseconds and without SES, EventBridge or DynamoDB. What only the engines show (the
//! stream, the due index's shards, conditions racing) stays in `notify/`.

use licensing::adapters::memory::MemoryStore;
use licensing::app::{self, Caller};
use licensing::domain::identity::{Language, TenantId};
use licensing::notify::recorded::Recorder;
use licensing::notify::{StreamedBatch, deliver_streamed, dispatch_due};
use licensing::outbox::{FAILURES_BEFORE_DEAD, backoff};
use licensing::ports::{OutboxStore, StoreError};
use licensing_tests::{acme, ada, at, new_user, nov};
use std::collections::BTreeMap;

/// Acme with 3 licences, and one more licence bought by Ada at `now`: the purchase's outbox
/// (a confirmation to Ada, in Danish, and its bus events) is pending.
pub(crate) async fn acme_after_a_purchase(
    now: chrono::DateTime<chrono::Utc>,
) -> (MemoryStore, Caller) {
    let store = MemoryStore::new();
    app::create_tenant(
        &store,
        "op",
        acme("acme", nov(), 3, 2),
        at("2026-11-01T08:00:00Z"),
    )
    .await
    .unwrap();
    let caller = ada("acme");
    let quote = app::create_quote(&store, &caller, Some(1), &BTreeMap::new(), now)
        .await
        .unwrap();
    let body = serde_json::json!({ "quote_id": quote.quote_id });
    app::approve_purchase(&store, &caller, Some("k-1"), &body, &quote.quote_id, now)
        .await
        .unwrap();
    (store, caller)
}

fn tenant() -> TenantId {
    TenantId::parse("acme").unwrap()
}

fn confirmations(sender: &Recorder) -> Vec<String> {
    sender
        .mails()
        .into_iter()
        .filter(|m| m.subject == "Dit køb af licenser er bekræftet")
        .map(|m| m.to)
        .collect()
}

#[tokio::test]
async fn r20_a_purchase_is_confirmed_by_mail_and_on_the_bus_once_and_its_outbox_is_emptied() {
    let now = at("2026-11-19T10:00:00Z");
    let (store, _) = acme_after_a_purchase(now).await;
    let sender = Recorder::new();
    let report = dispatch_due(&store, &sender, now).await.unwrap();
    assert_eq!(confirmations(&sender), ["ada@example.com"]);
    assert!(
        sender
            .events()
            .iter()
            .any(|e| e.detail_type == "LicencesPurchased"),
        "{:?}",
        sender.events()
    );
    assert_eq!((report.failed, report.dead), (0, 0));
    assert!(
        store.outbox(&tenant()).is_empty(),
        "every batch delivered and gone"
    );
    // A second run finds nothing to send: nothing twice.
    let again = dispatch_due(&store, &sender, now).await.unwrap();
    assert_eq!((again.batches, again.mails, again.events), (0, 0, 0));
    assert_eq!(confirmations(&sender).len(), 1);
}

#[tokio::test]
async fn r21_mail_refused_is_retried_after_its_backoff_and_events_already_put_are_not_put_again() {
    let now = at("2026-11-19T10:00:00Z");
    let (store, _) = acme_after_a_purchase(now).await;
    let sender = Recorder::new();
    sender.refuse_mail(Some("MailFromDomainNotVerifiedException"));
    let first = dispatch_due(&store, &sender, now).await.unwrap();
    assert!(first.failed > 0, "{first:?}");
    let events = sender.events().len();
    assert!(events > 0, "the bus took the events while SES refused");
    let left = store.outbox_batches(&tenant());
    assert!(
        left.iter().all(|(b, dead)| !dead && b.attempts == 1),
        "{left:?}"
    );
    assert!(
        left.iter()
            .flat_map(|(b, _)| &b.messages)
            .all(|m| m.last_error.as_deref() == Some("MailFromDomainNotVerifiedException"))
    );

    // SES is back, but the batch is not due before its backoff.
    sender.refuse_mail(None);
    let early = dispatch_due(
        &store,
        &sender,
        now + backoff(1) - chrono::Duration::seconds(1),
    )
    .await
    .unwrap();
    assert_eq!(early.batches, 0);
    assert!(confirmations(&sender).is_empty());
    dispatch_due(&store, &sender, now + backoff(1))
        .await
        .unwrap();
    assert_eq!(confirmations(&sender), ["ada@example.com"]);
    assert_eq!(sender.events().len(), events, "no event put twice");
    assert!(store.outbox(&tenant()).is_empty());
}

/// Dispatches at each time the purchase's confirmation is due, `failures` times, while SES
/// refuses it: when the last one ran.
async fn fail_on_schedule(
    store: &MemoryStore,
    sender: &Recorder,
    mut now: chrono::DateTime<chrono::Utc>,
    failures: u32,
) -> chrono::DateTime<chrono::Utc> {
    for failure in 1..=failures {
        let report = dispatch_due(store, sender, now).await.unwrap();
        assert!(report.failed > 0, "attempt {failure} was made: {report:?}");
        if failure < failures {
            now += backoff(failure);
        }
    }
    now
}

#[tokio::test]
async fn r32_an_outage_of_almost_three_days_loses_nothing_and_the_mail_arrives_once() {
    let start = at("2026-11-19T10:00:00Z");
    let (store, _) = acme_after_a_purchase(start).await;
    let sender = Recorder::new();
    sender.refuse_mail(Some("MessageRejected"));
    // Every attempt but the last of the schedule fails: 3 days and 3 hours of outage.
    let last = fail_on_schedule(&store, &sender, start, FAILURES_BEFORE_DEAD - 1).await;
    let waiting = store.outbox(&tenant());
    assert!(!waiting.is_empty() && waiting.iter().all(|m| !m.dead));
    sender.refuse_mail(None);
    let recovered = last + backoff(FAILURES_BEFORE_DEAD - 1);
    assert!(
        recovered - start >= chrono::Duration::days(3),
        "{}",
        recovered - start
    );
    dispatch_due(&store, &sender, recovered).await.unwrap();
    assert_eq!(confirmations(&sender), ["ada@example.com"]);
    assert!(store.outbox(&tenant()).is_empty());
}

#[tokio::test]
async fn r32_a_message_is_dead_only_after_its_schedule_and_an_operator_redrives_it_once() {
    let start = at("2026-11-19T10:00:00Z");
    let (store, _) = acme_after_a_purchase(start).await;
    let sender = Recorder::new();
    sender.refuse_mail(Some("MessageRejected"));
    let last = fail_on_schedule(&store, &sender, start, FAILURES_BEFORE_DEAD).await;
    let left = store.outbox_batches(&tenant());
    assert!(
        !left.is_empty()
            && left
                .iter()
                .all(|(b, dead)| *dead && b.messages.iter().all(|m| m.dead)),
        "{left:?}"
    );
    let kept = &left[0].0.messages[0];
    assert_eq!(kept.attempts, FAILURES_BEFORE_DEAD);
    assert_eq!(kept.last_error.as_deref(), Some("MessageRejected"));
    // Dead is out of the due index: a later run does not send it.
    sender.refuse_mail(None);
    let later = last + chrono::Duration::days(1);
    assert_eq!(
        dispatch_due(&store, &sender, later).await.unwrap().batches,
        0
    );
    assert!(confirmations(&sender).is_empty());
    // The operator fixes the cause and redrives the tenant's dead letters: sent once.
    let redriven = store.redrive_dead(Some(&tenant()), later).await.unwrap();
    assert_eq!(redriven, 1);
    dispatch_due(&store, &sender, later).await.unwrap();
    dispatch_due(&store, &sender, later + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(confirmations(&sender), ["ada@example.com"]);
    assert!(store.outbox(&tenant()).is_empty());
    assert_eq!(store.redrive_dead(None, later).await.unwrap(), 0);
}

#[tokio::test]
async fn r32_slow_down_waits_without_counting_and_never_kills_a_message() {
    let mut now = at("2026-11-19T10:00:00Z");
    let (store, _) = acme_after_a_purchase(now).await;
    let sender = Recorder::new();
    sender.refuse_mail(Some("TooManyRequestsException"));
    // Twice the dead letter's attempts of throttling, a minute apart.
    for _ in 0..2 * FAILURES_BEFORE_DEAD {
        let report = dispatch_due(&store, &sender, now).await.unwrap();
        assert_eq!((report.failed, report.dead), (0, 0), "{report:?}");
        assert!(report.slowed > 0);
        now += chrono::Duration::seconds(licensing::outbox::SLOW_DOWN_SECS);
    }
    let waiting = store.outbox(&tenant());
    assert!(
        waiting.iter().all(|m| m.attempts == 0 && !m.dead),
        "{waiting:?}"
    );
    sender.refuse_mail(None);
    dispatch_due(&store, &sender, now).await.unwrap();
    assert_eq!(confirmations(&sender), ["ada@example.com"]);
}

#[tokio::test]
async fn r32_a_failing_mail_does_not_take_its_events_with_it_nor_spend_attempts_early() {
    let start = at("2026-11-19T10:00:00Z");
    let (store, _) = acme_after_a_purchase(start).await;
    let sender = Recorder::new();
    // SES fails and EventBridge throttles: the batch is due again in a minute for the events,
    // but the mail waits for its own schedule.
    sender.refuse_mail(Some("MessageRejected"));
    sender.refuse_events(Some("ThrottlingException"));
    dispatch_due(&store, &sender, start).await.unwrap();
    // Its second attempt, 5 s later, fails too: the mail's next is in 5 minutes.
    let second = start + backoff(1);
    let report = dispatch_due(&store, &sender, second).await.unwrap();
    assert_eq!((report.failed, report.events), (1, 0), "{report:?}");
    // A minute in, the events are due and taken; the mail is not tried before its time.
    sender.refuse_events(None);
    let minute = start + chrono::Duration::seconds(licensing::outbox::SLOW_DOWN_SECS);
    let report = dispatch_due(&store, &sender, minute).await.unwrap();
    assert!(report.events > 0 && report.failed == 0, "{report:?}");
    let waiting = store.outbox(&tenant());
    assert_eq!(waiting.len(), 1, "only the mail: {waiting:?}");
    assert_eq!(waiting[0].attempts, 2, "two attempts, not one a minute");
    assert_eq!(waiting[0].next_attempt_at, second + backoff(2));
}

#[tokio::test]
async fn r20_the_stream_handler_delivers_what_it_reads_and_hands_back_what_it_cannot() {
    let now = at("2026-11-19T10:00:00Z");
    let (store, _) = acme_after_a_purchase(now).await;
    let batches = store.due_outbox(now, 100).await.unwrap();
    let mut records: Vec<StreamedBatch> = batches
        .into_iter()
        .enumerate()
        .map(|(i, batch)| (format!("seq-{i}"), Ok(batch)))
        .collect();
    records.push((
        "seq-unreadable".into(),
        Err(StoreError::Backend(
            "an image the adapter cannot read".into(),
        )),
    ));
    let sender = Recorder::new();
    let (retry, report) = deliver_streamed(&store, &sender, records, now).await;
    assert_eq!(retry, ["seq-unreadable"]);
    assert_eq!(confirmations(&sender), ["ada@example.com"]);
    assert_eq!(report.failed, 0);
}

#[tokio::test]
async fn r30_a_user_activated_without_a_licence_hears_of_the_deadline_and_managers_of_the_removal()
{
    let now = at("2026-11-19T10:00:00Z");
    let (store, caller) = acme_after_a_purchase(now).await;
    // Four licences, Ada and four more: the newest is red (R2, R3).
    for i in 1..=4 {
        let user = new_user(&format!("u-{i}"), &format!("User {i}"), Language::En, &[]);
        app::create_user(
            &store,
            &caller,
            user.into(),
            None,
            &serde_json::json!({}),
            now + chrono::Duration::minutes(i),
        )
        .await
        .unwrap();
    }
    let sender = Recorder::new();
    dispatch_due(&store, &sender, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    let at_risk: Vec<_> = sender
        .mails()
        .into_iter()
        .filter(|m| m.to == "u-4@example.com")
        .collect();
    assert_eq!(at_risk.len(), 1, "{:?}", sender.mails());
    assert!(
        at_risk[0].text.contains("ada@example.com"),
        "names whom to ask"
    );

    // A day before the deadline the managers are reminded; after it the seat is removed, and
    // the managers and the user are told: each by the sweep's change, through the outbox.
    let deadline = now + chrono::Duration::minutes(4) + chrono::Duration::days(7);
    for (instant, done) in [
        (deadline - chrono::Duration::hours(12), "reminders"),
        (deadline + chrono::Duration::seconds(1), "removals"),
    ] {
        let report = app::sweep::sweep(&store, instant, None).await.unwrap();
        let counted = if done == "reminders" {
            report.reminders
        } else {
            report.removals
        };
        assert_eq!(counted, 1, "{done}: {report:?}");
        dispatch_due(&store, &sender, instant).await.unwrap();
    }
    what_ada_and_the_user_were_told(&sender, &store);
}

/// What Ada and the red user were told over the month, each mail once.
fn what_ada_and_the_user_were_told(sender: &Recorder, store: &MemoryStore) {
    let to = |address: &str| -> Vec<String> {
        sender
            .mails()
            .into_iter()
            .filter(|m| m.to == address)
            .map(|m| m.subject)
            .collect()
    };
    // Ada, in Danish: the confirmation, the over-allocation, the deadline reminder, the
    // renewal reminder (the period ends on 1 December, within the week), the removal. The
    // two reminders are two changes of one instant, delivered in either order (as the
    // table's due index has them).
    let mut subjects = to("ada@example.com");
    subjects.sort();
    assert_eq!(
        subjects,
        [
            "Dit abonnement fornyes snart: tjek dine licenser",
            "Dit køb af licenser er bekræftet",
            "En bruger er deaktiveret på grund af manglende licens",
            "En bruger mangler en licens inden 7 dage",
            "Påmindelse: en bruger deaktiveres i morgen",
        ]
    );
    // The user: the seat at risk, then its removal.
    assert_eq!(
        to("u-4@example.com").len(),
        2,
        "{:?}",
        to("u-4@example.com")
    );
    assert!(store.outbox(&tenant()).is_empty());
}

/// The per-run mail cap holds for the whole scheduled run, not for each of its rounds: a
/// capped mail is due again at once, and the run's next round must not send the next cap's
/// worth (#31). What is held back goes in the next runs, nothing counted as an attempt.
#[tokio::test]
async fn the_mail_cap_holds_across_the_rounds_of_one_run() {
    let now = at("2026-11-19T10:00:00Z");
    let (store, caller) = acme_after_a_purchase(now).await;
    for i in 1..=30 {
        let user = new_user(
            &format!("c-{i:02}"),
            &format!("User {i}"),
            Language::En,
            &[],
        );
        app::create_user(
            &store,
            &caller,
            user.into(),
            None,
            &serde_json::json!({}),
            now + chrono::Duration::minutes(i),
        )
        .await
        .unwrap();
    }
    let sender = Recorder::new().with_mail_cap(10);
    let later = now + chrono::Duration::hours(1);
    let first = dispatch_due(&store, &sender, later).await.unwrap();
    assert_eq!((first.mails, sender.mails().len()), (10, 10), "{first:?}");
    assert!(first.capped > 0, "{first:?}");
    let second = dispatch_due(&store, &sender, later + chrono::Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(second.mails, 10, "{second:?}");
    for minute in 2..20 {
        dispatch_due(&store, &sender, later + chrono::Duration::minutes(minute))
            .await
            .unwrap();
    }
    let mails = sender.mails();
    let ids: std::collections::BTreeSet<(&str, &str)> = mails
        .iter()
        .map(|m| (m.message_id.as_str(), m.to.as_str()))
        .collect();
    assert_eq!(ids.len(), mails.len(), "each mail once");
    assert!(store.outbox(&tenant()).is_empty(), "all sent in the end");
}

/// A sender paced to a slow SES quota: each mail takes ten seconds (of tokio's clock).
struct Paced(Recorder);

impl licensing::notify::Sender for Paced {
    async fn send_mail(
        &self,
        to: &str,
        mail: &licensing::notify::mail::RenderedMail,
        message_id: &str,
        tenant: &TenantId,
    ) -> Result<(), licensing::notify::Refusal> {
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
        self.0.send_mail(to, mail, message_id, tenant).await
    }

    async fn put_events(
        &self,
        events: &[(&str, &str, String)],
    ) -> (Vec<String>, Option<licensing::notify::Refusal>) {
        self.0.put_events(events).await
    }

    async fn post_webhook(
        &self,
        post: &licensing::domain::webhooks::Post,
    ) -> Result<licensing::domain::webhooks::Answer, licensing::notify::Refusal> {
        self.0.post_webhook(post).await
    }

    fn mail_cap(&self) -> usize {
        self.0.mail_cap()
    }
}

/// Paced mail never outlasts its batch's 60-second lease (R32's send rate, #31): a batch
/// starts no mail 40 s after its claim and settles what it sent, so no other dispatcher can
/// claim it while its sent mail is unrecorded; the rest goes in the run's next rounds. Every
/// mail once.
#[tokio::test(start_paused = true)]
async fn paced_mail_stops_within_the_lease_and_is_sent_once() {
    let now = at("2026-11-19T10:00:00Z");
    let (store, caller) = acme_after_a_purchase(now).await;
    // Eight administrators: the warning about a red seat is one message to all of them.
    for i in 1..=8 {
        let mut user = new_user(
            &format!("p-{i:02}"),
            &format!("User {i}"),
            Language::En,
            &[],
        );
        user.role = licensing::domain::rights::administrator();
        let at = now + chrono::Duration::minutes(i);
        app::create_user(
            &store,
            &caller,
            user.into(),
            None,
            &serde_json::json!({}),
            at,
        )
        .await
        .unwrap();
    }
    let sender = Paced(Recorder::new());
    let report = dispatch_due(&store, &sender, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    assert!(report.held > 0, "{report:?}");
    assert_eq!(report.failed, 0);
    let mails = sender.0.mails();
    let sent: std::collections::BTreeSet<(&str, &str)> = mails
        .iter()
        .map(|m| (m.message_id.as_str(), m.to.as_str()))
        .collect();
    assert_eq!(sent.len(), mails.len(), "each mail once");
    assert!(mails.len() >= 9, "{} mails", mails.len());
    assert!(
        store.outbox(&tenant()).is_empty(),
        "all sent within the run"
    );
}

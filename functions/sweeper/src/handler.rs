use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent};
use licensing::app::sweep::{SweepReport, sweep};
use licensing::notify::{DispatchReport, Sender, dispatch_due_within};
use licensing::ports::{Clock, OutboxStore, Store, Webhooks};
use licensing::telemetry::SweepFigures;
use serde::Serialize;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Stop starting tenants this long before the invocation's deadline.
const SAFETY_MARGIN: Duration = Duration::from_secs(60);

#[derive(Serialize, Debug)]
pub struct Outcome {
    pub sweep: SweepReport,
    pub outbox: DispatchReport,
}

/// The sweep acts for the event's `time`, so a sweep can be replayed for any instant (R15).
/// Both schedules (nightly, and every minute for the outbox) run the whole job: what is not
/// due costs one Query per shard of the due index.
///
/// The event's `time` is the instant the rules act for; the outbox's leases and retry times
/// take `clock`'s, the real one (R33), so a late or repeated event never lets two runs send
/// one message. Both phases stop in time for the invocation's deadline, or, where the runtime
/// gives none (`cargo lambda watch` sends one in 1970), for `budget` from the start.
pub async fn handle<S: Store + OutboxStore + Webhooks, N: Sender, C: Clock>(
    store: &S,
    notifier: &N,
    clock: &C,
    budget: Option<Duration>,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<Outcome, Error> {
    let at = event
        .payload
        .time
        .ok_or("a scheduled event carries the instant to sweep for in `time`")?;
    let budget_ends = remaining(event.context.deadline)
        .or(budget)
        .map(|left| Instant::now() + left.saturating_sub(SAFETY_MARGIN));
    let started = Instant::now();
    let usage_before = store.usage();
    let report = sweep(store, at, budget_ends).await?;
    // Leases and retry times on the real clock; a replay for an instant to come also reads
    // what is due by then (its own changes' new messages), and tries nothing before its time.
    let now = clock.now();
    let outbox = dispatch_due_within(store, notifier, now, now.max(at), budget_ends).await?;
    let used = store.usage().since(usage_before);
    tracing::info!(
        at = %at,
        tenants = report.tenants,
        rollovers = report.rollovers,
        invoices = report.invoices,
        removals = report.removals,
        reminders = report.reminders,
        stale_records = report.stale_records,
        usage_readings = report.usage_readings,
        usage_missed = report.usage_missed,
        expired_requests = report.expired_requests,
        failed_tenants = report.failed_tenants,
        deferred_tenants = report.deferred_tenants,
        duration_ms = started.elapsed().as_millis() as u64,
        dynamodb_calls = used.calls,
        consumed_capacity = used.capacity,
        outbox_batches = outbox.batches,
        mails = outbox.mails,
        events = outbox.events,
        outbox_failed = outbox.failed,
        outbox_dead = outbox.dead,
        outbox_slowed = outbox.slowed,
        outbox_out_of_time = outbox.out_of_time,
        outbox_oldest_age_secs = outbox.oldest_age_secs,
        "sweep finished"
    );
    licensing::telemetry::sweep(&SweepFigures {
        rollovers: report.rollovers,
        invoices: report.invoices,
        removals: report.removals,
        reminders: report.reminders,
        failed_tenants: report.failed_tenants,
        deferred_tenants: report.deferred_tenants,
        outbox_batches: outbox.batches,
        outbox_failed: outbox.failed,
        outbox_dead: outbox.dead,
        outbox_oldest_age_secs: outbox.oldest_age_secs,
        consumed_capacity: used.capacity,
    });
    licensing::telemetry::flush(&event.context.request_id);
    Ok(Outcome {
        sweep: report,
        outbox,
    })
}

fn remaining(deadline_ms: u64) -> Option<Duration> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis() as u64;
    (deadline_ms > now).then(|| Duration::from_millis(deadline_ms - now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use licensing::app::{Caller, CreateUser, create_user};
    use licensing::domain::identity::{DisplayName, EmailAddress, Language, TenantId, UserId};
    use licensing::domain::rights::plain_user;
    use licensing::domain::user::NewUser;
    use licensing::http::testing::World;
    use licensing::notify::recorded::Recorder;
    use licensing::ports::{FixedClock, SystemClock};

    fn scheduled() -> LambdaEvent<EventBridgeEvent<serde_json::Value>> {
        let event = serde_json::from_str(include_str!("../events/scheduled.json")).unwrap();
        LambdaEvent::new(event, lambda_runtime::Context::default())
    }

    fn acme() -> TenantId {
        TenantId::parse("acme").unwrap()
    }

    /// Acme (3 licences; Ada and Bo) with Cy and Di activated on 10 November: Di, the newest,
    /// has no licence, and her grace ends on 17 November.
    async fn acme_with_a_red_seat() -> World {
        let world = World::acme().await;
        let ada = Caller {
            tenant: acme(),
            user: UserId::parse("ada").unwrap(),
        };
        for (id, name) in [("cy", "Cy Cole"), ("di", "Di Dahl")] {
            let user: CreateUser = NewUser {
                user_id: UserId::parse(id).unwrap(),
                name: DisplayName::parse(name).unwrap(),
                email: EmailAddress::parse(&format!("{id}@example.com")).unwrap(),
                language: Language::En,
                role: plain_user(),
                modules: Default::default(),
                active: true,
            }
            .into();
            let now = "2026-11-10T10:00:00Z".parse().unwrap();
            create_user(&world.store, &ada, user, None, &serde_json::json!({}), now)
                .await
                .unwrap();
        }
        world
    }

    #[tokio::test]
    async fn the_nightly_run_rolls_over_removes_the_red_seat_and_mails_it_once() {
        let world = acme_with_a_red_seat().await;
        let sender = Recorder::new();
        let outcome = handle(&world.store, &sender, &SystemClock, None, scheduled())
            .await
            .unwrap();
        let sweep = &outcome.sweep;
        assert_eq!(
            (sweep.rollovers, sweep.invoices, sweep.removals),
            (1, 1, 1),
            "{sweep:?}"
        );
        let to_di: Vec<String> = sender
            .mails()
            .into_iter()
            .filter(|m| m.to == "di@example.com")
            .map(|m| m.subject)
            .collect();
        assert_eq!(
            to_di.len(),
            2,
            "the seat at risk, then its removal: {to_di:?}"
        );
        assert!(world.store.outbox(&acme()).is_empty(), "all delivered");
        assert_eq!(outcome.outbox.failed, 0);

        // EventBridge delivers at least once: the same event again changes and sends nothing.
        let sent = sender.mails().len();
        let again = handle(&world.store, &sender, &SystemClock, None, scheduled())
            .await
            .unwrap();
        assert_eq!(
            (
                again.sweep.rollovers,
                again.sweep.removals,
                again.outbox.mails
            ),
            (0, 0, 0)
        );
        assert_eq!(sender.mails().len(), sent);
    }

    /// The live messages of Acme's outbox that have been tried: their next attempts.
    fn retries(world: &World) -> Vec<chrono::DateTime<chrono::Utc>> {
        world
            .store
            .outbox(&acme())
            .into_iter()
            .filter(|m| m.attempts > 0 && !m.dead)
            .map(|m| m.next_attempt_at)
            .collect()
    }

    #[tokio::test]
    async fn r33_a_late_event_retries_on_the_real_clock_not_on_its_time() {
        let world = acme_with_a_red_seat().await;
        let sender = Recorder::new();
        sender.refuse_mail(Some("MessageRejected"));
        // The event says 02:00; it runs three hours late.
        let late = FixedClock("2026-12-01T05:00:00Z".parse().unwrap());
        handle(&world.store, &sender, &late, None, scheduled())
            .await
            .unwrap();
        let next = retries(&world);
        assert!(!next.is_empty());
        let first_retry = late.0 + licensing::outbox::backoff(1);
        assert!(next.iter().all(|at| *at == first_retry), "{next:?}");
    }

    #[tokio::test]
    async fn r33_a_replay_for_a_later_instant_sends_its_news_and_retries_nothing_early() {
        let world = acme_with_a_red_seat().await;
        let sender = Recorder::new();
        sender.refuse_mail(Some("MessageRejected"));
        // The real clock is ten days before the event's time.
        let earlier = FixedClock("2026-11-20T00:00:00Z".parse().unwrap());
        let first = handle(&world.store, &sender, &earlier, None, scheduled())
            .await
            .unwrap();
        assert_eq!(first.sweep.rollovers, 1);
        assert!(first.outbox.failed > 0, "its messages were tried at once");
        let next = retries(&world);
        let first_retry = earlier.0 + licensing::outbox::backoff(1);
        assert!(next.iter().all(|at| *at == first_retry), "{next:?}");
        // The same replay again, on the same clock: nothing is tried before its time.
        let again = handle(&world.store, &sender, &earlier, None, scheduled())
            .await
            .unwrap();
        assert_eq!(again.outbox.failed, 0, "{:?}", again.outbox);
        assert!(world.store.outbox(&acme()).iter().all(|m| m.attempts <= 1));
    }

    #[tokio::test]
    async fn with_mail_refused_the_sweep_still_commits_and_its_mail_waits_for_a_retry() {
        let world = acme_with_a_red_seat().await;
        let sender = Recorder::new();
        sender.refuse_mail(Some("MessageRejected"));
        let outcome = handle(&world.store, &sender, &SystemClock, None, scheduled())
            .await
            .unwrap();
        assert_eq!(outcome.sweep.removals, 1);
        assert!(outcome.outbox.failed > 0, "{:?}", outcome.outbox);
        assert!(sender.mails().is_empty());
        let waiting = world.store.outbox_batches(&acme());
        assert!(
            !waiting.is_empty() && waiting.iter().all(|(b, dead)| !dead && b.attempts == 1),
            "{waiting:?}"
        );
    }

    #[test]
    fn the_event_fixture_is_a_scheduled_event_with_its_instant() {
        let event: EventBridgeEvent<serde_json::Value> =
            serde_json::from_str(include_str!("../events/scheduled.json")).unwrap();
        assert_eq!(event.detail_type, "Scheduled Event");
        assert_eq!(
            event.time.unwrap().to_rfc3339(),
            "2026-12-01T02:00:00+00:00"
        );
    }
}

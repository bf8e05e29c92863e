use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent};
use licensing::app::sweep::{SweepReport, sweep};
use licensing::notify::{DispatchReport, dispatch_due};
use licensing::ports::AccountReads;
use licensing::startup::Outbox;
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
pub async fn handle(
    outbox: &Outbox,
    event: LambdaEvent<EventBridgeEvent<serde_json::Value>>,
) -> Result<Outcome, Error> {
    let at = event
        .payload
        .time
        .ok_or("a scheduled event carries the instant to sweep for in `time`")?;
    let budget_ends = remaining(event.context.deadline)
        .map(|left| Instant::now() + left.saturating_sub(SAFETY_MARGIN));
    let started = Instant::now();
    let store = &outbox.store;
    let usage_before = store.usage();
    let report = sweep(store, at, budget_ends).await?;
    let outbox = dispatch_due(store, &outbox.notifier, at).await?;
    let used = store.usage().since(usage_before);
    tracing::info!(
        at = %at,
        tenants = report.tenants,
        rollovers = report.rollovers,
        invoices = report.invoices,
        removals = report.removals,
        reminders = report.reminders,
        stale_records = report.stale_records,
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

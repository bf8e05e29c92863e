//! `sweeper`: the scheduled job (R5, R14, R15, R20 retries, R21 redelivery), started by
//! EventBridge schedules.

mod handler;

use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    licensing::telemetry::init("sweeper");
    let outbox = licensing::startup::outbox().await?;
    // Only where the runtime gives no deadline (locally); on AWS the invocation's counts.
    let budget = std::env::var("LICENSING_SCHEDULED_BUDGET_SECS")
        .ok()
        .and_then(|secs| secs.parse().ok())
        .map(std::time::Duration::from_secs);
    let clock: &'static licensing::ports::SystemClock = &licensing::ports::SystemClock;
    lambda_runtime::run(service_fn(move |event| {
        handler::handle(&outbox.store, &outbox.notifier, clock, budget, event)
    }))
    .await
}

//! `sweeper`: the scheduled job (R5, R14, R15, R20 retries, R21 redelivery), started by
//! EventBridge schedules.

mod handler;

use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    licensing::telemetry::init("sweeper");
    let outbox = licensing::startup::store::<licensing::startup::Outbox>()?;
    lambda_runtime::run(service_fn(move |event| {
        handler::handle(&outbox.store, &outbox.notifier, event)
    }))
    .await
}

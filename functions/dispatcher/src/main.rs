//! `dispatcher`: delivers each change's mail and events from the table's stream, right after
//! the change commits (R20, R21); the sweeper's outbox run retries what fails here. It also
//! hears SES's bounces and complaints, which suppress an address (R32).

mod handler;

use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    licensing::telemetry::init("dispatcher");
    let outbox = licensing::startup::outbox().await?;
    lambda_runtime::run(service_fn(move |event| {
        handler::route(&outbox.store, &outbox.notifier, event)
    }))
    .await
}

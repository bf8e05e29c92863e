//! `dispatcher`: delivers each change's mail and events from the table's stream, right after
//! the change commits (R20, R21); the sweeper's outbox run retries what fails here.

mod handler;

use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    licensing::telemetry::init("dispatcher");
    let outbox = licensing::startup::store::<licensing::startup::Outbox>()?;
    // The connection opened during init, not on the first invocation.
    licensing::ports::AccountReads::warm(&outbox.store).await;
    lambda_runtime::run(service_fn(move |event| {
        handler::handle(&outbox.store, &outbox.notifier, event)
    }))
    .await
}

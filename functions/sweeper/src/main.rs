//! `sweeper`: the scheduled job (R5, R14, R15, R20 retries, R21 redelivery), started by
//! EventBridge schedules.

mod handler;

use lambda_runtime::{Error, service_fn};
use licensing::adapters::dynamodb::DynamoStore;
use licensing::config::{Config, dynamodb_client, sdk_config};
use licensing::notify::dispatch::{Notifier, Notifying};

#[tokio::main]
async fn main() -> Result<(), Error> {
    licensing::telemetry::init("sweeper");
    let config = Config::from_env()?;
    let sdk = sdk_config()?;
    let store: &'static Notifying = Box::leak(Box::new(Notifying {
        store: DynamoStore::new(dynamodb_client(&sdk), config.table),
        notifier: Notifier::new(&sdk, config.event_bus, config.mail_from)
            .with_configuration_set(config.ses_configuration_set),
    }));
    lambda_runtime::run(service_fn(move |event| handler::handle(store, event))).await
}

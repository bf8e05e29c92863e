//! `status`: GET /v1/account, /v1/invoices, /v1/action-log.

mod handler;

use lambda_http::{Error, service_fn};
use licensing::adapters::dynamodb::DynamoStore;
use licensing::config::HttpDeps;

#[tokio::main]
async fn main() -> Result<(), Error> {
    licensing::telemetry::init("status");
    // Built once per process and kept for its life, as Lambda reuses the process.
    let deps: &'static HttpDeps<DynamoStore> = Box::leak(Box::new(HttpDeps::from_env().await?));
    lambda_http::run(service_fn(move |request| {
        handler::handle(&deps.store, &deps.clock, &deps.auth, request)
    }))
    .await
}

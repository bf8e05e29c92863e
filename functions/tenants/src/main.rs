//! `tenants`: see `handler.rs` for its routes.

mod handler;

use lambda_http::{Error, service_fn};
use licensing::config::HttpDeps;
use licensing::notify::dispatch::Notifying;

#[tokio::main]
async fn main() -> Result<(), Error> {
    licensing::telemetry::init("tenants");
    // Built once per process and kept for its life, as Lambda reuses the process.
    let deps: &'static HttpDeps<Notifying> =
        Box::leak(Box::new(HttpDeps::notifying_from_env().await?));
    lambda_http::run(service_fn(move |request| {
        handler::handle(&deps.store, &deps.clock, &deps.auth, request)
    }))
    .await
}

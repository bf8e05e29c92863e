//! `webhooks`: the webhook sender (R38). The dispatcher invokes it with one signed message
//! and the address to POST it to; it checks every address the name resolves to, sends to
//! those only, and answers what the endpoint said. Its role allows nothing but its logs: it
//! holds no secret and reaches no AWS service, so an address that leads somewhere it should
//! not finds nothing to take.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use licensing::adapters::webhook_post::{Poster, post};
use licensing::domain::webhooks::{Answer, Post};

#[tokio::main]
async fn main() -> Result<(), Error> {
    licensing::telemetry::init("webhooks");
    let poster: &'static Poster = Box::leak(Box::new(Poster::new(
        licensing::config::webhooks_allow_private(),
    )));
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Post>| async move {
        let answer: Answer = post(poster, &event.payload).await;
        tracing::info!(status = ?answer.status, latency_ms = answer.latency_ms, error = ?answer.error, "webhook sent");
        Ok::<Answer, Error>(answer)
    }))
    .await
}

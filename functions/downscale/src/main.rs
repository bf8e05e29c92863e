//! `downscale` (`PUT /v1/next-period`, its preview, and `PUT /v1/settings`): see `handler.rs`.

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::startup::serve_http::<licensing::adapters::dynamodb::DynamoStore, _, _>(
        "downscale",
        handler::handle,
    )
    .await
}

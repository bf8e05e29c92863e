//! `users`: see `handler.rs` for its routes.

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::startup::serve_http::<licensing::adapters::dynamodb::DynamoStore, _, _>(
        "users",
        handler::handle,
    )
    .await
}

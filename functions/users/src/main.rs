//! `users`: see `handler.rs` for its routes.

mod handler;
mod scim;
#[cfg(test)]
mod scim_access_tests;
#[cfg(test)]
mod scim_tests;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::startup::serve_http::<licensing::adapters::dynamodb::DynamoStore, _, _>(
        "users",
        handler::handle,
    )
    .await
}

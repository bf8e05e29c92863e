//! `downscale`: see `handler.rs` for its routes.

mod handler;

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    licensing::startup::serve_http::<licensing::notify::Notifying, _, _>(
        "downscale",
        handler::handle,
    )
    .await
}

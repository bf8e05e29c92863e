//! `web` (local only): serves the built page (`web/dist`) on the API's origin, so no CORS.

mod handler;

use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let root = std::env::var("LICENSING_WEB_ROOT").unwrap_or_else(|_| "web/dist".into());
    let root: &'static std::path::Path = Box::leak(std::path::PathBuf::from(root).into());
    let serve = move |request: Request| async move {
        Ok::<_, Error>(handler::serve(root, request.uri().path()))
    };
    lambda_http::run(service_fn(serve)).await
}

use lambda_http::Request;
use licensing::app::{self, AppError};
use licensing::http::{HttpResult, auth, ok, page, route_key, tenant_route};
use licensing::ports::{Clock, Store};

pub async fn handle<S: Store, C: Clock>(
    store: &S,
    clock: &C,
    auth: &auth::AuthConfig,
    request: Request,
) -> HttpResult {
    tenant_route(
        store,
        clock,
        auth,
        request,
        |request, caller, now| async move {
            let (method, parts) = route_key(&request);
            match (method, parts.as_slice()) {
                ("GET", ["account"]) => ok(200, &app::account_status(store, &caller, now).await?),
                ("GET", ["invoices"]) => ok(
                    200,
                    &app::list_invoices(store, &caller, &page(&request)?, now).await?,
                ),
                ("GET", ["invoices", id]) => {
                    ok(200, &app::get_invoice(store, &caller, id, now).await?)
                }
                ("GET", ["action-log"]) => ok(
                    200,
                    &app::list_action_log(store, &caller, &page(&request)?, now).await?,
                ),
                _ => Err(AppError::NotFound("route")),
            }
        },
    )
    .await
}

use lambda_http::Request;
use licensing::app::{self, AppError};
use licensing::http::{HttpResult, auth, json_body, ok, tenant_route};
use licensing::ports::{Clock, Store};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NextPeriodBody {
    licences: Option<u32>,
    #[serde(default)]
    modules: BTreeMap<String, u32>,
}

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
            match (request.method().as_str(), request.uri().path()) {
                ("PUT", "/v1/next-period") => {
                    let body: NextPeriodBody = json_body(&request)?;
                    ok(
                        200,
                        &app::set_next_period(store, &caller, body.licences, &body.modules, now)
                            .await?,
                    )
                }
                _ => Err(AppError::NotFound("route")),
            }
        },
    )
    .await
}

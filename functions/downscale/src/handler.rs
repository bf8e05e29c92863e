use lambda_http::Request;
use licensing::app::{self, AppError};
use licensing::http::{HttpResult, auth, json_body, ok, record_tenant, route};
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
    route(store, request, |request| async move {
        let caller = auth::caller(&request, auth)?;
        record_tenant(caller.tenant.as_str());
        match (request.method().as_str(), request.uri().path()) {
            ("PUT", "/v1/next-period") => {
                let body: NextPeriodBody = json_body(&request)?;
                ok(
                    200,
                    &app::set_next_period(
                        store,
                        &caller,
                        body.licences,
                        &body.modules,
                        clock.now(),
                    )
                    .await?,
                )
            }
            _ => Err(AppError::NotFound("route")),
        }
    })
    .await
}

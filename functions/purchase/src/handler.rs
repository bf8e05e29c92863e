use lambda_http::Request;
use licensing::app::{self, AppError};
use licensing::http::{HttpResult, auth, idempotency_key, json_body, ok, replayable, tenant_route};
use licensing::ports::{Clock, Store};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuoteBody {
    licences: Option<u32>,
    #[serde(default)]
    modules: BTreeMap<String, u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    quote_id: String,
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
                ("POST", "/v1/purchases/quotes") => {
                    let body: QuoteBody = json_body(&request)?;
                    ok(
                        201,
                        &app::create_quote(store, &caller, body.licences, &body.modules, now)
                            .await?,
                    )
                }
                ("POST", "/v1/purchases") => {
                    let value: serde_json::Value = json_body(&request)?;
                    let body: ApproveBody = serde_json::from_value(value.clone())
                        .map_err(|e| AppError::BadRequest(format!("body: {e}")))?;
                    let key = idempotency_key(&request)?;
                    replayable(
                        app::approve_purchase(store, &caller, key, &value, &body.quote_id, now)
                            .await?,
                    )
                }
                _ => Err(AppError::NotFound("route")),
            }
        },
    )
    .await
}

use lambda_http::Request;
use licensing::app::{self, AppError};
use licensing::http::{
    HttpResult, auth, idempotency_key, json_body, ok, present, replayable, route_key, tenant_route,
};
use licensing::ports::{Clock, Store};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuoteBody {
    #[serde(default, deserialize_with = "present")]
    licences: Option<u32>,
    #[serde(default)]
    modules: BTreeMap<String, u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveBody {
    /// The id a quote was given: the contract's `Id` shape, so that no other string reaches a
    /// key (a sort key above 1 KB would be DynamoDB's error, not the caller's).
    quote_id: licensing::domain::identity::QuoteId,
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
            let (method, parts) = route_key(&request);
            match (method, parts.as_slice()) {
                ("POST", ["purchases", "quotes"]) => {
                    let body: QuoteBody = json_body(&request)?;
                    ok(
                        201,
                        &app::create_quote(store, &caller, body.licences, &body.modules, now)
                            .await?,
                    )
                }
                ("POST", ["purchases"]) => {
                    let value: serde_json::Value = json_body(&request)?;
                    let body: ApproveBody = serde_json::from_value(value.clone())
                        .map_err(|e| AppError::BadRequest(format!("body: {e}")))?;
                    let key = idempotency_key(&request)?;
                    replayable(
                        app::approve_purchase(
                            store,
                            &caller,
                            key,
                            &value,
                            body.quote_id.as_str(),
                            now,
                        )
                        .await?,
                    )
                }
                _ => Err(AppError::NotFound("route")),
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use licensing::http::testing::assert_a_body_not_utf8_is_a_400_problem;

    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_a_400_problem() {
        assert_a_body_not_utf8_is_a_400_problem(&ROUTES, |store, clock, auth, request| async move {
            handle(&store, &clock, &auth, request).await
        })
        .await;
    }

    const ROUTES: [(&str, &str); 2] = [("POST", "/v1/purchases/quotes"), ("POST", "/v1/purchases")];
}

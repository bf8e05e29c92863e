use lambda_http::Request;
use licensing::app::{self, AppError};
use licensing::http::{HttpResult, auth, json_body, ok, present, route_key, tenant_route};
use licensing::ports::{Clock, Store};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NextPeriodBody {
    #[serde(default, deserialize_with = "present")]
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
            let (method, parts) = route_key(&request);
            match (method, parts.as_slice()) {
                ("PUT", ["next-period"]) => {
                    let body: NextPeriodBody = json_body(&request)?;
                    ok(
                        200,
                        &app::set_next_period(store, &caller, body.licences, &body.modules, now)
                            .await?,
                    )
                }
                ("POST", ["next-period", "preview"]) => {
                    let body: NextPeriodBody = json_body(&request)?;
                    ok(
                        200,
                        &app::preview_next_period(
                            store,
                            &caller,
                            body.licences,
                            &body.modules,
                            now,
                        )
                        .await?,
                    )
                }
                ("PUT", ["settings"]) => {
                    let body: app::Settings = json_body(&request)?;
                    ok(200, &app::set_settings(store, &caller, &body, now).await?)
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

    const ROUTES: [(&str, &str); 3] = [
        ("PUT", "/v1/next-period"),
        ("POST", "/v1/next-period/preview"),
        ("PUT", "/v1/settings"),
    ];
}

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
    use licensing::http::testing::{
        ADA, BO, Who, World, answer, assert_a_body_not_utf8_is_a_400_problem, refused,
    };
    use serde_json::json;

    async fn call(
        w: &World,
        who: Who<'_>,
        method: &str,
        path: &str,
        body: serde_json::Value,
    ) -> HttpResult {
        handle(
            &w.store,
            &w.clock,
            &w.auth,
            w.request(who, method, path, Some(body)),
        )
        .await
    }

    #[tokio::test]
    async fn a_preview_lists_the_seats_a_downscale_would_remove_and_changes_nothing() {
        let w = World::acme().await;
        let path = "/v1/next-period/preview";
        let (status, preview) = answer(call(&w, ADA, "POST", path, json!({"licences": 1})).await);
        assert_eq!(status, 200, "{preview}");
        assert_eq!(
            preview["seats_to_remove_count"], 1,
            "Bo, the newest: {preview}"
        );
        assert_eq!(preview["seats_to_remove"][0]["user_id"], "bo");
        assert_eq!(
            w.licences().await.next_period,
            3,
            "the preview changed nothing"
        );
        assert_eq!(
            refused(call(&w, BO, "POST", path, json!({"licences": 1})).await).0,
            403
        );
    }

    #[tokio::test]
    async fn a_downscale_sets_the_next_period_within_its_bounds() {
        let w = World::acme().await;
        let path = "/v1/next-period";
        let (status, changed) = answer(call(&w, ADA, "PUT", path, json!({"licences": 2})).await);
        assert_eq!(status, 200, "{changed}");
        assert_eq!(changed["account"]["licences"]["next_period"], 2);
        let refusals = [
            (ADA, json!({"licences": 0}), (422, "next_period_below_one")),
            (
                ADA,
                json!({"licences": 4}),
                (422, "next_period_above_purchased"),
            ),
            (ADA, json!({"licences": -1}), (400, "bad_request")),
            (
                ADA,
                json!({"licences": 2, "extra": 1}),
                (400, "bad_request"),
            ),
            (BO, json!({"licences": 2}), (403, "forbidden")),
        ];
        for (who, body, (status, code)) in refusals {
            let answer = refused(call(&w, who, "PUT", path, body.clone()).await);
            assert_eq!(answer, (status, code.to_owned()), "{body}");
        }
    }

    #[tokio::test]
    async fn the_renewal_notice_is_a_setting_of_the_administrator() {
        let w = World::acme().await;
        let body = json!({"renewal_reminder_days": 14});
        let (status, account) = answer(call(&w, ADA, "PUT", "/v1/settings", body.clone()).await);
        assert_eq!(status, 200, "{account}");
        assert_eq!(account["renewal_reminder_days"], 14, "{account}");
        assert_eq!(
            refused(call(&w, BO, "PUT", "/v1/settings", body).await).0,
            403
        );
        let too_long = json!({"renewal_reminder_days": 400});
        let (status, code) = refused(call(&w, ADA, "PUT", "/v1/settings", too_long).await);
        assert_eq!(status, 400, "{code}");
        // A setting left out keeps its value (R35 added the approval threshold beside it).
        let (status, kept) = answer(call(&w, ADA, "PUT", "/v1/settings", json!({})).await);
        assert_eq!((status, &kept["renewal_reminder_days"]), (200, &json!(14)));
        let limit = json!({"approval_threshold": 50_000});
        let (status, limited) = answer(call(&w, ADA, "PUT", "/v1/settings", limit).await);
        assert_eq!(
            (status, &limited["approval_threshold"]),
            (200, &json!(50_000))
        );
        assert_eq!(limited["renewal_reminder_days"], 14);
        let listed = refused(call(&w, ADA, "PUT", "/v1/settings", json!([])).await);
        assert_eq!(listed.0, 400, "an array is not settings");
        let no_days = json!({"renewal_reminder_days": null});

        assert_eq!(
            refused(call(&w, ADA, "PUT", "/v1/settings", no_days).await).0,
            400,
            "only the threshold takes null"
        );
        let not_money = json!({"approval_threshold": "lots"});

        assert_eq!(
            refused(call(&w, ADA, "PUT", "/v1/settings", not_money).await).0,
            400
        );
        let route = refused(call(&w, ADA, "GET", "/v1/settings", json!({})).await);
        assert_eq!(route, (404, "not_found".into()));
    }

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

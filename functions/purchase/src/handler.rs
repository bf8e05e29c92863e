use lambda_http::Request;
use licensing::app::{self, AppError};
use licensing::http::{
    HttpResult, auth, idempotency_key, json_body, ok, page, present, replayable, route_key,
    tenant_route,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclineBody {
    reason: String,
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
                    // Parsed once: the value is what the key's fingerprint is taken of, the
                    // typed body is read from it in place.
                    let value: serde_json::Value = json_body(&request)?;
                    let body = ApproveBody::deserialize(&value)
                        .map_err(|e| AppError::BadRequest(format!("body: {e}")))?;
                    let key = idempotency_key(&request)?;
                    replayable(
                        app::approve_purchase(store, &caller, key, &value, &body.quote_id, now)
                            .await?,
                    )
                }
                ("GET", ["purchase-requests"]) => ok(
                    200,
                    &app::requests::list_requests(store, &caller, &page(&request)?, now).await?,
                ),
                ("GET", ["purchase-requests", id]) => ok(
                    200,
                    &app::requests::get_request(store, &caller, id, now).await?,
                ),
                ("POST", ["purchase-requests", id, "approve"]) => {
                    let value: serde_json::Value = json_body(&request)?;
                    let key = idempotency_key(&request)?;
                    let approved =
                        app::requests::approve_request(store, &caller, id, key, &value, now);
                    replayable(approved.await?)
                }
                ("POST", ["purchase-requests", id, "decline"]) => {
                    let body: DeclineBody = json_body(&request)?;
                    let declined =
                        app::requests::decline_request(store, &caller, id, &body.reason, now);
                    ok(200, &declined.await?)
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
    use lambda_http::http::HeaderValue;
    use licensing::http::testing::{
        ADA, BO, Who, World, answer, assert_a_body_not_utf8_is_a_400_problem, refused,
    };
    use serde_json::json;

    async fn post(
        w: &World,
        who: Who<'_>,
        path: &str,
        body: serde_json::Value,
        key: Option<&str>,
    ) -> HttpResult {
        let mut request = w.request(who, "POST", path, Some(body));
        if let Some(key) = key {
            let value = HeaderValue::from_str(key).expect("a header value");
            request.headers_mut().insert("idempotency-key", value);
        }
        handle(&w.store, &w.clock, &w.auth, request).await
    }

    async fn quote(w: &World) -> String {
        let body = json!({"licences": 2});
        let (status, quote) = answer(post(w, ADA, "/v1/purchases/quotes", body, None).await);
        assert_eq!(status, 201, "{quote}");
        quote["quote_id"].as_str().expect("a quote id").to_owned()
    }

    #[tokio::test]
    async fn a_quote_prices_the_rest_of_the_period_and_refuses_what_it_cannot_price() {
        let w = World::acme().await;
        let path = "/v1/purchases/quotes";
        let (status, quote) = answer(post(&w, ADA, path, json!({"licences": 2}), None).await);
        assert_eq!(status, 201, "{quote}");
        assert!(quote["total"].as_i64().is_some_and(|t| t > 0), "{quote}");
        let refusals = [
            (json!({"licences": 2}), BO, 403),
            (json!({"licences": "two"}), ADA, 400),
            (json!({"licences": 2, "colour": "red"}), ADA, 400),
            (json!({"modules": {"nope": 1}}), ADA, 422),
            (json!({}), ADA, 400),
        ];
        for (body, who, expected) in refusals {
            let (status, code) = refused(post(&w, who, path, body.clone(), None).await);
            assert_eq!(status, expected, "{body}: {code}");
        }
    }

    #[tokio::test]
    async fn an_approval_buys_once_per_key_and_replays_the_same_answer() {
        let w = World::acme().await;
        let id = quote(&w).await;
        let body = json!({"quote_id": id});
        let first = answer(post(&w, ADA, "/v1/purchases", body.clone(), Some("k-1")).await);
        assert_eq!(first.0, 201, "{}", first.1);
        assert_eq!(first.1["account"]["licences"]["purchased"], 5);
        let again = answer(post(&w, ADA, "/v1/purchases", body.clone(), Some("k-1")).await);
        assert_eq!(
            again, first,
            "the same key and body replay the first answer"
        );
        let other_key = refused(post(&w, ADA, "/v1/purchases", body.clone(), Some("k-2")).await);
        assert_eq!(other_key, (409, "quote_already_approved".into()));
        let other_body = json!({"quote_id": quote(&w).await});
        let reused = refused(post(&w, ADA, "/v1/purchases", other_body, Some("k-1")).await);
        assert_eq!(reused, (422, "idempotency_key_reused".into()));
    }

    #[tokio::test]
    async fn an_approval_without_a_key_right_or_quote_is_refused_before_it_buys() {
        let w = World::acme().await;
        let id = quote(&w).await;
        let body = json!({"quote_id": id});
        let cases = [
            (ADA, body.clone(), None, (400, "idempotency_key_missing")),
            (BO, body.clone(), Some("k"), (403, "forbidden")),
            (
                ADA,
                json!({"quote_id": "q-nothing"}),
                Some("k"),
                (404, "not_found"),
            ),
            (
                ADA,
                json!({"quote_id": "../x"}),
                Some("k"),
                (400, "bad_request"),
            ),
            (ADA, json!({}), Some("k"), (400, "bad_request")),
        ];
        for (who, body, key, (status, code)) in cases {
            let answer = refused(post(&w, who, "/v1/purchases", body.clone(), key).await);
            assert_eq!(answer, (status, code.to_owned()), "{who:?} {body} {key:?}");
        }
        assert_eq!(w.licences().await.purchased, 3, "nothing was bought");
        let request = w.request(ADA, "GET", "/v1/nothing", None);
        let route = refused(handle(&w.store, &w.clock, &w.auth, request).await);
        assert_eq!(route, (404, "not_found".into()));
    }

    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_a_400_problem() {
        assert_a_body_not_utf8_is_a_400_problem(&ROUTES, |store, clock, auth, request| async move {
            handle(&store, &clock, &auth, request).await
        })
        .await;
    }

    const ROUTES: [(&str, &str); 2] = [("POST", "/v1/purchases/quotes"), ("POST", "/v1/purchases")];
}

#[cfg(test)]
#[path = "requests_tests.rs"]
mod requests_tests;

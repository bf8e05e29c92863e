//! Who may call what: tokens, rights and tenants on every route, and bad input refused as a problem that stores nothing.

use super::*;

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn every_route_needs_a_valid_token_the_right_and_the_callers_own_tenant() {
    let api = require_api();
    let a = unique("sec-a");
    let b = unique("sec-b");
    api.tenant(&a, 5).await;
    api.tenant(&b, 5).await;
    api.add_user(&a, "plain").await;
    api.add_user(&b, "other").await;
    let routes = tenant_routes();
    let wrong_key = licensing_tests::token("not-the-secret", "ada", Some(&a), None, 600);
    let expired = token(&api.secret, "ada", Some(&a), None, -600);
    let plain = api.user(&a, "plain");
    for (method, path, body) in &routes {
        for bad in [
            None,
            Some(wrong_key.as_str()),
            Some(expired.as_str()),
            Some("garbage"),
        ] {
            let (status, problem) = api.call(method.clone(), path, bad, body.clone()).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {bad:?}: {problem}"
            );
            assert_eq!(problem["code"], "unauthenticated");
        }
        let (status, problem) = api
            .call(method.clone(), path, Some(&plain), body.clone())
            .await;
        assert_eq!(
            status,
            StatusCode::FORBIDDEN,
            "{method} {path} by a user without the right: {problem}"
        );
    }
    for (method, path) in [
        (Method::POST, "/v1/tenants"),
        (Method::POST, "/v1/tenants/x/terminate"),
        (Method::PUT, "/v1/tenants/x/settings"),
    ] {
        let (status, _) = api.call(method.clone(), path, None, Some(json!({}))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = api
            .call(method, path, Some(&api.user(&a, "ada")), Some(json!({})))
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "operators only");
    }
    another_tenants_ids_are_not_there(&api, &a, &b).await;
}

/// Another tenant's ids are simply not there, nor is a tenant that does not exist.
async fn another_tenants_ids_are_not_there(api: &Api, a: &str, b: &str) {
    let admin_a = api.user(a, "ada");
    let (status, body) = api
        .call(
            Method::POST,
            "/v1/users/other/deactivate",
            Some(&admin_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!body.to_string().contains(b), "no byte of the other tenant");
    let (_, quote) = api
        .call(
            Method::POST,
            "/v1/purchases/quotes",
            Some(&api.user(b, "ada")),
            Some(json!({"licences": 1})),
        )
        .await;
    let (status, _) = api
        .call_with(
            Method::POST,
            "/v1/purchases",
            Some(&admin_a),
            Some(json!({"quote_id": quote["quote_id"]}).to_string()),
            &[("Idempotency-Key", "x")],
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // A token naming a tenant that does not exist sees nothing.
    let (status, _) = api
        .call(
            Method::GET,
            "/v1/account",
            Some(&api.user("no-such-tenant", "ada")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn bad_input_is_a_4xx_problem_and_stores_nothing() {
    let api = require_api();
    let tenant = unique("bad");
    api.tenant(&tenant, 5).await;
    let admin = api.user(&tenant, "ada");
    let version = api.account(&tenant).await["version"].clone();
    let cases = bad_bodies();
    for (method, path, body) in cases {
        let (status, problem) = api
            .call_with(method.clone(), path, Some(&admin), Some(body.clone()), &[])
            .await;
        assert!(
            status.is_client_error(),
            "{method} {path} {body:.60}: {status} {problem}"
        );
        assert!(problem["code"].is_string());
    }
    let (status, problem) = api
        .call_with(
            Method::POST,
            "/v1/purchases/quotes",
            Some(&admin),
            Some(format!(
                r#"{{"licences": 1, "pad": "{}"}}"#,
                "x".repeat(300_000)
            )),
            &[],
        )
        .await;
    assert_eq!(
        (status, problem["code"].as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, Some("body_too_large"))
    );
    assert_eq!(
        api.account(&tenant).await["version"],
        version,
        "nothing stored"
    );
}

/// Every tenant route, with a body it would take.
fn tenant_routes() -> Vec<(Method, &'static str, Option<Value>)> {
    vec![
        (Method::GET, "/v1/account", None),
        (Method::GET, "/v1/invoices", None),
        (Method::GET, "/v1/invoices/inv-x", None),
        (
            Method::POST,
            "/v1/next-period/preview",
            Some(json!({"licences": 1})),
        ),
        (
            Method::PUT,
            "/v1/settings",
            Some(json!({"renewal_reminder_days": 3})),
        ),
        (Method::GET, "/v1/roles", None),
        (Method::GET, "/v1/action-log", None),
        (Method::GET, "/v1/action-log.csv", None),
        (Method::GET, "/v1/invoices.csv", None),
        (Method::GET, "/v1/usage", None),
        (
            Method::POST,
            "/v1/purchases/quotes",
            Some(json!({"licences": 1})),
        ),
        (
            Method::POST,
            "/v1/purchases",
            Some(json!({"quote_id": "q-x"})),
        ),
        (Method::PUT, "/v1/next-period", Some(json!({"licences": 1}))),
        (Method::GET, "/v1/users", None),
        (
            Method::POST,
            "/v1/users",
            Some(json!({"name": "X", "email": "x@y.dk"})),
        ),
        (Method::POST, "/v1/users/plain/activate", None),
        (Method::POST, "/v1/users/plain/deactivate", None),
        (
            Method::PUT,
            "/v1/users/plain",
            Some(json!({"language": "en"})),
        ),
        (Method::GET, "/v1/roles/user", None),
        (Method::PUT, "/v1/roles/user", Some(json!({"rights": []}))),
        (Method::GET, "/v1/scim-tokens", None),
        (
            Method::POST,
            "/v1/scim-tokens",
            Some(json!({"name": "Entra ID"})),
        ),
        (Method::DELETE, "/v1/scim-tokens/st-x", None),
    ]
}

/// Bodies each refused with a 4xx problem: broken JSON, unknown fields, values out of range,
/// header injection, unknown rights, padding.
fn bad_bodies() -> Vec<(Method, &'static str, String)> {
    vec![
        (Method::POST, "/v1/purchases/quotes", "{".into()),
        (
            Method::POST,
            "/v1/purchases/quotes",
            r#"{"licences": 1, "extra": true}"#.into(),
        ),
        (
            Method::POST,
            "/v1/purchases/quotes",
            r#"{"licences": "three"}"#.into(),
        ),
        (
            Method::POST,
            "/v1/purchases/quotes",
            r#"{"licences": -1}"#.into(),
        ),
        (
            Method::POST,
            "/v1/purchases/quotes",
            r#"{"licences": 0}"#.into(),
        ),
        (
            Method::POST,
            "/v1/purchases/quotes",
            r#"{"licences": 10001}"#.into(),
        ),
        (
            Method::POST,
            "/v1/purchases/quotes",
            r#"{"licences": 99999999999999999999}"#.into(),
        ),
        (
            Method::POST,
            "/v1/purchases/quotes",
            r#"{"modules": {"CRM!": 1}}"#.into(),
        ),
        (Method::POST, "/v1/purchases/quotes", "{}".into()),
        (Method::PUT, "/v1/next-period", r#"{"licences": -3}"#.into()),
        (
            Method::POST,
            "/v1/users",
            r#"{"name": "Eve\r\nBcc: x@y.z", "email": "eve@acme.dk"}"#.into(),
        ),
        (
            Method::POST,
            "/v1/users",
            r#"{"name": "Eve", "email": "eve@acme.dk\r\nBcc: x@y.z"}"#.into(),
        ),
        (
            Method::POST,
            "/v1/users",
            r#"{"name": "Eve", "email": "eve@acme.dk", "admin": true}"#.into(),
        ),
        (
            Method::PUT,
            "/v1/roles/x",
            r#"{"rights": ["everything"]}"#.into(),
        ),
        (
            Method::POST,
            "/v1/purchases/quotes",
            format!(r#"{{"licences": 1, "pad": "{}"}}"#, "x".repeat(20_000)),
        ),
    ]
}

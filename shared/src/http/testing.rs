//! Helpers for the functions' handler tests (feature `test-fixtures`: the test crates turn it
//! on, the deployed builds do not link it).

use lambda_http::{Body, Request, Response};

use crate::adapters::dynamodb::DynamoStore;

/// An API Gateway (HTTP API v2) event as AWS delivers it: a body that is not UTF-8, base64
/// encoded, and an authorizer context whose claims are `mallory` of tenant `acme` with the
/// operator scope (counted only when no local key is set, as on AWS).
fn event_with_a_body_not_utf8(method: &str, path: &str) -> Request {
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/operator-claims-in-context.json"))
            .expect("the fixture is JSON");
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = path.into();
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
}

/// A store whose client has no endpoint: for handlers that must answer before any read.
fn unreachable_store() -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_dynamodb::config::Region::new("eu-west-1"))
            .build(),
    );
    DynamoStore::new(client, "unused")
}

/// The status, content type and `code` of a problem answer.
fn problem(response: &Response<Body>) -> (u16, String, String) {
    let body: serde_json::Value = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or_default(),
        _ => serde_json::Value::Null,
    };
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        response.status().as_u16(),
        content_type,
        body["code"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Every route of a function answers a body that is not UTF-8 (as AWS delivers it, base64
/// encoded; locally the router answers first) with 400 problem+json, before it reads
/// anything: `handle` is given an unreachable store, the fixed clock and AWS's token check.
pub async fn assert_a_body_not_utf8_is_a_400_problem<F, Fut>(routes: &[(&str, &str)], handle: F)
where
    F: Fn(DynamoStore, crate::ports::FixedClock, crate::http::auth::AuthConfig, Request) -> Fut,
    Fut: std::future::Future<Output = crate::http::HttpResult>,
{
    for (method, path) in routes {
        let clock = crate::ports::FixedClock("2026-11-29T10:00:00Z".parse().expect("an instant"));
        // As on AWS: no local key, the authorizer's claims count.
        let auth = crate::http::auth::AuthConfig::from_secret(None);
        let request = event_with_a_body_not_utf8(method, path);
        let response = handle(unreachable_store(), clock, auth, request)
            .await
            .expect("an answer");
        assert_eq!(
            problem(&response),
            (400, "application/problem+json".into(), "bad_request".into()),
            "{method} {path}"
        );
    }
}

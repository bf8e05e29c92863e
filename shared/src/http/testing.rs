//! Helpers for the functions' handler tests (feature `test-fixtures`: the test crates turn it
//! on, the deployed builds do not link it).

use lambda_http::{Body, Request, Response};

use crate::adapters::dynamodb::DynamoStore;

/// An API Gateway (HTTP API v2) event as AWS delivers it: a body that is not UTF-8, base64
/// encoded, and an authorizer context whose claims are `mallory` of tenant `acme` with the
/// operator scope (counted only when no local key is set, as on AWS).
pub fn event_with_a_body_not_utf8(method: &str, path: &str) -> Request {
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/operator-claims-in-context.json"))
            .expect("the fixture is JSON");
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = path.into();
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
}

/// A store whose client has no endpoint: for handlers that must answer before any read.
pub fn unreachable_store() -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_dynamodb::config::Region::new("eu-west-1"))
            .build(),
    );
    DynamoStore::new(client, "unused")
}

/// The status, content type and `code` of a problem answer.
pub fn problem(response: &Response<Body>) -> (u16, String, String) {
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

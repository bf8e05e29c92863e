//! End to end through HTTP: `cargo lambda watch` serving the functions on the production
//! routes, against DynamoDB Local and moto (issue: the HTTP API). The test command starts the
//! API and sets `LICENSING_API_URL`.

mod access;
mod approvals;
mod guard_rails;
mod journey;
mod scim;
mod settings;
mod volume;
mod webhooks;

use chrono::{NaiveDate, Utc};
use futures::StreamExt;
use licensing_tests::http::{Api, require_api};
use licensing_tests::{e2e_store, outbox_drained, token, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn round_half_up(n: i64, d: i64) -> i64 {
    (2 * n + d) / (2 * d)
}

//! R22, R23, R29 and the idempotent user create, through HTTP (`cargo lambda watch`), and the
//! sweeper function through its own event.

mod late;
mod limits;
mod lockout;

use chrono::{Datelike, Duration, NaiveDate, Utc};
use futures::StreamExt;
use licensing_tests::http::{Api, require_api};
use licensing_tests::unique;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn code(body: &Value) -> Option<&str> {
    body["code"].as_str()
}

/// The first day of the month `back` months before today's (in the tenants' time zone).
fn month_start(back: u32) -> NaiveDate {
    let today = licensing_tests::copenhagen_today();
    let months = today.year() * 12 + today.month0() as i32 - back as i32;
    NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1).unwrap()
}

//! R36 end to end: the CSV exports through the local API, read back with a real CSV reader
//! (the `csv` crate, RFC 4180), and a hostile name's cell opened as a spreadsheet would see it.

use chrono::Utc;
use licensing_tests::http::{Api, require_api};
use licensing_tests::unique;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A CSV answer's rows, each as a map from the header's names.
fn rows(body: &Value) -> Vec<std::collections::BTreeMap<String, String>> {
    let text = body.as_str().expect("a CSV body");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn r36_the_exports_read_back_as_csv_and_a_hostile_name_stays_text() {
    let api = require_api();
    let hostile = "=HYPERLINK(\"http://evil.example\",\"Ærø, click\")";
    // Taken first: the tenant's entries fall on this day or, past midnight, the next.
    let today = Utc::now().date_naive();
    let ada = a_purchase_of_a_hostile_module(&api, hostile).await;

    let (status, invoices) = api
        .call(Method::GET, "/v1/invoices.csv", Some(&ada), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let invoices = rows(&invoices);
    assert_eq!(invoices.len(), 1, "{invoices:?}");
    let line = &invoices[0];
    assert_eq!(line["item"], format!("'{hostile}"), "text, not a formula");
    assert_eq!(line["pool"], "crm");
    assert_eq!(line["quantity"], "1");
    assert_eq!(line["kind"], "purchase");
    assert_eq!(line["amount"], line["invoice_total"]);

    // On the wire: UTF-8 without a byte-order mark (the page adds one to the file it saves),
    // CRLF line ends.
    let raw = api
        .http
        .get(format!("{}/v1/invoices.csv", api.url))
        .bearer_auth(&ada)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(raw.starts_with(b"invoice_id,"), "{raw:?}");
    assert!(std::str::from_utf8(&raw).unwrap().contains("Ærø"));
    assert!(raw.ends_with(b"\r\n") && !raw.windows(2).any(|w| w == b"\n\n"));
    let next = today + chrono::Duration::days(1);
    let path = format!("/v1/action-log.csv?from={today}&to={next}");
    let (status, log) = api.call(Method::GET, &path, Some(&ada), None).await;
    assert_eq!(status, StatusCode::OK);
    let actions: Vec<String> = rows(&log)
        .into_iter()
        .map(|r| r["action"].clone())
        .collect();
    assert_eq!(actions, ["tenant.created", "licences.purchased"]);
    let (status, none) = api
        .call(
            Method::GET,
            "/v1/action-log.csv?to=2000-01-01",
            Some(&ada),
            None,
        )
        .await;
    assert_eq!((status, rows(&none).len()), (StatusCode::OK, 0));
    // Any two dates the contract allows are answered: `to` before `from` covers nothing.
    let (status, backwards) = api
        .call(
            Method::GET,
            "/v1/invoices.csv?from=2026-12-02&to=2026-12-01",
            Some(&ada),
            None,
        )
        .await;
    assert_eq!((status, rows(&backwards).len()), (StatusCode::OK, 0));
    // A cursor from outside the dates (the fuzzer's kind): a page, never DynamoDB's 400.
    let (status, _) = api
        .call(
            Method::GET,
            "/v1/action-log.csv?from=2027-01-01&cursor=E7Ad25Da9aCfB0F0F8c12Ed0ED",
            Some(&ada),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
}

/// A tenant whose module is named `hostile`, one of it bought: its administrator's token.
async fn a_purchase_of_a_hostile_module(api: &Api, hostile: &str) -> String {
    let t = unique("csv");
    let today = Utc::now().date_naive();
    let start = today.format("%Y-%m-01").to_string();
    let (status, body) = api
        .call(
            Method::POST,
            "/v1/tenants",
            Some(&api.operator()),
            Some(json!({
                "tenant_id": t, "name": "Export ApS", "currency": "DKK", "time_zone": "UTC",
                "period_length": "monthly", "period_start": start,
                "pools": {"licences": {"unit_price": 12900, "purchased": 2},
                          "crm": {"name": hostile, "unit_price": 4900, "purchased": 0}},
                "administrator": {"user_id": "ada", "name": "Ada", "email": "ada@example.com"}
            })),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let ada = api.user(&t, "ada");
    let (status, bought) = api.buy(&ada, json!({"modules": {"crm": 1}}), "csv-1").await;
    assert_eq!(status, StatusCode::CREATED, "{bought}");
    ada
}

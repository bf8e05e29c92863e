//! R22: a request on an ended period first rolls the tenant over, once.

use super::*;

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn r22_a_request_on_an_ended_period_first_rolls_the_tenant_over() {
    let api = require_api();
    let t = unique("r22");
    a_subscription_in_an_ended_period_is_refused(&api, &t).await;
    // A tenant created then (through the store, as it was two months ago), never swept since.
    let store = e2e_table().await;
    let created = month_start(2).and_hms_opt(9, 0, 0).unwrap().and_utc();
    let new = licensing_tests::acme(&t, month_start(2), 3, 1);
    licensing::app::create_tenant(&store, "operator-1", new, created)
        .await
        .expect("tenant");
    let results = many_first_requests_at_once(&api, &t).await;
    a_quiet_tenant_is_rolled_over_by_a_status_read(&api, &store).await;
    let account = api.account(&t).await;
    assert_eq!(account["period"]["start"], month_start(0).to_string());
    // Every downscale applied to the period now running: effective from its end, in the future.
    for (_, body) in results
        .iter()
        .filter(|(_, b)| b.get("effective_from").is_some())
    {
        assert_eq!(body["effective_from"], account["period"]["end"]);
    }
    both_ended_periods_were_rolled_over_once(&api, &t).await;
}

async fn e2e_table() -> licensing::adapters::dynamodb::DynamoStore {
    let table = std::env::var("LICENSING_TABLE").expect("the end-to-end table");
    let sdk = licensing_tests::sdk().await;
    licensing::adapters::dynamodb::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)
}

/// The API refuses to start a subscription in a period that is over.
async fn a_subscription_in_an_ended_period_is_refused(api: &Api, t: &str) {
    let body = json!({
        "tenant_id": t, "name": "Late ApS", "currency": "DKK", "time_zone": "Europe/Copenhagen",
        "period_length": "monthly", "period_start": month_start(2).to_string(),
        "pools": {"licences": {"unit_price": 12900, "purchased": 3}},
        "administrator": {"user_id": "ada", "name": "Ada", "email": "ada@late.dk"}
    });
    let (status, answer) = api
        .call(
            Method::POST,
            "/v1/tenants",
            Some(&api.operator()),
            Some(body),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("period_ended"))
    );
}

/// Many first requests at once: exactly one rollover per ended period. Their answers.
async fn many_first_requests_at_once(api: &Api, t: &str) -> Vec<(StatusCode, Value)> {
    let results: Vec<(StatusCode, Value)> = futures::stream::iter(0..6)
        .map(|i| async move {
            if i % 2 == 0 {
                api.as_user(t, "ada", Method::GET, "/v1/account", None)
                    .await
            } else {
                let next = Some(json!({"licences": 2}));
                api.as_user(t, "ada", Method::PUT, "/v1/next-period", next)
                    .await
            }
        })
        .buffer_unordered(6)
        .collect()
        .await;
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::OK, "{body}");
    }
    results
}

/// A tenant whose first request after its period ended is a status read: the status function
/// itself rolls it over (the least-privilege check needs its write, which the race above
/// leaves to whichever function wins).
async fn a_quiet_tenant_is_rolled_over_by_a_status_read(
    api: &Api,
    store: &licensing::adapters::dynamodb::DynamoStore,
) {
    let quiet = unique("r22s");
    let created = month_start(2).and_hms_opt(9, 0, 0).unwrap().and_utc();
    let new = licensing_tests::acme(&quiet, month_start(2), 3, 1);
    licensing::app::create_tenant(store, "operator-1", new, created)
        .await
        .expect("tenant");
    let (status, read) = api
        .as_user(&quiet, "ada", Method::GET, "/v1/account", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["period"]["start"], month_start(0).to_string());
}

/// One invoice per ended period, and one rollover entry in the log for both.
async fn both_ended_periods_were_rolled_over_once(api: &Api, t: &str) {
    let (_, invoices) = api
        .as_user(t, "ada", Method::GET, "/v1/invoices", None)
        .await;
    let periods: Vec<&str> = invoices["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["period"]["start"].as_str().unwrap())
        .collect();
    let expected = [month_start(0).to_string(), month_start(1).to_string()];
    assert_eq!(
        periods,
        expected.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let (_, log) = api
        .as_user(t, "ada", Method::GET, "/v1/action-log", None)
        .await;
    let rollovers = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "period.rolled_over")
        .count();
    assert_eq!(rollovers, 1, "both ended periods in one rollover, once");
}

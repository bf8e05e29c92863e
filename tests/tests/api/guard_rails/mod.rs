//! R22, R23, R29 and the idempotent user create, through HTTP (`cargo lambda watch`), and the
//! sweeper function through its own event.

use chrono::{Datelike, Duration, NaiveDate, Utc};
use futures::StreamExt;
use licensing_tests::http::require_api;
use licensing_tests::unique;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn code(body: &Value) -> Option<&str> {
    body["code"].as_str()
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn r23_a_tenant_cannot_lock_itself_out_and_nobody_grants_rights_they_lack() {
    let api = require_api();
    let t = unique("r23");
    // Three licences: the restored administrator below takes a red seat, whose warning the
    // tenants function mails (so the least-privilege check sees it send).
    api.tenant(&t, 3).await;

    // The only administrator can neither deactivate nor demote herself.
    let (status, body) = api
        .as_user(&t, "ada", Method::POST, "/v1/users/ada/deactivate", None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, Some("last_administrator"))
    );
    let (status, body) = api
        .as_user(
            &t,
            "ada",
            Method::PUT,
            "/v1/users/ada",
            Some(json!({"role": "user"})),
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, Some("escalation"))
    );

    // A user manager (users.manage only) cannot raise itself or anyone else.
    let (status, _) = api
        .as_user(
            &t,
            "ada",
            Method::PUT,
            "/v1/roles/usermgr",
            Some(json!({"rights": ["users.manage"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .as_user(
            &t,
            "ada",
            Method::POST,
            "/v1/users",
            Some(
                json!({"user_id": "uma", "name": "Uma", "email": "uma@acme.dk", "role": "usermgr"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    for (method, path, body) in [
        (
            Method::PUT,
            "/v1/users/uma",
            json!({"role": "administrator"}),
        ),
        (
            Method::PUT,
            "/v1/roles/usermgr",
            json!({"rights": ["users.manage", "licences.manage"]}),
        ),
        (
            Method::POST,
            "/v1/users",
            json!({"user_id": "eve", "name": "Eve", "email": "eve@acme.dk", "role": "administrator"}),
        ),
        (Method::POST, "/v1/users/ada/deactivate", json!({})),
        (Method::PUT, "/v1/users/ada", json!({"role": "user"})),
    ] {
        let body = (method != Method::POST || path == "/v1/users").then_some(body);
        let (status, answer) = api.as_user(&t, "uma", method.clone(), path, body).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::FORBIDDEN, Some("escalation")),
            "{method} {path}"
        );
    }
    let (status, _) = api
        .as_user(
            &t,
            "uma",
            Method::POST,
            "/v1/purchases/quotes",
            Some(json!({"licences": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Within its rights it works: a plain user.
    let (status, _) = api
        .as_user(
            &t,
            "uma",
            Method::POST,
            "/v1/users",
            Some(json!({"user_id": "pat", "name": "Pat", "email": "pat@acme.dk"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);

    // With a second administrator, the first may step down.
    let (status, _) = api
        .as_user(&t, "ada", Method::POST, "/v1/users",
            Some(json!({"user_id": "bo", "name": "Bo", "email": "bo@acme.dk", "role": "administrator"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = api
        .as_user(&t, "ada", Method::POST, "/v1/users/ada/deactivate", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Bo, now the last, cannot take the administrators' rights away through a role either.
    let (status, body) = api
        .as_user(&t, "bo", Method::POST, "/v1/users/bo/deactivate", None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, Some("last_administrator"))
    );

    // An operator restores an administrator: an existing user promoted and activated, or a
    // new one; nobody else may.
    let restore =
        |user: &str| json!({"user_id": user, "name": "Rescue", "email": "rescue@acme.dk"});
    let path = format!("/v1/tenants/{t}/administrator");
    let (status, _) = api
        .as_user(&t, "bo", Method::POST, &path, Some(restore("ada")))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = api
        .call(
            Method::POST,
            &path,
            Some(&api.operator()),
            Some(restore("ada")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        (body["role"].as_str(), body["active"].as_bool()),
        (Some("administrator"), Some(true))
    );
    let (status, body) = api
        .call(
            Method::POST,
            &path,
            Some(&api.operator()),
            Some(restore("rescue")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = api
        .as_user(&t, "rescue", Method::GET, "/v1/users", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .call(
            Method::POST,
            "/v1/tenants/no-such-tenant/administrator",
            Some(&api.operator()),
            Some(restore("x")),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// The first day of the month `back` months before today's.
fn month_start(back: u32) -> NaiveDate {
    let today = Utc::now().date_naive();
    let months = today.year() * 12 + today.month0() as i32 - back as i32;
    NaiveDate::from_ymd_opt(months.div_euclid(12), months.rem_euclid(12) as u32 + 1, 1).unwrap()
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn r22_a_request_on_an_ended_period_first_rolls_the_tenant_over() {
    let api = require_api();
    // The API refuses to start a subscription in a period that is over.
    let t = unique("r22");
    let mut body = json!({
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
            Some(body.clone()),
        )
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("period_ended"))
    );

    // A tenant created then (through the store, as it was two months ago), never swept since.
    let table = std::env::var("LICENSING_TABLE").expect("the end-to-end table");
    let sdk = licensing_tests::sdk().await;
    let store =
        licensing::adapters::dynamodb::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let created = month_start(2).and_hms_opt(9, 0, 0).unwrap().and_utc();
    let start = month_start(2);
    let new = licensing_tests::acme(&t, start, 3, 1);
    licensing::app::create_tenant(&store, "operator-1", new, created)
        .await
        .expect("tenant");
    body["tenant_id"] = t.clone().into();

    // Many first requests at once: exactly one rollover per ended period.
    let results: Vec<(StatusCode, Value)> = futures::stream::iter(0..6)
        .map(|i| {
            let api = &api;
            let t = t.clone();
            async move {
                if i % 2 == 0 {
                    api.as_user(&t, "ada", Method::GET, "/v1/account", None)
                        .await
                } else {
                    api.as_user(
                        &t,
                        "ada",
                        Method::PUT,
                        "/v1/next-period",
                        Some(json!({"licences": 2})),
                    )
                    .await
                }
            }
        })
        .buffer_unordered(6)
        .collect()
        .await;
    for (status, body) in &results {
        assert_eq!(*status, StatusCode::OK, "{body}");
    }
    // And a tenant whose first request after its period ended is a status read: the status
    // function itself rolls it over (the least-privilege check needs its write, which the
    // race above leaves to whichever function wins).
    let quiet = unique("r22s");
    licensing::app::create_tenant(
        &store,
        "operator-1",
        licensing_tests::acme(&quiet, start, 3, 1),
        created,
    )
    .await
    .expect("tenant");
    let (status, read) = api
        .as_user(&quiet, "ada", Method::GET, "/v1/account", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read["period"]["start"], month_start(0).to_string());
    let account = api.account(&t).await;
    assert_eq!(account["period"]["start"], month_start(0).to_string());
    // Every downscale applied to the period now running: effective from its end, in the future.
    for (_, body) in results
        .iter()
        .filter(|(_, b)| b.get("effective_from").is_some())
    {
        assert_eq!(body["effective_from"], account["period"]["end"]);
    }
    let (_, invoices) = api
        .as_user(&t, "ada", Method::GET, "/v1/invoices", None)
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
        .as_user(&t, "ada", Method::GET, "/v1/action-log", None)
        .await;
    let rollovers = log["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "period.rolled_over")
        .count();
    assert_eq!(rollovers, 1, "both ended periods in one rollover, once");
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn a_retried_user_create_with_its_key_creates_one_user() {
    let api = require_api();
    let t = unique("idem");
    api.tenant(&t, 5).await;
    let admin = api.user(&t, "ada");
    let body = json!({"name": "No Id", "email": "noid@acme.dk"}).to_string();
    let key = [("idempotency-key", "create-noid-1")];
    let (first_status, first) = api
        .call_with(
            Method::POST,
            "/v1/users",
            Some(&admin),
            Some(body.clone()),
            &key,
        )
        .await;
    assert_eq!(first_status, StatusCode::CREATED, "{first}");
    let (status, again) = api
        .call_with(Method::POST, "/v1/users", Some(&admin), Some(body), &key)
        .await;
    assert_eq!((status, &again), (StatusCode::CREATED, &first));
    let other = json!({"name": "Other", "email": "other@acme.dk"}).to_string();
    let (status, answer) = api
        .call_with(Method::POST, "/v1/users", Some(&admin), Some(other), &key)
        .await;
    assert_eq!(
        (status, code(&answer)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("idempotency_key_reused")
        )
    );
    let (_, users) = api.as_user(&t, "ada", Method::GET, "/v1/users", None).await;
    assert_eq!(
        users["items"].as_array().unwrap().len(),
        2,
        "ada and one new user"
    );
}

/// A purchase that licenses more red seats than one transaction holds (the rest of the
/// records go in batches after the commit): at customer size the purchase function needs
/// `BatchWriteItem`, which the least-privilege check then sees it call.
#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn buying_for_more_red_seats_than_one_transaction_holds() {
    let api = require_api();
    let t = unique("wide");
    api.tenant(&t, 1).await;
    let ids: Vec<String> = (0..110).map(|i| format!("w-{i:03}")).collect();
    futures::stream::iter(&ids)
        .for_each_concurrent(8, |id| {
            let (api, t) = (&api, &t);
            async move {
                api.add_user(t, id).await;
            }
        })
        .await;
    let account = api.account(&t).await;
    assert_eq!(account["licences"]["in_use"], 111);
    assert_eq!(account["licences"]["over_allocated_count"], 110);
    // R26: the account lists the 100 nearest deadlines.
    assert_eq!(
        account["licences"]["over_allocated"]
            .as_array()
            .unwrap()
            .len(),
        100
    );
    let admin = api.user(&t, "ada");
    let (status, quote) = api
        .call(
            Method::POST,
            "/v1/purchases/quotes",
            Some(&admin),
            Some(json!({"licences": 110})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{quote}");
    let approve = json!({"quote_id": quote["quote_id"]}).to_string();
    let (status, bought) = api
        .call_with(
            Method::POST,
            "/v1/purchases",
            Some(&admin),
            Some(approve),
            &[("idempotency-key", "wide-1")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{bought}");
    let account = api.account(&t).await;
    assert_eq!(account["licences"]["purchased"], 111);
    assert_eq!(account["licences"]["over_allocated"], json!([]));
    // Next period back to one: at the rollover (the sweeper's end-to-end run) 110 seats turn
    // red at once, more than one transaction holds.
    let (status, next) = api
        .call(
            Method::PUT,
            "/v1/next-period",
            Some(&admin),
            Some(json!({"licences": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_eq!(next["seats_to_remove"].as_array().unwrap().len(), 100);
    assert_eq!(next["seats_to_remove_count"], 110);
}

/// The sweeper function, invoked as EventBridge does (through the local invoke path), acting
/// for an instant weeks ahead: tenants roll over and red seats past their grace are removed;
/// a terminated tenant is left alone. The test command runs it on its own after the other
/// end-to-end tests, since it sweeps the whole table.
#[tokio::test]
#[ignore = "sweeps the whole end-to-end table: ./scripts/test.sh runs it after the others"]
async fn the_sweeper_function_rolls_over_removes_and_leaves_terminated_tenants_alone() {
    let api = require_api();
    let live = unique("sweep");
    let ended = unique("sweep-term");
    for t in [&live, &ended] {
        api.tenant(t, 1).await;
        api.add_user(t, "red-1").await;
    }
    let (status, _) = api
        .call(
            Method::POST,
            &format!("/v1/tenants/{ended}/terminate"),
            Some(&api.operator()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let account = api.account(&live).await;
    let deadline: chrono::DateTime<Utc> = account["licences"]["over_allocated"][0]["deadline"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let when = (deadline + Duration::days(40)).to_rfc3339();
    let event = json!({
        "version": "0", "id": "e2e-sweep", "detail-type": "Scheduled Event", "source": "aws.scheduler",
        "account": "123456789012", "time": when, "region": "eu-west-1", "resources": [], "detail": {}
    });
    let response = api
        .http
        .post(format!(
            "{}/2015-03-31/functions/sweeper/invocations",
            api.url
        ))
        .json(&event)
        .send()
        .await
        .expect("invoke");
    assert!(response.status().is_success(), "{}", response.status());
    let outcome: Value = response.json().await.expect("outcome");
    assert!(
        outcome["sweep"]["rollovers"].as_u64().unwrap() >= 1,
        "{outcome}"
    );
    assert!(
        outcome["sweep"]["removals"].as_u64().unwrap() >= 1,
        "{outcome}"
    );
    assert_eq!(outcome["sweep"]["failed_tenants"], 0, "{outcome}");

    let users = |t: String| {
        let api = &api;
        async move {
            let (_, users) = api
                .as_user(&t, "ada", Method::GET, "/v1/users?limit=100", None)
                .await;
            users["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["user_id"] == "red-1")
                .map(|u| u["active"].as_bool().unwrap())
                .unwrap()
        }
    };
    assert!(!users(live.clone()).await, "removed after its grace");
    let (_, log) = api
        .as_user(&ended, "ada", Method::GET, "/v1/action-log", None)
        .await;
    assert!(
        log["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["action"] != "seat.removed"),
        "a terminated tenant is left alone: {log}"
    );
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn r24_a_tenants_fifty_first_role_is_refused_with_limit_reached() {
    let api = require_api();
    let t = unique("r24");
    api.tenant(&t, 3).await;
    let put = |i: usize| {
        let api = &api;
        let t = t.clone();
        async move {
            api.as_user(
                &t,
                "ada",
                Method::PUT,
                &format!("/v1/roles/role-{i}"),
                Some(json!({"rights": ["account.view"]})),
            )
            .await
        }
    };
    // `administrator` and `user` are built in: 48 more make 50.
    for i in 0..48 {
        let (status, body) = put(i).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    let (status, body) = put(48).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(code(&body), Some("limit_reached"));
    // An existing role can still be changed.
    let (status, body) = put(0).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

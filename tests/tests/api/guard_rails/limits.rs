//! Retries, changes larger than a transaction, the sweeper function end to end, and R24's limits.

use super::*;

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
    // R35: a purchase above the live tenant's limit, left waiting, expires in this sweep.
    let waiting_id = a_purchase_left_waiting(&api, &live).await;
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
    expired_and_charged_nothing(&api, &live, &waiting_id, &outcome).await;
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

/// R35: a limit of 1.00 DKK on `tenant` and a purchase above it, left waiting: its id.
async fn a_purchase_left_waiting(api: &Api, tenant: &str) -> String {
    let limit = Some(json!({"approval_threshold": 100}));
    let (status, limited) = api
        .as_user(tenant, "ada", Method::PUT, "/v1/settings", limit)
        .await;
    assert_eq!(status, StatusCode::OK, "{limited}");
    let ada = api.user(tenant, "ada");
    let (status, waiting) = api.buy(&ada, json!({"licences": 1}), "sweep-ask").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{waiting}");
    waiting["purchase_request_id"].as_str().unwrap().to_owned()
}

/// R35: the sweep weeks ahead expired request `id`, and no purchase was invoiced.
async fn expired_and_charged_nothing(api: &Api, tenant: &str, id: &str, outcome: &Value) {
    assert!(
        outcome["sweep"]["expired_requests"].as_u64().unwrap() >= 1,
        "{outcome}"
    );
    let path = format!("/v1/purchase-requests/{id}");
    let (_, expired) = api.as_user(tenant, "ada", Method::GET, &path, None).await;
    assert_eq!(expired["status"], "expired", "{expired}");
    let (_, invoices) = api
        .as_user(tenant, "ada", Method::GET, "/v1/invoices", None)
        .await;
    let items = invoices["items"].as_array().unwrap();
    assert!(
        items.iter().all(|i| i["kind"] != "purchase"),
        "nothing charged: {invoices}"
    );
}

//! End to end through HTTP: `cargo lambda watch` serving the functions on the production
//! routes, against DynamoDB Local and moto (issue: the HTTP API). The test command starts the
//! API and sets `LICENSING_API_URL`.

mod guard_rails;

use chrono::{NaiveDate, Utc};
use futures::StreamExt;
use licensing_tests::http::require_api;
use licensing_tests::{e2e_store, outbox_drained, token, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn round_half_up(n: i64, d: i64) -> i64 {
    (2 * n + d) / (2 * d)
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn a_customer_buys_downscales_and_manages_rights_through_the_api() {
    let api = require_api();
    let tenant = unique("journey");
    api.tenant(&tenant, 10).await;
    let admin = api.user(&tenant, "ada");
    for i in 1..=10 {
        let user = api.add_user(&tenant, &format!("u-{i:02}")).await;
        let expected = if i == 10 {
            "over_allocated"
        } else {
            "licensed"
        };
        assert_eq!(user["licence_state"], expected, "{user}");
    }
    // R2/R4: the 11th active user is red with a deadline seven days out.
    let account = api.account(&tenant).await;
    assert_eq!(account["licences"]["in_use"], 11);
    assert_eq!(account["licences"]["available"], 0);
    let red = &account["licences"]["over_allocated"][0];
    assert_eq!(red["user_id"], "u-10");
    let since: chrono::DateTime<Utc> = red["since"].as_str().unwrap().parse().unwrap();
    let deadline: chrono::DateTime<Utc> = red["deadline"].as_str().unwrap().parse().unwrap();
    assert_eq!(deadline - since, chrono::Duration::days(7));

    // R6/R7: a quote with the exact prorated amount.
    let (status, quote) = api
        .call(
            Method::POST,
            "/v1/purchases/quotes",
            Some(&admin),
            Some(json!({"licences": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{quote}");
    let line = &quote["lines"][0];
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Copenhagen)
        .date_naive();
    let end: NaiveDate = account["period"]["end"].as_str().unwrap().parse().unwrap();
    let start: NaiveDate = account["period"]["start"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let (remaining, days) = ((end - today).num_days(), (end - start).num_days());
    assert_eq!(line["days_remaining"], remaining);
    assert_eq!(line["days_in_period"], days);
    assert_eq!(line["amount"], round_half_up(12_900 * remaining, days));
    assert_eq!(quote["total"], line["amount"]);

    // R8/R9/R10: approval buys at once; the red seat is licensed; next period follows.
    let (status, _) = api
        .call(
            Method::PUT,
            "/v1/next-period",
            Some(&admin),
            Some(json!({"licences": 6})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let approve = json!({"quote_id": quote["quote_id"]}).to_string();
    let (status, body) = api
        .call_with(
            Method::POST,
            "/v1/purchases",
            Some(&admin),
            Some(approve.clone()),
            &[],
        )
        .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "no Idempotency-Key: {body}"
    );
    assert_eq!(body["code"], "idempotency_key_missing");
    let (status, purchase) = api
        .call_with(
            Method::POST,
            "/v1/purchases",
            Some(&admin),
            Some(approve.clone()),
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{purchase}");
    assert_eq!(purchase["total"], quote["total"]);
    assert_eq!(purchase["account"]["licences"]["purchased"], 11);
    assert_eq!(purchase["account"]["licences"]["next_period"], 11);
    assert_eq!(purchase["account"]["licences"]["over_allocated"], json!([]));
    // R20: delivered after the answer (the outbox is empty: every batch sent and deleted) by
    // the table's stream, the local stream reader and the dispatcher function under watch, as
    // the event source mapping runs it on AWS; the confirmation reached the approver, in
    // Danish, with the amount (moto keeps it). Within a second on a quiet stream (the stream
    // reader's own test); here the suite shares the stream with the 1 000-user onboarding,
    // whose 1 000 events moto takes about 20 s to accept, and a tenant whose batches share
    // its lane (one in four) waits behind them, as on AWS with one shard.
    let store = e2e_store().await.expect("LICENSING_TABLE");
    let took = outbox_drained(
        &store,
        &licensing::domain::identity::TenantId::parse(&tenant).unwrap(),
        std::time::Duration::from_secs(120),
    )
    .await;
    eprintln!("the purchase's mail and events were delivered {took:?} after the answer");
    assert!(took.is_some(), "not delivered within two minutes");
    let marker = format!("Acme {tenant}");
    let (confirmation, _) = api
        .mail(std::time::Duration::from_secs(5), |m| {
            m.subject == "Dit køb af licenser er bekræftet" && m.body.contains(&marker)
        })
        .await
        .expect("a purchase confirmation in the SES engine");
    assert_eq!(confirmation.to, "ada@acme.dk");
    let amount = quote["total"].as_i64().unwrap();
    let shown = format!("{}.{:02} DKK", amount / 100, amount % 100);
    assert!(confirmation.body.contains(&shown), "{shown}");
    // R1: the very next read shows it.
    assert_eq!(api.account(&tenant).await["licences"]["purchased"], 11);
    let (_, replay) = api
        .call_with(
            Method::POST,
            "/v1/purchases",
            Some(&admin),
            Some(approve),
            &[("Idempotency-Key", "k-1")],
        )
        .await;
    assert_eq!(
        replay, purchase,
        "the same key and body replays the first answer"
    );
    let (status, invoices) = api
        .call(Method::GET, "/v1/invoices", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(invoices["items"].as_array().unwrap().len(), 1);
    assert_eq!(invoices["items"][0]["total"], quote["total"]);

    // R11/R12: downscale bounds and the seats that would be removed.
    let (status, body) = api
        .call(
            Method::PUT,
            "/v1/next-period",
            Some(&admin),
            Some(json!({"licences": 0})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("next_period_below_one")
        )
    );
    assert!(body["detail"].as_str().unwrap().contains("contact support"));
    // R29: the support contact is the deployment's setting, named in the refusal.
    let support = std::env::var("LICENSING_SUPPORT_EMAIL").expect("the test command sets it");
    assert_eq!(body["support_email"], support.as_str());
    assert!(body["detail"].as_str().unwrap().contains(&support));
    let (status, body) = api
        .call(
            Method::PUT,
            "/v1/next-period",
            Some(&admin),
            Some(json!({"licences": 12})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("next_period_above_purchased")
        )
    );
    let (status, body) = api
        .call(
            Method::PUT,
            "/v1/next-period",
            Some(&admin),
            Some(json!({"licences": 8})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let removed: Vec<&str> = body["seats_to_remove"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(removed, vec!["u-08", "u-09", "u-10"]);
    assert_eq!(
        body["account"]["licences"]["purchased"], 11,
        "the current period is unchanged"
    );

    // R17: a role's right revoked is refused on the very next request.
    let (status, _) = api
        .call(
            Method::PUT,
            "/v1/roles/buyer",
            Some(&admin),
            Some(json!({"rights": ["account.view", "licences.manage"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api
        .call(
            Method::PUT,
            "/v1/users/u-01",
            Some(&admin),
            Some(json!({"role": "buyer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let buyer = api.user(&tenant, "u-01");
    let (status, _) = api
        .call(
            Method::POST,
            "/v1/purchases/quotes",
            Some(&buyer),
            Some(json!({"licences": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = api
        .call(
            Method::PUT,
            "/v1/roles/buyer",
            Some(&admin),
            Some(json!({"rights": ["account.view"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .call(
            Method::POST,
            "/v1/purchases/quotes",
            Some(&buyer),
            Some(json!({"licences": 1})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, role) = api
        .call(Method::GET, "/v1/roles/buyer", Some(&admin), None)
        .await;
    assert_eq!(
        (status, role["rights"].clone()),
        (StatusCode::OK, json!(["account.view"]))
    );

    // Users and the action log page through.
    let mut users = Vec::new();
    let mut path = "/v1/users?limit=4".to_owned();
    loop {
        let (status, page) = api.call(Method::GET, &path, Some(&admin), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        users.extend(
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|u| u["user_id"].as_str().unwrap().to_owned()),
        );
        match page["next_cursor"].as_str() {
            Some(c) => path = format!("/v1/users?limit=4&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(users.len(), 11);
    let (status, log) = api
        .call(Method::GET, "/v1/action-log?limit=3", Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(log["items"][0]["action"], "role.updated", "newest first");
    assert!(log["next_cursor"].is_string());
}

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
    let routes: [(Method, &str, Option<Value>); 17] = [
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
    ];
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
    // Another tenant's ids are simply not there.
    let admin_a = api.user(&a, "ada");
    let (status, body) = api
        .call(
            Method::POST,
            "/v1/users/other/deactivate",
            Some(&admin_a),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        !body.to_string().contains(&b),
        "no byte of the other tenant"
    );
    let (_, quote) = api
        .call(
            Method::POST,
            "/v1/purchases/quotes",
            Some(&api.user(&b, "ada")),
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

/// R28, R30, R31 through the API: a preview equals what the change then does and changes
/// nothing; the renewal reminder's notice is set by the tenant's administrator or an
/// operator, within its bounds; an invoice opens by its id in its own tenant only.
#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn preview_settings_and_one_invoice_through_the_api() {
    let api = require_api();
    let tenant = unique("r28");
    api.tenant(&tenant, 3).await;
    let admin = api.user(&tenant, "ada");
    for id in ["u-1", "u-2", "u-3"] {
        api.add_user(&tenant, id).await;
    }
    // 3 licences, 4 in use: u-3 is red and has no licence to lose.
    let before = api.account(&tenant).await;
    assert_eq!(before["licences"]["over_allocated_count"], 1);
    assert_eq!(
        before["licences"]["over_allocated_at_change"], 0,
        "nothing downscaled"
    );
    let (status, preview) = api
        .call(
            Method::POST,
            "/v1/next-period/preview",
            Some(&admin),
            Some(json!({"licences": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{preview}");
    let names = |v: &Value| -> Vec<String> {
        v["seats_to_remove"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["user_id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        names(&preview),
        ["u-1", "u-2"],
        "the licensed beyond 1, the red one skipped"
    );
    assert_eq!(preview["seats_to_remove_count"], 2);
    let price = before["licences"]["unit_price"].as_i64().unwrap();
    let crm = before["modules"][0]["unit_price"].as_i64().unwrap()
        * before["modules"][0]["purchased"].as_i64().unwrap();
    assert_eq!(preview["period_total"], 3 * price + crm);
    assert_eq!(preview["next_period_total"], price + crm);
    assert_eq!(preview["saving"], 2 * price);
    assert_eq!(
        api.account(&tenant).await["version"],
        before["version"],
        "a preview changes nothing"
    );
    let (status, saved) = api
        .call(
            Method::PUT,
            "/v1/next-period",
            Some(&admin),
            Some(json!({"licences": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{saved}");
    assert_eq!(
        names(&saved),
        names(&preview),
        "the change does what its preview said"
    );
    assert_eq!(saved["account"]["licences"]["over_allocated_at_change"], 2);
    let (status, problem) = api
        .call(
            Method::POST,
            "/v1/next-period/preview",
            Some(&admin),
            Some(json!({"licences": 4})),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(problem["code"], "next_period_above_purchased");

    // R30: the notice, by the administrator and by an operator.
    assert_eq!(before["renewal_reminder_days"], 7, "the default");
    let (status, account) = api
        .call(
            Method::PUT,
            "/v1/settings",
            Some(&admin),
            Some(json!({"renewal_reminder_days": 14})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(account["renewal_reminder_days"], 14);
    for bad in [
        json!({"renewal_reminder_days": 61}),
        json!({"renewal_reminder_days": -1}),
        json!({}),
    ] {
        let (status, problem) = api
            .call(Method::PUT, "/v1/settings", Some(&admin), Some(bad.clone()))
            .await;
        assert!(status.is_client_error(), "{bad}: {status} {problem}");
        assert!(problem["code"].is_string(), "{problem}");
    }
    let (status, account) = api
        .call(
            Method::PUT,
            &format!("/v1/tenants/{tenant}/settings"),
            Some(&api.operator()),
            Some(json!({"renewal_reminder_days": 0})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{account}");
    assert_eq!(api.account(&tenant).await["renewal_reminder_days"], 0);
    let (status, _) = api
        .call(
            Method::PUT,
            "/v1/tenants/no-such-tenant/settings",
            Some(&api.operator()),
            Some(json!({"renewal_reminder_days": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // R31: one invoice by its id; another tenant's id is not there.
    let (status, bought) = api.buy(&admin, json!({"licences": 1}), "r31").await;
    assert_eq!(status, StatusCode::CREATED, "{bought}");
    let id = bought["invoice_id"].as_str().unwrap();
    let (status, invoice) = api
        .call(
            Method::GET,
            &format!("/v1/invoices/{id}"),
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{invoice}");
    let (_, listed) = api
        .call(Method::GET, "/v1/invoices", Some(&admin), None)
        .await;
    assert_eq!(invoice, listed["items"][0]);
    assert_eq!(invoice["total"], bought["total"]);
    let other = unique("r31");
    api.tenant(&other, 1).await;
    let (status, problem) = api
        .call(
            Method::GET,
            &format!("/v1/invoices/{id}"),
            Some(&api.user(&other, "ada")),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(problem["code"], "not_found");
    let (status, roles) = api.call(Method::GET, "/v1/roles", Some(&admin), None).await;
    assert_eq!(status, StatusCode::OK, "{roles}");
    let roles: Vec<&str> = roles
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["administrator", "user"]);
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn bad_input_is_a_4xx_problem_and_stores_nothing() {
    let api = require_api();
    let tenant = unique("bad");
    api.tenant(&tenant, 5).await;
    let admin = api.user(&tenant, "ada");
    let version = api.account(&tenant).await["version"].clone();
    let cases: Vec<(Method, &str, String)> = vec![
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
    ];
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

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn two_hundred_approvals_over_twenty_keys_make_twenty_purchases() {
    let api = require_api();
    let tenant = unique("burst");
    api.tenant(&tenant, 5).await;
    let admin = api.user(&tenant, "ada");
    let mut quotes = Vec::new();
    for i in 0..20u32 {
        let (status, quote) = api
            .call(
                Method::POST,
                "/v1/purchases/quotes",
                Some(&admin),
                Some(json!({"licences": 1 + i % 3})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED);
        quotes.push(quote);
    }
    let requests = (0..200usize).map(|n| {
        let quote = &quotes[n % 20];
        let body = json!({"quote_id": quote["quote_id"]}).to_string();
        let key = format!("burst-{}", n % 20);
        let api = &api;
        let admin = &admin;
        async move {
            api.call_with(
                Method::POST,
                "/v1/purchases",
                Some(admin),
                Some(body),
                &[("Idempotency-Key", &key)],
            )
            .await
        }
    });
    // Sixteen in flight at a time: `cargo lambda watch` 1.9.2 stops answering for good when
    // about thirty or more requests wait on one function (measured here), which would test
    // the emulator, not the service. Every approval still races others on the same tenant.
    let answers: Vec<(StatusCode, Value)> = futures::stream::iter(requests)
        .buffer_unordered(16)
        .collect()
        .await;
    for (status, body) in &answers {
        assert_eq!(*status, StatusCode::CREATED, "{body}");
    }
    let expected: u32 = (0..20u32).map(|i| 1 + i % 3).sum();
    let account = api.account(&tenant).await;
    assert_eq!(account["licences"]["purchased"], 5 + expected);
    let (_, invoices) = api
        .call(Method::GET, "/v1/invoices?limit=100", Some(&admin), None)
        .await;
    assert_eq!(invoices["items"].as_array().unwrap().len(), 20);
    let ids: std::collections::BTreeSet<&str> = answers
        .iter()
        .map(|(_, b)| b["purchase_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 20, "one purchase per key");
}

/// R25 through HTTP: 1 000 users onboarded in two batches of 500 (full-size requests), then
/// the account page, a downscale of all but one and the users list all answer, within the
/// response limits. (10 000 users through the same use case: tests/tests/size.rs. Each user's
/// event reaches moto through the stream reader while the rest of the suite runs: at ~50
/// events/s, 3 000 users held every fourth tenant's mail back for a minute.)
#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn a_customer_onboards_1000_users_in_batches_and_downscales() {
    let api = require_api();
    let tenant = unique("onboard");
    // Licences for all: over-allocation is the size tests' subject.
    api.tenant(&tenant, 1_001).await;
    let admin = api.user(&tenant, "ada");
    for n in 0..2 {
        let users: Vec<Value> = (1..=500)
            .map(|i| {
                let id = format!("b-{:04}", n * 500 + i);
                json!({"user_id": id, "name": format!("User {id}"), "email": format!("{id}@example.com")})
            })
            .collect();
        let (status, answer) = api
            .call(
                Method::POST,
                "/v1/users/batch",
                Some(&admin),
                Some(json!({"users": users})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        assert_eq!(
            (answer["created"].as_u64(), answer["failed"].as_u64()),
            (Some(500), Some(0))
        );
    }
    let account = api.account(&tenant).await;
    assert_eq!(account["licences"]["in_use"], 1_001);
    assert_eq!(account["licences"]["over_allocated_count"], 0);
    let (status, next) = api
        .call(
            Method::PUT,
            "/v1/next-period",
            Some(&admin),
            Some(json!({"licences": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{next}");
    assert_eq!(next["seats_to_remove_count"], 1_000);
    assert_eq!(next["seats_to_remove"].as_array().unwrap().len(), 100);
    // Nobody is red before the period change: the filter pages through and finds none.
    let (status, page) = api
        .call(
            Method::GET,
            "/v1/users?licence_state=over_allocated&limit=100",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["items"].as_array().unwrap().len(), 0);
    // A body outside the contract is refused whole.
    let (status, problem) = api
        .call(
            Method::POST,
            "/v1/users/batch",
            Some(&admin),
            Some(json!({"users": [{"name": "No email"}]})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{problem}");
    let (status, _) = api
        .call(
            Method::POST,
            "/v1/users/batch",
            Some(&admin),
            Some(json!({"users": []})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // The customer leaves: the end-to-end sweeper test, which sweeps the whole table weeks
    // ahead, then leaves these 1 000 seats alone (the size tests sweep them). An operator's
    // retry of the call gets the same account (R18).
    let mut answers = Vec::new();
    for _ in 0..2 {
        let (status, body) = api
            .call(
                Method::POST,
                &format!("/v1/tenants/{tenant}/terminate"),
                Some(&api.operator()),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["status"], "terminated");
        answers.push(body);
    }
    assert_eq!(answers[0], answers[1]);
}

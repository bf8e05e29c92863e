//! R38 through the local API, on both engine profiles: the dispatcher hands each webhook to
//! the `webhooks` function through Lambda's Invoke API, which POSTs it to a receiver outside
//! the project's code (tests/webhooks/receiver.py) that verifies every delivery with the
//! published `standardwebhooks` library and deduplicates by `webhook-id`.

use super::*;

/// The receiver the test command started (`LICENSING_TEST_WEBHOOK_RECEIVER`).
fn receiver() -> String {
    std::env::var("LICENSING_TEST_WEBHOOK_RECEIVER")
        .expect("LICENSING_TEST_WEBHOOK_RECEIVER unset: ./scripts/test.sh starts the receiver")
}

/// Tells the receiver's box which secrets it verifies with and what it answers.
async fn configure(api: &Api, name: &str, secrets: &[&str], status: u16) {
    let answer = api
        .http
        .put(format!("{}/_boxes/{name}", receiver()))
        .json(&json!({"secrets": secrets, "status": status}))
        .send()
        .await
        .expect("the receiver");
    assert!(answer.status().is_success());
}

/// What the box received, oldest first.
async fn received(api: &Api, name: &str) -> Vec<Value> {
    let answer: Value = api
        .http
        .get(format!("{}/_boxes/{name}", receiver()))
        .send()
        .await
        .expect("the receiver")
        .json()
        .await
        .expect("JSON");
    answer["received"].as_array().cloned().unwrap_or_default()
}

/// Waits up to 2 minutes (late in a test run the local stream reader can be a minute behind)
/// for the box to hold a delivery that `matches`; all it received then.
async fn wait_for(api: &Api, name: &str, matches: impl Fn(&Value) -> bool) -> Vec<Value> {
    eventually(&format!("a matching delivery to {name}"), || async {
        Some(received(api, name).await).filter(|got| got.iter().any(&matches))
    })
    .await
}

/// An endpoint for `tenant` at the receiver's box `name`: its id and secret.
async fn endpoint(api: &Api, tenant: &str, name: &str, events: &[&str]) -> (String, String) {
    let (status, made) = api
        .as_user(
            tenant,
            "ada",
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": format!("{}/{name}", receiver()), "events": events, "description": "ERP"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    (
        made["endpoint_id"].as_str().expect("an id").to_owned(),
        made["secret"].as_str().expect("a secret").to_owned(),
    )
}

/// What `read` gives once it gives something, asked every 100 ms for up to 2 minutes (the
/// local stream reader can be a minute behind late in a test run).
async fn eventually<T, F, Fut>(what: &str, mut read: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = std::time::Instant::now();
    loop {
        if let Some(found) = read().await {
            return found;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "{what}: not within 2 minutes"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// The endpoint as its administrator reads it.
async fn endpoint_of(api: &Api, tenant: &str, id: &str) -> Value {
    let path = format!("/v1/webhooks/{id}");
    api.as_user(tenant, "ada", Method::GET, &path, None).await.1
}

/// The endpoint's attempts, newest first.
async fn attempts(api: &Api, tenant: &str, id: &str) -> Vec<Value> {
    let path = format!("/v1/webhooks/{id}/attempts");
    let (status, body) = api.as_user(tenant, "ada", Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["items"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
#[ignore = "needs the local API and the receiver: ./scripts/test.sh runs it"]
async fn a_purchase_reaches_a_receiver_verifying_with_standardwebhooks_exactly_once() {
    let api = require_api();
    let tenant = unique("wh-buy");
    api.tenant(&tenant, 2).await;
    let (id, secret) = endpoint(&api, &tenant, &tenant, &["LicencesPurchased"]).await;
    configure(&api, &tenant, &[&secret], 204).await;
    let admin = api.user(&tenant, "ada");
    let (status, bought) = api.buy(&admin, json!({"licences": 1}), "wh-1").await;
    assert_eq!(status, StatusCode::CREATED, "{bought}");

    let purchased = |d: &Value| d["type"] == "LicencesPurchased" && d["verified"] == true;
    wait_for(&api, &tenant, purchased).await;
    // Everything the purchase wrote is delivered: nothing more can come.
    let store = e2e_store().await.expect("LICENSING_TABLE");
    let id_of = licensing::domain::identity::TenantId::parse(&tenant).expect("a tenant");
    assert!(
        outbox_drained(&store, &id_of, std::time::Duration::from_secs(60))
            .await
            .is_some()
    );
    let got = received(&api, &tenant).await;
    assert_eq!(got.len(), 1, "exactly once: {got:?}");
    assert_eq!(got[0]["signatures"], 1);
    // The dispatcher records the attempt after it settled (deleted) the batch.
    let tried = eventually("the attempt recorded", || async {
        Some(attempts(&api, &tenant, &id).await).filter(|a| !a.is_empty())
    })
    .await;
    assert_eq!(tried.len(), 1, "{tried:?}");
    assert_eq!(
        (tried[0]["status"].clone(), tried[0]["message_id"].clone()),
        (json!(204), got[0]["id"].clone())
    );
}

#[tokio::test]
#[ignore = "needs the local API and the receiver: ./scripts/test.sh runs it"]
async fn a_receiver_down_gets_the_message_resent_once_then_a_rotated_secret_and_gone() {
    let api = require_api();
    let tenant = unique("wh-ops");
    api.tenant(&tenant, 2).await;
    let (id, old) = endpoint(&api, &tenant, &tenant, &["UserActivated"]).await;
    // Down: the test message is answered 503, and the attempt says so.
    configure(&api, &tenant, &[&old], 503).await;
    let test = format!("/v1/webhooks/{id}/test");
    let (status, queued) = api.as_user(&tenant, "ada", Method::POST, &test, None).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{queued}");
    let message = queued["message_id"].as_str().expect("an id").to_owned();
    wait_for(&api, &tenant, |d| d["id"] == json!(message)).await;
    let tried = eventually("the attempt recorded", || async {
        Some(attempts(&api, &tenant, &id).await).filter(|a| !a.is_empty())
    })
    .await;
    assert_eq!(tried[0]["status"], 503, "{tried:?}");
    // The endpoint is written after its attempts.
    eventually("failing_since set", || async {
        Some(endpoint_of(&api, &tenant, &id).await).filter(|e| e["failing_since"].is_string())
    })
    .await;

    // Up again, an administrator resends it under the same webhook-id (by which the receiver
    // tells a repeat: its own retry, due in 5 s, reaches the receiver only through the
    // sweeper's run, after this test).
    configure(&api, &tenant, &[&old], 204).await;
    let resend = format!("/v1/webhooks/{id}/messages/{message}/resend");
    let (status, again) = api
        .as_user(&tenant, "ada", Method::POST, &resend, None)
        .await;
    assert_eq!(
        (status, again["message_id"].clone()),
        (StatusCode::ACCEPTED, json!(message))
    );
    let got = wait_for(&api, &tenant, |d| {
        d["id"] == json!(message) && d["answered"] == 204
    })
    .await;
    let taken: Vec<&Value> = got.iter().filter(|d| d["answered"] == 204).collect();
    assert_eq!(taken.len(), 1, "{got:?}");
    assert!(
        taken
            .iter()
            .all(|d| d["verified"] == true && d["type"] == "WebhookTest")
    );

    // A rotated secret: for a day both sign, so a receiver still on the old one verifies, and
    // one already on the new one too.
    let rotate = format!("/v1/webhooks/{id}/rotate-secret");
    let (status, rotated) = api
        .as_user(&tenant, "ada", Method::POST, &rotate, None)
        .await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["secret"].as_str().expect("a secret").to_owned();
    for secret in [&old, &new] {
        configure(&api, &tenant, &[secret], 204).await;
        let (_, queued) = api.as_user(&tenant, "ada", Method::POST, &test, None).await;
        let sent = queued["message_id"].clone();
        let got = wait_for(&api, &tenant, |d| d["id"] == sent).await;
        let delivery = got.iter().find(|d| d["id"] == sent).expect("delivered");
        assert_eq!(
            (delivery["verified"].clone(), delivery["signatures"].clone()),
            (json!(true), json!(2)),
            "{delivery}"
        );
    }

    // 410 Gone: the endpoint is disabled at once, and says why.
    configure(&api, &tenant, &[&new], 410).await;
    let (_, queued) = api.as_user(&tenant, "ada", Method::POST, &test, None).await;
    let sent = queued["message_id"].clone();
    wait_for(&api, &tenant, |d| d["id"] == sent).await;
    let read = eventually("the endpoint disabled", || async {
        Some(endpoint_of(&api, &tenant, &id).await).filter(|e| e["enabled"] == false)
    })
    .await;
    assert_eq!(read["disabled_reason"], "gone", "{read}");
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn the_metadata_service_is_refused_even_where_private_receivers_are_allowed() {
    let api = require_api();
    let tenant = unique("wh-ssrf");
    api.tenant(&tenant, 2).await;
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/",
    ] {
        let (status, problem) = api
            .as_user(
                &tenant,
                "ada",
                Method::POST,
                "/v1/webhooks",
                Some(json!({"url": url, "events": ["LicencesPurchased"]})),
            )
            .await;
        assert_eq!(
            (status, problem["code"].clone()),
            (StatusCode::UNPROCESSABLE_ENTITY, json!("address_refused")),
            "{url}: {problem}"
        );
    }
    // A user without every right may not add one.
    let (status, made) = api
        .as_user(
            &tenant,
            "ada",
            Method::POST,
            "/v1/users",
            Some(json!({"user_id": "plain", "name": "Plain User", "email": "plain@example.com"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let (status, refused) = api
        .as_user(
            &tenant,
            "plain",
            Method::POST,
            "/v1/webhooks",
            Some(json!({"url": "https://hooks.example.com/", "events": ["LicencesPurchased"]})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
}

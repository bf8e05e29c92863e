//! SES's feedback end to end (R32): a permanent bounce, as the configuration set publishes it
//! to EventBridge and the `SesFeedback` rule hands it to the dispatcher (here through the
//! local API's invoke path), suppresses the address on DynamoDB Local: the users list shows
//! it, and mail to it is skipped while the other managers get theirs through moto.

use licensing::domain::identity::TenantId;
use licensing::notify::feedback::tenant_tag;
use licensing_tests::http::require_api;
use licensing_tests::mail::sent_mail;
use licensing_tests::{e2e_store, outbox_drained, unique};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The dispatcher invoked with an SES event, as the `SesFeedback` rule does: its answer.
async fn ses_event(api: &licensing_tests::http::Api, detail_type: &str, detail: Value) -> Value {
    let event = json!({
        "version": "0", "id": unique("ses"), "detail-type": detail_type, "source": "aws.ses",
        "account": "123456789012", "time": chrono::Utc::now().to_rfc3339(), "region": "eu-west-1",
        "resources": [], "detail": detail
    });
    let url = format!("{}/2015-03-31/functions/dispatcher/invocations", api.url);
    let answer = api.http.post(url).json(&event).send().await.unwrap();
    assert!(answer.status().is_success(), "{}", answer.status());
    answer.json().await.unwrap()
}

#[tokio::test]
#[ignore = "needs the local API and DynamoDB Local: ./scripts/test.sh runs it"]
async fn r32_a_hard_bounce_suppresses_the_address_shown_in_the_users_list_and_skipped_by_mail() {
    let api = require_api();
    let t = unique("bounce");
    api.tenant(&t, 1).await;
    let cy = format!("cy-{t}@example.com");
    let tag = tenant_tag(&TenantId::parse(&t).unwrap());
    // The `mail` part of SES's record: the tags the dispatcher sent it with.
    let ours = json!({
        "timestamp": "2026-12-01T10:00:00Z", "destination": [cy],
        "tags": {"tenant": [tag], "message_id": ["msg-1"]}
    });
    // A transient bounce changes nothing; a permanent one (in other case) suppresses.
    let soft = json!({"eventType": "Bounce", "mail": ours, "bounce": {
        "bounceType": "Transient", "bouncedRecipients": [{"emailAddress": cy}]
    }});
    let answer = ses_event(&api, "Email Bounced", soft).await;
    assert_eq!(answer, json!({"suppressed": 0, "ignored": true}));
    let hard = json!({"eventType": "Bounce", "mail": ours, "bounce": {
        "bounceType": "Permanent", "bounceSubType": "NoEmail", "timestamp": "2026-12-01T10:00:05Z",
        "bouncedRecipients": [{"emailAddress": cy.to_uppercase(), "diagnosticCode": "smtp; 550 5.1.1"}]
    }});
    for _ in 0..2 {
        // Delivered twice, as EventBridge may: the same suppression.
        let answer = ses_event(&api, "Email Bounced", hard.clone()).await;
        assert_eq!(answer, json!({"suppressed": 1, "ignored": false}));
    }

    // Cy, a second administrator, is created without a licence: the warning goes to the
    // managers, Ada and Cy, and to nobody at Cy's address.
    let (status, created) = api
        .as_user(
            &t,
            "ada",
            Method::POST,
            "/v1/users",
            Some(
                json!({"user_id": "cy", "name": "Cy Bounce", "email": cy, "role": "administrator"}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let store = e2e_store().await.expect("LICENSING_TABLE");
    let tenant = TenantId::parse(&t).unwrap();
    // The suite shares the stream with the 1 000-user onboarding (the journey test allows
    // 120 s for the same reason): delivered after the answer, not at once.
    outbox_drained(&store, &tenant, std::time::Duration::from_secs(120))
        .await
        .expect("the outbox drains");
    let sent = sent_mail(&api.http).await.unwrap();
    assert!(
        sent.iter().all(|m| !m.to.eq_ignore_ascii_case(&cy)),
        "nothing to the suppressed address"
    );
    assert!(
        sent.iter()
            .any(|m| m.to == "ada@acme.dk" && m.body.contains("Cy Bounce")),
        "the other manager is warned about Cy"
    );
    let (status, users) = api.as_user(&t, "ada", Method::GET, "/v1/users", None).await;
    assert_eq!(status, StatusCode::OK);
    let of = |id: &str| {
        users["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["user_id"] == id)
            .cloned()
            .unwrap()
    };
    assert_eq!(of("cy")["mail_suppressed"]["reason"], "bounce");
    assert_eq!(
        of("cy")["mail_suppressed"]["detail"],
        "permanent bounce (NoEmail): smtp; 550 5.1.1"
    );
    assert!(of("ada").get("mail_suppressed").is_none());
}

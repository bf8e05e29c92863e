//! R35 through the local API on DynamoDB Local: a purchase above the tenant's limit waits,
//! the requester cannot approve it, and racing approvals (two approvers, and one approver's
//! lost answer sent again) charge it once.

use super::*;

async fn approve(
    api: &Api,
    tenant: &str,
    user: &str,
    id: &str,
    total: &Value,
    key: &str,
) -> (StatusCode, Value) {
    api.call_with(
        Method::POST,
        &format!("/v1/purchase-requests/{id}/approve"),
        Some(&api.user(tenant, user)),
        Some(json!({ "total": total }).to_string()),
        &[("Idempotency-Key", key)],
    )
    .await
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn r35_a_purchase_above_the_limit_waits_and_racing_approvals_charge_it_once() {
    let api = require_api();
    let tenant = unique("limit");
    api.tenant(&tenant, 3).await;
    for user in ["cy", "dee"] {
        let (status, body) = api
            .as_user(&tenant, "ada", Method::POST, "/v1/users", Some(json!({"user_id": user, "name": format!("User {user}"), "email": format!("{user}@acme.dk"), "role": "administrator"})))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let (status, account) = api
        .as_user(
            &tenant,
            "ada",
            Method::PUT,
            "/v1/settings",
            Some(json!({"approval_threshold": 10000})),
        )
        .await;
    assert_eq!(
        (status, &account["approval_threshold"]),
        (StatusCode::OK, &json!(10000)),
        "{account}"
    );
    assert_eq!(account["renewal_reminder_days"], 7, "left out, kept");

    let (status, request) = api
        .buy(&api.user(&tenant, "ada"), json!({"licences": 2}), "ask-1")
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{request}");
    assert_eq!(
        (request["status"].as_str(), request["yours"].as_bool()),
        (Some("pending"), Some(true))
    );
    assert_eq!(
        api.account(&tenant).await["licences"]["purchased"],
        3,
        "nothing charged"
    );
    let id = request["purchase_request_id"].as_str().unwrap().to_owned();
    let total = request["total"].clone();

    let own = approve(&api, &tenant, "ada", &id, &total, "own").await;
    assert_eq!(
        (own.0, own.1["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("own_request"))
    );

    // Cy's answer lost and sent again under the same key, while Dee approves too.
    let (first, again, dee) = tokio::join!(
        approve(&api, &tenant, "cy", &id, &total, "cy-1"),
        approve(&api, &tenant, "cy", &id, &total, "cy-1"),
        approve(&api, &tenant, "dee", &id, &total, "dee-1"),
    );
    let created = [&first, &again, &dee]
        .iter()
        .filter(|a| a.0 == StatusCode::CREATED)
        .count();
    assert!(created >= 1, "{first:?} {again:?} {dee:?}");
    let invoice_ids: std::collections::BTreeSet<String> = [&first, &again, &dee]
        .iter()
        .filter(|a| a.0 == StatusCode::CREATED)
        .map(|a| a.1["invoice_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        invoice_ids.len(),
        1,
        "one purchase: {first:?} {again:?} {dee:?}"
    );
    for refused in [&first, &again, &dee]
        .iter()
        .filter(|a| a.0 != StatusCode::CREATED)
    {
        assert!(
            matches!(
                refused.1["code"].as_str(),
                Some("request_closed" | "idempotency_in_progress")
            ),
            "{refused:?}"
        );
    }
    assert_eq!(api.account(&tenant).await["licences"]["purchased"], 5);
    let (_, invoices) = api
        .as_user(&tenant, "ada", Method::GET, "/v1/invoices", None)
        .await;
    assert_eq!(invoices["items"].as_array().unwrap().len(), 1, "{invoices}");
    let (_, shown) = api
        .as_user(
            &tenant,
            "ada",
            Method::GET,
            &format!("/v1/purchase-requests/{id}"),
            None,
        )
        .await;
    assert_eq!(shown["status"], "approved");
    assert_eq!(
        shown["invoice_id"].as_str(),
        invoice_ids.iter().next().map(String::as_str)
    );

    // A decline closes the next one; the requester's mail and the others' are in the outbox.
    let (status, next) = api
        .buy(&api.user(&tenant, "ada"), json!({"licences": 2}), "ask-2")
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{next}");
    let next_id = next["purchase_request_id"].as_str().unwrap();
    let (status, declined) = api
        .as_user(
            &tenant,
            "cy",
            Method::POST,
            &format!("/v1/purchase-requests/{next_id}/decline"),
            Some(json!({"reason": "Next quarter"})),
        )
        .await;
    assert_eq!(
        (status, declined["status"].as_str()),
        (StatusCode::OK, Some("declined")),
        "{declined}"
    );
    assert_eq!(api.account(&tenant).await["licences"]["purchased"], 5);
}

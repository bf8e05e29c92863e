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
    let path = format!("/v1/purchase-requests/{id}/approve");
    let body = Some(json!({ "total": total }).to_string());
    let bearer = api.user(tenant, user);
    api.call_with(
        Method::POST,
        &path,
        Some(&bearer),
        body,
        &[("Idempotency-Key", key)],
    )
    .await
}

/// A tenant of 3 licences whose purchases above 100.00 DKK wait, with two more
/// administrators (Cy and Dee) beside Ada.
async fn limited_tenant(api: &Api) -> String {
    let tenant = unique("limit");
    api.tenant(&tenant, 3).await;
    for user in ["cy", "dee"] {
        let new = json!({"user_id": user, "name": format!("User {user}"), "email": format!("{user}@acme.dk"), "role": "administrator"});
        let (status, body) = api
            .as_user(&tenant, "ada", Method::POST, "/v1/users", Some(new))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let limit = Some(json!({"approval_threshold": 10000}));
    let (status, account) = api
        .as_user(&tenant, "ada", Method::PUT, "/v1/settings", limit)
        .await;
    assert_eq!(
        (status, &account["approval_threshold"]),
        (StatusCode::OK, &json!(10000)),
        "{account}"
    );
    assert_eq!(account["renewal_reminder_days"], 7, "left out, kept");
    tenant
}

/// Ada's purchase of `licences`, waiting: the 202's request.
async fn waiting(api: &Api, tenant: &str, licences: u32, key: &str) -> Value {
    let (status, request) = api
        .buy(
            &api.user(tenant, "ada"),
            json!({ "licences": licences }),
            key,
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{request}");
    assert_eq!(
        (request["status"].as_str(), request["yours"].as_bool()),
        (Some("pending"), Some(true))
    );
    request
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn r35_a_purchase_above_the_limit_waits_and_racing_approvals_charge_it_once() {
    let api = require_api();
    let tenant = limited_tenant(&api).await;
    let request = waiting(&api, &tenant, 2, "ask-1").await;
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
    let answers = [&first, &again, &dee];
    let created: Vec<_> = answers
        .iter()
        .filter(|a| a.0 == StatusCode::CREATED)
        .collect();
    let invoice_ids: std::collections::BTreeSet<&str> = created
        .iter()
        .map(|a| a.1["invoice_id"].as_str().unwrap())
        .collect();
    assert_eq!(invoice_ids.len(), 1, "one purchase: {answers:?}");
    for refused in answers.iter().filter(|a| a.0 != StatusCode::CREATED) {
        let code = refused.1["code"].as_str();
        assert!(
            matches!(code, Some("request_closed" | "idempotency_in_progress")),
            "{refused:?}"
        );
    }
    assert_eq!(api.account(&tenant).await["licences"]["purchased"], 5);
    let (_, invoices) = api
        .as_user(&tenant, "ada", Method::GET, "/v1/invoices", None)
        .await;
    assert_eq!(invoices["items"].as_array().unwrap().len(), 1, "{invoices}");
    let path = format!("/v1/purchase-requests/{id}");
    let (_, shown) = api.as_user(&tenant, "ada", Method::GET, &path, None).await;
    assert_eq!(shown["status"], "approved");
    assert_eq!(
        shown["invoice_id"].as_str(),
        invoice_ids.iter().next().copied()
    );
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn r35_a_declined_request_charges_nothing_through_the_api() {
    let api = require_api();
    let tenant = limited_tenant(&api).await;
    let request = waiting(&api, &tenant, 2, "ask-2").await;
    let id = request["purchase_request_id"].as_str().unwrap();
    let path = format!("/v1/purchase-requests/{id}/decline");
    let reason = Some(json!({"reason": "Next quarter"}));
    let (status, declined) = api
        .as_user(&tenant, "cy", Method::POST, &path, reason)
        .await;
    assert_eq!(
        (status, declined["status"].as_str()),
        (StatusCode::OK, Some("declined")),
        "{declined}"
    );
    let late = approve(&api, &tenant, "dee", id, &request["total"], "dee-2").await;
    assert_eq!(
        (late.0, late.1["code"].as_str()),
        (StatusCode::CONFLICT, Some("request_closed"))
    );
    assert_eq!(api.account(&tenant).await["licences"]["purchased"], 3);
}

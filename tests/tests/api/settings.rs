//! The next period's preview, the tenant's settings and one invoice through the API.

use super::*;

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
    the_renewal_notice_is_set_within_its_bounds(&api, &tenant, &before).await;
    one_invoice_opens_by_its_id_in_its_own_tenant(&api, &tenant).await;
}

async fn the_renewal_notice_is_set_within_its_bounds(api: &Api, tenant: &str, before: &Value) {
    let admin = api.user(tenant, "ada");
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
        json!({"renewal_reminder_days": null}),
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
    assert_eq!(api.account(tenant).await["renewal_reminder_days"], 0);
    let (status, _) = api
        .call(
            Method::PUT,
            "/v1/tenants/no-such-tenant/settings",
            Some(&api.operator()),
            Some(json!({"renewal_reminder_days": 3})),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn one_invoice_opens_by_its_id_in_its_own_tenant(api: &Api, tenant: &str) {
    let admin = api.user(tenant, "ada");
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

//! SCIM's tokens and its answers through the users function on the memory store (R34):
//! a token shown once, granting its tenant's SCIM only, revoked at once, acting within its
//! maker's rights; the discovery documents and SCIM's refusals.

use super::handler::handle;
use super::scim_tests::{call, entra_user, log, patch, scim, token};
use licensing::http::testing::{ADA, BO, Who, World, answer};
use licensing::scim::USER_SCHEMA;
use serde_json::{Value, json};

#[tokio::test]
async fn tokens_are_shown_once_grant_only_scim_and_are_refused_once_revoked() {
    let w = World::acme().await;
    let (status, made) = answer(
        call(
            &w,
            ADA,
            "POST",
            "/v1/scim-tokens",
            Some(json!({"name": "Entra ID"})),
        )
        .await,
    );
    assert_eq!(status, 201);
    let secret = made["token"].as_str().expect("a token").to_owned();
    assert!(
        secret.starts_with("scim_") && secret.len() == 69,
        "{secret}"
    );
    assert_eq!(
        scim(&w, &secret, "GET", "/scim/v2/Users", None).await.0,
        200
    );
    let (_, listed) = answer(call(&w, ADA, "GET", "/v1/scim-tokens", None).await);
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    assert!(listed["items"][0].get("token").is_none(), "{listed}");
    assert!(
        listed["items"][0]["last_used"].is_string(),
        "the first sync is noted: {listed}"
    );
    assert_eq!(
        answer(
            call(
                &w,
                BO,
                "POST",
                "/v1/scim-tokens",
                Some(json!({"name": "x"}))
            )
            .await
        )
        .0,
        403
    );
    assert_eq!(
        answer(
            call(
                &w,
                ADA,
                "POST",
                "/v1/scim-tokens",
                Some(json!({"name": " "}))
            )
            .await
        )
        .0,
        400
    );
    // The token is not a caller of the API, nor is a user's token a SCIM token.
    let mut api = w.request(Who::Nobody, "GET", "/v1/users", None);
    api.headers_mut().insert(
        "authorization",
        format!("Bearer {secret}").parse().expect("a header"),
    );
    assert_eq!(
        answer(handle(&w.store, &w.clock, &w.auth, api).await).0,
        401
    );
    for wrong in ["", "scim_", "eyJhbGciOiJIUzI1NiJ9.e30.x", &secret[..68]] {
        let (status, error) = scim(&w, wrong, "GET", "/scim/v2/Users", None).await;
        assert_eq!(
            (status, error["schemas"][0].clone()),
            (401, json!("urn:ietf:params:scim:api:messages:2.0:Error")),
            "{wrong}"
        );
    }
    let id = made["token_id"].as_str().expect("an id");
    assert_eq!(
        answer(call(&w, ADA, "DELETE", &format!("/v1/scim-tokens/{id}"), None).await).0,
        204
    );
    assert_eq!(
        scim(&w, &secret, "GET", "/scim/v2/Users", None).await.0,
        401
    );
    assert_eq!(
        answer(call(&w, ADA, "DELETE", &format!("/v1/scim-tokens/{id}"), None).await).0,
        404
    );
    // Both at the test's one instant: in either order.
    let mut actions: Vec<String> = log(&w)
        .await
        .into_iter()
        .map(|(_, action)| action)
        .collect();
    actions.truncate(2);
    actions.sort();
    assert_eq!(actions, ["scim_token.created", "scim_token.revoked"]);
}

#[tokio::test]
async fn a_token_acts_within_its_makers_rights_and_not_past_an_administrators_deactivation() {
    let w = World::acme().await;
    // A helpdesk role with users.manage only.
    let rights = json!({"rights": ["users.manage"]});
    assert_eq!(
        answer(call(&w, ADA, "PUT", "/v1/roles/helpdesk", Some(rights)).await).0,
        200
    );
    let hd = json!({"user_id": "hd", "name": "Help Desk", "email": "hd@example.com", "role": "helpdesk"});
    assert_eq!(
        answer(call(&w, ADA, "POST", "/v1/users", Some(hd)).await).0,
        201
    );
    let (status, made) = answer(
        call(
            &w,
            Who::User("acme", "hd"),
            "POST",
            "/v1/scim-tokens",
            Some(json!({"name": "Okta"})),
        )
        .await,
    );
    assert_eq!(status, 201, "{made}");
    let t = made["token"].as_str().expect("a token").to_owned();
    let (_, cy) = scim(&w, &t, "POST", "/scim/v2/Users", Some(entra_user("cy"))).await;
    let path = format!("/scim/v2/Users/{}", cy["id"].as_str().expect("an id"));
    // An administrator deactivates cy: a later PATCH of a name, or a PUT resending
    // `active: true`, does not undo it; GET shows it.
    let off = format!("/v1/users/{}/deactivate", cy["id"].as_str().expect("an id"));
    assert_eq!(answer(call(&w, ADA, "POST", &off, None).await).0, 200);
    let rename = patch(json!([{"op": "replace", "path": "displayName", "value": "Cy C"}]));
    let (status, renamed) = scim(&w, &t, "PATCH", &path, Some(rename)).await;
    assert_eq!(
        (status, renamed["active"].clone()),
        (200, json!(false)),
        "{renamed}"
    );
    let (status, put) = scim(&w, &t, "PUT", &path, Some(entra_user("cy"))).await;
    assert_eq!(
        (status, put["active"].clone()),
        (200, json!(false)),
        "{put}"
    );
    // Promoted to administrator: beyond the helpdesk's rights.
    let promote = json!({"role": "administrator"});
    let promote_path = format!("/v1/users/{}", cy["id"].as_str().expect("an id"));
    assert_eq!(
        answer(call(&w, ADA, "PUT", &promote_path, Some(promote)).await).0,
        200
    );
    assert_eq!(scim(&w, &t, "DELETE", &path, None).await.0, 403);
    // The maker deactivated: the token writes no more (it still reads).
    assert_eq!(
        answer(call(&w, ADA, "POST", "/v1/users/hd/deactivate", None).await).0,
        200
    );
    assert_eq!(
        scim(&w, &t, "POST", "/scim/v2/Users", Some(entra_user("dee")))
            .await
            .0,
        401
    );
    assert_eq!(scim(&w, &t, "GET", &path, None).await.0, 200);
}

#[tokio::test]
async fn discovery_and_refusals_speak_scim() {
    let w = World::acme().await;
    let t = token(&w, "Entra ID").await;
    let (status, config) = scim(&w, &t, "GET", "/scim/v2/ServiceProviderConfig", None).await;
    assert_eq!(
        (status, config["patch"]["supported"].clone()),
        (200, json!(true))
    );
    let (_, schemas) = scim(&w, &t, "GET", "/scim/v2/Schemas", None).await;
    assert_eq!(
        schemas["Resources"][1]["attributes"][0]["canonicalValues"],
        json!(["crm"])
    );
    let (status, _) = scim(
        &w,
        &t,
        "GET",
        &format!("/scim/v2/Schemas/{USER_SCHEMA}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    for (method, path, expected, scim_type) in [
        ("POST", "/scim/v2/ServiceProviderConfig", 405, Value::Null),
        ("DELETE", "/scim/v2/Schemas", 405, Value::Null),
        ("GET", "/scim/v2/Groups", 404, Value::Null),
        ("GET", "/scim/v2/Users/u-nobody", 404, Value::Null),
        (
            "GET",
            "/scim/v2/Users?filter=userName%20xx%20%22a%22",
            400,
            json!("invalidFilter"),
        ),
        (
            "GET",
            "/scim/v2/Users?count=many",
            400,
            json!("invalidValue"),
        ),
        ("POST", "/scim/v2/Users", 400, json!("invalidSyntax")),
    ] {
        let (status, error) = scim(&w, &t, method, path, None).await;
        assert_eq!(
            (status, error["scimType"].clone()),
            (expected, scim_type.clone()),
            "{method} {path}: {error}"
        );
        assert_eq!(
            error["schemas"][0],
            "urn:ietf:params:scim:api:messages:2.0:Error"
        );
    }
    let no_mail = json!({"schemas": [USER_SCHEMA], "userName": "not-an-address"});
    let (status, error) = scim(&w, &t, "POST", "/scim/v2/Users", Some(no_mail)).await;
    assert_eq!(
        (status, error["scimType"].clone()),
        (400, json!("invalidValue")),
        "{error}"
    );
    let by_mail = json!({"schemas": [USER_SCHEMA], "userName": "eve@contoso.example"});
    assert_eq!(
        scim(&w, &t, "POST", "/scim/v2/Users", Some(by_mail))
            .await
            .0,
        201
    );
    let (_, page) = scim(&w, &t, "GET", "/scim/v2/Users?startIndex=1&count=0", None).await;
    assert_eq!(
        (page["totalResults"].clone(), page["Resources"].clone()),
        (json!(1), json!([]))
    );
}

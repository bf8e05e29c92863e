//! R23: a tenant cannot lock itself out, and nobody grants rights they lack.

use super::*;

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn r23_a_tenant_cannot_lock_itself_out_and_nobody_grants_rights_they_lack() {
    let api = require_api();
    let t = unique("r23");
    // Three licences: the restored administrator below takes a red seat, whose warning the
    // tenants function mails (so the least-privilege check sees it send).
    api.tenant(&t, 3).await;

    the_only_administrator_stays(&api, &t).await;
    a_user_manager_stays_within_its_rights(&api, &t).await;
    the_last_of_two_administrators_stays(&api, &t).await;
    an_operator_restores_an_administrator(&api, &t).await;
}

async fn the_only_administrator_stays(api: &Api, t: &str) {
    // The only administrator can neither deactivate nor demote herself.
    let (status, body) = api
        .as_user(t, "ada", Method::POST, "/v1/users/ada/deactivate", None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, Some("last_administrator"))
    );
    let (status, body) = api
        .as_user(
            t,
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
}

async fn a_user_manager_stays_within_its_rights(api: &Api, t: &str) {
    // A user manager (users.manage only) cannot raise itself or anyone else.
    let (status, _) = api
        .as_user(
            t,
            "ada",
            Method::PUT,
            "/v1/roles/usermgr",
            Some(json!({"rights": ["users.manage"]})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = api
        .as_user(
            t,
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
        let (status, answer) = api.as_user(t, "uma", method.clone(), path, body).await;
        assert_eq!(
            (status, code(&answer)),
            (StatusCode::FORBIDDEN, Some("escalation")),
            "{method} {path}"
        );
    }
    let (status, _) = api
        .as_user(
            t,
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
            t,
            "uma",
            Method::POST,
            "/v1/users",
            Some(json!({"user_id": "pat", "name": "Pat", "email": "pat@acme.dk"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
}

async fn the_last_of_two_administrators_stays(api: &Api, t: &str) {
    // With a second administrator, the first may step down.
    let (status, _) = api
        .as_user(t, "ada", Method::POST, "/v1/users",
            Some(json!({"user_id": "bo", "name": "Bo", "email": "bo@acme.dk", "role": "administrator"})))
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = api
        .as_user(t, "ada", Method::POST, "/v1/users/ada/deactivate", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Bo, now the last, cannot take the administrators' rights away through a role either.
    let (status, body) = api
        .as_user(t, "bo", Method::POST, "/v1/users/bo/deactivate", None)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::CONFLICT, Some("last_administrator"))
    );
}

async fn an_operator_restores_an_administrator(api: &Api, t: &str) {
    // An operator restores an administrator: an existing user promoted and activated, or a
    // new one; nobody else may.
    let restore =
        |user: &str| json!({"user_id": user, "name": "Rescue", "email": "rescue@acme.dk"});
    let path = format!("/v1/tenants/{t}/administrator");
    let (status, _) = api
        .as_user(t, "bo", Method::POST, &path, Some(restore("ada")))
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
        .as_user(t, "rescue", Method::GET, "/v1/users", None)
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

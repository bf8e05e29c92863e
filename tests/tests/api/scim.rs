//! SCIM through the local API (R34), on both engine profiles: an Entra-style sequence whose
//! seats, mail and log match the users API's, a first sync at an identity provider's
//! concurrency with its retries, and tokens refused once revoked and everywhere but SCIM.

use super::*;

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// A SCIM call with a provisioning token (`Api::scim`).
async fn scim(
    api: &Api,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    api.scim(token, method, path, body).await
}

async fn provisioning_token(api: &Api, tenant: &str, name: &str) -> (String, String) {
    let (status, made) = api
        .as_user(
            tenant,
            "ada",
            Method::POST,
            "/v1/scim-tokens",
            Some(json!({"name": name})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    (
        made["token_id"].as_str().expect("an id").to_owned(),
        made["token"].as_str().expect("a token").to_owned(),
    )
}

fn entra_user(tenant: &str, name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA],
        "externalId": format!("ext-{name}"),
        "userName": format!("{name}@{tenant}.example"),
        "active": "True",
        "displayName": format!("User {name}"),
        "emails": [{"primary": true, "type": "work", "value": format!("{name}@{tenant}.example")}],
        "password": "never kept"
    })
}

/// Each user's licence state and deadline, by user id.
async fn states(api: &Api, tenant: &str) -> Vec<(String, String)> {
    let (status, page) = api
        .as_user(tenant, "ada", Method::GET, "/v1/users?limit=100", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let mut states: Vec<(String, String)> = page["items"]
        .as_array()
        .expect("users")
        .iter()
        .map(|u| {
            (
                u["user_id"].as_str().unwrap_or_default().to_owned(),
                format!(
                    "{} {} {}",
                    u["active"],
                    u["licence_state"],
                    u["deadline"].is_string()
                ),
            )
        })
        .collect();
    states.sort();
    states
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn an_entra_sequence_through_scim_leaves_seats_mail_and_log_as_the_users_api_does() {
    let api = require_api();
    let (by_scim, by_api) = (unique("scim-e"), unique("scim-a"));
    api.tenant(&by_scim, 2).await;
    api.tenant(&by_api, 2).await;
    let (_, token) = provisioning_token(&api, &by_scim, "Entra ID").await;
    let mut ids = Vec::new();
    for name in ["cy", "dee"] {
        let (status, user) = scim(
            &api,
            &token,
            Method::POST,
            "/scim/v2/Users",
            Some(entra_user(&by_scim, name)),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{user}");
        ids.push(user["id"].as_str().expect("an id").to_owned());
    }
    // Entra looks a user up by userName before it creates it; case does not matter.
    let filter = format!("/scim/v2/Users?filter=userName%20eq%20%22DEE%40{by_scim}.example%22");
    let (_, found) = scim(&api, &token, Method::GET, &filter, None).await;
    assert_eq!(
        (
            found["totalResults"].clone(),
            found["Resources"][0]["id"].clone()
        ),
        (json!(1), json!(ids[1]))
    );
    // dee is red (2 licences: ada and cy); cy leaves and comes back, then is deleted.
    let cy = format!("/scim/v2/Users/{}", ids[0]);
    for active in ["False", "True"] {
        let body = json!({"schemas": [PATCH_SCHEMA], "Operations": [{"op": "Replace", "path": "active", "value": active}]});
        let (status, user) = scim(&api, &token, Method::PATCH, &cy, Some(body)).await;
        assert_eq!(
            (status, user["active"].clone()),
            (StatusCode::OK, json!(active == "True")),
            "{user}"
        );
    }
    assert_eq!(
        scim(&api, &token, Method::DELETE, &cy, None).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        scim(&api, &token, Method::GET, &cy, None).await.0,
        StatusCode::NOT_FOUND
    );

    let admin = api.user(&by_api, "ada");
    for (id, name) in ids.iter().zip(["cy", "dee"]) {
        let body = json!({"user_id": id, "name": format!("User {name}"), "email": format!("{name}@{by_api}.example")});
        assert_eq!(
            api.call(Method::POST, "/v1/users", Some(&admin), Some(body))
                .await
                .0,
            StatusCode::CREATED
        );
    }
    for action in ["deactivate", "activate", "deactivate"] {
        let path = format!("/v1/users/{}/{action}", ids[0]);
        assert_eq!(
            api.call(Method::POST, &path, Some(&admin), None).await.0,
            StatusCode::OK,
            "{action}"
        );
    }
    assert_eq!(states(&api, &by_scim).await, states(&api, &by_api).await);

    // The mail the seat rules send goes out as it does for the users API: dee's grace notice,
    // then (cy gone) dee's seat licensed again. Delivered once the outbox is empty (a cheap
    // read); the engine's sent mail is read after that.
    let store = e2e_store().await.expect("LICENSING_TABLE");
    for tenant in [&by_scim, &by_api] {
        let id = licensing::domain::identity::TenantId::parse(tenant).expect("a tenant id");
        let took = outbox_drained(&store, &id, std::time::Duration::from_secs(120)).await;
        assert!(
            took.is_some(),
            "{tenant}'s outbox not delivered within two minutes"
        );
        let to = format!("dee@{tenant}.example");
        if let Err(e) = api
            .mail(std::time::Duration::from_secs(30), |m| m.to == to)
            .await
        {
            panic!("no mail to {to}: {e}");
        }
    }
    let (_, log) = api
        .as_user(
            &by_scim,
            "ada",
            Method::GET,
            "/v1/action-log?limit=20",
            None,
        )
        .await;
    let by_directory: Vec<&str> = log["items"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["actor"] == json!({"kind": "directory", "id": "Entra ID"}))
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(
        by_directory,
        [
            "user.deprovisioned",
            "user.activated",
            "user.deactivated",
            "user.created",
            "user.created"
        ]
    );
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn a_first_sync_at_an_identity_providers_concurrency_creates_each_user_once() {
    let api = require_api();
    let tenant = unique("scim-sync");
    api.tenant(&tenant, 50).await;
    let (_, token) = provisioning_token(&api, &tenant, "Entra ID").await;
    const USERS: usize = 120;
    // Entra sends a few requests at once per application; every tenth create is sent twice
    // (a retry after a lost answer), at the same time.
    let started = std::time::Instant::now();
    let bodies: Vec<Value> = (0..USERS)
        .flat_map(|i| {
            let body = entra_user(&tenant, &format!("u{i:04}"));
            if i % 10 == 0 {
                vec![body.clone(), body]
            } else {
                vec![body]
            }
        })
        .collect();
    let answers: Vec<(StatusCode, Value)> = futures::stream::iter(bodies)
        .map(|body| {
            let (api, token) = (&api, &token);
            async move { scim(api, token, Method::POST, "/scim/v2/Users", Some(body)).await }
        })
        .buffer_unordered(4)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let created = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .count();
    let unique_refusals = answers
        .iter()
        .filter(|(s, e)| *s == StatusCode::CONFLICT && e["scimType"] == "uniqueness")
        .count();
    assert_eq!(
        (created, unique_refusals, answers.len()),
        (USERS, USERS / 10, USERS + USERS / 10),
        "{answers:?}"
    );
    eprintln!("scim first sync: {USERS} users in {elapsed:?} at 4 in flight");
    let account = api.account(&tenant).await;
    assert_eq!(account["licences"]["in_use"], json!(USERS + 1), "{account}");
    let (_, all) = scim(&api, &token, Method::GET, "/scim/v2/Users?count=1", None).await;
    assert_eq!(all["totalResults"], json!(USERS));
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn a_provisioning_token_grants_its_tenants_scim_only_and_is_refused_once_revoked() {
    let api = require_api();
    let (a, b) = (unique("scim-ta"), unique("scim-tb"));
    api.tenant(&a, 5).await;
    api.tenant(&b, 5).await;
    let (id, token) = provisioning_token(&api, &a, "Okta").await;
    let (_, user) = scim(
        &api,
        &token,
        Method::POST,
        "/scim/v2/Users",
        Some(entra_user(&a, "cy")),
    )
    .await;
    // Not a caller of the API, of any tenant.
    let (status, problem) = api.call(Method::GET, "/v1/users", Some(&token), None).await;
    assert_eq!(
        (status, problem["code"].clone()),
        (StatusCode::UNAUTHORIZED, json!("unauthenticated"))
    );
    // Another tenant's administrator's token is not a provisioning token.
    let (status, error) = scim(
        &api,
        &api.user(&b, "ada"),
        Method::GET,
        "/scim/v2/Users",
        None,
    )
    .await;
    assert_eq!(
        (status, error["status"].clone()),
        (StatusCode::UNAUTHORIZED, json!("401"))
    );
    let (_, listed) = api
        .as_user(&a, "ada", Method::GET, "/v1/scim-tokens", None)
        .await;
    assert!(listed["items"][0]["last_used"].is_string(), "{listed}");
    let (status, _) = api
        .as_user(
            &a,
            "ada",
            Method::DELETE,
            &format!("/v1/scim-tokens/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let path = format!("/scim/v2/Users/{}", user["id"].as_str().expect("an id"));
    assert_eq!(
        scim(&api, &token, Method::GET, &path, None).await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = api
        .as_user(
            &a,
            "ada",
            Method::DELETE,
            &format!("/v1/scim-tokens/{id}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

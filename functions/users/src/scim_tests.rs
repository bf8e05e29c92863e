//! SCIM through the users function on the memory store (R34): tokens, an Entra-style
//! sequence compared with the same actions through `/v1/users`, the rules, and the refusals.

use super::handler::handle;
use licensing::http::HttpResult;
use licensing::http::testing::{ADA, Who, World, answer};
use licensing::outbox::Payload;
use licensing::scim::{LICENSING_SCHEMA, PATCH_SCHEMA, USER_SCHEMA};
use serde_json::{Value, json};

pub(super) async fn call(
    w: &World,
    who: Who<'_>,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> HttpResult {
    handle(
        &w.store,
        &w.clock,
        &w.auth,
        w.request(who, method, path, body),
    )
    .await
}

pub(super) async fn scim(
    w: &World,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = w.request(Who::Nobody, method, path, body);
    request.headers_mut().insert(
        "authorization",
        format!("Bearer {token}").parse().expect("a header"),
    );
    answer(handle(&w.store, &w.clock, &w.auth, request).await)
}

pub(super) async fn token(w: &World, name: &str) -> String {
    let (status, body) = answer(
        call(
            w,
            ADA,
            "POST",
            "/v1/scim-tokens",
            Some(json!({"name": name})),
        )
        .await,
    );
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().expect("the token").to_owned()
}

pub(super) fn entra_user(name: &str) -> Value {
    json!({
        "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": format!("ext-{name}"),
        "userName": format!("{name}@contoso.example"),
        "active": "True",
        "displayName": name,
        "emails": [{"primary": true, "type": "work", "value": format!("{name}@contoso.example")}],
        "name": {"givenName": name, "familyName": "Contoso"},
        "password": "never kept",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Sales"}
    })
}

/// The action log, newest first, as (actor, action).
pub(super) async fn log(w: &World) -> Vec<(String, String)> {
    use licensing::ports::{Listings, PageRequest};
    let acme = licensing::domain::identity::TenantId::parse("acme").expect("a tenant");
    let page = PageRequest {
        cursor: None,
        limit: 100,
    };
    let entries = w.store.list_log(&acme, &page).await.expect("the log").items;
    entries
        .into_iter()
        .map(|e| (e.actor.label(), e.action))
        .collect()
}

pub(super) fn patch(ops: Value) -> Value {
    json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
}

async fn users(w: &World) -> Vec<Value> {
    let (_, page) = answer(call(w, ADA, "GET", "/v1/users?limit=100", None).await);
    page["items"].as_array().cloned().unwrap_or_default()
}

/// What a user's seat looks like in the users view, by name.
async fn seats(w: &World) -> Vec<(String, String)> {
    let mut seats: Vec<(String, String)> = users(w)
        .await
        .into_iter()
        .map(|u| {
            (
                u["user_id"].to_string(),
                format!("{} {} {}", u["active"], u["licence_state"], u["deadline"]),
            )
        })
        .collect();
    seats.sort();
    seats
}

/// The outbox's events and mails, in order, without ids and instants.
fn messages(w: &World) -> Vec<String> {
    let acme = licensing::domain::identity::TenantId::parse("acme").expect("a tenant");
    w.store
        .outbox(&acme)
        .into_iter()
        .map(|m| match m.payload {
            Payload::Event { detail_type, .. } => detail_type,
            Payload::Mail { kind, to, .. } => {
                format!("{kind:?} to {to:?}").replace(|c: char| c.is_ascii_digit(), "")
            }
            Payload::Webhook { event_type, .. } => format!("webhook {event_type}"),
        })
        .collect()
}

#[tokio::test]
async fn an_entra_sequence_leaves_seats_mails_and_log_as_the_users_api_does() {
    // acme has 3 licences and 2 active users: the first new user is licensed, the second red.
    let by_scim = World::acme().await;
    let t = token(&by_scim, "Entra ID").await;
    let mut ids = Vec::new();
    for name in ["cy", "dee"] {
        let (status, user) = scim(
            &by_scim,
            &t,
            "POST",
            "/scim/v2/Users",
            Some(entra_user(name)),
        )
        .await;
        assert_eq!(status, 201, "{user}");
        assert!(user.get("password").is_none());
        ids.push(user["id"].as_str().expect("an id").to_owned());
    }
    let (status, found) = scim(
        &by_scim,
        &t,
        "GET",
        "/scim/v2/Users?filter=userName%20eq%20%22CY%40contoso.example%22",
        None,
    )
    .await;
    assert_eq!(
        (status, found["totalResults"].clone()),
        (200, json!(1)),
        "{found}"
    );
    assert_eq!(found["Resources"][0]["id"], ids[0].as_str());
    let cy = format!("/scim/v2/Users/{}", ids[0]);
    let off = patch(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let (status, body) = scim(&by_scim, &t, "PATCH", &cy, Some(off)).await;
    assert_eq!(
        (status, body["active"].clone()),
        (200, json!(false)),
        "{body}"
    );
    let on = patch(json!([{"op": "replace", "value": {"active": true}}]));
    let (status, body) = scim(&by_scim, &t, "PATCH", &cy, Some(on)).await;
    assert_eq!(
        (status, body["active"].clone()),
        (200, json!(true)),
        "{body}"
    );
    let (status, _) = scim(&by_scim, &t, "DELETE", &cy, None).await;
    assert_eq!(status, 204);
    assert_eq!(scim(&by_scim, &t, "GET", &cy, None).await.0, 404);

    let by_api = World::acme().await;
    for name in ["cy", "dee"] {
        let body = json!({"user_id": ids[if name == "cy" { 0 } else { 1 }], "name": name, "email": format!("{name}@contoso.example")});
        assert_eq!(
            answer(call(&by_api, ADA, "POST", "/v1/users", Some(body)).await).0,
            201
        );
    }
    for action in ["deactivate", "activate", "deactivate"] {
        let path = format!("/v1/users/{}/{action}", ids[0]);
        assert_eq!(
            answer(call(&by_api, ADA, "POST", &path, None).await).0,
            200,
            "{action}"
        );
    }

    assert_eq!(seats(&by_scim).await, seats(&by_api).await);
    assert_eq!(messages(&by_scim), messages(&by_api));
    assert!(
        messages(&by_scim)
            .iter()
            .any(|m| m.contains("OverAllocated")),
        "{:?}",
        messages(&by_scim)
    );
    let actions: Vec<(String, String)> = log(&by_scim)
        .await
        .into_iter()
        .filter(|(actor, _)| actor.starts_with("directory:"))
        .collect();
    let named = |a: &str| ("directory:Entra ID".to_owned(), a.to_owned());
    assert_eq!(
        actions,
        vec![
            named("user.deprovisioned"),
            named("user.activated"),
            named("user.deactivated"),
            named("user.created"),
            named("user.created")
        ]
    );
    let cy_view = users(&by_scim)
        .await
        .into_iter()
        .find(|u| u["user_id"] == ids[0].as_str())
        .expect("cy stays");
    assert_eq!(
        cy_view["directory"],
        json!({"user_name": "cy@contoso.example", "token_name": "Entra ID", "deprovisioned": true})
    );
}

#[tokio::test]
async fn a_create_retried_after_a_lost_answer_is_a_uniqueness_conflict_never_a_second_user() {
    let w = World::acme().await;
    let t = token(&w, "Okta").await;
    assert_eq!(
        scim(&w, &t, "POST", "/scim/v2/Users", Some(entra_user("cy")))
            .await
            .0,
        201
    );
    let before = users(&w).await.len();
    let mut same_name = entra_user("cy");
    same_name["userName"] = "CY@Contoso.Example".into();
    same_name["externalId"] = "other".into();
    let mut same_external = entra_user("dee");
    same_external["externalId"] = "ext-cy".into();
    for body in [entra_user("cy"), same_name, same_external] {
        let (status, error) = scim(&w, &t, "POST", "/scim/v2/Users", Some(body)).await;
        assert_eq!(
            (status, error["scimType"].clone(), error["status"].clone()),
            (409, json!("uniqueness"), json!("409")),
            "{error}"
        );
    }
    assert_eq!(users(&w).await.len(), before);
}

#[tokio::test]
async fn the_last_administrator_is_not_deprovisioned() {
    let w = World::acme().await;
    let t = token(&w, "Entra ID").await;
    let (_, cy) = scim(&w, &t, "POST", "/scim/v2/Users", Some(entra_user("cy"))).await;
    let id = cy["id"].as_str().expect("an id");
    let role = json!({"role": "administrator"});
    assert_eq!(
        answer(call(&w, ADA, "PUT", &format!("/v1/users/{id}"), Some(role)).await).0,
        200
    );
    // Ada steps down: cy, managed by the directory, is the last administrator.
    assert_eq!(
        answer(
            call(
                &w,
                ADA,
                "PUT",
                "/v1/users/ada",
                Some(json!({"role": "user"}))
            )
            .await
        )
        .0,
        403,
        "nobody re-roles themselves"
    );
    let cy_caller = Who::User("acme", id);
    assert_eq!(
        answer(call(&w, cy_caller, "POST", "/v1/users/ada/deactivate", None).await).0,
        200
    );
    // Ada's token acts within Ada's rights: she is deactivated, so it writes no more.
    let path = format!("/scim/v2/Users/{id}");
    let off = patch(json!([{"op": "replace", "path": "active", "value": false}]));
    assert_eq!(scim(&w, &t, "PATCH", &path, Some(off)).await.0, 401);
    // A token cy makes may deactivate cy, but for R23.
    let (status, made) = answer(
        call(
            &w,
            cy_caller,
            "POST",
            "/v1/scim-tokens",
            Some(json!({"name": "Okta"})),
        )
        .await,
    );
    assert_eq!(status, 201, "{made}");
    let t = made["token"].as_str().expect("a token").to_owned();
    for (method, body) in [
        (
            "PATCH",
            Some(patch(
                json!([{"op": "replace", "path": "active", "value": false}]),
            )),
        ),
        ("DELETE", None),
    ] {
        let (status, error) = scim(&w, &t, method, &path, body).await;
        assert_eq!(
            (status, error["scimType"].clone()),
            (400, json!("mutability")),
            "{method}: {error}"
        );
    }
    assert_eq!(scim(&w, &t, "GET", &path, None).await.1["active"], true);
}

#[tokio::test]
async fn modules_follow_the_extension_and_put_honours_if_match() {
    let w = World::acme().await;
    let t = token(&w, "Okta").await;
    let mut body = entra_user("cy");
    body[LICENSING_SCHEMA] = json!({"modules": ["crm"]});
    let (status, cy) = scim(&w, &t, "POST", "/scim/v2/Users", Some(body.clone())).await;
    assert_eq!(
        (status, cy[LICENSING_SCHEMA].clone()),
        (201, json!({"modules": ["crm"]})),
        "{cy}"
    );
    let path = format!("/scim/v2/Users/{}", cy["id"].as_str().expect("an id"));
    // Okta's PUT of the whole user, without the extension: the module stays.
    let mut okta = entra_user("cy");
    okta.as_object_mut()
        .expect("an object")
        .remove("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User");
    okta["displayName"] = "Cy Contoso".into();
    let (status, put) = scim(&w, &t, "PUT", &path, Some(okta.clone())).await;
    assert_eq!(
        (
            status,
            put[LICENSING_SCHEMA].clone(),
            put["displayName"].clone()
        ),
        (200, json!({"modules": ["crm"]}), json!("Cy Contoso"))
    );
    let version = put["meta"]["version"]
        .as_str()
        .expect("a version")
        .to_owned();
    assert_ne!(version, cy["meta"]["version"].as_str().expect("a version"));
    // The same PUT again changes nothing, and keeps the version.
    assert_eq!(
        scim(&w, &t, "PUT", &path, Some(okta)).await.1["meta"]["version"],
        version.as_str()
    );
    let mut stale = w.request(Who::Nobody, "PUT", &path, Some(body));
    stale.headers_mut().insert(
        "authorization",
        format!("Bearer {t}").parse().expect("a header"),
    );
    stale.headers_mut().insert(
        "if-match",
        cy["meta"]["version"]
            .as_str()
            .expect("a version")
            .parse()
            .expect("a header"),
    );
    assert_eq!(
        answer(handle(&w.store, &w.clock, &w.auth, stale).await).0,
        412
    );
    let remove = patch(json!([{"op": "remove", "path": format!("{LICENSING_SCHEMA}:modules")}]));
    let (status, removed) = scim(&w, &t, "PATCH", &path, Some(remove)).await;
    assert_eq!(
        (status, removed.get(LICENSING_SCHEMA)),
        (200, None),
        "{removed}"
    );
    let unknown =
        patch(json!([{"op": "add", "path": LICENSING_SCHEMA, "value": {"modules": ["nope"]}}]));
    let (status, error) = scim(&w, &t, "PATCH", &path, Some(unknown)).await;
    assert_eq!(
        (status, error["scimType"].clone()),
        (400, json!("invalidValue")),
        "{error}"
    );
    let (status, same) = scim(&w, &t, "PATCH", &path, Some(patch(json!([])))).await;
    assert_eq!(
        (status, same["meta"]["version"].clone()),
        (200, removed["meta"]["version"].clone())
    );
}

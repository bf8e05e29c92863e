use lambda_http::Request;
use licensing::app::{self, Activation, AppError, CreateUser, UserPatch, directory};
use licensing::domain::identity::{DisplayName, EmailAddress, Language, RoleName, UserId};
use licensing::domain::pool::PoolId;
use licensing::domain::rights::Right;
use licensing::domain::user::LicenceState;
use licensing::http::{
    HttpResult, auth, idempotency_key, json_body, ok, page, present, query_param, replayable,
    route_key, tenant_route,
};
use licensing::ports::{Clock, Directories, Store};
use serde::Deserialize;
use std::collections::BTreeSet;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateUserBody {
    #[serde(default, deserialize_with = "present")]
    user_id: Option<UserId>,
    name: DisplayName,
    email: EmailAddress,
    #[serde(default)]
    language: Language,
    #[serde(default, deserialize_with = "present")]
    role: Option<RoleName>,
    #[serde(default)]
    modules: BTreeSet<PoolId>,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

impl From<CreateUserBody> for CreateUser {
    fn from(body: CreateUserBody) -> Self {
        Self {
            user_id: body.user_id,
            name: body.name,
            email: body.email,
            language: body.language,
            role: body.role,
            modules: body.modules,
            active: body.active,
        }
    }
}

/// `POST /v1/users/batch`: a body that breaks the contract anywhere is refused whole (400);
/// what depends on the tenant's state is answered per entry.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct BatchBody {
    users: Vec<CreateUserBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UpdateUserBody {
    #[serde(default, deserialize_with = "present")]
    role: Option<RoleName>,
    #[serde(default, deserialize_with = "present")]
    modules: Option<BTreeSet<PoolId>>,
    #[serde(default, deserialize_with = "present")]
    language: Option<Language>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenBody {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    rights: BTreeSet<Right>,
}

/// `?licence_state=licensed|over_allocated|inactive`.
fn licence_state(request: &Request) -> Result<Option<LicenceState>, AppError> {
    query_param(request, "licence_state")
        .map(|raw| {
            serde_json::from_value(serde_json::Value::String(raw)).map_err(|_| {
                AppError::BadRequest(
                    "licence_state must be licensed, over_allocated or inactive".into(),
                )
            })
        })
        .transpose()
}

fn user_id(raw: &str) -> Result<UserId, AppError> {
    // An id that cannot exist names no user.
    UserId::parse(raw).map_err(|_| AppError::NotFound("user"))
}

pub async fn handle<S: Store + Directories, C: Clock>(
    store: &S,
    clock: &C,
    auth: &auth::AuthConfig,
    request: Request,
) -> HttpResult {
    if request.uri().path().starts_with("/scim/") {
        return crate::scim::handle(store, clock, request).await;
    }
    tenant_route(
        store,
        clock,
        auth,
        request,
        |request, caller, now| async move {
            let (method, parts) = route_key(&request);
            match (method, parts.as_slice()) {
                ("GET", ["users"]) => ok(
                    200,
                    &app::list_users(
                        store,
                        &caller,
                        &page(&request)?,
                        licence_state(&request)?,
                        now,
                    )
                    .await?,
                ),
                ("POST", ["users"]) => {
                    let value: serde_json::Value = json_body(&request)?;
                    let body: CreateUserBody = serde_json::from_value(value.clone())
                        .map_err(|e| AppError::BadRequest(format!("body: {e}")))?;
                    let key = idempotency_key(&request)?;
                    replayable(
                        app::create_user(store, &caller, body.into(), key, &value, now).await?,
                    )
                }
                ("POST", ["users", "batch"]) => {
                    let body: BatchBody = json_body(&request)?;
                    let items = body.users.into_iter().map(CreateUser::from).collect();
                    ok(200, &app::create_users(store, &caller, items, now).await?)
                }
                ("POST", ["users", id, "activate"]) => ok(
                    200,
                    &app::set_active(store, &caller, &user_id(id)?, Activation::Activate, now)
                        .await?,
                ),
                ("POST", ["users", id, "deactivate"]) => ok(
                    200,
                    &app::set_active(store, &caller, &user_id(id)?, Activation::Deactivate, now)
                        .await?,
                ),
                ("PUT", ["users", id]) => {
                    let body: UpdateUserBody = json_body(&request)?;
                    let patch = UserPatch {
                        role: body.role,
                        modules: body.modules,
                        language: body.language,
                    };
                    ok(
                        200,
                        &app::update_user(store, &caller, &user_id(id)?, patch, now).await?,
                    )
                }
                ("POST", ["scim-tokens"]) => {
                    let body: TokenBody = json_body(&request)?;
                    ok(
                        201,
                        &directory::create_token(store, &caller, &body.name, now).await?,
                    )
                }
                ("GET", ["scim-tokens"]) => {
                    let items = directory::list_tokens(store, &caller, now).await?;
                    ok(200, &serde_json::json!({ "items": items }))
                }
                ("DELETE", ["scim-tokens", id]) => {
                    directory::revoke_token(store, &caller, id, now).await?;
                    Ok(lambda_http::Response::builder()
                        .status(204)
                        .body(lambda_http::Body::Empty)
                        .map_err(|e| AppError::Internal(e.to_string()))?)
                }
                ("GET", ["roles"]) => ok(200, &app::list_roles(store, &caller, now).await?),
                ("GET", ["roles", role]) => {
                    let role = RoleName::parse(role).map_err(|_| AppError::NotFound("role"))?;
                    ok(200, &app::get_role(store, &caller, &role, now).await?)
                }
                ("PUT", ["roles", role]) => {
                    let role = RoleName::parse(role)?;
                    let body: RoleBody = json_body(&request)?;
                    ok(
                        200,
                        &app::put_role(store, &caller, &role, body.rights, now).await?,
                    )
                }
                _ => Err(AppError::NotFound("route")),
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use licensing::http::testing::{
        ADA, BO, Who, World, answer, assert_a_body_not_utf8_is_a_400_problem, refused,
    };
    use serde_json::{Value, json};

    async fn call(
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

    fn someone(id: &str) -> Value {
        json!({"user_id": id, "name": "Cy Cole", "email": format!("{id}@example.com")})
    }

    #[tokio::test]
    async fn a_user_is_created_once_and_past_the_licences_gets_a_red_seat() {
        let w = World::acme().await;
        let (status, cy) = answer(call(&w, ADA, "POST", "/v1/users", Some(someone("cy"))).await);
        assert_eq!(status, 201, "{cy}");
        let (status, dee) = answer(call(&w, ADA, "POST", "/v1/users", Some(someone("dee"))).await);
        assert_eq!(status, 201, "{dee}");
        assert_ne!(
            dee["licence_state"], cy["licence_state"],
            "the fourth on three licences is red"
        );
        let refusals = [
            (ADA, someone("cy"), 409),
            (BO, someone("eve"), 403),
            (ADA, json!({"name": "No Mail"}), 400),
            (
                ADA,
                json!({"user_id": "eve", "name": "Eve", "email": "not an address"}),
                400,
            ),
            (
                ADA,
                json!({"user_id": "eve", "name": "Eve", "email": "e@example.com", "x": 1}),
                400,
            ),
            (
                ADA,
                json!({"user_id": "eve", "name": "Eve", "email": "e@example.com", "modules": ["nope"]}),
                422,
            ),
            (
                ADA,
                json!({"user_id": "eve", "name": "Eve", "email": "e@example.com", "role": "nobody"}),
                422,
            ),
        ];
        for (who, body, expected) in refusals {
            let (status, code) =
                refused(call(&w, who, "POST", "/v1/users", Some(body.clone())).await);
            assert_eq!(status, expected, "{body}: {code}");
        }
    }

    #[tokio::test]
    async fn users_are_listed_by_licence_state_to_whoever_manages_them() {
        let w = World::acme().await;
        let (status, all) = answer(call(&w, ADA, "GET", "/v1/users", None).await);
        assert_eq!(
            (status, all["items"].as_array().map(Vec::len)),
            (200, Some(2)),
            "{all}"
        );
        for id in ["cy", "dee"] {
            let created = answer(call(&w, ADA, "POST", "/v1/users", Some(someone(id))).await);
            assert_eq!(created.0, 201, "{}", created.1);
        }
        let red = answer(
            call(
                &w,
                ADA,
                "GET",
                "/v1/users?licence_state=over_allocated",
                None,
            )
            .await,
        );
        assert_eq!(
            (red.0, red.1["items"].as_array().map(Vec::len)),
            (200, Some(1)),
            "dee, the fourth on three licences: {}",
            red.1
        );
        assert_eq!(red.1["items"][0]["user_id"], "dee");
        assert_eq!(
            refused(call(&w, ADA, "GET", "/v1/users?licence_state=x", None).await).0,
            400
        );
        assert_eq!(refused(call(&w, BO, "GET", "/v1/users", None).await).0, 403);
    }

    #[tokio::test]
    async fn the_list_shows_whose_mail_bounced_for_good() {
        use licensing::domain::suppression::{MailSuppression, SuppressionReason};
        use licensing::ports::MailSuppressions;
        let w = World::acme().await;
        let bounce = MailSuppression {
            address: "bo@example.com".into(),
            reason: SuppressionReason::Bounce,
            at: "2026-11-19T10:00:04Z".parse().unwrap(),
            detail: "permanent bounce (General)".into(),
        };
        let acme = licensing::domain::identity::TenantId::parse("acme").unwrap();
        w.store.suppress(&acme, &bounce).await.unwrap();
        let (status, all) = answer(call(&w, ADA, "GET", "/v1/users", None).await);
        assert_eq!(status, 200, "{all}");
        let of = |id: &str| {
            all["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["user_id"] == id)
                .unwrap()
                .clone()
        };
        assert_eq!(
            of("bo")["mail_suppressed"],
            json!({"reason": "bounce", "at": "2026-11-19T10:00:04.000000Z", "detail": "permanent bounce (General)"})
        );
        assert!(of("ada").get("mail_suppressed").is_none());
    }

    #[tokio::test]
    async fn a_user_is_deactivated_activated_and_changed_but_never_the_last_administrator() {
        let w = World::acme().await;
        let (status, bo) = answer(call(&w, ADA, "POST", "/v1/users/bo/deactivate", None).await);
        assert_eq!((status, &bo["active"]), (200, &json!(false)), "{bo}");
        let (status, bo) = answer(call(&w, ADA, "POST", "/v1/users/bo/activate", None).await);
        assert_eq!((status, &bo["active"]), (200, &json!(true)), "{bo}");
        let da = Some(json!({"language": "da"}));
        let (status, bo) = answer(call(&w, ADA, "PUT", "/v1/users/bo", da.clone()).await);
        assert_eq!((status, &bo["language"]), (200, &json!("da")), "{bo}");
        let cases = [
            ("POST", "/v1/users/ada/deactivate", None, 409),
            ("POST", "/v1/users/nobody/deactivate", None, 404),
            ("PUT", "/v1/users/nobody", da.clone(), 404),
            ("PUT", "/v1/users/bo", Some(json!({"language": "xx"})), 400),
            ("PUT", "/v1/users/ada", Some(json!({"role": "user"})), 403),
        ];
        for (method, path, body, expected) in cases {
            let (status, code) = refused(call(&w, ADA, method, path, body).await);
            assert_eq!(status, expected, "{method} {path}: {code}");
        }
        assert_eq!(
            refused(call(&w, BO, "POST", "/v1/users/ada/deactivate", None).await).0,
            403
        );
    }

    #[tokio::test]
    async fn a_batch_answers_each_entry_and_refuses_a_malformed_body_whole() {
        let w = World::acme().await;
        let body = json!({"users": [someone("cy"), someone("bo")]});
        let (status, batch) = answer(call(&w, ADA, "POST", "/v1/users/batch", Some(body)).await);
        assert_eq!(status, 200, "{batch}");
        let statuses: Vec<_> = batch["results"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| r["status"].clone())
            .collect();
        assert_eq!(statuses, [json!(201), json!(409)], "{batch}");
        let malformed = json!({"users": [someone("dee"), {"name": "x"}]});
        assert_eq!(
            refused(call(&w, ADA, "POST", "/v1/users/batch", Some(malformed)).await).0,
            400
        );
        let (_, users) = answer(call(&w, ADA, "GET", "/v1/users", None).await);
        assert_eq!(
            users["items"].as_array().map(Vec::len),
            Some(3),
            "dee was not created"
        );
    }

    #[tokio::test]
    async fn roles_are_read_and_set_within_the_callers_rights() {
        let w = World::acme().await;
        let viewer = Some(json!({"rights": ["account.view"]}));
        let (status, role) = answer(call(&w, ADA, "PUT", "/v1/roles/viewer", viewer.clone()).await);
        assert_eq!(status, 200, "{role}");
        assert_eq!(
            answer(call(&w, ADA, "GET", "/v1/roles/viewer", None).await).0,
            200
        );
        assert_eq!(answer(call(&w, ADA, "GET", "/v1/roles", None).await).0, 200);
        let cases = [
            (ADA, "GET", "/v1/roles/nobody", None, 404),
            (
                ADA,
                "PUT",
                "/v1/roles/viewer",
                Some(json!({"rights": ["fly"]})),
                400,
            ),
            (BO, "PUT", "/v1/roles/viewer", viewer.clone(), 403),
            (BO, "GET", "/v1/roles", None, 403),
            (ADA, "DELETE", "/v1/roles/viewer", None, 404),
        ];
        for (who, method, path, body, expected) in cases {
            let (status, code) = refused(call(&w, who, method, path, body).await);
            assert_eq!(status, expected, "{method} {path}: {code}");
        }
    }

    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_a_400_problem() {
        assert_a_body_not_utf8_is_a_400_problem(&ROUTES, |store, clock, auth, request| async move {
            handle(&store, &clock, &auth, request).await
        })
        .await;
    }

    const ROUTES: [(&str, &str); 4] = [
        ("POST", "/v1/users"),
        ("POST", "/v1/users/batch"),
        ("PUT", "/v1/users/u-1"),
        ("PUT", "/v1/roles/viewer"),
    ];
}

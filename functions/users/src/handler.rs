use lambda_http::Request;
use licensing::app::{self, Activation, AppError, CreateUser, UserPatch};
use licensing::domain::identity::{DisplayName, EmailAddress, Language, RoleName, UserId};
use licensing::domain::pool::PoolId;
use licensing::domain::rights::Right;
use licensing::domain::user::LicenceState;
use licensing::http::{
    HttpResult, auth, idempotency_key, json_body, ok, page, present, query_param, replayable,
    route_key, tenant_route,
};
use licensing::ports::{Clock, Store};
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

pub async fn handle<S: Store, C: Clock>(
    store: &S,
    clock: &C,
    auth: &auth::AuthConfig,
    request: Request,
) -> HttpResult {
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
    use licensing::http::testing::assert_a_body_not_utf8_is_a_400_problem;

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

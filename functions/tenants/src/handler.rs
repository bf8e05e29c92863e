use chrono::NaiveDate;
use lambda_http::Request;
use licensing::adapters::resolve::SystemResolver;
use licensing::app::webhooks::{self, WebhookSettings};
use licensing::app::{self, AppError};
use licensing::domain::identity::{DisplayName, EmailAddress, Language, TenantId, UserId};
use licensing::domain::money::{Amount, Currency};
use licensing::domain::period::{PeriodLength, parse_time_zone};
use licensing::domain::pool::PoolId;
use licensing::domain::rights::administrator;
use licensing::domain::tenant::{NewPool, NewTenant};
use licensing::domain::user::NewUser;
use licensing::http::{
    HttpResult, auth, json_body, ok, present, record_tenant, route, route_key, tenant_route,
};
use licensing::ports::{Clock, Resolve, Store, Webhooks};
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolBody {
    #[serde(default, deserialize_with = "present")]
    name: Option<String>,
    unit_price: Amount,
    purchased: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdministratorBody {
    user_id: UserId,
    name: DisplayName,
    email: EmailAddress,
    #[serde(default)]
    language: Language,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantBody {
    tenant_id: TenantId,
    name: DisplayName,
    currency: Currency,
    time_zone: String,
    period_length: PeriodLength,
    period_start: String,
    /// Keyed by pool id, so that a pool cannot be listed twice (the contract says so in its
    /// schema, which cannot say "unique by a field" of an array's items).
    pools: BTreeMap<PoolId, PoolBody>,
    administrator: AdministratorBody,
}

/// `YYYY-MM-DD` exactly (RFC 3339 full-date, the contract's `format: date`); chrono alone
/// would also take `2026-1-5`.
fn full_date(value: &str) -> Result<NaiveDate, AppError> {
    let shaped = value.len() == 10
        && value.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    shaped
        .then(|| NaiveDate::parse_from_str(value, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| AppError::BadRequest("period_start must be a date YYYY-MM-DD".into()))
}

fn new_tenant(body: TenantBody) -> Result<NewTenant, AppError> {
    let pools = body
        .pools
        .into_iter()
        .map(|(pool, p)| {
            let name = match p.name {
                Some(n) => DisplayName::parse(&n)?.to_string(),
                None if pool.is_licences() => "Licences".to_owned(),
                None => pool.to_string(),
            };
            Ok(NewPool {
                pool,
                name,
                unit_price: p.unit_price,
                purchased: p.purchased,
            })
        })
        .collect::<Result<Vec<_>, licensing::domain::DomainError>>()?;
    Ok(NewTenant {
        tenant_id: body.tenant_id,
        name: body.name,
        currency: body.currency,
        time_zone: parse_time_zone(&body.time_zone)?,
        period_length: body.period_length,
        period_start: full_date(&body.period_start)?,
        pools,
        administrator: body.administrator.into(),
    })
}

impl From<AdministratorBody> for NewUser {
    fn from(body: AdministratorBody) -> Self {
        NewUser {
            user_id: body.user_id,
            name: body.name,
            email: body.email,
            language: body.language,
            role: administrator(),
            modules: Default::default(),
            active: true,
        }
    }
}

pub async fn handle<S: Store + Webhooks, C: Clock>(
    store: &S,
    clock: &C,
    auth: &auth::AuthConfig,
    request: Request,
) -> HttpResult {
    let settings = WebhookSettings {
        allow_private: licensing::config::webhooks_allow_private(),
        resolver: &SystemResolver,
    };
    handle_with(store, clock, auth, &settings, request).await
}

/// `handle` with the deployment's webhook settings given (a test's resolver).
pub async fn handle_with<S: Store + Webhooks, C: Clock, R: Resolve>(
    store: &S,
    clock: &C,
    auth: &auth::AuthConfig,
    settings: &WebhookSettings<'_, R>,
    request: Request,
) -> HttpResult {
    if matches!(route_key(&request).1.first(), Some(&"webhooks")) {
        return tenant_route(store, clock, auth, request, |request, caller, now| {
            webhook_routes(store, settings, request, caller, now)
        })
        .await;
    }
    route(store, request, |request| async move {
        let operator = auth::operator(&request, auth)?;
        let now = clock.now();
        let (method, parts) = route_key(&request);
        match (method, parts.as_slice()) {
            ("POST", ["tenants"]) => {
                let body: TenantBody = json_body(&request)?;
                record_tenant(body.tenant_id.as_str());
                ok(
                    201,
                    &app::create_tenant(store, &operator, new_tenant(body)?, now).await?,
                )
            }
            ("POST", ["tenants", id, "terminate"]) => {
                let tenant = TenantId::parse(id).map_err(|_| AppError::NotFound("tenant"))?;
                record_tenant(tenant.as_str());
                ok(
                    200,
                    &app::terminate_tenant(store, &operator, &tenant, now).await?,
                )
            }
            ("PUT", ["tenants", id, "settings"]) => {
                let tenant = TenantId::parse(id).map_err(|_| AppError::NotFound("tenant"))?;
                record_tenant(tenant.as_str());
                let body: app::Settings = json_body(&request)?;
                ok(
                    200,
                    &app::set_tenant_settings(store, &operator, &tenant, &body, now).await?,
                )
            }
            ("POST", ["tenants", id, "administrator"]) => {
                let tenant = TenantId::parse(id).map_err(|_| AppError::NotFound("tenant"))?;
                record_tenant(tenant.as_str());
                let body: AdministratorBody = json_body(&request)?;
                ok(
                    200,
                    &app::restore_administrator(store, &operator, &tenant, body.into(), now)
                        .await?,
                )
            }
            _ => Err(AppError::NotFound("route")),
        }
    })
    .await
}

/// R38: a tenant's administrator manages its webhook endpoints here (the tenant's own
/// configuration, as the operator's routes above are the tenants').
async fn webhook_routes<S: Store + Webhooks, R: Resolve>(
    store: &S,
    settings: &WebhookSettings<'_, R>,
    request: Request,
    caller: app::Caller,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<lambda_http::Response<lambda_http::Body>, AppError> {
    let (method, parts) = route_key(&request);
    match (method, parts.as_slice()) {
        ("GET", ["webhooks"]) => {
            let items = webhooks::list_endpoints(store, &caller, now).await?;
            ok(200, &serde_json::json!({ "items": items }))
        }
        ("POST", ["webhooks"]) => {
            let body: webhooks::NewEndpoint = json_body(&request)?;
            ok(
                201,
                &webhooks::create_endpoint(store, &caller, body, settings, now).await?,
            )
        }
        ("GET", ["webhooks", id]) => {
            ok(200, &webhooks::get_endpoint(store, &caller, id, now).await?)
        }
        ("PATCH", ["webhooks", id]) => {
            let body: webhooks::EndpointPatch = json_body(&request)?;
            ok(
                200,
                &webhooks::update_endpoint(store, &caller, id, body, settings, now).await?,
            )
        }
        ("DELETE", ["webhooks", id]) => {
            webhooks::delete_endpoint(store, &caller, id, now).await?;
            lambda_http::Response::builder()
                .status(204)
                .body(lambda_http::Body::Empty)
                .map_err(|e| AppError::Internal(e.to_string()))
        }
        ("POST", ["webhooks", id, "rotate-secret"]) => ok(
            200,
            &webhooks::rotate_secret(store, &caller, id, now).await?,
        ),
        ("POST", ["webhooks", id, "test"]) => {
            ok(202, &webhooks::send_test(store, &caller, id, now).await?)
        }
        ("GET", ["webhooks", id, "attempts"]) => {
            let items = webhooks::list_attempts(store, &caller, id, now).await?;
            ok(200, &serde_json::json!({ "items": items }))
        }
        ("POST", ["webhooks", id, "messages", message, "resend"]) => ok(
            202,
            &webhooks::resend(store, &caller, id, message, now).await?,
        ),
        _ => Err(AppError::NotFound("route")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use licensing::http::testing::{
        ADA, Who, World, answer, assert_a_body_not_utf8_is_a_400_problem, refused,
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

    fn globex() -> Value {
        json!({
            "tenant_id": "globex", "name": "Globex", "currency": "EUR", "time_zone": "Europe/Berlin",
            "period_length": "monthly", "period_start": "2026-11-01",
            "pools": {"licences": {"unit_price": 1000, "purchased": 5}},
            "administrator": {"user_id": "hank", "name": "Hank Scorpio", "email": "hank@example.com"}
        })
    }

    #[tokio::test]
    async fn an_operator_creates_a_tenant_once_with_its_administrator() {
        let w = World::acme().await;
        let (status, created) =
            answer(call(&w, Who::Operator, "POST", "/v1/tenants", Some(globex())).await);
        assert_eq!(status, 201, "{created}");
        let again = refused(call(&w, Who::Operator, "POST", "/v1/tenants", Some(globex())).await);
        assert_eq!(again.0, 409, "{again:?}");
        let mut bad_date = globex();
        bad_date["period_start"] = "2026-11-1".into();
        let mut bad_zone = globex();
        bad_zone["time_zone"] = "Mars/Olympus".into();
        let mut no_licences = globex();
        no_licences["pools"] = json!({"crm": {"unit_price": 1, "purchased": 1}});
        for body in [bad_date, bad_zone, no_licences, json!({})] {
            let (status, code) =
                refused(call(&w, Who::Operator, "POST", "/v1/tenants", Some(body.clone())).await);
            assert!(matches!(status, 400 | 422), "{body}: {status} {code}");
        }
        let as_ada = refused(call(&w, ADA, "POST", "/v1/tenants", Some(globex())).await);
        assert_eq!(
            as_ada,
            (403, "forbidden".into()),
            "a tenant's administrator is no operator"
        );
        assert_eq!(
            refused(call(&w, Who::Nobody, "POST", "/v1/tenants", Some(globex())).await).0,
            401
        );
    }

    #[tokio::test]
    async fn an_operator_sets_settings_restores_an_administrator_and_terminates() {
        let w = World::acme().await;
        let op = Who::Operator;
        let days = Some(json!({"renewal_reminder_days": 3}));
        let (status, settings) =
            answer(call(&w, op, "PUT", "/v1/tenants/acme/settings", days.clone()).await);
        assert_eq!(status, 200, "{settings}");
        assert_eq!(settings["renewal_reminder_days"], 3, "{settings}");
        let ada = Some(json!({"user_id": "ada", "name": "Ada Admin", "email": "ada@example.com"}));
        let (status, restored) = answer(
            call(
                &w,
                op,
                "POST",
                "/v1/tenants/acme/administrator",
                ada.clone(),
            )
            .await,
        );
        assert_eq!(status, 200, "{restored}");
        let cases = [
            ("PUT", "/v1/tenants/globex/settings", days.clone(), 404),
            ("POST", "/v1/tenants/globex/administrator", ada.clone(), 404),
            ("POST", "/v1/tenants/globex/terminate", None, 404),
            (
                "PUT",
                "/v1/tenants/acme/settings",
                Some(json!({"days": 3})),
                400,
            ),
            ("GET", "/v1/tenants", None, 404),
        ];
        for (method, path, body, expected) in cases {
            let (status, code) = refused(call(&w, op, method, path, body).await);
            assert_eq!(status, expected, "{method} {path}: {code}");
        }
        assert_eq!(
            refused(call(&w, ADA, "POST", "/v1/tenants/acme/terminate", None).await).0,
            403
        );
        let (status, ended) =
            answer(call(&w, op, "POST", "/v1/tenants/acme/terminate", None).await);
        assert_eq!(status, 200, "{ended}");
    }

    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_a_400_problem() {
        assert_a_body_not_utf8_is_a_400_problem(&ROUTES, |store, clock, auth, request| async move {
            handle(&store, &clock, &auth, request).await
        })
        .await;
    }

    const ROUTES: [(&str, &str); 3] = [
        ("POST", "/v1/tenants"),
        ("POST", "/v1/tenants/acme/administrator"),
        ("PUT", "/v1/tenants/acme/settings"),
    ];
}

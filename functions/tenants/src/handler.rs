use chrono::NaiveDate;
use lambda_http::Request;
use licensing::app::{self, AppError};
use licensing::domain::identity::{DisplayName, EmailAddress, Language, TenantId, UserId};
use licensing::domain::money::{Amount, Currency};
use licensing::domain::period::{PeriodLength, parse_time_zone};
use licensing::domain::pool::PoolId;
use licensing::domain::rights::administrator;
use licensing::domain::tenant::{NewPool, NewTenant};
use licensing::domain::user::NewUser;
use licensing::http::{HttpResult, auth, json_body, ok, record_tenant, route, segments};
use licensing::ports::{Clock, Store};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PoolBody {
    pool: PoolId,
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
    period_start: NaiveDate,
    pools: Vec<PoolBody>,
    administrator: AdministratorBody,
}

fn new_tenant(body: TenantBody) -> Result<NewTenant, AppError> {
    if body.pools.len() > 50 {
        return Err(AppError::BadRequest("at most 50 pools".into()));
    }
    let pools = body
        .pools
        .into_iter()
        .map(|p| {
            let name = match p.name {
                Some(n) => DisplayName::parse(&n)?.to_string(),
                None if p.pool.is_licences() => "Licences".to_owned(),
                None => p.pool.to_string(),
            };
            Ok(NewPool {
                pool: p.pool,
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
        period_start: body.period_start,
        pools,
        administrator: NewUser {
            user_id: body.administrator.user_id,
            name: body.administrator.name,
            email: body.administrator.email,
            language: body.administrator.language,
            role: administrator(),
            modules: Default::default(),
            active: true,
        },
    })
}

pub async fn handle<S: Store, C: Clock>(
    store: &S,
    clock: &C,
    auth: &auth::AuthConfig,
    request: Request,
) -> HttpResult {
    route(store, request, |request| async move {
        let operator = auth::operator(&request, auth)?;
        let now = clock.now();
        let parts = segments(&request);
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        match (request.method().as_str(), parts.as_slice()) {
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
            _ => Err(AppError::NotFound("route")),
        }
    })
    .await
}

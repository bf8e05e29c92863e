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

#[cfg(test)]
mod tests {
    use super::*;
    use licensing::adapters::dynamodb::DynamoStore;
    use licensing::ports::FixedClock;

    /// Locally the router answers a body that is not UTF-8 itself (text/plain 500) before any
    /// function runs; on AWS the function gets the event, base64 body and all, and must
    /// answer 400 problem+json. The store is never reached, so a client with no endpoint will do.
    #[tokio::test]
    async fn a_body_that_is_not_utf8_is_a_400_problem() {
        let request = lambda_http::request::from_str(include_str!(
            "../../../shared/src/http/fixtures/operator-claims-in-context.json"
        ))
        .unwrap();
        let client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version_latest()
                .region(aws_sdk_dynamodb::config::Region::new("eu-west-1"))
                .build(),
        );
        let store = DynamoStore::new(client, "unused");
        let clock = FixedClock("2026-11-29T10:00:00Z".parse().unwrap());
        // As on AWS: no local key, the authorizer's claims (an operator) count.
        let auth = auth::AuthConfig::from_secret(None);
        let response = handle(&store, &clock, &auth, request).await.unwrap();
        assert_eq!(response.status(), 400);
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let body: serde_json::Value = match response.body() {
            lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap(),
            other => panic!("{other:?}"),
        };
        assert_eq!(body["code"], "bad_request");
    }
}

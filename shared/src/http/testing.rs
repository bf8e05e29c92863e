//! Helpers for the functions' handler tests (feature `test-fixtures`: the test crates turn it
//! on, the deployed builds do not link it).

use lambda_http::{Body, Request, Response};

use crate::adapters::dynamodb::DynamoStore;

/// An API Gateway (HTTP API v2) event as AWS delivers it: a body that is not UTF-8, base64
/// encoded, and an authorizer context whose claims are `mallory` of tenant `acme` with the
/// operator scope (counted only when no local key is set, as on AWS).
fn event_with_a_body_not_utf8(method: &str, path: &str) -> Request {
    let mut event: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/operator-claims-in-context.json"))
            .expect("the fixture is JSON");
    event["rawPath"] = path.into();
    event["requestContext"]["http"]["method"] = method.into();
    event["requestContext"]["http"]["path"] = path.into();
    lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
}

/// A store whose client has no endpoint: for handlers that must answer before any read.
fn unreachable_store() -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::Config::builder()
            .behavior_version_latest()
            .region(aws_sdk_dynamodb::config::Region::new("eu-west-1"))
            .build(),
    );
    DynamoStore::new(client, "unused")
}

/// The status, content type and `code` of a problem answer.
fn problem(response: &Response<Body>) -> (u16, String, String) {
    let body: serde_json::Value = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or_default(),
        _ => serde_json::Value::Null,
    };
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (
        response.status().as_u16(),
        content_type,
        body["code"].as_str().unwrap_or_default().to_owned(),
    )
}

/// Every route of a function answers a body that is not UTF-8 (as AWS delivers it, base64
/// encoded; locally the router answers first) with 400 problem+json, before it reads
/// anything: `handle` is given an unreachable store, the fixed clock and AWS's token check.
pub async fn assert_a_body_not_utf8_is_a_400_problem<F, Fut>(routes: &[(&str, &str)], handle: F)
where
    F: Fn(DynamoStore, crate::ports::FixedClock, crate::http::auth::AuthConfig, Request) -> Fut,
    Fut: std::future::Future<Output = crate::http::HttpResult>,
{
    for (method, path) in routes {
        let clock = crate::ports::FixedClock("2026-11-29T10:00:00Z".parse().expect("an instant"));
        // As on AWS: no local key, the authorizer's claims count.
        let auth = crate::http::auth::AuthConfig::from_secret(None);
        let request = event_with_a_body_not_utf8(method, path);
        let response = handle(unreachable_store(), clock, auth, request)
            .await
            .expect("an answer");
        assert_eq!(
            problem(&response),
            (400, "application/problem+json".into(), "bad_request".into()),
            "{method} {path}"
        );
    }
}

/// The fast tier's world: the handlers over the memory store, with API Gateway's requests
/// (the JWT authorizer's claims in the request context, as on AWS) and a fixed clock. Acme
/// (DKK, Copenhagen, monthly from 1 November 2026) has 3 licences and 2 of CRM; Ada
/// administers it, Bo is a plain user; it is 10 November 2026, 10:00 UTC.
pub struct World {
    pub store: crate::adapters::memory::MemoryStore,
    pub clock: crate::ports::FixedClock,
    pub auth: crate::http::auth::AuthConfig,
}

/// Who calls: a user of a tenant, an operator (the operator scope), or a request without
/// claims (no token reached the function).
#[derive(Clone, Copy, Debug)]
pub enum Who<'a> {
    User(&'a str, &'a str),
    Operator,
    Nobody,
}

/// Ada, Acme's administrator.
pub const ADA: Who<'static> = Who::User("acme", "ada");
/// Bo, a plain user of Acme.
pub const BO: Who<'static> = Who::User("acme", "bo");

impl World {
    pub async fn acme() -> Self {
        use crate::domain::identity::{DisplayName, EmailAddress, Language, TenantId, UserId};
        use crate::domain::money::{Amount, Currency};
        use crate::domain::period::PeriodLength;
        use crate::domain::pool::PoolId;
        use crate::domain::rights::{administrator, plain_user};
        use crate::domain::tenant::{NewPool, NewTenant};
        use crate::domain::user::NewUser;
        let user = |id: &str, name: &str, role| NewUser {
            user_id: UserId::parse(id).expect("user id"),
            name: DisplayName::parse(name).expect("name"),
            email: EmailAddress::parse(&format!("{id}@example.com")).expect("email"),
            language: Language::En,
            role,
            modules: Default::default(),
            active: true,
        };
        let pool = |id: PoolId, name: &str, price, purchased| NewPool {
            pool: id,
            name: name.into(),
            unit_price: Amount::new(price).expect("price"),
            purchased,
        };
        let acme = NewTenant {
            tenant_id: TenantId::parse("acme").expect("tenant id"),
            name: DisplayName::parse("Acme ApS").expect("name"),
            currency: Currency::parse("DKK").expect("currency"),
            time_zone: chrono_tz::Europe::Copenhagen,
            period_length: PeriodLength::Monthly,
            period_start: chrono::NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date"),
            pools: vec![
                pool(PoolId::licences(), "Licences", 12_900, 3),
                pool(PoolId::parse("crm").expect("pool"), "CRM", 4_900, 2),
            ],
            administrator: user("ada", "Ada Admin", administrator()),
        };
        let store = crate::adapters::memory::MemoryStore::new();
        let start = "2026-11-01T08:00:00Z".parse().expect("an instant");
        crate::app::create_tenant(&store, "op", acme, start)
            .await
            .expect("acme");
        let ada = crate::app::Caller {
            tenant: TenantId::parse("acme").expect("tenant id"),
            user: UserId::parse("ada").expect("user id"),
        };
        let bo = user("bo", "Bo Berg", plain_user()).into();
        let body = serde_json::json!({});
        crate::app::create_user(&store, &ada, bo, None, &body, start)
            .await
            .expect("bo");
        Self {
            store,
            clock: crate::ports::FixedClock("2026-11-10T10:00:00Z".parse().expect("an instant")),
            auth: crate::http::auth::AuthConfig::from_secret(None),
        }
    }

    /// Acme's licences pool as stored now: what a test reads to see that a request changed it,
    /// or did not.
    pub async fn licences(&self) -> crate::domain::pool::Pool {
        use crate::ports::AccountReads;
        let acme = crate::domain::identity::TenantId::parse("acme").expect("tenant id");
        let loaded = self.store.load_account(&acme).await.expect("a read");
        let loaded = loaded.expect("acme");
        let pool = loaded
            .account
            .subscription
            .pool(&crate::domain::pool::PoolId::licences());
        pool.expect("the licences pool").clone()
    }

    /// `method path` (with its query) as API Gateway hands it to a function, from `who`.
    pub fn request(
        &self,
        who: Who,
        method: &str,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> Request {
        let mut event: serde_json::Value =
            serde_json::from_str(include_str!("fixtures/operator-claims-in-context.json"))
                .expect("the fixture is JSON");
        let (raw_path, query) = path.split_once('?').unwrap_or((path, ""));
        event["rawPath"] = raw_path.into();
        event["rawQueryString"] = query.into();
        event["requestContext"]["http"]["method"] = method.into();
        event["requestContext"]["http"]["path"] = raw_path.into();
        event["body"] = body.map_or(serde_json::Value::Null, |b| b.to_string().into());
        event["isBase64Encoded"] = false.into();
        let authorizer = &mut event["requestContext"]["authorizer"];
        match who {
            Who::User(tenant, user) => {
                authorizer["jwt"]["claims"] = serde_json::json!({"sub": user, "tenant_id": tenant});
                authorizer["jwt"]["scopes"] = serde_json::json!([]);
            }
            Who::Operator => {}
            Who::Nobody => *authorizer = serde_json::Value::Null,
        }
        lambda_http::request::from_str(&event.to_string()).expect("an API Gateway event")
    }
}

/// A handler's answer as a client reads it: the status, and the body as JSON (`Null` when
/// empty or not JSON).
pub fn answer(result: crate::http::HttpResult) -> (u16, serde_json::Value) {
    let response = result.expect("the handler answers");
    let body = match response.body() {
        Body::Text(t) => serde_json::from_str(t).unwrap_or_default(),
        Body::Binary(b) => serde_json::from_slice(b).unwrap_or_default(),
        _ => serde_json::Value::Null,
    };
    (response.status().as_u16(), body)
}

/// A problem answer's status and `code`.
pub fn refused(result: crate::http::HttpResult) -> (u16, String) {
    let (status, body) = answer(result);
    (status, body["code"].as_str().unwrap_or_default().to_owned())
}

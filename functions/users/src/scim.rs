//! `/scim/v2/…` (R34): the tenant's identity provider, authenticated by its provisioning token
//! here rather than by API Gateway's JWT authorizer (decision 0016). Every answer, errors
//! included, is `application/scim+json` with SCIM's error schema.

use lambda_http::http::header;
use lambda_http::{Body, Request, Response};
use licensing::app::AppError;
use licensing::app::directory::{self, DirectoryCaller, Listed};
use licensing::http::{HttpResult, body_bytes, query_param, record_tenant, route};
use licensing::ports::{Clock, Directories, Store};
use licensing::scim::discovery;
use licensing::scim::filter::Filter;
use licensing::scim::resource::{Desired, project};
use licensing::scim::{CONTENT_TYPE, LICENSING_SCHEMA, LIST_SCHEMA, ScimError, USER_SCHEMA};
use serde_json::{Value, json};

type Answer = Result<Response<Body>, AppError>;

fn scim_json(status: u16, value: &Value) -> Answer {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, CONTENT_TYPE)
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::Text(value.to_string()))
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// A user's answer, with its ETag and, for a create, its Location.
fn resource(status: u16, value: Value) -> Answer {
    let mut response = scim_json(status, &value)?;
    let meta = &value["meta"];
    for (name, field) in [(header::ETAG, "version"), (header::LOCATION, "location")] {
        if (field == "version" || status == 201)
            && let Some(v) = meta[field].as_str().and_then(|v| v.parse().ok())
        {
            response.headers_mut().insert(name, v);
        }
    }
    Ok(response)
}

/// An error as SCIM's schema says it; a server error's cause goes to the log only.
fn error(err: &AppError) -> Answer {
    let scim = match err {
        AppError::Scim(e) => e.clone(),
        AppError::Unauthenticated => {
            ScimError::new(401, None, "a valid provisioning token is required")
        }
        AppError::NotFound(what) => ScimError::not_found(format!("{what} not found")),
        AppError::TooLarge => ScimError::new(413, None, "the body is too large"),
        AppError::BadRequest(detail) => ScimError::invalid_syntax(detail.clone()),
        // Contention that outlasted its retries, or throttling: the provider retries 5xx.
        AppError::Contention | AppError::Store(licensing::ports::StoreError::Throttled) => {
            ScimError::new(503, None, "the tenant is busy; retry shortly")
        }
        other => {
            let status = other.status();
            if status >= 500 {
                tracing::error!(error = %other, "SCIM request failed");
            }
            let scim_type = (status == 400).then_some("invalidValue");
            ScimError::new(status, scim_type, other.public_detail())
        }
    };
    let mut response = scim_json(scim.status, &scim.body())?;
    if scim.status == 503 {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
    }
    Ok(response)
}

/// The SCIM base URL as the caller reached it (for `meta.location`).
fn base_url(request: &Request) -> String {
    let uri = request.uri();
    let host = uri.authority().map(|a| a.as_str().to_owned()).or_else(|| {
        request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(str::to_owned)
    });
    let scheme = request
        .headers()
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .or(uri.scheme_str())
        .unwrap_or("https");
    match host {
        Some(host) => format!("{scheme}://{host}/scim/v2"),
        None => "/scim/v2".to_owned(),
    }
}

fn presented_token(request: &Request) -> Option<&str> {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = header.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
}

fn json_body(request: &Request) -> Result<Value, AppError> {
    let bytes = body_bytes(request);
    if bytes.len() > licensing::http::MAX_BODY {
        return Err(AppError::TooLarge);
    }
    serde_json::from_slice(bytes).map_err(|e| {
        AppError::Scim(ScimError::invalid_syntax(format!(
            "the body is not JSON: {e}"
        )))
    })
}

fn if_match(request: &Request) -> Option<String> {
    request
        .headers()
        .get(header::IF_MATCH)
        .and_then(|h| h.to_str().ok())
        .map(|s| s.trim().to_owned())
}

fn list_of(names: Option<String>) -> Vec<String> {
    names
        .map(|n| {
            n.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// A query's paging, filter and projection (from the query string or a `.search` body).
struct Query {
    filter: Option<Filter>,
    start_index: usize,
    count: usize,
    attributes: Vec<String>,
    excluded: Vec<String>,
}

fn number(raw: Option<String>, default: usize, what: &str) -> Result<usize, AppError> {
    match raw {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse::<i64>()
            .map(|n| n.max(0) as usize)
            .map_err(|_| {
                AppError::Scim(ScimError::invalid_value(format!(
                    "{what} must be an integer"
                )))
            }),
    }
}

impl Query {
    fn from_request(request: &Request) -> Result<Self, AppError> {
        Self::new(
            query_param(request, "filter"),
            query_param(request, "startIndex"),
            query_param(request, "count"),
            query_param(request, "attributes"),
            query_param(request, "excludedAttributes"),
        )
    }

    fn from_search(body: &Value) -> Result<Self, AppError> {
        let text = |name: &str| match &body[name] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Array(items) => Some(
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        };
        Self::new(
            text("filter"),
            text("startIndex"),
            text("count"),
            text("attributes"),
            text("excludedAttributes"),
        )
    }

    fn new(
        filter: Option<String>,
        start: Option<String>,
        count: Option<String>,
        attributes: Option<String>,
        excluded: Option<String>,
    ) -> Result<Self, AppError> {
        Ok(Self {
            filter: filter
                .filter(|f| !f.trim().is_empty())
                .map(|f| Filter::parse(&f))
                .transpose()
                .map_err(AppError::Scim)?,
            start_index: number(start, 1, "startIndex")?.max(1),
            count: number(count, licensing::scim::MAX_RESULTS, "count")?,
            attributes: list_of(attributes),
            excluded: list_of(excluded),
        })
    }
}

async fn list<S: Store + Directories>(
    store: &S,
    caller: &DirectoryCaller,
    query: Query,
    base: &str,
) -> Answer {
    let Listed { total, resources } = directory::list_users(
        store,
        caller,
        query.filter.as_ref(),
        query.start_index,
        query.count,
        base,
    )
    .await?;
    let resources: Vec<Value> = resources
        .into_iter()
        .map(|r| project(r, &query.attributes, &query.excluded))
        .collect();
    scim_json(
        200,
        &json!({
            "schemas": [LIST_SCHEMA],
            "totalResults": total,
            "itemsPerPage": resources.len(),
            "startIndex": query.start_index,
            "Resources": resources,
        }),
    )
}

fn not_allowed() -> Answer {
    error(&AppError::Scim(ScimError::new(
        405,
        None,
        "the method is not allowed here",
    )))
}

async fn modules<S: Store>(store: &S, caller: &DirectoryCaller) -> Result<Vec<String>, AppError> {
    Ok(store
        .load_account(&caller.tenant)
        .await?
        .map(|l| {
            l.account
                .subscription
                .pools
                .iter()
                .filter(|p| !p.id.is_licences())
                .map(|p| p.id.to_string())
                .collect()
        })
        .unwrap_or_default())
}

async fn serve<S: Store + Directories, C: Clock>(store: &S, clock: &C, request: Request) -> Answer {
    let now = clock.now();
    let token = presented_token(&request).ok_or(AppError::Unauthenticated)?;
    let caller = directory::authenticate(store, token, now).await?;
    record_tenant(caller.tenant.as_str());
    let base = base_url(&request);
    let method = request.method().as_str().to_owned();
    let path = request.uri().path().trim_end_matches('/').to_owned();
    let parts: Vec<&str> = path.split('/').skip(3).collect();
    match (method.as_str(), parts.as_slice()) {
        ("GET", ["ServiceProviderConfig"]) => {
            scim_json(200, &discovery::service_provider_config(&base))
        }
        (_, ["ServiceProviderConfig"]) => not_allowed(),
        ("GET", ["ResourceTypes"]) => scim_json(
            200,
            &discovery::list(vec![discovery::user_resource_type(&base)]),
        ),
        ("GET", ["ResourceTypes", "User"]) => scim_json(200, &discovery::user_resource_type(&base)),
        (_, ["ResourceTypes"] | ["ResourceTypes", "User"]) => not_allowed(),
        ("GET", ["Schemas"]) => {
            let modules = modules(store, &caller).await?;
            scim_json(
                200,
                &discovery::list(vec![
                    discovery::user_schema(&base),
                    discovery::licensing_schema(&base, &modules),
                ]),
            )
        }
        ("GET", ["Schemas", USER_SCHEMA]) => scim_json(200, &discovery::user_schema(&base)),
        ("GET", ["Schemas", LICENSING_SCHEMA]) => {
            let modules = modules(store, &caller).await?;
            scim_json(200, &discovery::licensing_schema(&base, &modules))
        }
        (_, ["Schemas"] | ["Schemas", USER_SCHEMA | LICENSING_SCHEMA]) => not_allowed(),
        ("GET", ["Users"]) => list(store, &caller, Query::from_request(&request)?, &base).await,
        ("POST", ["Users", ".search"] | [".search"]) => {
            let body = json_body(&request)?;
            list(store, &caller, Query::from_search(&body)?, &base).await
        }
        ("POST", ["Users"]) => {
            let desired = Desired::parse(&json_body(&request)?).map_err(AppError::Scim)?;
            resource(
                201,
                directory::create_user(store, &caller, desired, &base, now).await?,
            )
        }
        ("GET", ["Users", id]) => {
            let query = Query::from_request(&request)?;
            let user = directory::get_user(store, &caller, id, &base).await?;
            resource(200, project(user, &query.attributes, &query.excluded))
        }
        ("PUT", ["Users", id]) => {
            let desired = Desired::parse(&json_body(&request)?).map_err(AppError::Scim)?;
            let user = directory::replace_user(
                store,
                &caller,
                id,
                desired,
                if_match(&request),
                &base,
                now,
            )
            .await?;
            resource(200, user)
        }
        ("PATCH", ["Users", id]) => {
            let body = json_body(&request)?;
            let user =
                directory::patch_user(store, &caller, id, &body, if_match(&request), &base, now)
                    .await?;
            resource(200, user)
        }
        ("DELETE", ["Users", id]) => {
            directory::delete_user(store, &caller, id, now).await?;
            Response::builder()
                .status(204)
                .body(Body::Empty)
                .map_err(|e| AppError::Internal(e.to_string()))
        }
        (_, ["Users"] | ["Users", _]) => not_allowed(),
        _ => Err(AppError::NotFound("resource")),
    }
}

pub async fn handle<S: Store + Directories, C: Clock>(
    store: &S,
    clock: &C,
    request: Request,
) -> HttpResult {
    route(store, request, |request| async move {
        match serve(store, clock, request).await {
            Ok(answer) => Ok(answer),
            Err(err) => error(&err),
        }
    })
    .await
}

//! HTTP plumbing shared by every function: identity, problem+json errors, body and query
//! parsing, JSON answers.

pub mod auth;
#[cfg(all(feature = "test-fixtures", feature = "dynamodb"))]
pub mod testing;

use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::app::AppError;
use crate::ports::PageRequest;

/// Larger bodies are refused before parsing (413). Above the largest body the contract allows
/// (a tenant with 50 pools and every name 200 characters outside the BMP, each escaped as
/// `\uXXXX\uXXXX`: about 130 KB), far below what API Gateway and Lambda take.
pub const MAX_BODY: usize = 256 * 1024;
pub const DEFAULT_PAGE: u32 = 50;
pub const MAX_PAGE: u32 = 100;

pub type HttpResult = Result<Response<Body>, lambda_http::Error>;

static SUPPORT_CONTACT: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// R29: the support contact the answers name (`LICENSING_SUPPORT_EMAIL`), set once at start.
pub fn set_support_contact(email: &str) {
    let _ = SUPPORT_CONTACT.set(email.to_owned());
}

/// Codes whose answer tells the customer to write to support.
const SUPPORT_CODES: [&str; 1] = ["next_period_below_one"];

pub fn request_id(request: &Request) -> String {
    request
        .lambda_context_ref()
        .map(|c| c.request_id.clone())
        .filter(|id| !id.is_empty())
        .unwrap_or_else(|| "-".to_owned())
}

pub fn body_bytes(request: &Request) -> &[u8] {
    match request.body() {
        Body::Empty => b"",
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => b"",
    }
}

/// For an optional body field: absent is `None`, a value is `Some`, and `null` is refused
/// (400) as the contract says, rather than read as absent. Use with `#[serde(default)]`.
pub fn present<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Parses a JSON body into `T` (whose fields deny unknowns); 413 when too large. A number
/// with no fraction is an integer, as JSON Schema says (`142.0` is the `integer` 142).
pub fn json_body<T: DeserializeOwned>(request: &Request) -> Result<T, AppError> {
    let bytes = body_bytes(request);
    if bytes.len() > MAX_BODY {
        return Err(AppError::TooLarge);
    }
    let bad = |e: serde_json::Error| AppError::BadRequest(format!("body: {e}"));
    let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(bad)?;
    // Every body the contract names is an object; serde would also fill a struct from an
    // array (`[]` as a struct whose fields are all optional).
    if !value.is_object() {
        return Err(AppError::BadRequest(
            "the body must be a JSON object".into(),
        ));
    }
    integral_numbers(&mut value);
    serde_json::from_value(value).map_err(bad)
}

/// Writes every float without a fraction as the integer it is (exactly representable ones
/// only, so nothing is rounded into range).
fn integral_numbers(value: &mut serde_json::Value) {
    use serde_json::Value;
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15) {
                // Exact: |f| < 2^53, and the cast of a whole f64 in range does not round.
                #[allow(clippy::cast_possible_truncation)]
                let whole = f as i64;
                *value = Value::from(whole);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_numbers),
        Value::Object(fields) => fields.values_mut().for_each(integral_numbers),
        _ => {}
    }
}

pub fn page(request: &Request) -> Result<PageRequest, AppError> {
    let query = request.query_string_parameters();
    let limit = match query.first("limit") {
        None => DEFAULT_PAGE,
        Some(v) => v
            .parse::<u32>()
            .ok()
            .filter(|n| (1..=MAX_PAGE).contains(n))
            .ok_or_else(|| AppError::BadRequest(format!("limit must be 1-{MAX_PAGE}")))?,
    };
    Ok(PageRequest {
        cursor: cursor(request)?,
        limit,
    })
}

/// The `cursor` query parameter, if any.
fn cursor(request: &Request) -> Result<Option<String>, AppError> {
    let cursor = query_param(request, "cursor").filter(|c| !c.is_empty());
    // At most 256 bytes of sort key (the longest is far shorter): the contract's bound.
    if cursor.as_ref().is_some_and(|c| c.len() > 512) {
        return Err(AppError::BadRequest("the cursor is not valid".into()));
    }
    Ok(cursor)
}

pub fn query_param(request: &Request, name: &str) -> Option<String> {
    request
        .query_string_parameters()
        .first(name)
        .map(str::to_owned)
}

pub fn path_param(request: &Request, name: &str) -> Option<String> {
    request.path_parameters().first(name).map(str::to_owned)
}

pub fn json<T: Serialize>(status: u16, value: &T) -> HttpResult {
    let body = serde_json::to_string(value)?;
    raw_json(status, body)
}

pub fn raw_json(status: u16, body: String) -> HttpResult {
    Ok(Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::Text(body))?)
}

/// RFC 9457 problem details with a stable `code`; internal details are logged, not returned.
pub fn problem(err: &AppError, request_id: &str) -> HttpResult {
    let status = StatusCode::from_u16(err.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status.is_server_error() {
        tracing::error!(request_id, error = %err, code = err.code(), "request failed");
    } else {
        tracing::info!(
            request_id,
            code = err.code(),
            status = status.as_u16(),
            "request refused"
        );
    }
    let mut body = serde_json::json!({
        "type": format!("https://licensing.example/problems/{}", err.code()),
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "code": err.code(),
        "detail": err.public_detail(),
        "request_id": request_id,
    });
    // R35: the price an approver must approve instead.
    if let AppError::Domain(crate::domain::DomainError::PriceChanged { total }) = err {
        body["total"] = (*total).into();
    }
    if SUPPORT_CODES.contains(&err.code())
        && let Some(email) = SUPPORT_CONTACT.get()
    {
        body["detail"] = format!("{} ({email})", err.public_detail()).into();
        body["support_email"] = email.clone().into();
    }
    let mut response = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "application/problem+json")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::Text(body.to_string()))?;
    if status == StatusCode::UNAUTHORIZED {
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    if status == StatusCode::SERVICE_UNAVAILABLE {
        // Throttled after the use case's own retries: a client waits a second and retries.
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    Ok(response)
}

/// The `Idempotency-Key` header, if sent (R10, and `POST /v1/users`).
pub fn idempotency_key(request: &Request) -> Result<Option<&str>, AppError> {
    request
        .headers()
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .map_err(|_| AppError::BadRequest("Idempotency-Key must be printable ASCII".into()))
        })
        .transpose()
}

/// An answer that may be a replay: its stored status and exact body, marked
/// `Idempotent-Replayed: true` when replayed.
pub fn replayable(answer: crate::app::Replayable) -> Result<Response<Body>, AppError> {
    let mut response =
        raw_json(answer.status, answer.body).map_err(|e| AppError::Internal(e.to_string()))?;
    if answer.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    Ok(response)
}

/// Runs a route and turns its error, if any, into a problem answer.
pub fn respond(request_id: &str, result: Result<Response<Body>, AppError>) -> HttpResult {
    match result {
        Ok(response) => Ok(response),
        Err(err) => problem(&err, request_id),
    }
}

/// R36's `from` and `to` (dates, exactly `YYYY-MM-DD`) and the next page's cursor.
pub fn export_query(
    request: &Request,
) -> Result<(crate::app::export::ExportDates, Option<String>), AppError> {
    Ok((dates_query(request)?, cursor(request)?))
}

/// The `from` and `to` dates of an export (R36) or of the usage history (R37), exactly
/// `YYYY-MM-DD`.
pub fn dates_query(request: &Request) -> Result<crate::app::export::ExportDates, AppError> {
    let date = |name: &str| {
        query_param(request, name)
            .map(|v| {
                let shaped = v.len() == 10
                    && v.bytes().enumerate().all(|(i, b)| match i {
                        4 | 7 => b == b'-',
                        _ => b.is_ascii_digit(),
                    });
                shaped
                    .then(|| chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d").ok())
                    .flatten()
                    .ok_or_else(|| {
                        AppError::BadRequest(format!("{name} must be a date like 2026-11-30"))
                    })
            })
            .transpose()
    };
    Ok(crate::app::export::ExportDates {
        from: date("from")?,
        to: date("to")?,
    })
}

/// A CSV page (R36): `text/csv`, a download named `file`, and the next page in a `Link`
/// header carrying the same dates (written from the parsed dates, not the query's text).
pub fn csv(
    request: &Request,
    file: &str,
    dates: crate::app::export::ExportDates,
    page: crate::app::export::CsvPage,
) -> Result<Response<Body>, AppError> {
    let mut answer = Response::builder()
        .status(200)
        .header(
            header::CONTENT_TYPE,
            "text/csv; charset=utf-8; header=present",
        )
        .header(
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        )
        .header("x-row-count", page.rows.to_string());
    if let Some(cursor) = page.next_cursor {
        // The cursor is the store's hex; the dates are written as `YYYY-MM-DD`.
        let mut next = format!("{}?cursor={cursor}", request.uri().path());
        for (name, date) in [("from", dates.from), ("to", dates.to)] {
            if let Some(date) = date {
                next.push_str(&format!("&{name}={}", date.format("%Y-%m-%d")));
            }
        }
        answer = answer.header(header::LINK, format!("<{next}>; rel=\"next\""));
    }
    answer
        .body(Body::Text(page.body))
        .map_err(|e| AppError::Internal(e.to_string()))
}

/// JSON answer inside a route (errors become `AppError`).
pub fn ok<T: Serialize>(status: u16, value: &T) -> Result<Response<Body>, AppError> {
    json(status, value).map_err(|e| AppError::Internal(e.to_string()))
}

/// Runs one request's route inside a span carrying its request id (and, once known, its
/// tenant), answers its error as problem+json, and logs one line per request with its status,
/// the DynamoDB calls and capacity it cost, its duration and whether it was a cold start.
pub async fn route<S, F, Fut>(store: &S, request: Request, handler: F) -> HttpResult
where
    S: crate::ports::AccountReads,
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Body>, AppError>>,
{
    use std::sync::atomic::{AtomicBool, Ordering};
    use tracing::Instrument;
    static WARM: AtomicBool = AtomicBool::new(false);
    let cold_start = !WARM.swap(true, Ordering::Relaxed);
    let started = std::time::Instant::now();
    let before = store.usage();
    let rid = request_id(&request);
    let span = tracing::info_span!(
        "request",
        request_id = %rid,
        method = %request.method(),
        path = %request.uri().path(),
        tenant = tracing::field::Empty
    );
    // Boxed: a use case's future nests its reads, retries, commit and delivery; inline, one
    // more level of nesting overflows the compiler's layout depth on a clean build of a
    // function (`queries overflow the depth limit`). One allocation per request buys the
    // headroom.
    let result = Box::pin(handler(request)).instrument(span.clone()).await;
    let response = respond(&rid, result);
    let used = store.usage().since(before);
    let status = response
        .as_ref()
        .map(|r| r.status().as_u16())
        .unwrap_or(500);
    tracing::info!(
        parent: &span,
        status,
        dynamodb_calls = used.calls,
        consumed_capacity = used.capacity,
        duration_ms = started.elapsed().as_secs_f64() * 1000.0,
        cold_start,
        "request finished"
    );
    crate::telemetry::request(status, used.calls, used.capacity, cold_start);
    crate::telemetry::flush(&rid);
    response
}

/// `route` for a tenant's route (R16): the caller from the token, the tenant on the span, and
/// the request's instant read once, at the edge.
pub async fn tenant_route<S, C, F, Fut>(
    store: &S,
    clock: &C,
    auth: &auth::AuthConfig,
    request: Request,
    handler: F,
) -> HttpResult
where
    S: crate::ports::AccountReads,
    C: crate::ports::Clock,
    F: FnOnce(Request, crate::app::Caller, chrono::DateTime<chrono::Utc>) -> Fut,
    Fut: std::future::Future<Output = Result<Response<Body>, AppError>>,
{
    route(store, request, |request| async move {
        let caller = auth::caller(&request, auth)?;
        record_tenant(caller.tenant.as_str());
        handler(request, caller, clock.now()).await
    })
    .await
}

/// Notes the tenant on the current request's span.
pub fn record_tenant(tenant: &str) {
    tracing::Span::current().record("tenant", tenant);
}

/// The request's method and its path's segments after `/v1/`, to match a route on
/// (`("POST", ["users", id, "activate"])`): every handler routes this one way.
pub fn route_key(request: &Request) -> (&str, Vec<&str>) {
    let parts = request
        .uri()
        .path()
        .trim_matches('/')
        .split('/')
        .skip(1)
        .collect();
    (request.method().as_str(), parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttled_is_a_503_with_retry_after() {
        let err = AppError::Store(crate::ports::StoreError::Throttled);
        let response = problem(&err, "r-1").unwrap();
        assert_eq!(response.status(), 503);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let Body::Text(body) = response.body() else {
            panic!("a text body")
        };
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["code"], "throttled");
    }

    fn request(body: &str) -> Request {
        Request::new(Body::from(body))
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Counts {
        #[serde(default, deserialize_with = "present")]
        licences: Option<u32>,
    }

    #[test]
    fn a_whole_float_is_the_integer_json_schema_says_it_is() {
        let counts: Counts = json_body(&request(r#"{"licences": 142.0}"#)).unwrap();
        assert_eq!(counts.licences, Some(142));
        assert!(json_body::<Counts>(&request(r#"{"licences": 142.5}"#)).is_err());
        assert!(json_body::<Counts>(&request(r#"{"licences": 1e300}"#)).is_err());
        assert!(json_body::<Counts>(&request(r#"{"licences": -1.0}"#)).is_err());
    }

    #[test]
    fn an_optional_field_may_be_absent_but_not_null() {
        let counts: Counts = json_body(&request("{}")).unwrap();
        assert_eq!(counts.licences, None);
        assert!(json_body::<Counts>(&request(r#"{"licences": null}"#)).is_err());
    }
}

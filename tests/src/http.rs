//! The HTTP client of the end-to-end suites: requests to the local API with a token, and
//! every answer checked against `openapi.yaml` (`contract`).

use crate::token;
use chrono::{Datelike, NaiveDate};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// The local API as a client sees it, every answer checked against `openapi.yaml`.
pub struct Api {
    pub url: String,
    pub secret: String,
    pub http: Client,
}

/// The API the test command started (`LICENSING_API_URL`), if any.
pub fn api() -> Option<Api> {
    let url = std::env::var("LICENSING_API_URL").ok()?;
    let secret = std::env::var("LICENSING_JWT_SECRET").ok()?;
    Some(Api {
        url,
        secret,
        http: Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .ok()?,
    })
}

/// The API the test command started; the end-to-end tests are `#[ignore]`d and fail here,
/// saying why, when run without it.
pub fn require_api() -> Api {
    api().expect("LICENSING_API_URL and LICENSING_JWT_SECRET unset: ./scripts/test.sh starts the local API and runs the ignored tests")
}

impl Api {
    /// The first mail the SES engine accepted that `matches`, waiting up to `within` for it
    /// (the stream path delivers after the answer), and how long it took to arrive. A failed
    /// read is retried: moto serializes its whole state for each read and answers an error
    /// when another request changes it meanwhile. The reads back off to one a second, as
    /// each is tens of MB late in a run and starves the sends being waited for.
    pub async fn mail(
        &self,
        within: std::time::Duration,
        matches: impl Fn(&crate::mail::SentMail) -> bool,
    ) -> Result<(crate::mail::SentMail, std::time::Duration), String> {
        let started = std::time::Instant::now();
        let mut pause = std::time::Duration::from_millis(20);
        loop {
            let last = match crate::mail::sent_mail(&self.http).await {
                Ok(sent) => match sent.into_iter().find(|m| matches(m)) {
                    Some(mail) => return Ok((mail, started.elapsed())),
                    None => String::from("no mail matched"),
                },
                Err(e) => e,
            };
            if started.elapsed() > within {
                return Err(format!("after {within:?}: {last}"));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(std::time::Duration::from_secs(1));
        }
    }

    pub fn user(&self, tenant: &str, user: &str) -> String {
        token(&self.secret, user, Some(tenant), None, 600)
    }

    pub fn operator(&self) -> String {
        token(
            &self.secret,
            "operator-1",
            None,
            Some("licensing/operator"),
            600,
        )
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_with(method, path, bearer, body.map(|b| b.to_string()), &[])
            .await
    }

    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let body = body.map(|b| ("application/json", b));
        self.send(
            method,
            path,
            bearer,
            body,
            headers,
            "application/problem+json",
        )
        .await
    }

    /// A SCIM call (R34) with a provisioning token: every answer but a 204 is
    /// `application/scim+json`, errors included.
    pub async fn scim(
        &self,
        token: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let body = body.map(|b| ("application/scim+json", b.to_string()));
        self.send(
            method,
            path,
            Some(token),
            body,
            &[],
            "application/scim+json",
        )
        .await
    }

    /// One request; an error answer must be of `error_type`, and the answer is checked
    /// against the contract.
    async fn send(
        &self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<(&str, String)>,
        headers: &[(&str, &str)],
        error_type: &str,
    ) -> (StatusCode, Value) {
        let method_name = method.as_str().to_owned();
        let mut request = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = bearer {
            request = request.bearer_auth(t);
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        if let Some((media, b)) = body {
            request = request.header("content-type", media).body(b);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let text = response.text().await.expect("body");
        if status.is_client_error() || status.is_server_error() {
            assert_eq!(content_type, error_type, "{status} {text}");
        }
        let value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        crate::contract::check(&method_name, path, status.as_u16(), &content_type, &value);
        (status, value)
    }

    /// A purchase as the page makes it: a quote for `counts`, then its approval under `key`.
    /// The approval's status and body.
    pub async fn buy(&self, bearer: &str, counts: Value, key: &str) -> (StatusCode, Value) {
        let (status, quote) = self
            .call(
                Method::POST,
                "/v1/purchases/quotes",
                Some(bearer),
                Some(counts),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{quote}");
        self.call_with(
            Method::POST,
            "/v1/purchases",
            Some(bearer),
            Some(json!({"quote_id": quote["quote_id"]}).to_string()),
            &[("Idempotency-Key", key)],
        )
        .await
    }

    /// An operator creates a tenant whose period is the current month.
    pub async fn tenant(&self, id: &str, licences: u32) {
        let today = crate::copenhagen_today();
        let start = NaiveDate::from_ymd_opt(today.year(), today.month(), 1).unwrap();
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/tenants",
                Some(&self.operator()),
                Some(json!({
                    "tenant_id": id, "name": format!("Acme {id}"), "currency": "DKK",
                    "time_zone": "Europe/Copenhagen", "period_length": "monthly",
                    "period_start": start.to_string(),
                    "pools": {"licences": {"unit_price": 12900, "purchased": licences},
                              "crm": {"name": "CRM", "unit_price": 4900, "purchased": 2}},
                    "administrator": {"user_id": "ada", "name": "Ada", "email": "ada@acme.dk", "language": "da"}
                })),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }

    pub async fn add_user(&self, tenant: &str, id: &str) -> Value {
        let (status, body) = self
            .call(
                Method::POST,
                "/v1/users",
                Some(&self.user(tenant, "ada")),
                Some(json!({"user_id": id, "name": format!("User {id}"), "email": format!("{id}@acme.dk")})),
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body
    }

    pub async fn account(&self, tenant: &str) -> Value {
        let (status, body) = self
            .call(
                Method::GET,
                "/v1/account",
                Some(&self.user(tenant, "ada")),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// A call as `user` of `tenant`.
    pub async fn as_user(
        &self,
        tenant: &str,
        user: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call(method, path, Some(&self.user(tenant, user)), body)
            .await
    }
}

//! R16: who is calling. In AWS the HTTP API's JWT authorizer has validated the token and the
//! claims arrive in the request context; locally (no authorizer) the function verifies an
//! HS256 bearer token with `LICENSING_JWT_SECRET`. With neither, every request is refused.
//!
//! The local check is HMAC-SHA256 over `hmac` and `sha2`, which the SDK's request signing
//! links anyway: a JWT library would add size to every function for a local-only path.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use lambda_http::request::RequestContext;
use lambda_http::{Request, RequestExt};
use serde::Deserialize;
use std::collections::HashMap;

use crate::app::{AppError, Caller};
use crate::domain::identity::{TenantId, UserId};

pub const OPERATOR_SCOPE: &str = "licensing/operator";

/// How tokens are checked when no authorizer did it.
#[derive(Clone)]
pub struct AuthConfig {
    local_key: Option<Vec<u8>>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("local_tokens", &self.local_key.is_some())
            .finish()
    }
}

impl AuthConfig {
    pub fn from_secret(secret: Option<&str>) -> Self {
        Self {
            local_key: secret
                .filter(|s| !s.is_empty())
                .map(|s| s.as_bytes().to_vec()),
        }
    }

    pub fn from_env() -> Self {
        Self::from_secret(std::env::var("LICENSING_JWT_SECRET").ok().as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub sub: String,
    pub tenant_id: Option<String>,
    pub scopes: Vec<String>,
}

#[derive(Deserialize)]
struct TokenClaims {
    sub: String,
    #[serde(default)]
    tenant_id: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    exp: i64,
}

#[derive(Deserialize)]
struct TokenHeader {
    alg: String,
}

/// Seconds a token may be past its `exp` (clock skew between the issuer and us).
const LEEWAY_SECS: i64 = 5;

/// The claims of a compact JWS signed with HS256 under `secret` and not expired at `now`
/// (Unix seconds); None for anything else (`alg: none`, another algorithm, a bad signature,
/// a missing `exp` or `sub`, extra segments).
fn verify_hs256(token: &str, secret: &[u8], now: i64) -> Option<TokenClaims> {
    let mut parts = token.split('.');
    let (header, payload, signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let decoded: TokenHeader =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).ok()?).ok()?;
    if decoded.alg != "HS256" {
        return None;
    }
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).ok()?;
    mac.update(header.as_bytes());
    mac.update(b".");
    mac.update(payload.as_bytes());
    // Constant-time comparison.
    mac.verify_slice(&URL_SAFE_NO_PAD.decode(signature).ok()?)
        .ok()?;
    let claims: TokenClaims =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).ok()?).ok()?;
    (claims.exp.saturating_add(LEEWAY_SECS) >= now).then_some(claims)
}

fn from_authorizer(request: &Request) -> Option<Claims> {
    let context = request.request_context_ref()?;
    let RequestContext::ApiGatewayV2(ctx) = context else {
        return None;
    };
    let jwt = ctx.authorizer.as_ref()?.jwt.as_ref()?;
    let claims: &HashMap<String, String> = &jwt.claims;
    let sub = claims.get("sub")?.clone();
    let mut scopes: Vec<String> = claims
        .get("scope")
        .map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default();
    scopes.extend(jwt.scopes.clone().unwrap_or_default());
    Some(Claims {
        sub,
        tenant_id: claims.get("tenant_id").cloned(),
        scopes,
    })
}

fn from_bearer(request: &Request, key: &[u8]) -> Option<Claims> {
    let header = request.headers().get("authorization")?.to_str().ok()?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))?;
    // The request's arrival is the edge: this is where the wall clock is read.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs() as i64;
    let claims = verify_hs256(token.trim(), key, now)?;
    Some(Claims {
        sub: claims.sub,
        tenant_id: claims.tenant_id,
        scopes: claims
            .scope
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

/// The caller's claims. With a local key (no authorizer in front), only the HS256 token
/// counts: the authorizer context of a request is whatever its sender wrote, and locally
/// anyone who reaches the port can send a whole API Gateway event. Without one, only the
/// authorizer's claims count (AWS, where API Gateway validated the token).
pub fn claims(request: &Request, config: &AuthConfig) -> Result<Claims, AppError> {
    match &config.local_key {
        Some(key) => from_bearer(request, key),
        None => from_authorizer(request),
    }
    .ok_or(AppError::Unauthenticated)
}

/// A tenant route's caller: the tenant and user come from the token only.
pub fn caller(request: &Request, config: &AuthConfig) -> Result<Caller, AppError> {
    let claims = claims(request, config)?;
    let tenant = claims
        .tenant_id
        .as_deref()
        .and_then(|t| TenantId::parse(t).ok())
        .ok_or(AppError::Unauthenticated)?;
    let user = UserId::parse(&claims.sub).map_err(|_| AppError::Unauthenticated)?;
    Ok(Caller { tenant, user })
}

/// An operator route's caller (R18): the operator scope is required.
pub fn operator(request: &Request, config: &AuthConfig) -> Result<String, AppError> {
    let claims = claims(request, config)?;
    if claims.scopes.iter().any(|s| s == OPERATOR_SCOPE) {
        Ok(claims.sub)
    } else {
        Err(AppError::Forbidden(OPERATOR_SCOPE))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"local-secret";

    fn sign(header: &str, claims: &str, secret: &[u8]) -> String {
        let unsigned = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret).unwrap();
        mac.update(unsigned.as_bytes());
        format!(
            "{unsigned}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    const HS256: &str = r#"{"typ":"JWT","alg":"HS256"}"#;
    const CLAIMS: &str = r#"{"sub":"ada","tenant_id":"acme","exp":1000}"#;

    /// An API Gateway event whose authorizer context claims an operator (its body is not
    /// UTF-8, for the handlers' own test).
    const FORGED_CONTEXT: &str = include_str!("fixtures/operator-claims-in-context.json");

    #[test]
    fn with_a_local_key_only_the_token_counts_never_the_events_authorizer_context() {
        let request = lambda_http::request::from_str(FORGED_CONTEXT).unwrap();
        let local = AuthConfig::from_secret(Some("local-secret"));
        assert!(matches!(
            operator(&request, &local),
            Err(AppError::Unauthenticated)
        ));
        // In AWS (no local key) the authorizer validated the token: its claims count.
        let aws = AuthConfig::from_secret(None);
        assert_eq!(operator(&request, &aws).unwrap(), "mallory");
    }

    #[test]
    fn a_signed_unexpired_token_gives_its_claims() {
        let claims = verify_hs256(&sign(HS256, CLAIMS, SECRET), SECRET, 1000).unwrap();
        assert_eq!(
            (claims.sub.as_str(), claims.tenant_id.as_deref()),
            ("ada", Some("acme"))
        );
        assert!(verify_hs256(&sign(HS256, CLAIMS, SECRET), SECRET, 1000 + LEEWAY_SECS).is_some());
    }

    #[test]
    fn expired_forged_unsigned_or_malformed_tokens_are_refused() {
        let good = sign(HS256, CLAIMS, SECRET);
        assert!(verify_hs256(&good, SECRET, 1000 + LEEWAY_SECS + 1).is_none());
        assert!(verify_hs256(&good, b"another secret", 1000).is_none());
        assert!(verify_hs256(&sign(r#"{"alg":"none"}"#, CLAIMS, SECRET), SECRET, 1000).is_none());
        assert!(verify_hs256(&sign(r#"{"alg":"HS512"}"#, CLAIMS, SECRET), SECRET, 1000).is_none());
        assert!(verify_hs256(&sign(HS256, r#"{"sub":"ada"}"#, SECRET), SECRET, 0).is_none());
        assert!(verify_hs256(&sign(HS256, r#"{"exp":1000}"#, SECRET), SECRET, 0).is_none());
        let mut parts: Vec<&str> = good.split('.').collect();
        let forged = URL_SAFE_NO_PAD.encode(r#"{"sub":"ada","tenant_id":"other","exp":1000}"#);
        parts[1] = &forged;
        assert!(verify_hs256(&parts.join("."), SECRET, 1000).is_none());
        assert!(verify_hs256(&format!("{good}.x"), SECRET, 1000).is_none());
        for garbage in ["", "a.b", "a.b.c", "...", "é.é.é"] {
            assert!(verify_hs256(garbage, SECRET, 0).is_none(), "{garbage}");
        }
    }
}

//! R16: who is calling. In AWS the HTTP API's JWT authorizer has validated the token and the
//! claims arrive in the request context; locally (no authorizer) the function verifies an
//! HS256 bearer token with `LICENSING_JWT_SECRET`. With neither, every request is refused.

use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
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
    local_key: Option<DecodingKey>,
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
                .map(|s| DecodingKey::from_secret(s.as_bytes())),
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
    #[allow(dead_code)]
    exp: u64,
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

fn from_bearer(request: &Request, key: &DecodingKey) -> Option<Claims> {
    let header = request.headers().get("authorization")?.to_str().ok()?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))?;
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_required_spec_claims(&["exp", "sub"]);
    validation.leeway = 5;
    let data = decode::<TokenClaims>(token.trim(), key, &validation).ok()?;
    Some(Claims {
        sub: data.claims.sub,
        tenant_id: data.claims.tenant_id,
        scopes: data
            .claims
            .scope
            .map(|s| s.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default(),
    })
}

pub fn claims(request: &Request, config: &AuthConfig) -> Result<Claims, AppError> {
    if let Some(claims) = from_authorizer(request) {
        return Ok(claims);
    }
    config
        .local_key
        .as_ref()
        .and_then(|key| from_bearer(request, key))
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

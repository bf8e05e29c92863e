//! R34's provisioning tokens: made by a user manager, shown once and kept as a hash, listed
//! with their last use, revoked at once; and a SCIM request's caller, from its token alone.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;
use serde_json::json;

use crate::app::{AppError, Caller, authorize, log_entry};
use crate::domain::DomainError;
use crate::domain::directory::{
    LAST_USED_EVERY_SECS, MAX_TOKENS, ProvisioningToken, check_token_name, token_hash,
};
use crate::domain::identity::{Actor, TenantId, UserId};
use crate::domain::rights::Right;
use crate::ports::{AccountReads, Commits, Directories};

/// A SCIM request's caller: the tenant and the token it presented.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirectoryCaller {
    pub tenant: TenantId,
    pub token_id: String,
    pub token_name: String,
    /// Who made the token: a write acts within that user's rights (R23), and stops once the
    /// user is deactivated or no longer manages users.
    pub maker: UserId,
}

/// The token's owner, from the token alone (`Authorization: Bearer scim_…`). A JWT, a revoked
/// or unknown token are all 401.
pub async fn authenticate<S: Directories>(
    store: &S,
    presented: &str,
    now: DateTime<Utc>,
) -> Result<DirectoryCaller, AppError> {
    if !presented.starts_with(TOKEN_PREFIX) || presented.len() > 200 {
        return Err(AppError::Unauthenticated);
    }
    let token = store
        .token_by_hash(&token_hash(presented))
        .await?
        .ok_or(AppError::Unauthenticated)?;
    let stale = token
        .last_used
        .is_none_or(|at| now - at >= Duration::seconds(LAST_USED_EVERY_SECS));
    if stale && let Err(err) = store.token_used(&token, now).await {
        tracing::warn!(token = %token.token_id, error = %err, "could not note the token's use");
    }
    Ok(DirectoryCaller {
        tenant: token.tenant_id,
        token_id: token.token_id,
        token_name: token.name,
        maker: token.created_by,
    })
}

/// What a token starts with: a secret scanner (GitHub's, for one) can tell it from others.
pub const TOKEN_PREFIX: &str = "scim_";

#[derive(Serialize, Debug, Clone)]
pub struct TokenView {
    pub token_id: String,
    pub name: String,
    #[serde(with = "crate::time::serde_rfc3339")]
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    #[serde(serialize_with = "crate::app::views::opt_instant")]
    pub last_used: Option<DateTime<Utc>>,
}

impl From<ProvisioningToken> for TokenView {
    fn from(t: ProvisioningToken) -> Self {
        Self {
            token_id: t.token_id,
            name: t.name,
            created_at: t.created_at,
            created_by: t.created_by.to_string(),
            last_used: t.last_used,
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct CreatedTokenView {
    #[serde(flatten)]
    pub view: TokenView,
    /// Shown once: only its hash is kept.
    pub token: String,
}

/// `POST /v1/scim-tokens`: a token for the tenant's identity provider. Whoever manages users
/// may make one; its writes act within its maker's rights (the parent module's `write`).
pub async fn create_token<S: AccountReads + Commits + Directories>(
    store: &S,
    caller: &Caller,
    name: &str,
    now: DateTime<Utc>,
) -> Result<CreatedTokenView, AppError> {
    let name = check_token_name(name)?;
    let auth = authorize(store, caller, Right::UsersManage, now).await?;
    auth.loaded.account.subscription.ensure_active()?;
    if store.tokens(&caller.tenant).await?.len() >= MAX_TOKENS {
        return Err(DomainError::LimitReached {
            what: "provisioning tokens",
            max: MAX_TOKENS as u32,
        }
        .into());
    }
    // 244 random bits (two v4 UUIDs, 122 each), from the OS's generator.
    let secret = format!(
        "{TOKEN_PREFIX}{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    let token = ProvisioningToken {
        tenant_id: caller.tenant.clone(),
        token_id: format!("st-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        name: name.clone(),
        hash: token_hash(&secret),
        created_at: now,
        created_by: caller.user.clone(),
        last_used: None,
    };
    let log = log_entry(
        Actor::User(caller.user.clone()),
        "scim_token.created",
        json!({ "token_id": token.token_id, "name": name }),
        now,
    );
    store.put_token(&token, &log).await?;
    Ok(CreatedTokenView {
        view: token.into(),
        token: secret,
    })
}

pub async fn list_tokens<S: AccountReads + Commits + Directories>(
    store: &S,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<Vec<TokenView>, AppError> {
    authorize(store, caller, Right::UsersManage, now).await?;
    let mut tokens = store.tokens(&caller.tenant).await?;
    tokens.sort_by_key(|t| t.created_at);
    Ok(tokens.into_iter().map(TokenView::from).collect())
}

/// `DELETE /v1/scim-tokens/{id}`: refused from the next request on (no authorizer caches it).
pub async fn revoke_token<S: AccountReads + Commits + Directories>(
    store: &S,
    caller: &Caller,
    token_id: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    authorize(store, caller, Right::UsersManage, now).await?;
    let log = log_entry(
        Actor::User(caller.user.clone()),
        "scim_token.revoked",
        json!({ "token_id": token_id }),
        now,
    );
    if store.revoke_token(&caller.tenant, token_id, &log).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("token"))
    }
}

//! Every way a request can fail, with its HTTP status and stable code in one place.

use crate::domain::{DomainError, ErrorKind};
use crate::ports::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Domain(#[from] DomainError),
    #[error("authentication required")]
    Unauthenticated,
    #[error("missing right {0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("an Idempotency-Key header is required")]
    IdempotencyKeyMissing,
    #[error("this Idempotency-Key was used with another request body")]
    IdempotencyKeyReused,
    #[error("the first request with this Idempotency-Key is still in progress")]
    IdempotencyInProgress,
    #[error("the quote was already approved")]
    QuoteUsed,
    #[error("the account changed concurrently; retry")]
    Contention,
    #[error("invalid request: {0}")]
    BadRequest(String),
    #[error("request body too large")]
    TooLarge,
    #[error(transparent)]
    Store(StoreError),
    #[error("internal: {0}")]
    Internal(String),
    /// A SCIM request's own refusal (R34), with its `scimType`.
    #[error("{}", .0.detail)]
    Scim(crate::scim::ScimError),
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::QuoteUsed => Self::QuoteUsed,
            StoreError::Conflict => Self::Contention,
            StoreError::BadCursor => Self::BadRequest("the cursor is not valid".into()),
            StoreError::IdempotencyRace => Self::IdempotencyInProgress,
            StoreError::RequestDecided => Self::Contention,
            other => Self::Store(other),
        }
    }
}

impl AppError {
    pub fn status(&self) -> u16 {
        match self {
            Self::Domain(e) => match e.kind() {
                ErrorKind::InvalidInput => 400,
                ErrorKind::Refused => 422,
                ErrorKind::Conflict => 409,
                ErrorKind::Gone => 410,
                ErrorKind::Forbidden => 403,
            },
            Self::Unauthenticated => 401,
            Self::Forbidden(_) => 403,
            Self::NotFound(_) => 404,
            Self::IdempotencyKeyMissing | Self::BadRequest(_) => 400,
            Self::IdempotencyKeyReused => 422,
            Self::IdempotencyInProgress | Self::QuoteUsed | Self::Contention => 409,
            Self::TooLarge => 413,
            Self::Store(StoreError::Throttled) => 503,
            Self::Store(StoreError::AlreadyExists("tenant")) => 409,
            Self::Store(StoreError::AlreadyExists("user")) => 409,
            Self::Store(_) | Self::Internal(_) => 500,
            Self::Scim(e) => e.status,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Domain(e) => e.code(),
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound(_) => "not_found",
            Self::IdempotencyKeyMissing => "idempotency_key_missing",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdempotencyInProgress => "idempotency_in_progress",
            Self::QuoteUsed => "quote_already_approved",
            Self::Contention => "concurrent_change",
            Self::BadRequest(_) => "bad_request",
            Self::TooLarge => "body_too_large",
            Self::Store(StoreError::Throttled) => "throttled",
            Self::Store(StoreError::AlreadyExists("tenant")) => "tenant_exists",
            Self::Store(StoreError::AlreadyExists("user")) => "user_exists",
            Self::Store(_) | Self::Internal(_) => "internal",
            Self::Scim(_) => "scim",
        }
    }

    /// What the caller may read: never internal details (those go to the log).
    pub fn public_detail(&self) -> String {
        match self {
            Self::Store(StoreError::AlreadyExists(what)) => format!("the {what} already exists"),
            Self::Store(StoreError::Throttled) => "the service is busy; retry shortly".into(),
            Self::Store(_) | Self::Internal(_) => {
                "an internal error occurred; it has been logged".into()
            }
            other => other.to_string(),
        }
    }
}

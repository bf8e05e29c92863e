//! Every way a licensing rule can refuse, with the stable code the HTTP layer exposes.

use thiserror::Error;

/// How a refusal is to be understood by a caller; the HTTP layer maps each to one status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The input cannot be a valid request (400).
    InvalidInput,
    /// The request is well formed but a rule refuses it (422).
    Refused,
    /// The request conflicts with the current state (409).
    Conflict,
    /// The thing existed but is no longer usable (410).
    Gone,
    /// The caller may not do this, whatever the input (403).
    Forbidden,
}

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum DomainError {
    #[error("{field}: {reason}")]
    InvalidInput { field: &'static str, reason: String },
    #[error("an amount is out of range")]
    AmountOutOfRange,
    #[error("quantity must be between 1 and 10000")]
    QuantityOutOfRange,
    #[error("a purchase must name at least one pool")]
    EmptyPurchase,
    #[error("a pool holds at most {max} licences")]
    PoolFull { max: u32 },
    #[error("a tenant has at most {max} {what}")]
    LimitReached { what: &'static str, max: u32 },
    #[error("no pool {0} in this subscription")]
    UnknownPool(String),
    #[error("no module {0} in this subscription")]
    UnknownModule(String),
    #[error(
        "the next period needs at least one licence; contact support to terminate the subscription"
    )]
    NextPeriodBelowOne,
    #[error(
        "the next period cannot exceed the {purchased} licences bought for this period; buy licences instead"
    )]
    NextPeriodAbovePurchased { pool: String, purchased: u32 },
    #[error("the quote has expired")]
    QuoteExpired,
    #[error("the quote was made for another period")]
    QuoteOtherPeriod,
    #[error("the quote no longer matches the subscription's prices")]
    QuoteStale,
    #[error("the subscription is terminated")]
    SubscriptionTerminated,
    #[error("the user is already active")]
    UserAlreadyActive,
    #[error("the user is already inactive")]
    UserAlreadyInactive,
    #[error("the user already exists")]
    UserExists,
    #[error("the tenant already exists")]
    TenantExists,
    #[error("no such role {0}")]
    UnknownRole(String),
    #[error("the built-in administrator role cannot be changed")]
    AdministratorRoleFixed,
    #[error("the period start must be before its end")]
    InvalidPeriod,
    #[error(
        "the period starting then has already ended; start the subscription in a period still running"
    )]
    PeriodEnded,
    #[error(
        "this would leave the tenant without an active user holding every right; make another user an administrator first"
    )]
    LastAdministrator,
    #[error(
        "a caller can grant only rights it holds, and cannot change its own role or its own role's rights"
    )]
    Escalation,
    #[error("the purchase request is {0}")]
    RequestClosed(&'static str),
    #[error("a purchase request is approved by another holder of licences.manage")]
    OwnRequest,
    #[error("the price is now {total} (minor units); approve that total")]
    PriceChanged { total: i64 },
    #[error("only an administrator changes the approval threshold")]
    AdministratorOnly,
    /// R38: a webhook's address is one a webhook must not reach.
    #[error("a webhook cannot be sent there: {0}")]
    AddressRefused(String),
}

impl DomainError {
    /// The machine-readable code; stable across releases (clients switch on it).
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput { .. } => "invalid_input",
            Self::AmountOutOfRange => "amount_out_of_range",
            Self::QuantityOutOfRange => "quantity_out_of_range",
            Self::EmptyPurchase => "empty_purchase",
            Self::PoolFull { .. } => "pool_full",
            Self::LimitReached { .. } => "limit_reached",
            Self::UnknownPool(_) => "unknown_pool",
            Self::UnknownModule(_) => "unknown_module",
            Self::NextPeriodBelowOne => "next_period_below_one",
            Self::NextPeriodAbovePurchased { .. } => "next_period_above_purchased",
            Self::QuoteExpired => "quote_expired",
            Self::QuoteOtherPeriod => "quote_other_period",
            Self::QuoteStale => "quote_stale",
            Self::SubscriptionTerminated => "subscription_terminated",
            Self::UserAlreadyActive => "user_already_active",
            Self::UserAlreadyInactive => "user_already_inactive",
            Self::UserExists => "user_exists",
            Self::TenantExists => "tenant_exists",
            Self::UnknownRole(_) => "unknown_role",
            Self::AdministratorRoleFixed => "administrator_role_fixed",
            Self::InvalidPeriod => "invalid_period",
            Self::PeriodEnded => "period_ended",
            Self::LastAdministrator => "last_administrator",
            Self::Escalation => "escalation",
            Self::RequestClosed(_) => "request_closed",
            Self::OwnRequest => "own_request",
            Self::PriceChanged { .. } => "price_changed",
            Self::AdministratorOnly => "administrator_only",
            Self::AddressRefused(_) => "address_refused",
        }
    }

    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidInput { .. }
            | Self::QuantityOutOfRange
            | Self::EmptyPurchase
            | Self::InvalidPeriod => ErrorKind::InvalidInput,
            // An amount out of range is computed (price × count × days), never sent: the
            // request is well formed and the state it meets makes the total too large.
            Self::AmountOutOfRange => ErrorKind::Refused,
            Self::UnknownPool(_) | Self::UnknownModule(_) | Self::UnknownRole(_) => {
                ErrorKind::Refused
            }
            Self::NextPeriodBelowOne
            | Self::NextPeriodAbovePurchased { .. }
            | Self::SubscriptionTerminated
            | Self::AdministratorRoleFixed
            | Self::QuoteStale
            | Self::PoolFull { .. }
            | Self::LimitReached { .. }
            | Self::PeriodEnded
            | Self::AddressRefused(_) => ErrorKind::Refused,
            Self::QuoteExpired | Self::QuoteOtherPeriod => ErrorKind::Gone,
            Self::UserAlreadyActive
            | Self::UserAlreadyInactive
            | Self::UserExists
            | Self::TenantExists
            | Self::LastAdministrator
            | Self::RequestClosed(_)
            | Self::PriceChanged { .. } => ErrorKind::Conflict,
            Self::Escalation | Self::OwnRequest | Self::AdministratorOnly => ErrorKind::Forbidden,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}

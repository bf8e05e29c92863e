//! R35: a purchase above the tenant's approval threshold waits for a second holder of
//! `licences.manage`. The request keeps what was asked (the quantities) and the total shown
//! then; an approval prices it again for its own day and applies it only if the approver saw
//! that price. It expires after 72 hours or at the end of its period, whichever comes first.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use super::error::DomainError;
use super::identity::UserId;
use super::money::{Amount, Currency};
use super::period::Period;
use super::quote::{Quote, QuoteRequest};
use super::subscription::Subscription;

/// How long a request waits for a second approver.
pub fn request_lifetime() -> Duration {
    Duration::hours(72)
}

/// Pending requests a tenant may have at once: each is mailed to every manager, and the
/// subscription lists them for the sweep.
pub const MAX_PENDING: usize = 20;

/// A pending request as the subscription lists it: enough for the sweep to expire it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRequest {
    pub request_id: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Approved {
        by: UserId,
        at: DateTime<Utc>,
        invoice_id: String,
        total: Amount,
    },
    Declined {
        by: UserId,
        at: DateTime<Utc>,
        reason: String,
    },
    Expired {
        at: DateTime<Utc>,
    },
}

impl RequestStatus {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved { .. } => "approved",
            Self::Declined { .. } => "declined",
            Self::Expired { .. } => "expired",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurchaseRequest {
    pub request_id: String,
    pub requested_by: UserId,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub period: Period,
    pub items: QuoteRequest,
    pub currency: Currency,
    /// The total the requester was shown.
    pub requested_total: Amount,
    pub status: RequestStatus,
}

/// The longest reason a decline keeps.
pub const MAX_REASON: usize = 500;

impl Subscription {
    /// R35: whether a purchase of `total` needs a second approver.
    pub fn needs_approval(&self, total: Amount) -> bool {
        self.approval_threshold.is_some_and(|limit| total > limit)
    }

    /// When the sweep must expire a pending request: the earliest expiry. None once
    /// terminated (nothing can be approved then, and the sweep leaves the tenant alone).
    pub fn requests_due(&self) -> Option<DateTime<Utc>> {
        if self.is_terminated() {
            return None;
        }
        self.pending_requests.iter().map(|p| p.expires_at).min()
    }
}

/// A new request's id: `pr-`, the instant to the microsecond and a random part, so that the
/// ids sort as the requests were made (the listing's order).
pub fn request_id(now: DateTime<Utc>) -> String {
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("pr-{}-{}", now.format("%Y%m%d%H%M%S%6f"), &random[..12])
}

/// Turns a quote above the threshold into a pending request, listed on the subscription.
pub fn request(
    sub: &mut Subscription,
    quote: &Quote,
    items: QuoteRequest,
    requester: &UserId,
    now: DateTime<Utc>,
    request_id: String,
) -> Result<PurchaseRequest, DomainError> {
    sub.ensure_active()?;
    if sub.pending_requests.len() >= MAX_PENDING {
        return Err(DomainError::LimitReached {
            what: "pending purchase requests",
            max: MAX_PENDING as u32,
        });
    }
    let expires_at = (now + request_lifetime()).min(sub.period.end_instant(sub.time_zone));
    sub.pending_requests.push(PendingRequest {
        request_id: request_id.clone(),
        expires_at,
    });
    Ok(PurchaseRequest {
        request_id,
        requested_by: requester.clone(),
        requested_at: now,
        expires_at,
        period: quote.period,
        items,
        currency: quote.currency,
        requested_total: quote.total,
        status: RequestStatus::Pending,
    })
}

/// Why a request cannot be decided now, checked before a decision: still pending, not
/// expired, and (for an approval) not the requester's own.
pub fn ensure_open(request: &PurchaseRequest, now: DateTime<Utc>) -> Result<(), DomainError> {
    match request.status {
        RequestStatus::Pending if now < request.expires_at => Ok(()),
        RequestStatus::Pending => Err(DomainError::RequestClosed("expired")),
        ref other => Err(DomainError::RequestClosed(other.name())),
    }
}

pub fn ensure_not_own(request: &PurchaseRequest, approver: &UserId) -> Result<(), DomainError> {
    if &request.requested_by == approver {
        Err(DomainError::OwnRequest)
    } else {
        Ok(())
    }
}

/// The approver's total must be today's: they approve the price they saw.
pub fn ensure_price(shown: i64, today: &Quote) -> Result<(), DomainError> {
    if shown == today.total.minor() {
        Ok(())
    } else {
        Err(DomainError::PriceChanged {
            total: today.total.minor(),
        })
    }
}

/// Closes a request (decided or expired) and takes it off the subscription's list.
pub fn close(sub: &mut Subscription, request: &mut PurchaseRequest, status: RequestStatus) {
    sub.pending_requests
        .retain(|p| p.request_id != request.request_id);
    request.status = status;
}

/// A decline's reason: at most 500 characters, at least one of them neither white space nor a
/// control character (the contract's pattern); kept trimmed.
pub fn parse_reason(reason: &str) -> Result<String, DomainError> {
    let reason = reason.trim();
    let readable = reason
        .chars()
        .any(|c| !c.is_whitespace() && !c.is_control());
    if !readable || reason.chars().count() > MAX_REASON {
        return Err(DomainError::invalid(
            "reason",
            format!("must be 1 to {MAX_REASON} characters, not only spaces or control characters"),
        ));
    }
    Ok(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_must_say_something() {
        assert_eq!(parse_reason("  Next quarter ").unwrap(), "Next quarter");
        for blank in ["", "   ", "\u{19}", "\u{85}\u{a0}", "\u{3000}"] {
            assert!(parse_reason(blank).is_err(), "{blank:?}");
        }
        assert!(parse_reason(&"x".repeat(MAX_REASON)).is_ok());
        assert!(parse_reason(&"x".repeat(MAX_REASON + 1)).is_err());
    }
}

//! A purchase request as the API shows it (R35): what was asked and, while it is pending,
//! today's price.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::account::Subscription;
use crate::domain::identity::{QuoteId, UserId};
use crate::domain::purchase_request::{PurchaseRequest, RequestStatus};
use crate::domain::quote::{Quote, QuoteLine, prepare_quote};

/// A request as the API shows it: what was asked and, while it is pending, today's price.
#[derive(Clone, Debug, Serialize)]
pub struct RequestView {
    pub purchase_request_id: String,
    pub status: &'static str,
    pub requested_by: String,
    /// Whether the caller asked for it (they may withdraw it, not approve it).
    pub yours: bool,
    pub requested_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub currency: String,
    /// What was asked: each pool and how many.
    pub items: Vec<RequestedItem>,
    /// The total the requester was shown.
    pub requested_total: i64,
    /// Priced for today while pending (the total an approver sends); none once decided, or
    /// when it can no longer be priced (a module gone, the period ended).
    pub lines: Vec<QuoteLine>,
    pub total: Option<i64>,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub invoice_id: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RequestedItem {
    pub pool: String,
    pub quantity: u32,
}

/// Today's price of a request's quantities.
fn priced(sub: &Subscription, request: &PurchaseRequest, now: DateTime<Utc>) -> Option<Quote> {
    prepare_quote(sub, &request.items, now, QuoteId::generate()).ok()
}

pub fn request_view(
    sub: &Subscription,
    request: &PurchaseRequest,
    viewer: &UserId,
    now: DateTime<Utc>,
) -> RequestView {
    let today = match request.status {
        RequestStatus::Pending if now < request.expires_at => priced(sub, request, now),
        _ => None,
    };
    let (decided_by, decided_at, reason, invoice_id) = match &request.status {
        RequestStatus::Pending => (None, None, None, None),
        RequestStatus::Approved {
            by, at, invoice_id, ..
        } => (
            Some(by.to_string()),
            Some(*at),
            None,
            Some(invoice_id.clone()),
        ),
        RequestStatus::Declined { by, at, reason } => {
            (Some(by.to_string()), Some(*at), Some(reason.clone()), None)
        }
        RequestStatus::Expired { at } => (None, Some(*at), None, None),
    };
    RequestView {
        purchase_request_id: request.request_id.clone(),
        status: if matches!(request.status, RequestStatus::Pending) && now >= request.expires_at {
            "expired"
        } else {
            request.status.name()
        },
        requested_by: request.requested_by.to_string(),
        yours: &request.requested_by == viewer,
        requested_at: request.requested_at,
        expires_at: request.expires_at,
        currency: request.currency.to_string(),
        items: request
            .items
            .items
            .iter()
            .map(|(pool, quantity)| RequestedItem {
                pool: pool.to_string(),
                quantity: quantity.get(),
            })
            .collect(),
        requested_total: request.requested_total.minor(),
        lines: today.as_ref().map(|q| q.lines.clone()).unwrap_or_default(),
        total: today.map(|q| q.total.minor()),
        decided_by,
        decided_at,
        reason,
        invoice_id,
    }
}

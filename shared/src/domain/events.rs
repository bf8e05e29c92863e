//! What a command caused. The application layer turns these into stored items, action-log
//! details, mail and bus events (R19–R21).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::allocation::{RedSeat, SeatKey};
use super::identity::{QuoteId, UserId};
use super::invoice::Invoice;
use super::money::Amount;
use super::period::Period;
use super::pool::PoolId;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolCount {
    pub pool: PoolId,
    pub from: u32,
    pub to: u32,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum DomainEvent {
    LicencesPurchased {
        purchase_id: String,
        quote_id: QuoteId,
        invoice_id: String,
        /// Purchased counts before and after, per pool bought.
        pools: Vec<PoolCount>,
        total: Amount,
        approved_by: UserId,
    },
    InvoiceIssued {
        invoice: Invoice,
    },
    NextPeriodChanged {
        pools: Vec<PoolCount>,
        effective_from: NaiveDate,
    },
    PeriodRolledOver {
        from: Period,
        to: Period,
        /// Purchased counts before and after, per pool.
        pools: Vec<PoolCount>,
        at: DateTime<Utc>,
    },
    SeatOverAllocated {
        seat: RedSeat,
    },
    /// A red seat became licensed (a purchase, or an older seat was freed): its flag clears.
    SeatLicensed {
        pool: PoolId,
        seat: SeatKey,
    },
    /// A seat left use while red (deactivation or module disabled): its flag goes with it.
    RedSeatReleased {
        pool: PoolId,
        seat: SeatKey,
    },
    SeatRemoved {
        seat: RedSeat,
    },
    DeadlineReminder {
        seat: RedSeat,
    },
    UserActivated {
        user_id: UserId,
    },
    UserDeactivated {
        user_id: UserId,
        /// `removed` when the sweep enforced a deadline (R5), otherwise `manual`.
        reason: String,
    },
    /// R35: a purchase above the approval threshold waits for a second approver.
    PurchaseRequested {
        purchase_request_id: String,
        requested_by: UserId,
        items: Vec<RequestedCount>,
        total: Amount,
        expires_at: DateTime<Utc>,
    },
    /// R35: a waiting purchase was declined (or withdrawn by its requester).
    PurchaseRequestDeclined {
        purchase_request_id: String,
        declined_by: UserId,
        reason: String,
    },
    /// R35: a waiting purchase was not decided in time.
    PurchaseRequestExpired {
        purchase_request_id: String,
    },
    /// R35: the approval threshold changed (minor units; none: no limit).
    ApprovalThresholdChanged {
        from: Option<Amount>,
        to: Option<Amount>,
    },
}

/// A pool and how many of it a purchase request asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedCount {
    pub pool: PoolId,
    pub quantity: u32,
}

impl DomainEvent {
    /// The EventBridge detail type (R21), for the events that are published.
    pub fn detail_type(&self) -> Option<&'static str> {
        match self {
            Self::LicencesPurchased { .. } => Some("LicencesPurchased"),
            Self::InvoiceIssued { .. } => Some("InvoiceIssued"),
            Self::NextPeriodChanged { .. } => Some("NextPeriodChanged"),
            Self::PeriodRolledOver { .. } => Some("PeriodRolledOver"),
            Self::SeatOverAllocated { .. } => Some("SeatOverAllocated"),
            Self::SeatRemoved { .. } => Some("SeatRemoved"),
            Self::UserActivated { .. } => Some("UserActivated"),
            Self::UserDeactivated { .. } => Some("UserDeactivated"),
            Self::PurchaseRequested { .. } => Some("PurchaseRequested"),
            Self::PurchaseRequestDeclined { .. } => Some("PurchaseRequestDeclined"),
            Self::PurchaseRequestExpired { .. } => Some("PurchaseRequestExpired"),
            Self::ApprovalThresholdChanged { .. } => Some("ApprovalThresholdChanged"),
            Self::SeatLicensed { .. }
            | Self::RedSeatReleased { .. }
            | Self::DeadlineReminder { .. } => None,
        }
    }
}

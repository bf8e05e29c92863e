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
            Self::SeatLicensed { .. }
            | Self::RedSeatReleased { .. }
            | Self::DeadlineReminder { .. } => None,
        }
    }
}

//! Invoices: one per purchase (prorated, R7/R8) and one per period (R14).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::identity::TenantId;
use super::money::{Amount, Currency};
use super::period::Period;
use super::pool::PoolId;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceKind {
    Purchase,
    Period,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceLine {
    pub pool: PoolId,
    pub name: String,
    pub quantity: u32,
    pub unit_price: Amount,
    /// Days charged: the remaining days for a purchase, the whole period for a period invoice.
    pub days: u32,
    pub days_in_period: u32,
    pub amount: Amount,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub invoice_id: String,
    pub tenant_id: TenantId,
    pub kind: InvoiceKind,
    pub issued_at: DateTime<Utc>,
    pub period: Period,
    pub currency: Currency,
    pub lines: Vec<InvoiceLine>,
    pub total: Amount,
}

/// A period invoice's id is derived from the tenant and the period, so issuing it twice (a
/// sweep replayed, two sweeps at once) writes the same key and is refused the second time.
pub fn period_invoice_id(tenant: &TenantId, period: &Period) -> String {
    format!("inv-{}-{}", tenant, period.start.format("%Y%m%d"))
}

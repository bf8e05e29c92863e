//! Stored shapes, (de)serialised with `serde_dynamo`.

use serde::{Deserialize, Serialize};

use crate::domain::account::{SeatInfo, Subscription};
use crate::domain::allocation::RedSeat;
use crate::domain::invoice::Invoice;
use crate::domain::quote::Quote;
use crate::domain::user::User;
use crate::outbox::OutboxMessage;
use crate::ports::{IdempotencyRecord, LogEntry};

#[derive(Serialize, Deserialize)]
pub struct SubItem {
    pub pk: String,
    pub sk: String,
    pub version: u64,
    pub sub: Subscription,
    /// The tenant's clock, sortable, for the condition of a counter delta (`CounterDelta`).
    #[serde(default)]
    pub clock: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub struct RedItem {
    pub pk: String,
    pub sk: String,
    pub tenant_id: String,
    pub red: RedSeat,
    pub due_pk: String,
    pub due_at: String,
}

#[derive(Serialize, Deserialize)]
pub struct SeatItem {
    pub pk: String,
    pub sk: String,
    pub seat: SeatInfo,
}

#[derive(Serialize, Deserialize)]
pub struct UserItem {
    pub pk: String,
    pub sk: String,
    pub user: User,
}

#[derive(Serialize, Deserialize)]
pub struct LogItem {
    pub pk: String,
    pub sk: String,
    pub entry: LogEntry,
}

#[derive(Serialize, Deserialize)]
pub struct InvoiceItem {
    pub pk: String,
    pub sk: String,
    pub invoice: Invoice,
}

#[derive(Serialize, Deserialize)]
pub struct QuoteItem {
    pub pk: String,
    pub sk: String,
    pub quote: Quote,
    pub approved: bool,
    /// TTL (epoch seconds); reads also check it, because TTL deletion is late.
    pub expires_at: i64,
}

#[derive(Serialize, Deserialize)]
pub struct IdempotencyItem {
    pub pk: String,
    pub sk: String,
    pub record: IdempotencyRecord,
    pub expires_at: i64,
}

/// An outbox batch as stored (`crate::outbox::OutboxBatch` plus its keys and due-index entry).
#[derive(Serialize, Deserialize, Clone)]
pub struct OutboxItem {
    pub pk: String,
    pub sk: String,
    pub tenant_id: String,
    pub messages: Vec<OutboxMessage>,
    pub attempts: u32,
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_pk: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<i64>,
    /// While a dispatcher delivers the batch (epoch seconds); a crashed one's lease runs out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<i64>,
    /// See `OutboxBatch::commit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
}

pub use crate::outbox::OUTBOX_BATCH;

//! The transactional outbox (R20, R21): every change writes the mail and bus events it causes
//! in the same transaction as the change, so none is lost; delivery happens after the commit
//! and is retried until it succeeds.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::events::DomainEvent;
use crate::domain::identity::{Language, TenantId, UserId};

/// Who a mail goes to. Managers are resolved when the mail is sent, so a manager added after
/// the change still hears of a deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipient {
    User {
        user_id: UserId,
    },
    /// Every active user whose role holds `licences.manage`.
    Managers,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    PurchaseConfirmation,
    NextPeriodConfirmation,
    OverAllocationWarning,
    DeadlineReminder,
    RemovalNotice,
    PeriodChangeNotice,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "channel", rename_all = "snake_case")]
pub enum Payload {
    Event {
        detail_type: String,
        detail: serde_json::Value,
    },
    Mail {
        kind: MailKind,
        to: Recipient,
        /// The language for a single recipient known at the change; managers use their own.
        language: Option<Language>,
        data: serde_json::Value,
    },
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutboxMessage {
    /// Stable and derived from the change, so a consumer can deduplicate a redelivery.
    pub message_id: String,
    pub tenant_id: TenantId,
    pub created_at: DateTime<Utc>,
    pub payload: Payload,
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// For a mail to several recipients: the addresses it has reached, so a retry sends only
    /// to the rest.
    #[serde(default)]
    pub delivered_to: Vec<String>,
}

/// After this many failed attempts a message is dead-lettered (kept, logged, counted).
pub const MAX_ATTEMPTS: u32 = 10;

/// Exponential backoff: 30 s, 1 min, 2 min … capped at 1 h.
pub fn backoff(attempts: u32) -> Duration {
    let seconds = 30_i64.saturating_mul(1_i64 << attempts.min(7));
    Duration::seconds(seconds.min(3600))
}

/// A message id from the change it belongs to and its place in it: the same change always
/// yields the same ids.
pub fn message_id(change_id: &str, index: usize) -> String {
    let digest = Sha256::digest(format!("{change_id}/{index}").as_bytes());
    format!("msg-{}", &hex::encode(digest)[..32])
}

impl OutboxMessage {
    pub fn new(
        tenant: &TenantId,
        change_id: &str,
        index: usize,
        at: DateTime<Utc>,
        payload: Payload,
    ) -> Self {
        Self {
            message_id: message_id(change_id, index),
            tenant_id: tenant.clone(),
            created_at: at,
            payload,
            attempts: 0,
            next_attempt_at: at,
            last_error: None,
            delivered_to: Vec::new(),
        }
    }
}

/// The bus events (R21) for a change's domain events, with the tenant and instant added.
pub fn event_payloads(
    tenant: &TenantId,
    at: DateTime<Utc>,
    events: &[DomainEvent],
) -> Vec<Payload> {
    events
        .iter()
        .filter_map(|event| {
            let detail_type = event.detail_type()?;
            let mut detail = serde_json::to_value(event).ok()?;
            if let Some(map) = detail.as_object_mut() {
                map.remove("type");
                map.insert(
                    "tenant_id".into(),
                    serde_json::Value::String(tenant.to_string()),
                );
                map.insert(
                    "at".into(),
                    serde_json::Value::String(crate::time::rfc3339(at)),
                );
            }
            Some(Payload::Event {
                detail_type: detail_type.to_owned(),
                detail,
            })
        })
        .collect()
}

/// The mails a change's domain events call for (R20): warnings, reminders, removals and period
/// changes to the managers, and a removal notice to the removed user too. Confirmations to
/// the actor are added by the command that knows its actor.
pub fn manager_mails(events: &[DomainEvent]) -> Vec<Payload> {
    let mut mails = rule_mails(events);
    for event in events {
        if let DomainEvent::SeatRemoved { seat } = event {
            mails.push(Payload::Mail {
                kind: MailKind::RemovalNotice,
                to: Recipient::User {
                    user_id: seat.seat.user_id.clone(),
                },
                language: None,
                data: serde_json::json!({ "seat": seat }),
            });
        }
    }
    mails
}

fn rule_mails(events: &[DomainEvent]) -> Vec<Payload> {
    let mail = |kind, data| Payload::Mail {
        kind,
        to: Recipient::Managers,
        language: None,
        data,
    };
    events
        .iter()
        .filter_map(|event| match event {
            DomainEvent::SeatOverAllocated { seat } => Some(mail(
                MailKind::OverAllocationWarning,
                serde_json::json!({ "seat": seat }),
            )),
            DomainEvent::DeadlineReminder { seat } => Some(mail(
                MailKind::DeadlineReminder,
                serde_json::json!({ "seat": seat }),
            )),
            DomainEvent::SeatRemoved { seat } => Some(mail(
                MailKind::RemovalNotice,
                serde_json::json!({ "seat": seat }),
            )),
            DomainEvent::InvoiceIssued { invoice }
                if invoice.kind == crate::domain::invoice::InvoiceKind::Period =>
            {
                Some(mail(
                    MailKind::PeriodChangeNotice,
                    serde_json::json!({ "invoice": invoice }),
                ))
            }
            _ => None,
        })
        .collect()
}

/// Messages of one change per batch: delivered, retried and dead-lettered together.
pub const OUTBOX_BATCH: usize = 50;

/// Up to [`OUTBOX_BATCH`] messages of one change as delivery sees them: whose, which batch (the
/// store's id for it), what is still to send and how many attempts failed.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxBatch {
    pub tenant_id: crate::domain::identity::TenantId,
    pub id: String,
    pub messages: Vec<OutboxMessage>,
    pub attempts: u32,
}

//! The transactional outbox (R20, R21): every change writes the mail and bus events it causes
//! in the same transaction as the change, so none is lost; delivery happens after the commit
//! and is retried until it succeeds.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::allocation::RedSeat;
use crate::domain::events::DomainEvent;
use crate::domain::identity::{Language, TenantId, UserId};
use crate::domain::pool::PoolId;

mod addressed;
pub use addressed::{Addressed, Addressee, CONTACTS_NAMED};

/// Who a mail goes to, as the change meant it. The change resolves it to people
/// ([`Addressed`]); a later change (a reminder, a removal) resolves again, so a manager added
/// since hears of a deadline.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Recipient {
    User {
        user_id: UserId,
    },
    /// Every active user whose role holds `licences.manage`.
    Managers,
    /// The managers but one: those who can approve `except`'s purchase request (R35).
    OtherManagers {
        except: UserId,
    },
    /// Every active user whose role holds every right, but `except` (R35's threshold).
    Administrators {
        except: Option<UserId>,
    },
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
    /// R30: the managers, some days before a period ends.
    RenewalReminder,
    /// R30: the user whose seat became over-allocated, with the deadline and whom to ask.
    SeatAtRisk,
    /// R35: the other managers, of a purchase waiting for their approval.
    PurchaseRequested,
    /// R35: the requester, of an approval, a decline or an expiry.
    PurchaseRequestDecided,
    /// R35: the other administrators, of a new approval threshold.
    ApprovalThresholdChanged,
    /// R38: the managers, of a webhook endpoint disabled (410, or 5 days of failures).
    WebhookDisabled,
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
        /// Whom it reaches and how, fixed at the change (decision 0014). A message written
        /// before that has none and is resolved when it is sent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        addressed: Option<Addressed>,
    },
    /// R38: one event for one endpoint. Its `message_id` is the `webhook-id` the receiver
    /// deduplicates by: the same for every attempt and a resend.
    Webhook {
        endpoint_id: String,
        event_type: String,
        /// When the event happened (the body's `timestamp`).
        at: DateTime<Utc>,
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
    /// This message's failed attempts: its own, so a neighbour in its batch that is capped,
    /// slowed down or delivered never dies with it (R32).
    pub attempts: u32,
    pub next_attempt_at: DateTime<Utc>,
    #[serde(default)]
    pub last_error: Option<String>,
    /// For a mail to several recipients: the addresses it has reached, so a retry sends only
    /// to the rest.
    #[serde(default)]
    pub delivered_to: Vec<String>,
    /// Dead-lettered: its retry schedule ran out, or it cannot be rendered. Kept with its last
    /// error, not sent again until an operator redrives it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dead: bool,
    /// For an event: its webhook messages are written (one batch per subscribed endpoint), so
    /// a retry of the event does not write them again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fanned_out: bool,
}

/// R32: the waits after a message's 1st, 2nd … 9th failed attempt (Standard Webhooks'
/// schedule): 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h, about 3 days 3 hours in
/// all, so an outage shorter than three days loses nothing.
pub const RETRY_SCHEDULE_SECS: [i64; 9] = [
    5,
    5 * 60,
    30 * 60,
    2 * 3600,
    5 * 3600,
    10 * 3600,
    14 * 3600,
    20 * 3600,
    24 * 3600,
];

/// A message is dead-lettered at its 10th failed attempt, when the schedule has run out.
pub const FAILURES_BEFORE_DEAD: u32 = RETRY_SCHEDULE_SECS.len() as u32 + 1;

/// How long a message waits after `failures` failed attempts (at least one).
pub fn backoff(failures: u32) -> Duration {
    let step = (failures.max(1) as usize - 1).min(RETRY_SCHEDULE_SECS.len() - 1);
    Duration::seconds(RETRY_SCHEDULE_SECS[step])
}

/// How long a message waits after a "slow down" (throttling, a sending quota, a paused
/// account), which does not count as an attempt.
pub const SLOW_DOWN_SECS: i64 = 60;

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
            dead: false,
            fanned_out: false,
        }
    }
}

impl OutboxMessage {
    /// A dead letter redriven (R32): live again, no attempt counted, due `now`.
    pub fn revive(&mut self, now: DateTime<Utc>) {
        self.dead = false;
        self.attempts = 0;
        self.next_attempt_at = now;
    }
}

/// A change's messages as the batches a store keeps (see [`split`]), each named by `id` from
/// its first message and its place.
pub fn batches(
    tenant: &TenantId,
    messages: &[OutboxMessage],
    id: impl Fn(&OutboxMessage, usize) -> String,
) -> Vec<OutboxBatch> {
    split(messages)
        .into_iter()
        .enumerate()
        .map(|(n, chunk)| OutboxBatch {
            tenant_id: tenant.clone(),
            id: id(&chunk[0], n),
            messages: chunk.to_vec(),
            attempts: 0,
            commit: None,
        })
        .collect()
}

/// Seats one bus event carries at most (R27): a change that reds or removes thousands of
/// seats publishes one event per hundred, each well inside EventBridge's 256 KB entry.
pub const EVENT_SEATS: usize = 100;

/// Seats one mail names at most (R27); the rest are counted ("… and N more").
pub const MAIL_SEATS: usize = 50;

fn with_envelope(
    mut detail: serde_json::Value,
    tenant: &TenantId,
    at: DateTime<Utc>,
) -> serde_json::Value {
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
    detail
}

/// Picks the seat of one kind of seat event.
type SeatOf = fn(&DomainEvent) -> Option<&RedSeat>;

fn over_allocated(event: &DomainEvent) -> Option<&RedSeat> {
    match event {
        DomainEvent::SeatOverAllocated { seat } => Some(seat),
        _ => None,
    }
}

fn removed(event: &DomainEvent) -> Option<&RedSeat> {
    match event {
        DomainEvent::SeatRemoved { seat } => Some(seat),
        _ => None,
    }
}

fn reminded(event: &DomainEvent) -> Option<&RedSeat> {
    match event {
        DomainEvent::DeadlineReminder { seat } => Some(seat),
        _ => None,
    }
}

/// The seats of a change's seat events of one kind, grouped by pool in the order they came.
fn seats_by_pool(events: &[DomainEvent], pick: SeatOf) -> Vec<(&PoolId, Vec<&RedSeat>)> {
    let mut groups: Vec<(&PoolId, Vec<&RedSeat>)> = Vec::new();
    for seat in events.iter().filter_map(pick) {
        match groups.iter_mut().find(|(pool, _)| *pool == &seat.pool) {
            Some((_, seats)) => seats.push(seat),
            None => groups.push((&seat.pool, vec![seat])),
        }
    }
    groups
}

/// The bus events (R21) for a change's domain events, with the tenant and instant added. Seat
/// events are published per pool, [`EVENT_SEATS`] seats to an event, so their number and size
/// stay bounded however many seats a change touches.
pub fn event_payloads(
    tenant: &TenantId,
    at: DateTime<Utc>,
    events: &[DomainEvent],
) -> Vec<Payload> {
    let mut payloads: Vec<Payload> = events
        .iter()
        .filter(|event| {
            !matches!(
                event,
                DomainEvent::SeatOverAllocated { .. } | DomainEvent::SeatRemoved { .. }
            )
        })
        .filter_map(|event| {
            let detail_type = event.detail_type()?;
            let detail = serde_json::to_value(event).ok()?;
            Some(Payload::Event {
                detail_type: detail_type.to_owned(),
                detail: with_envelope(detail, tenant, at),
            })
        })
        .collect();
    let kinds: [(&str, SeatOf); 2] = [
        ("SeatOverAllocated", over_allocated),
        ("SeatRemoved", removed),
    ];
    for (detail_type, pick) in kinds {
        for (pool, seats) in seats_by_pool(events, pick) {
            for chunk in seats.chunks(EVENT_SEATS) {
                let detail = serde_json::json!({ "pool": pool, "seats": chunk });
                payloads.push(Payload::Event {
                    detail_type: detail_type.to_owned(),
                    detail: with_envelope(detail, tenant, at),
                });
            }
        }
    }
    payloads
}

/// The first [`MAIL_SEATS`] seats and how many more there are: what a mail lists.
fn listed(seats: &[&RedSeat]) -> serde_json::Value {
    let shown = &seats[..seats.len().min(MAIL_SEATS)];
    serde_json::json!({ "seats": shown, "seats_more": seats.len() - shown.len() })
}

/// The mails a change's domain events call for (R20, R27): one mail to the managers, however
/// many seats the change touched, naming the first [`MAIL_SEATS`] and counting the rest, and a
/// removal notice to each removed user. A period change folds the seats it over-allocated into
/// its own notice, so the managers get one mail from it. Confirmations to the actor are added
/// by the command that knows its actor.
pub fn manager_mails(events: &[DomainEvent]) -> Vec<Payload> {
    let mail = |kind, to, data| Payload::Mail {
        kind,
        to,
        language: None,
        addressed: None,
        data,
    };
    let all = |pick: SeatOf| -> Vec<&RedSeat> { events.iter().filter_map(pick).collect() };
    let over = all(over_allocated);
    let reminded = all(reminded);
    let removed = all(removed);
    let period_invoices: Vec<&crate::domain::invoice::Invoice> = events
        .iter()
        .filter_map(|e| match e {
            DomainEvent::InvoiceIssued { invoice }
                if invoice.kind == crate::domain::invoice::InvoiceKind::Period =>
            {
                Some(invoice)
            }
            _ => None,
        })
        .collect();
    let mut mails = Vec::new();
    if let Some(last) = period_invoices.last() {
        let mut data = listed(&over);
        if let Some(map) = data.as_object_mut() {
            map.insert("invoice".into(), serde_json::json!(last));
            map.insert("invoices".into(), serde_json::json!(period_invoices));
        }
        mails.push(mail(
            MailKind::PeriodChangeNotice,
            Recipient::Managers,
            data,
        ));
    } else if !over.is_empty() {
        mails.push(mail(
            MailKind::OverAllocationWarning,
            Recipient::Managers,
            listed(&over),
        ));
    }
    if !reminded.is_empty() {
        mails.push(mail(
            MailKind::DeadlineReminder,
            Recipient::Managers,
            listed(&reminded),
        ));
    }
    if !removed.is_empty() {
        mails.push(mail(
            MailKind::RemovalNotice,
            Recipient::Managers,
            listed(&removed),
        ));
        for (user_id, seats) in by_user(&removed) {
            mails.push(mail(
                MailKind::RemovalNotice,
                Recipient::User {
                    user_id: user_id.clone(),
                },
                listed(&seats),
            ));
        }
    }
    // R30: each user whose seat became over-allocated is told, once for all their pools.
    for (user_id, seats) in by_user(&over) {
        mails.push(mail(
            MailKind::SeatAtRisk,
            Recipient::User {
                user_id: user_id.clone(),
            },
            listed(&seats),
        ));
    }
    mails
}

/// Seats grouped by their user, in the order the users first came.
fn by_user<'a>(seats: &[&'a RedSeat]) -> Vec<(&'a UserId, Vec<&'a RedSeat>)> {
    // Indexed, not searched: a rollover can over-allocate ten thousand seats at once.
    let mut at: std::collections::HashMap<&UserId, usize> = std::collections::HashMap::new();
    let mut users: Vec<(&UserId, Vec<&RedSeat>)> = Vec::new();
    for seat in seats {
        let user = &seat.seat.user_id;
        match at.get(user) {
            Some(&i) => users[i].1.push(seat),
            None => {
                at.insert(user, users.len());
                users.push((user, vec![seat]));
            }
        }
    }
    users
}

/// Messages of one change per batch: delivered, retried and dead-lettered together.
pub const OUTBOX_BATCH: usize = 50;

/// A batch's messages at most this many bytes (as JSON), so the stored item stays far below
/// DynamoDB's 400 KB and a change of many seat events stays inside one transaction's 4 MB.
pub const OUTBOX_BATCH_BYTES: usize = 64 * 1024;

/// A change's messages cut into batches: in order, at most [`OUTBOX_BATCH`] messages and
/// [`OUTBOX_BATCH_BYTES`] each (a single larger message gets a batch of its own).
pub fn split(messages: &[OutboxMessage]) -> Vec<&[OutboxMessage]> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, message) in messages.iter().enumerate() {
        let size = serde_json::to_vec(message).map_or(0, |v| v.len());
        if i > start && (i - start == OUTBOX_BATCH || bytes + size > OUTBOX_BATCH_BYTES) {
            batches.push(&messages[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < messages.len() {
        batches.push(&messages[start..]);
    }
    batches
}

/// Up to [`OUTBOX_BATCH`] messages of one change as delivery sees them: whose, which batch (the
/// store's id for it), what is still to send and how many attempts failed.
#[derive(Clone, Debug, PartialEq)]
pub struct OutboxBatch {
    pub tenant_id: crate::domain::identity::TenantId,
    pub id: String,
    pub messages: Vec<OutboxMessage>,
    pub attempts: u32,
    /// For a batch written before its change's transaction (a change too large for one):
    /// the change's commit marker, its log entry's key. The batch is delivered only once the
    /// marker exists, and dropped if it never does.
    pub commit: Option<String>,
}

//! Stored shapes, (de)serialised with `serde_dynamo`.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::domain::account::{SeatInfo, Subscription};
use crate::domain::allocation::RedSeat;
use crate::domain::invoice::Invoice;
use crate::domain::quote::Quote;
use crate::domain::user::User;
use crate::outbox::OutboxMessage;
use crate::ports::{IdempotencyRecord, LogEntry, StoredQuote};

/// A document no expression ever looks into (a log entry, an invoice, a quote, an
/// idempotency record, an outbox batch's messages), stored as one JSON string attribute
/// rather than as nested maps: DynamoDB Local parses and stores a nested map attribute by
/// attribute, which made the approval's transaction cost twice a flat one of the same bytes
/// (docs/decisions/0006-opaque-documents-as-strings.md), and the wire form halves without
/// the type tags. Items written before as maps still read.
#[derive(Clone, Debug, PartialEq)]
pub struct JsonString<T>(pub T);

impl<T: Serialize> Serialize for JsonString<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = serde_json::to_string(&self.0).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for JsonString<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::String(text) => serde_json::from_str(&text).map(JsonString),
            // The nested-map form of items written before the documents were stored as JSON strings.
            structured => serde_json::from_value(structured).map(JsonString),
        }
        .map_err(D::Error::custom)
    }
}

/// The attributes stored as [`JsonString`]: what a reader of raw items unpacks.
pub const JSON_STRING_ATTRIBUTES: [&str; 5] = ["entry", "invoice", "quote", "record", "messages"];

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
    /// The key in the `role` index, set while the user is active in a role other than the
    /// built-in `user` (which holds no right unless a tenant grants it one): the change that
    /// mails the managers finds them there (decision 0014), never by reading every user, and
    /// the many plain users cost the index nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_pk: Option<String>,
}

impl UserItem {
    pub fn new(tenant: &crate::domain::identity::TenantId, user: User) -> Self {
        use crate::adapters::dynamodb::keys::{role_pk, tenant_pk, user_sk};
        Self {
            pk: tenant_pk(tenant),
            sk: user_sk(user.user_id.as_str()),
            role_pk: (user.active && user.role != crate::domain::rights::plain_user())
                .then(|| role_pk(tenant, &user.role)),
            user,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub struct LogItem {
    pub pk: String,
    pub sk: String,
    pub entry: JsonString<LogEntry>,
}

#[derive(Serialize, Deserialize)]
pub struct InvoiceItem {
    pub pk: String,
    pub sk: String,
    pub invoice: JsonString<Invoice>,
}

#[derive(Serialize, Deserialize)]
pub struct QuoteItem {
    pub pk: String,
    pub sk: String,
    pub quote: JsonString<Quote>,
    pub approved: bool,
    /// TTL (epoch seconds); reads also check it, because TTL deletion is late.
    pub expires_at: i64,
}

impl QuoteItem {
    /// The quote as read at `now`: TTL deletes late, so an item past its TTL is gone.
    pub fn live(self, now: DateTime<Utc>) -> Option<StoredQuote> {
        (self.expires_at > now.timestamp()).then_some(StoredQuote {
            quote: self.quote.0,
            approved: self.approved,
        })
    }
}

#[derive(Serialize, Deserialize)]
pub struct IdempotencyItem {
    pub pk: String,
    pub sk: String,
    pub record: JsonString<IdempotencyRecord>,
    pub expires_at: i64,
}

impl IdempotencyItem {
    /// The record as read at `now`: past its window (TTL deletes late) it is gone.
    pub fn live(self, now: DateTime<Utc>) -> Option<IdempotencyRecord> {
        (self.expires_at >= now.timestamp()).then_some(self.record.0)
    }
}

/// An outbox batch as stored (`crate::outbox::OutboxBatch` plus its keys and due-index entry).
#[derive(Serialize, Deserialize, Clone)]
pub struct OutboxItem {
    pub pk: String,
    pub sk: String,
    pub tenant_id: String,
    pub messages: JsonString<Vec<OutboxMessage>>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn record() -> IdempotencyRecord {
        let at = chrono::Utc
            .with_ymd_and_hms(2026, 11, 29, 10, 0, 0)
            .unwrap();
        IdempotencyRecord {
            key_digest: "d1".into(),
            fingerprint: "f1".into(),
            status: 201,
            body: r#"{"purchase_id":"p-1"}"#.into(),
            created_at: at,
            expires_at: at + chrono::Duration::hours(24),
        }
    }

    fn item(record: serde_dynamo::AttributeValue) -> serde_dynamo::Item {
        let mut item = std::collections::HashMap::new();
        item.insert(
            "pk".to_owned(),
            serde_dynamo::AttributeValue::S("T#acme".into()),
        );
        item.insert(
            "sk".to_owned(),
            serde_dynamo::AttributeValue::S("K#d1".into()),
        );
        item.insert("record".to_owned(), record);
        item.insert(
            "expires_at".to_owned(),
            serde_dynamo::AttributeValue::N("1".into()),
        );
        serde_dynamo::Item::from(item)
    }

    #[test]
    fn a_packed_document_is_one_string_attribute_and_reads_back() {
        let stored: serde_dynamo::Item = serde_dynamo::to_item(IdempotencyItem {
            pk: "T#acme".into(),
            sk: "K#d1".into(),
            record: JsonString(record()),
            expires_at: 1,
        })
        .unwrap();
        let Some(serde_dynamo::AttributeValue::S(text)) = stored.get("record") else {
            panic!("record stored as {:?}", stored.get("record"));
        };
        assert!(text.contains(r#""status":201"#), "{text}");
        let back: IdempotencyItem = serde_dynamo::from_item(stored).unwrap();
        assert_eq!(back.record, JsonString(record()));
    }

    #[test]
    fn an_item_written_before_as_nested_maps_still_reads() {
        let nested: serde_dynamo::AttributeValue =
            serde_dynamo::to_attribute_value(record()).unwrap();
        assert!(matches!(nested, serde_dynamo::AttributeValue::M(_)));
        let back: IdempotencyItem = serde_dynamo::from_item(item(nested)).unwrap();
        assert_eq!(back.record.0, record());
    }

    #[test]
    fn a_string_that_is_not_the_document_is_an_error_not_a_default() {
        let broken = item(serde_dynamo::AttributeValue::S("{\"status\":".into()));
        assert!(serde_dynamo::from_item::<_, IdempotencyItem>(broken).is_err());
        let wrong = item(serde_dynamo::AttributeValue::N("7".into()));
        assert!(serde_dynamo::from_item::<_, IdempotencyItem>(wrong).is_err());
    }
}

//! The DynamoDB adapter: one table, single-table design (see `keys.rs`), strongly consistent
//! reads of the tenant partition, and every change as one conditional `TransactWriteItems`.

mod batch;
mod commit;
mod delta;
mod directory;
#[cfg(feature = "test-fixtures")]
mod fixtures;
pub mod items;
pub mod keys;
mod outbox;
mod query;
mod requests;
mod role_index;
pub mod schema;
mod store;
#[cfg(feature = "stream")]
pub mod stream;
mod suppressions;
mod usage;
mod webhooks;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::{AttributeValue, ConsumedCapacity, ReturnConsumedCapacity};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

use crate::ports::StoreError;

type Item = HashMap<String, AttributeValue>;

/// DynamoDB calls made and capacity consumed, for logs and benchmarks.
#[derive(Debug)]
pub struct StoreMetrics {
    calls: AtomicU64,
    /// Capacity units × 1000 (DynamoDB reports fractions of a unit).
    milli_capacity: AtomicU64,
    /// Write calls this store may still make: unlimited, except where a crash test sets it
    /// (`DynamoStore::crashing_after`) to stop a change between any two of its writes.
    writes_left: AtomicI64,
    items_written: AtomicU64,
}

impl Default for StoreMetrics {
    fn default() -> Self {
        Self {
            calls: AtomicU64::new(0),
            milli_capacity: AtomicU64::new(0),
            items_written: AtomicU64::new(0),
            writes_left: AtomicI64::new(i64::MAX),
        }
    }
}

impl StoreMetrics {
    /// Counts a write call about to be made; fails once the crash budget is spent.
    fn spend_write(&self) -> Result<(), StoreError> {
        if self.writes_left.fetch_sub(1, Ordering::SeqCst) <= 0 {
            Err(StoreError::Backend("killed (crash test)".into()))
        } else {
            Ok(())
        }
    }

    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    pub fn items_written(&self) -> u64 {
        self.items_written.load(Ordering::Relaxed)
    }

    fn wrote(&self, items: usize) {
        self.items_written
            .fetch_add(items as u64, Ordering::Relaxed);
    }

    pub fn capacity(&self) -> f64 {
        self.milli_capacity.load(Ordering::Relaxed) as f64 / 1000.0
    }

    fn record(&self, consumed: Option<f64>) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if let Some(units) = consumed {
            self.milli_capacity
                .fetch_add((units * 1000.0).round() as u64, Ordering::Relaxed);
        }
    }
}

fn total(consumed: &[ConsumedCapacity]) -> Option<f64> {
    Some(consumed.iter().filter_map(|c| c.capacity_units()).sum())
}

#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    metrics: Arc<StoreMetrics>,
}

/// What a failed condition in a transaction means, by the action's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Guard {
    None,
    Version,
    NewTenant,
    NewUser,
    NewInvoice,
    Quote,
    Idempotency,
    Request,
    /// A `userName` or `externalId` another user holds (R34).
    DirectoryKey,
    /// A count at its tenant's limit (R38's endpoints).
    Limit,
}

/// Whether a call failed only because its condition did not hold (another writer was first,
/// or the item moved on): an answer, not a failure.
fn condition_failed<E: ProvideErrorMetadata, R>(err: &SdkError<E, R>) -> bool {
    err.as_service_error().and_then(|e| e.code()) == Some("ConditionalCheckFailedException")
}

fn backend<E, R>(err: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + ProvideErrorMetadata + 'static,
    R: std::fmt::Debug,
{
    let code = err.as_service_error().and_then(|e| e.code()).unwrap_or("");
    if matches!(
        code,
        "ProvisionedThroughputExceededException" | "RequestLimitExceeded" | "ThrottlingException"
    ) {
        return StoreError::Throttled;
    }
    StoreError::Backend(format!("{}", DisplayErrorContext(&err)))
}

fn built(err: aws_sdk_dynamodb::error::BuildError) -> StoreError {
    StoreError::Backend(format!("request: {err}"))
}

fn to_item<T: Serialize>(value: &T) -> Result<Item, StoreError> {
    serde_dynamo::to_item(value).map_err(|e| StoreError::Backend(format!("encode: {e}")))
}

/// One value as the items store it (`serde_dynamo`), for conditions on stored attributes.
fn to_value<T: Serialize>(value: &T) -> Result<AttributeValue, StoreError> {
    serde_dynamo::to_attribute_value(value).map_err(|e| StoreError::Backend(e.to_string()))
}

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Backend(format!("decode: {e}")))
}

/// An item's size as DynamoDB counts it against the 400 KB item and 4 MB transaction limits:
/// attribute names plus values (numbers about one byte per two digits, lists and maps three
/// bytes plus one per element).
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => n.len().div_ceil(2) + 1,
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(list) => 3 + list.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        AttributeValue::Ss(set) => set.iter().map(String::len).sum(),
        AttributeValue::Ns(set) => set.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
        _ => 0,
    }
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            metrics: Arc::new(StoreMetrics::default()),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn metrics(&self) -> &StoreMetrics {
        &self.metrics
    }

    async fn get<T: DeserializeOwned>(
        &self,
        pk: String,
        sk: String,
    ) -> Result<Option<T>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(backend)?;
        self.metrics
            .record(out.consumed_capacity().and_then(|c| c.capacity_units()));
        out.item.map(from_item).transpose()
    }
}

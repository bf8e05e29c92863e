//! The DynamoDB adapter: one table, single-table design (see `keys.rs`), strongly consistent
//! reads of the tenant partition, and every change as one conditional `TransactWriteItems`.

pub mod items;
pub mod keys;
pub mod schema;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, Delete, DeleteRequest, Put, PutRequest,
    ReturnConsumedCapacity, TransactWriteItem, Update, WriteRequest,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::domain::account::{Account, SeatInfo};
use crate::domain::allocation::RedSeat;
use crate::domain::identity::{TenantId, UserId};
use crate::domain::invoice::Invoice;
use crate::domain::pool::PoolId;
use crate::domain::quote::Quote;
use crate::domain::user::User;
use crate::outbox::OutboxMessage;
use crate::ports::{
    Change, DueWork, IdempotencyRecord, Loaded, LogEntry, Page, PageRequest, Store, StoreError,
    StoredQuote,
};
use items::*;
use keys::*;

type Item = HashMap<String, AttributeValue>;

/// DynamoDB calls made and capacity consumed, for logs and benchmarks.
#[derive(Debug, Default)]
pub struct StoreMetrics {
    calls: AtomicU64,
    /// Capacity units × 1000 (DynamoDB reports fractions of a unit).
    milli_capacity: AtomicU64,
}

impl StoreMetrics {
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
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

fn from_item<T: DeserializeOwned>(item: Item) -> Result<T, StoreError> {
    serde_dynamo::from_item(item).map_err(|e| StoreError::Backend(format!("decode: {e}")))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn key(pk: String, sk: String) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// A cursor is the hex of the last item's sort key after the listing's prefix: a position in
/// the caller's own listing, never a key of another partition or kind. Any hex string is a
/// position (bytes that are not UTF-8 are read lossily), so every cursor the contract allows
/// (`^([0-9A-Fa-f]{2}){0,256}$`) is answered with a page, and anything else is refused.
fn encode_cursor(sk: &str, prefix: &str) -> String {
    use std::fmt::Write;
    let suffix = sk.strip_prefix(prefix).unwrap_or(sk);
    suffix.bytes().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

fn decode_cursor(cursor: &str, prefix: &str) -> Result<String, StoreError> {
    let bytes = hex::decode(cursor).map_err(|_| StoreError::BadCursor)?;
    Ok(format!("{prefix}{}", String::from_utf8_lossy(&bytes)))
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

    /// One page of a tenant's items with a sort-key prefix.
    async fn query_prefix<T: DeserializeOwned>(
        &self,
        pk: String,
        prefix: &str,
        page: &PageRequest,
        forward: bool,
    ) -> Result<Page<T>, StoreError> {
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(pk.clone()))
            .expression_attribute_values(":prefix", s(prefix))
            .scan_index_forward(forward)
            .consistent_read(true)
            .limit(page.limit.clamp(1, 1000) as i32);
        if let Some(cursor) = &page.cursor {
            let sk = decode_cursor(cursor, prefix)?;
            request = request.set_exclusive_start_key(Some(key(pk, sk)));
        }
        let out = self.query_page(request).await?;
        let next_cursor = out
            .last_evaluated_key()
            .and_then(|k| k.get("sk"))
            .and_then(|v| v.as_s().ok())
            .map(|sk| encode_cursor(sk, prefix));
        let items = out
            .items
            .unwrap_or_default()
            .into_iter()
            .map(from_item)
            .collect::<Result<Vec<T>, _>>()?;
        Ok(Page { items, next_cursor })
    }

    /// One page of a tenant's items of one kind, each mapped to what the caller wants.
    async fn list<I: DeserializeOwned, T>(
        &self,
        tenant: &TenantId,
        prefix: &str,
        page: &PageRequest,
        forward: bool,
        map: fn(I) -> T,
    ) -> Result<Page<T>, StoreError> {
        let got: Page<I> = self
            .query_prefix(tenant_pk(tenant), prefix, page, forward)
            .await?;
        Ok(Page {
            items: got.items.into_iter().map(map).collect(),
            next_cursor: got.next_cursor,
        })
    }

    fn put(&self, item: Item, condition: Option<&str>) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some(c) = condition {
            put = put.condition_expression(c);
        }
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(built)?)
            .build())
    }

    fn delete(&self, pk: String, sk: String) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder()
            .delete(
                Delete::builder()
                    .table_name(&self.table)
                    .set_key(Some(key(pk, sk)))
                    .build()
                    .map_err(built)?,
            )
            .build())
    }

    fn red_item(tenant: &TenantId, red: &RedSeat) -> Result<Item, StoreError> {
        let next = if red.flag.reminded {
            red.flag.deadline
        } else {
            red.flag.remind_at()
        };
        to_item(&RedItem {
            pk: tenant_pk(tenant),
            sk: red_sk(&red.pool, &red.seat),
            tenant_id: tenant.to_string(),
            red: red.clone(),
            due_pk: seat_due_pk(tenant),
            due_at: due_at(next, &format!("{tenant}#{}#{}", red.pool, red.seat.user_id)),
        })
    }

    fn sub_item(account: &Account, version: u64) -> Result<Item, StoreError> {
        let sub = &account.subscription;
        let due = sub.rollover_due();
        let mut stored = sub.clone();
        stored.version = version;
        to_item(&SubItem {
            pk: tenant_pk(&sub.tenant_id),
            sk: SUB_SK.to_owned(),
            version,
            sub: stored,
            due_pk: due.map(|_| roll_due_pk(&sub.tenant_id)),
            due_at: due.map(|at| due_at(at, sub.tenant_id.as_str())),
        })
    }

    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk.to_vec();
            let mut rounds = 0;
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending.clone())
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(backend)?;
                self.metrics.record(total(out.consumed_capacity()));
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                rounds += 1;
                if rounds > 8 {
                    return Err(StoreError::Throttled);
                }
                if !pending.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(20 << rounds)).await;
                }
            }
        }
        Ok(())
    }

    fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
        Ok(WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(built)?,
            )
            .build())
    }

    fn delete_request(pk: String, sk: String) -> Result<WriteRequest, StoreError> {
        Ok(WriteRequest::builder()
            .delete_request(
                DeleteRequest::builder()
                    .set_key(Some(key(pk, sk)))
                    .build()
                    .map_err(built)?,
            )
            .build())
    }

    /// Outbox batches due at `at` for one shard, oldest first.
    pub async fn due_outbox(
        &self,
        at: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let shards = (0..DUE_SHARDS).map(|shard| async move {
            let out = self
                .query_page(self.due_query("OUTBOX", shard, at).limit(limit))
                .await?;
            out.items
                .unwrap_or_default()
                .into_iter()
                .map(from_item::<OutboxItem>)
                .collect::<Result<Vec<_>, _>>()
        });
        let found = futures::future::try_join_all(shards).await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Takes a batch for delivery: only one dispatcher at a time sends it (a lease of
    /// `lease_secs`), so the normal path never sends a message twice.
    pub async fn claim_outbox(
        &self,
        batch: &OutboxItem,
        now: DateTime<Utc>,
        lease_secs: i64,
    ) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(batch.pk.clone(), batch.sk.clone())))
            .update_expression("SET lease_until = :l")
            .condition_expression(
                "attempts = :a AND #state = :pending AND (attribute_not_exists(lease_until) OR lease_until < :now)",
            )
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":l", AttributeValue::N((now.timestamp() + lease_secs).to_string()))
            .expression_attribute_values(":a", AttributeValue::N(batch.attempts.to_string()))
            .expression_attribute_values(":pending", s("pending"))
            .expression_attribute_values(":now", AttributeValue::N(now.timestamp().to_string()))
            .send()
            .await;
        self.metrics.record(None);
        match result {
            Ok(_) => Ok(true),
            Err(err)
                if err.as_service_error().and_then(|e| e.code())
                    == Some("ConditionalCheckFailedException") =>
            {
                Ok(false)
            }
            Err(err) => Err(backend(err)),
        }
    }

    /// The tenant's undelivered outbox batches (dead-lettered ones excluded).
    pub async fn pending_outbox(&self, tenant: &TenantId) -> Result<Vec<OutboxItem>, StoreError> {
        let page: Page<OutboxItem> = self
            .query_prefix(
                tenant_pk(tenant),
                "O#",
                &PageRequest {
                    cursor: None,
                    limit: 100,
                },
                true,
            )
            .await?;
        Ok(page
            .items
            .into_iter()
            .filter(|b| b.state == "pending")
            .collect())
    }

    /// Writes a batch back after a delivery attempt: gone when everything was delivered,
    /// otherwise with the undelivered messages, the attempt count (raised only when
    /// `failed`: mail that only waits for the next run's cap has not failed) and the next
    /// attempt time. Conditional on the attempt count read, so two dispatchers never both
    /// record an attempt.
    pub async fn settle_outbox(
        &self,
        batch: &OutboxItem,
        remaining: Vec<OutboxMessage>,
        next_attempt: DateTime<Utc>,
        dead: bool,
        failed: bool,
    ) -> Result<bool, StoreError> {
        let tenant_id =
            TenantId::parse(&batch.tenant_id).map_err(|e| StoreError::Backend(e.to_string()))?;
        let result = if remaining.is_empty() {
            self.client
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(batch.pk.clone(), batch.sk.clone())))
                .condition_expression("attempts = :a")
                .expression_attribute_values(":a", AttributeValue::N(batch.attempts.to_string()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.into_service_error().meta().code().map(str::to_owned))
        } else {
            let mut updated = batch.clone();
            updated.messages = remaining;
            updated.attempts += u32::from(failed);
            updated.lease_until = None;
            if dead {
                updated.state = "dead".into();
                updated.due_pk = None;
                updated.due_at = None;
            } else {
                updated.due_pk = Some(outbox_due_pk(&tenant_id));
                updated.due_at = Some(due_at(next_attempt, &batch.sk));
            }
            let item = to_item(&updated)?;
            self.client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(item))
                .condition_expression("attempts = :a")
                .expression_attribute_values(":a", AttributeValue::N(batch.attempts.to_string()))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| e.into_service_error().meta().code().map(str::to_owned))
        };
        self.metrics.record(None);
        match result {
            Ok(()) => Ok(true),
            Err(Some(code)) if code == "ConditionalCheckFailedException" => Ok(false),
            Err(code) => Err(StoreError::Backend(format!("settle outbox: {code:?}"))),
        }
    }

    /// Active users holding a right, for mail to managers (a Query of the tenant's users).
    pub async fn all_users(&self, tenant: &TenantId) -> Result<Vec<User>, StoreError> {
        let mut users = Vec::new();
        let mut page = PageRequest {
            cursor: None,
            limit: 1000,
        };
        loop {
            let got: Page<UserItem> = self
                .query_prefix(tenant_pk(tenant), "U#", &page, true)
                .await?;
            users.extend(got.items.into_iter().map(|i| i.user));
            match got.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => return Ok(users),
            }
        }
    }
}

/// A change's outbox as stored: batches of up to [`OUTBOX_BATCH`] messages, due at once.
pub fn outbox_batches(tenant: &TenantId, messages: &[OutboxMessage]) -> Vec<OutboxItem> {
    messages
        .chunks(OUTBOX_BATCH)
        .enumerate()
        .map(|(n, chunk)| {
            let first = &chunk[0];
            let sk = outbox_sk(&format!("{}#{n}", first.message_id));
            OutboxItem {
                pk: tenant_pk(tenant),
                sk: sk.clone(),
                tenant_id: tenant.to_string(),
                messages: chunk.to_vec(),
                attempts: 0,
                state: "pending".into(),
                due_pk: Some(outbox_due_pk(tenant)),
                due_at: Some(due_at(first.next_attempt_at, &sk)),
                expires_at: None,
                lease_until: None,
            }
        })
        .collect()
}

/// The transaction's actions, and the red-seat writes that are kept out of it when the change
/// is larger than one transaction (see `Account::from_parts` for why that is safe).
struct Plan {
    actions: Vec<(TransactWriteItem, Guard)>,
    pre: Vec<WriteRequest>,
    post: Vec<WriteRequest>,
}

const MAX_TRANSACTION: usize = 100;

impl DynamoStore {
    fn plan(&self, change: &Change) -> Result<Plan, StoreError> {
        let account = &change.account;
        let tenant = &account.subscription.tenant_id;
        let pk = tenant_pk(tenant);
        let mut actions = Vec::new();
        let version = change.expected_version.map_or(1, |v| v + 1);
        let sub = Self::sub_item(account, version)?;
        match change.expected_version {
            Some(v) => actions.push((
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(sub))
                            .condition_expression("version = :v")
                            .expression_attribute_values(":v", AttributeValue::N(v.to_string()))
                            .build()
                            .map_err(built)?,
                    )
                    .build(),
                Guard::Version,
            )),
            None => actions.push((
                self.put(sub, Some("attribute_not_exists(pk)"))?,
                Guard::NewTenant,
            )),
        }
        for write in &change.users {
            let user = &write.after;
            let item = to_item(&UserItem {
                pk: pk.clone(),
                sk: user_sk(user.user_id.as_str()),
                user: user.clone(),
            })?;
            let (condition, guard) = if write.before.is_none() {
                (Some("attribute_not_exists(pk)"), Guard::NewUser)
            } else {
                (None, Guard::None)
            };
            actions.push((self.put(item, condition)?, guard));
            let before: BTreeMap<PoolId, _> = write
                .before
                .as_ref()
                .map(|u| u.seats().into_iter().collect())
                .unwrap_or_default();
            let after: BTreeMap<PoolId, _> = user.seats().into_iter().collect();
            for (pool, seat) in &before {
                if after.get(pool) != Some(seat) {
                    actions.push((self.delete(pk.clone(), seat_sk(pool, seat))?, Guard::None));
                }
            }
            for (pool, seat) in &after {
                if before.get(pool) != Some(seat) {
                    let item = to_item(&SeatItem {
                        pk: pk.clone(),
                        sk: seat_sk(pool, seat),
                        seat: SeatInfo {
                            pool: pool.clone(),
                            seat: seat.clone(),
                            name: user.name.to_string(),
                        },
                    })?;
                    actions.push((self.put(item, None)?, Guard::None));
                }
            }
        }
        let log = &change.log;
        actions.push((
            self.put(
                to_item(&LogItem {
                    pk: pk.clone(),
                    sk: log_sk(log.at, &log.entry_id),
                    entry: log.clone(),
                })?,
                None,
            )?,
            Guard::None,
        ));
        for invoice in &change.invoices {
            let item = to_item(&InvoiceItem {
                pk: pk.clone(),
                sk: invoice_sk(invoice.issued_at, &invoice.invoice_id),
                invoice: invoice.clone(),
            })?;
            actions.push((
                self.put(item, Some("attribute_not_exists(pk)"))?,
                Guard::NewInvoice,
            ));
        }
        for batch in outbox_batches(tenant, &change.outbox) {
            actions.push((self.put(to_item(&batch)?, None)?, Guard::None));
        }
        if let Some(quote_id) = &change.approve_quote {
            actions.push((
                TransactWriteItem::builder()
                    .update(
                        Update::builder()
                            .table_name(&self.table)
                            .set_key(Some(key(pk.clone(), quote_sk(quote_id))))
                            .update_expression("SET approved = :t")
                            .condition_expression("approved = :f")
                            .expression_attribute_values(":t", AttributeValue::Bool(true))
                            .expression_attribute_values(":f", AttributeValue::Bool(false))
                            .build()
                            .map_err(built)?,
                    )
                    .build(),
                Guard::Quote,
            ));
        }
        if let Some(record) = &change.idempotency {
            let item = to_item(&IdempotencyItem {
                pk: pk.clone(),
                sk: idempotency_sk(&record.key_digest),
                record: record.clone(),
                expires_at: record.expires_at.timestamp(),
            })?;
            actions.push((
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(item))
                            .condition_expression("attribute_not_exists(pk) OR expires_at < :now")
                            .expression_attribute_values(
                                ":now",
                                AttributeValue::N(change.now.timestamp().to_string()),
                            )
                            .build()
                            .map_err(built)?,
                    )
                    .build(),
                Guard::Idempotency,
            ));
        }

        // Red seats: the difference between what was read and what the command left.
        let after: BTreeMap<String, &RedSeat> = account
            .all_reds()
            .map(|r| (red_sk(&r.pool, &r.seat), r))
            .collect();
        let before: BTreeMap<String, &RedSeat> = change
            .reds_before
            .iter()
            .map(|r| (red_sk(&r.pool, &r.seat), r))
            .collect();
        let mut puts = Vec::new();
        let mut deletes = Vec::new();
        for (sk, red) in &after {
            if before.get(sk).is_none_or(|b| b != red) {
                puts.push(Self::red_item(tenant, red)?);
            }
        }
        for sk in before.keys() {
            if !after.contains_key(sk) {
                deletes.push(sk.clone());
            }
        }
        let mut pre = Vec::new();
        let mut post = Vec::new();
        let room = MAX_TRANSACTION.saturating_sub(actions.len());
        if actions.len() > MAX_TRANSACTION {
            return Err(StoreError::Backend(
                "change too large for one transaction".into(),
            ));
        }
        let (put_now, put_early) = if puts.len() + deletes.len() <= room {
            (puts.len(), 0)
        } else {
            let n = puts.len().min(room / 2);
            (n, puts.len() - n)
        };
        for item in puts.drain(..put_now) {
            actions.push((self.put(item, None)?, Guard::None));
        }
        for item in puts.into_iter().take(put_early) {
            pre.push(Self::put_request(item)?);
        }
        let room = MAX_TRANSACTION.saturating_sub(actions.len());
        let delete_now = deletes.len().min(room);
        for sk in deletes.drain(..delete_now) {
            actions.push((self.delete(pk.clone(), sk)?, Guard::None));
        }
        for sk in deletes {
            post.push(Self::delete_request(pk.clone(), sk)?);
        }
        Ok(Plan { actions, pre, post })
    }
}

impl DynamoStore {
    /// One Query call, its consumed capacity recorded.
    async fn query_page(&self, query: QueryFluentBuilder) -> Result<QueryOutput, StoreError> {
        let out = query
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(backend)?;
        self.metrics
            .record(out.consumed_capacity().and_then(|c| c.capacity_units()));
        Ok(out)
    }

    /// Every item `query` matches, page after page.
    async fn query_all(&self, query: QueryFluentBuilder) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .query_page(query.clone().set_exclusive_start_key(start.take()))
                .await?;
            items.extend(out.items.unwrap_or_default());
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => return Ok(items),
            }
        }
    }

    /// One shard of the sparse due index: the items of `kind` (`ROLL`, `SEAT`, `OUTBOX`)
    /// due at `at`.
    fn due_query(&self, kind: &str, shard: u32, at: DateTime<Utc>) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(schema::DUE_INDEX)
            .key_condition_expression("due_pk = :p AND due_at <= :t")
            .expression_attribute_values(":p", s(format!("{kind}#{shard}")))
            .expression_attribute_values(":t", s(format!("{}~", crate::time::sortable(at))))
    }

    /// The due rollovers (`ROLL`) or red seats (`SEAT`) of one shard.
    async fn due_shard(
        &self,
        kind: &'static str,
        shard: u32,
        at: DateTime<Utc>,
    ) -> Result<Vec<DueWork>, StoreError> {
        self.query_all(self.due_query(kind, shard, at))
            .await?
            .into_iter()
            .map(|item| {
                if kind == "ROLL" {
                    let sub: SubItem = from_item(item)?;
                    let mut indexed = sub.sub;
                    indexed.version = sub.version;
                    Ok(DueWork::Rollover {
                        tenant: indexed.tenant_id.clone(),
                        indexed: Box::new(indexed),
                    })
                } else {
                    let red: RedItem = from_item(item)?;
                    let tenant = TenantId::parse(&red.tenant_id)
                        .map_err(|e| StoreError::Backend(e.to_string()))?;
                    Ok(DueWork::Seat {
                        tenant,
                        pool: red.red.pool,
                        user: red.red.seat.user_id,
                    })
                }
            })
            .collect()
    }
}

impl Store for DynamoStore {
    fn usage(&self) -> crate::ports::StoreUsage {
        crate::ports::StoreUsage {
            calls: self.metrics.calls(),
            capacity: self.metrics.capacity(),
        }
    }

    async fn load_account(&self, tenant: &TenantId) -> Result<Option<Loaded>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :a)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":a", s(ACCOUNT_PREFIX))
            .consistent_read(true);
        let mut sub: Option<SubItem> = None;
        let mut reds = Vec::new();
        for item in self.query_all(query).await? {
            let is_sub = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .is_some_and(|sk| sk == SUB_SK);
            if is_sub {
                sub = Some(from_item(item)?);
            } else {
                reds.push(from_item::<RedItem>(item)?.red);
            }
        }
        Ok(sub.map(|item| {
            let mut subscription = item.sub;
            subscription.version = item.version;
            let (account, _) = Account::from_parts(subscription, reds.clone());
            Loaded {
                account,
                red_records: reds,
            }
        }))
    }

    async fn load_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Option<User>, StoreError> {
        Ok(self
            .get::<UserItem>(tenant_pk(tenant), user_sk(user.as_str()))
            .await?
            .map(|i| i.user))
    }

    async fn newest_seats(
        &self,
        tenant: &TenantId,
        pool: &PoolId,
        limit: u32,
    ) -> Result<Vec<SeatInfo>, StoreError> {
        let mut seats = Vec::new();
        let mut page = PageRequest {
            cursor: None,
            limit: limit.min(1000),
        };
        while seats.len() < limit as usize {
            let got: Page<SeatItem> = self
                .query_prefix(tenant_pk(tenant), &seat_prefix(pool), &page, false)
                .await?;
            seats.extend(got.items.into_iter().map(|i| i.seat));
            match got.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        seats.truncate(limit as usize);
        Ok(seats)
    }

    async fn list_users(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        self.list(tenant, "U#", page, true, |i: UserItem| i.user)
            .await
    }

    async fn list_log(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<LogEntry>, StoreError> {
        self.list(tenant, "L#", page, false, |i: LogItem| i.entry)
            .await
    }

    async fn list_invoices(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Invoice>, StoreError> {
        self.list(tenant, "I#", page, false, |i: InvoiceItem| i.invoice)
            .await
    }

    async fn put_quote(&self, quote: &Quote) -> Result<(), StoreError> {
        let item = to_item(&QuoteItem {
            pk: tenant_pk(&quote.tenant_id),
            sk: quote_sk(&quote.quote_id),
            quote: quote.clone(),
            approved: false,
            expires_at: quote.expires_at.timestamp() + 24 * 3600,
        })?;
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk)")
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(backend)?;
        self.metrics
            .record(out.consumed_capacity().and_then(|c| c.capacity_units()));
        Ok(())
    }

    async fn get_quote(
        &self,
        tenant: &TenantId,
        quote_id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredQuote>, StoreError> {
        if quote_id.is_empty() || quote_id.len() > 64 || quote_id.contains('#') {
            return Ok(None);
        }
        let item: Option<QuoteItem> = self.get(tenant_pk(tenant), quote_sk(quote_id)).await?;
        // TTL deletes late: an item past its TTL is treated as gone.
        Ok(item
            .filter(|i| i.expires_at > now.timestamp())
            .map(|i| StoredQuote {
                quote: i.quote,
                approved: i.approved,
            }))
    }

    async fn get_idempotency(
        &self,
        tenant: &TenantId,
        key_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let item: Option<IdempotencyItem> = self
            .get(tenant_pk(tenant), idempotency_sk(key_digest))
            .await?;
        Ok(item
            .filter(|i| i.expires_at >= now.timestamp())
            .map(|i| i.record))
    }

    async fn load_approval(
        &self,
        tenant: &TenantId,
        user: &UserId,
        key_digest: Option<&str>,
        quote_id: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::ports::ApprovalReads, StoreError> {
        let pk = tenant_pk(tenant);
        let mut keys = vec![key(pk.clone(), user_sk(user.as_str()))];
        let quote_ok = !quote_id.is_empty() && quote_id.len() <= 64 && !quote_id.contains('#');
        if quote_ok {
            keys.push(key(pk.clone(), quote_sk(quote_id)));
        }
        if let Some(digest) = key_digest {
            keys.push(key(pk.clone(), idempotency_sk(digest)));
        }
        let mut reads = crate::ports::ApprovalReads::default();
        let mut pending = keys;
        for round in 0..8 {
            let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                .set_keys(Some(pending))
                .consistent_read(true)
                .build()
                .map_err(built)?;
            let out = self
                .client
                .batch_get_item()
                .request_items(&self.table, request)
                .return_consumed_capacity(ReturnConsumedCapacity::Total)
                .send()
                .await
                .map_err(backend)?;
            self.metrics.record(total(out.consumed_capacity()));
            for item in out
                .responses
                .and_then(|mut r| r.remove(&self.table))
                .unwrap_or_default()
            {
                let sk = item
                    .get("sk")
                    .and_then(|v| v.as_s().ok())
                    .cloned()
                    .unwrap_or_default();
                if sk.starts_with("U#") {
                    reads.user = Some(from_item::<UserItem>(item)?.user);
                } else if sk.starts_with("Q#") {
                    let q: QuoteItem = from_item(item)?;
                    // TTL deletes late: an item past its TTL is treated as gone.
                    if q.expires_at > now.timestamp() {
                        reads.quote = Some(StoredQuote {
                            quote: q.quote,
                            approved: q.approved,
                        });
                    }
                } else if sk.starts_with("K#") {
                    let k: IdempotencyItem = from_item(item)?;
                    if k.expires_at >= now.timestamp() {
                        reads.idempotency = Some(k.record);
                    }
                }
            }
            pending = out
                .unprocessed_keys
                .and_then(|mut u| u.remove(&self.table))
                .map(|k| k.keys)
                .unwrap_or_default();
            if pending.is_empty() {
                return Ok(reads);
            }
            tokio::time::sleep(std::time::Duration::from_millis(10 << round)).await;
        }
        Err(StoreError::Throttled)
    }

    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        let tenant = change.account.subscription.tenant_id.clone();
        let plan = self.plan(&change)?;
        if !plan.pre.is_empty() {
            self.batch_write(plan.pre).await?;
        }
        let guards: Vec<Guard> = plan.actions.iter().map(|(_, g)| *g).collect();
        let items: Vec<TransactWriteItem> = plan.actions.into_iter().map(|(a, _)| a).collect();
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match result {
            Ok(out) => {
                self.metrics.record(total(out.consumed_capacity()));
            }
            Err(err) => {
                self.metrics.record(None);
                let service = err.as_service_error();
                if let Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(e)) = service {
                    let reasons = e.cancellation_reasons();
                    let failed = |guard: Guard| {
                        reasons.iter().zip(&guards).any(|(r, g)| {
                            *g == guard && r.code() == Some("ConditionalCheckFailed")
                        })
                    };
                    if failed(Guard::Idempotency) {
                        return Err(StoreError::IdempotencyRace);
                    }
                    if failed(Guard::NewTenant) {
                        return Err(StoreError::AlreadyExists("tenant"));
                    }
                    if failed(Guard::Version) {
                        return Err(StoreError::Conflict);
                    }
                    if failed(Guard::Quote) {
                        return Err(StoreError::QuoteUsed);
                    }
                    if failed(Guard::NewUser) {
                        return Err(StoreError::AlreadyExists("user"));
                    }
                    if failed(Guard::NewInvoice) {
                        return Err(StoreError::AlreadyExists("invoice"));
                    }
                    if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                        return Err(StoreError::Conflict);
                    }
                }
                if service.and_then(|e| e.code()) == Some("TransactionConflictException") {
                    return Err(StoreError::Conflict);
                }
                return Err(backend(err));
            }
        }
        if !plan.post.is_empty() {
            // The commit stands; a failure here only leaves stale red records, which reads
            // ignore and the sweep removes.
            if let Err(err) = self.batch_write(plan.post).await {
                tracing::warn!(tenant = %tenant, error = %err, "deferred red-seat cleanup failed");
            }
        }
        Ok(())
    }

    async fn delete_red_records(
        &self,
        tenant: &TenantId,
        records: &[RedSeat],
    ) -> Result<(), StoreError> {
        let requests = records
            .iter()
            .map(|r| Self::delete_request(tenant_pk(tenant), red_sk(&r.pool, &r.seat)))
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(requests).await
    }

    async fn due_work(&self, at: DateTime<Utc>) -> Result<Vec<DueWork>, StoreError> {
        // The shards are read at once: one after the other they put 16 round trips in front
        // of the first rollover of every invocation.
        let shards = ["ROLL", "SEAT"]
            .into_iter()
            .flat_map(|kind| (0..DUE_SHARDS).map(move |shard| (kind, shard)))
            .map(|(kind, shard)| self.due_shard(kind, shard, at));
        let pages = futures::future::try_join_all(shards).await?;
        Ok(pages.into_iter().flatten().collect())
    }
}

//! Writes: the items of a change, planned as one `TransactWriteItems` (with the red-seat
//! writes kept out of it when the change is larger), and what its guards mean when it fails.

use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{
    AttributeValue, Delete, Put, ReturnConsumedCapacity, TransactWriteItem, Update, WriteRequest,
};
use std::collections::{BTreeMap, BTreeSet};

use super::directory::{directory_key_put, directory_sk};
use crate::domain::directory::DirectoryKey;

use super::outbox::outbox_batches;
use crate::adapters::dynamodb::items::{
    IdempotencyItem, InvoiceItem, JsonString, LogItem, RedItem, SeatItem, SubItem, UserItem,
};
use crate::adapters::dynamodb::keys::{
    SUB_SK, due_at, idempotency_sk, invoice_sk, log_sk, quote_sk, red_sk, roll_due_pk, seat_due_pk,
    seat_sk, tenant_pk,
};
use crate::adapters::dynamodb::{
    DynamoStore, Guard, Item, backend, built, item_size, key, to_item, total,
};
use crate::domain::account::{Account, SeatInfo};
use crate::domain::allocation::RedSeat;
use crate::domain::identity::TenantId;
use crate::domain::pool::PoolId;
use crate::ports::{Change, StoreError};

impl DynamoStore {
    pub(super) fn put(
        &self,
        item: Item,
        condition: Option<&str>,
    ) -> Result<TransactWriteItem, StoreError> {
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        if let Some(c) = condition {
            put = put.condition_expression(c);
        }
        Ok(TransactWriteItem::builder()
            .put(put.build().map_err(built)?)
            .build())
    }

    pub(super) fn delete(&self, pk: String, sk: String) -> Result<TransactWriteItem, StoreError> {
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

    pub(super) fn red_item(tenant: &TenantId, red: &RedSeat) -> Result<Item, StoreError> {
        to_item(&RedItem {
            pk: tenant_pk(tenant),
            sk: red_sk(&red.pool, &red.seat),
            tenant_id: tenant.to_string(),
            red: red.clone(),
            due_pk: seat_due_pk(tenant),
            due_at: Self::red_due_at(tenant, red),
        })
    }

    /// A red seat's place in the due index: its reminder, then (reminded) its deadline. It
    /// differs for every flag a seat is given (each has its own deadline), so it also tells
    /// whether a stored record is still the one a reader saw.
    pub(super) fn red_due_at(tenant: &TenantId, red: &RedSeat) -> String {
        let next = if red.flag.reminded {
            red.flag.deadline
        } else {
            red.flag.remind_at()
        };
        due_at(next, &format!("{tenant}#{}#{}", red.pool, red.seat.user_id))
    }

    /// The subscription written whole, if it is still at the version `read`.
    pub(super) fn versioned_put(
        &self,
        sub: Item,
        read: u64,
    ) -> Result<TransactWriteItem, StoreError> {
        Ok(TransactWriteItem::builder()
            .put(
                Put::builder()
                    .table_name(&self.table)
                    .set_item(Some(sub))
                    .condition_expression("version = :v")
                    .expression_attribute_values(":v", AttributeValue::N(read.to_string()))
                    .build()
                    .map_err(built)?,
            )
            .build())
    }

    pub(super) fn sub_item(account: &Account, version: u64) -> Result<Item, StoreError> {
        let sub = &account.subscription;
        let due = sub.sweep_due();
        let mut stored = sub.clone();
        stored.version = version;
        to_item(&SubItem {
            pk: tenant_pk(&sub.tenant_id),
            sk: SUB_SK.to_owned(),
            version,
            clock: crate::time::sortable(sub.clock),
            sub: stored,
            due_pk: due.map(|_| roll_due_pk(&sub.tenant_id)),
            due_at: due.map(|at| due_at(at, sub.tenant_id.as_str())),
        })
    }
}

/// The transaction's actions, and the red-seat writes that are kept out of it when the change
/// is larger than one transaction (see `Account::from_parts` for why that is safe).
pub(super) struct Plan {
    actions: Vec<(TransactWriteItem, Guard)>,
    pre: Vec<WriteRequest>,
    /// Red-seat records to delete after the transaction, as read: each deleted only if it is
    /// still that record (`delete_red_record`), so a seat a later change made red again keeps
    /// its record.
    post: Vec<RedSeat>,
}

pub(super) const MAX_TRANSACTION: usize = 100;

/// What a change's outbox may take of one transaction's 4 MB: the rest of the change (a
/// subscription, a few users, the log entry) and the request's own overhead stay far below
/// the remaining megabyte.
const OUTBOX_BYTES: usize = 3 * 1024 * 1024;

/// Actions kept free for a small change's red-seat writes when its outbox is large.
const RED_ROOM: usize = 20;

impl DynamoStore {
    pub(super) fn plan(&self, change: &Change) -> Result<Plan, StoreError> {
        let account = &change.account;
        let tenant = &account.subscription.tenant_id;
        let pk = tenant_pk(tenant);
        let mut actions = Vec::new();
        let version = change.expected_version.map_or(1, |v| v + 1);
        let sub = Self::sub_item(account, version)?;
        match (change.expected_version, &change.delta) {
            (Some(_), Some(delta)) => actions.push((
                TransactWriteItem::builder()
                    .update(self.delta_update(&pk, delta)?)
                    .build(),
                Guard::Version,
            )),
            (Some(v), None) => actions.push((self.versioned_put(sub, v)?, Guard::Version)),
            (None, _) => actions.push((
                self.put(sub, Some("attribute_not_exists(pk)"))?,
                Guard::NewTenant,
            )),
        }
        for write in &change.users {
            let user = &write.after;
            let item = to_item(&UserItem::new(tenant, user.clone()))?;
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
            // A renamed user's seats carry the new name (SCIM renames, R34).
            let renamed = write.before.as_ref().is_some_and(|b| b.name != user.name);
            for (pool, seat) in &after {
                if renamed || before.get(pool) != Some(seat) {
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
        for write in &change.users {
            let keys = |u: Option<&crate::domain::user::User>| -> BTreeSet<DirectoryKey> {
                u.and_then(|u| u.directory.as_ref())
                    .map(|d| d.keys().into_iter().collect())
                    .unwrap_or_default()
            };
            let (before, after) = (keys(write.before.as_ref()), keys(Some(&write.after)));
            for gone in before.difference(&after) {
                actions.push((self.delete(pk.clone(), directory_sk(gone))?, Guard::None));
            }
            for new in after.difference(&before) {
                let put = directory_key_put(self, tenant, new, &write.after.user_id)?;
                actions.push((put, Guard::DirectoryKey));
            }
        }
        let log = &change.log;
        // The log entry is the change's commit marker: what is written before the transaction
        // (outbox batches, red seats) counts only once it exists.
        let marker = log_sk(log.at, &log.entry_id);
        actions.push((
            self.put(
                to_item(&LogItem {
                    pk: pk.clone(),
                    sk: marker.clone(),
                    entry: JsonString(log.clone()),
                })?,
                None,
            )?,
            Guard::None,
        ));
        for invoice in &change.invoices {
            let item = to_item(&InvoiceItem {
                pk: pk.clone(),
                sk: invoice_sk(invoice.issued_at, &invoice.invoice_id),
                invoice: JsonString(invoice.clone()),
            })?;
            actions.push((
                self.put(item, Some("attribute_not_exists(pk)"))?,
                Guard::NewInvoice,
            ));
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
                record: JsonString(record.clone()),
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

        for write in &change.requests {
            actions.push((self.request_write(&pk, write)?, Guard::Request));
        }

        // The outbox in the transaction while it fits; the rest written before it, each batch
        // carrying the marker, so a change of any size keeps every message it caused.
        let mut pre = Vec::new();
        let mut outbox_bytes = 0;
        for mut batch in outbox_batches(tenant, &change.outbox) {
            let item = to_item(&batch)?;
            let size = item_size(&item);
            if actions.len() + RED_ROOM < MAX_TRANSACTION && outbox_bytes + size <= OUTBOX_BYTES {
                outbox_bytes += size;
                actions.push((self.put(item, None)?, Guard::None));
            } else {
                batch.commit = Some(marker.clone());
                pre.push(Self::put_request(to_item(&batch)?)?);
            }
        }

        // Red seats: the records the command touched.
        let changes = account.red_changes();
        let mut puts = Vec::new();
        for red in changes.put {
            puts.push(Self::red_item(tenant, red)?);
        }
        let mut deletes: Vec<&RedSeat> = changes.delete;
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
        for red in deletes.drain(..delete_now) {
            let sk = red_sk(&red.pool, &red.seat);
            actions.push((self.delete(pk.clone(), sk)?, Guard::None));
        }
        post.extend(deletes.into_iter().cloned());
        Ok(Plan { actions, pre, post })
    }
}

impl DynamoStore {
    /// Commits a change: the planned transaction, its failed conditions read back as what
    /// they mean (by each action's guard), and the red-seat writes kept out of it.
    pub(super) async fn commit_change(&self, change: Change) -> Result<(), StoreError> {
        let tenant = change.account.subscription.tenant_id.clone();
        let plan = self.plan(&change)?;
        if !plan.pre.is_empty() {
            self.batch_write_concurrently(plan.pre).await?;
        }
        self.execute(plan.actions).await?;
        if !plan.post.is_empty() {
            // The commit stands; a failure here only leaves stale red records, which reads
            // ignore and the sweep removes.
            if let Err(err) =
                crate::ports::Commits::delete_red_records(self, &tenant, &plan.post).await
            {
                tracing::warn!(tenant = %tenant, error = %err, "deferred red-seat cleanup failed");
            }
        }
        Ok(())
    }

    /// One `TransactWriteItems`, its failed conditions read back as what they mean (by each
    /// action's guard).
    pub(super) async fn execute(
        &self,
        actions: Vec<(TransactWriteItem, Guard)>,
    ) -> Result<(), StoreError> {
        let guards: Vec<Guard> = actions.iter().map(|(_, g)| *g).collect();
        let items: Vec<TransactWriteItem> = actions.into_iter().map(|(a, _)| a).collect();
        let count = items.len();
        self.metrics.spend_write()?;
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
                self.metrics.wrote(count);
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
                    if failed(Guard::DirectoryKey) {
                        return Err(StoreError::AlreadyExists("directory key"));
                    }
                    if failed(Guard::Limit) {
                        return Err(StoreError::LimitReached("limit"));
                    }
                    if failed(Guard::NewInvoice) {
                        return Err(StoreError::AlreadyExists("invoice"));
                    }
                    if failed(Guard::Request) {
                        return Err(StoreError::RequestDecided);
                    }
                    if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                        return Err(StoreError::Conflict);
                    }
                    // A transaction cancelled because an item was throttled is throttling,
                    // retried and then answered 503, not a backend failure.
                    if reasons.iter().any(|r| {
                        matches!(
                            r.code(),
                            Some("ThrottlingError" | "ProvisionedThroughputExceeded")
                        )
                    }) {
                        return Err(StoreError::Throttled);
                    }
                }
                if service.and_then(|e| e.code()) == Some("TransactionConflictException") {
                    return Err(StoreError::Conflict);
                }
                return Err(backend(err));
            }
        }
        Ok(())
    }
}

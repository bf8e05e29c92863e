//! The outbox as stored: batches written with a change, found through the due index,
//! leased for delivery and settled after it.

use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, TransactWriteItem, Update};
use chrono::{DateTime, Utc};

use crate::adapters::dynamodb::items::{JsonString, OutboxItem};
use crate::adapters::dynamodb::keys::{
    DUE_SHARDS, OUTBOX_DEAD, due_at, outbox_dead_pk, outbox_due_pk, outbox_sk, shard, tenant_pk,
};
use crate::adapters::dynamodb::{
    DynamoStore, backend, built, condition_failed, from_item, key, s, to_value,
};
use crate::domain::identity::TenantId;
use crate::domain::user::User;
use crate::outbox::{OutboxBatch, OutboxMessage};
use crate::ports::{Claim, OutboxStore, Page, PageRequest, StoreError};

impl DynamoStore {
    /// Outbox batches due at `at`, from every shard of the due index (each shard's oldest
    /// first, at most `limit` from each).
    async fn due_items(
        &self,
        kind: &str,
        at: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let shards = (0..DUE_SHARDS).map(|shard| async move {
            let out = self
                .query_page(self.due_query(kind, shard, at).limit(limit))
                .await?;
            let mut items = Vec::new();
            for raw in out.items.unwrap_or_default() {
                let key = (item_key(&raw, "pk"), item_key(&raw, "sk"));
                // One item that cannot be read never holds back another (R32): it leaves the
                // due index, kept for an operator. If even that fails it is skipped this run.
                let read = from_item::<OutboxItem>(raw).and_then(|item| {
                    TenantId::parse(&item.tenant_id)
                        .map(|_| item)
                        .map_err(|e| StoreError::Backend(format!("outbox item: {e}")))
                });
                match read {
                    Ok(item) => items.push(item),
                    Err(error) => {
                        if let Err(failed) = self.set_aside(key, &error).await {
                            tracing::error!(error = %failed, "an unreadable outbox item could not be set aside; skipped");
                        }
                    }
                }
            }
            Ok::<_, StoreError>(items)
        });
        let found = futures::future::try_join_all(shards).await?;
        Ok(found.into_iter().flatten().collect())
    }

    /// Every dead batch (of `tenant`: only its shard), page after page.
    async fn dead_items(
        &self,
        tenant: Option<&TenantId>,
        now: DateTime<Utc>,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let far = now + chrono::Duration::days(365 * 100);
        let shards: Vec<u32> = match tenant {
            Some(t) => vec![shard(t)],
            None => (0..DUE_SHARDS).collect(),
        };
        let mut items = Vec::new();
        for part in shards {
            for raw in self
                .query_all(self.due_query(OUTBOX_DEAD, part, far))
                .await?
            {
                match from_item::<OutboxItem>(raw) {
                    Ok(item) if tenant.is_none_or(|t| t.as_str() == item.tenant_id) => {
                        items.push(item)
                    }
                    Ok(_) => {}
                    Err(error) => {
                        tracing::error!(error = %error, metric = "OutboxUnreadable", "a dead outbox item that cannot be read, not redriven");
                    }
                }
            }
        }
        Ok(items)
    }

    /// Takes an outbox item that cannot be read out of the due index (`state = unreadable`),
    /// logged with its error and counted (`OutboxUnreadable`), kept in its tenant's partition.
    async fn set_aside(
        &self,
        (pk, sk): (Option<String>, Option<String>),
        error: &StoreError,
    ) -> Result<(), StoreError> {
        let (Some(pk), Some(sk)) = (pk, sk) else {
            tracing::error!(error = %error, metric = "OutboxUnreadable", "an outbox due entry without a key");
            return Ok(());
        };
        tracing::error!(pk = %pk, sk = %sk, error = %error, metric = "OutboxUnreadable", "an outbox item that cannot be read, set aside");
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression("SET #state = :unreadable REMOVE due_pk, due_at, lease_until")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#state", "state")
            .expression_attribute_values(":unreadable", s("unreadable"))
            .send()
            .await;
        self.metrics.record(None);
        match result {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => Ok(()),
            Err(err) => Err(backend(err)),
        }
    }

    /// Takes a batch for delivery: only one dispatcher at a time sends it (a lease of
    /// `lease_secs`), so the normal path never sends a message twice.
    /// The lease on a batch: taken only at the attempts read, while pending and not leased.
    fn claim_update(
        &self,
        batch: &OutboxItem,
        now: DateTime<Utc>,
        lease_secs: i64,
    ) -> Result<Update, StoreError> {
        Update::builder()
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
            .build()
            .map_err(built)
    }

    /// One call either way: an `UpdateItem`, or for a batch with a commit marker a
    /// `TransactWriteItems` of the marker's check and the same update, whose cancellation
    /// reasons tell which of the two failed.
    async fn claim_item(
        &self,
        batch: &OutboxItem,
        marker: Option<&str>,
        now: DateTime<Utc>,
        lease_secs: i64,
    ) -> Result<Claim, StoreError> {
        let update = self.claim_update(batch, now, lease_secs)?;
        let Some(marker) = marker else {
            let result = self
                .client
                .update_item()
                .table_name(update.table_name())
                .set_key(Some(update.key().clone()))
                .update_expression(update.update_expression())
                .condition_expression(update.condition_expression().unwrap_or_default())
                .set_expression_attribute_names(update.expression_attribute_names().cloned())
                .set_expression_attribute_values(update.expression_attribute_values().cloned())
                .send()
                .await;
            self.metrics.record(None);
            return match result {
                Ok(_) => Ok(Claim::Taken),
                Err(err) if condition_failed(&err) => Ok(Claim::Held),
                Err(err) => Err(backend(err)),
            };
        };
        // A marker is a log entry's key in this tenant's partition, nothing else.
        if !marker.starts_with("L#") {
            return Ok(Claim::Uncommitted);
        }
        let check = ConditionCheck::builder()
            .table_name(&self.table)
            .set_key(Some(key(batch.pk.clone(), marker.to_owned())))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(built)?;
        let result = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().condition_check(check).build())
            .transact_items(TransactWriteItem::builder().update(update).build())
            .send()
            .await;
        self.metrics.record(None);
        match result {
            Ok(_) => Ok(Claim::Taken),
            Err(err) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(e)) =
                    err.as_service_error()
                {
                    let failed = |at: usize| {
                        e.cancellation_reasons().get(at).and_then(|r| r.code())
                            == Some("ConditionalCheckFailed")
                    };
                    if failed(0) {
                        return Ok(Claim::Uncommitted);
                    }
                    if failed(1) {
                        return Ok(Claim::Held);
                    }
                }
                Err(backend(err))
            }
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
    /// otherwise with the undelivered messages (each with its own attempts), its `attempts`
    /// moved on and the next attempt time. Conditional on the `attempts` read, so two
    /// dispatchers never both record an attempt, and a copy read before (a stream record
    /// handed over again) never claims it again.
    async fn settle_item(
        &self,
        batch: &OutboxItem,
        remaining: Vec<OutboxMessage>,
        next_attempt: DateTime<Utc>,
        dead: bool,
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
            // An update, not a put: the dispatcher's policy then needs no PutItem, and the
            // attributes a settle does not own (the commit marker, the keys) stay as written.
            // DynamoDB refuses names and values an expression does not use: each branch
            // declares its own.
            let messages = to_value(&JsonString(remaining))?;
            let attempts = batch.attempts + 1;
            let mut update = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(batch.pk.clone(), batch.sk.clone())))
                .condition_expression("attempts = :a")
                .expression_attribute_values(":a", AttributeValue::N(batch.attempts.to_string()))
                .expression_attribute_values(":m", messages)
                .expression_attribute_values(":n", AttributeValue::N(attempts.to_string()));
            update = if dead {
                update
                    .update_expression("SET messages = :m, attempts = :n, #state = :dead, due_pk = :dp, due_at = :da REMOVE lease_until")
                    .expression_attribute_names("#state", "state")
                    .expression_attribute_values(":dead", s("dead"))
                    .expression_attribute_values(":dp", s(outbox_dead_pk(&tenant_id)))
                    .expression_attribute_values(":da", s(due_at(next_attempt, &batch.sk)))
            } else {
                update
                    .update_expression("SET messages = :m, attempts = :n, due_pk = :dp, due_at = :da REMOVE lease_until")
                    .expression_attribute_values(":dp", s(outbox_due_pk(&tenant_id)))
                    .expression_attribute_values(":da", s(due_at(next_attempt, &batch.sk)))
            };
            update
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
}

/// A key attribute of a raw item, when it is a string.
fn item_key(
    item: &std::collections::HashMap<String, AttributeValue>,
    name: &str,
) -> Option<String> {
    item.get(name).and_then(|v| v.as_s().ok()).cloned()
}

/// A change's outbox in batches (see [`crate::outbox::split`]), each identified by the
/// sort key it is stored under.
fn batches(tenant: &TenantId, messages: &[OutboxMessage]) -> Vec<OutboxBatch> {
    crate::outbox::batches(tenant, messages, |first, n| {
        outbox_sk(&format!("{}#{n}", first.message_id))
    })
}

/// A change's outbox as stored: its batches, due at once.
pub(super) fn outbox_batches(tenant: &TenantId, messages: &[OutboxMessage]) -> Vec<OutboxItem> {
    due_items(tenant, &batches(tenant, messages))
}

/// Batches as stored, each in the due index at its first message's time.
pub(super) fn due_items(tenant: &TenantId, batches: &[OutboxBatch]) -> Vec<OutboxItem> {
    batches
        .iter()
        .map(|batch| OutboxItem {
            due_pk: Some(outbox_due_pk(tenant)),
            due_at: Some(due_at(batch.messages[0].next_attempt_at, &batch.id)),
            ..item_of(batch)
        })
        .collect()
}

pub(super) fn batch_of(item: OutboxItem) -> Result<OutboxBatch, StoreError> {
    Ok(OutboxBatch {
        tenant_id: TenantId::parse(&item.tenant_id)
            .map_err(|e| StoreError::Backend(format!("outbox item: {e}")))?,
        id: item.sk,
        messages: item.messages.0,
        attempts: item.attempts,
        commit: item.commit,
    })
}

/// The stored item of a pending batch, without its due-index entry (claiming and settling
/// rewrite or ignore that).
pub(super) fn item_of(batch: &OutboxBatch) -> OutboxItem {
    OutboxItem {
        pk: tenant_pk(&batch.tenant_id),
        sk: batch.id.clone(),
        tenant_id: batch.tenant_id.to_string(),
        messages: JsonString(batch.messages.clone()),
        attempts: batch.attempts,
        state: "pending".into(),
        due_pk: None,
        due_at: None,
        expires_at: None,
        lease_until: None,
        commit: batch.commit.clone(),
    }
}

impl OutboxStore for DynamoStore {
    fn batches_of(&self, tenant: &TenantId, messages: &[OutboxMessage]) -> Vec<OutboxBatch> {
        batches(tenant, messages)
    }

    async fn due_outbox(
        &self,
        at: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<OutboxBatch>, StoreError> {
        self.due_items("OUTBOX", at, limit)
            .await?
            .into_iter()
            .map(batch_of)
            .collect()
    }

    async fn claim_outbox(
        &self,
        batch: &OutboxBatch,
        now: DateTime<Utc>,
        lease_secs: i64,
    ) -> Result<Claim, StoreError> {
        self.claim_item(&item_of(batch), batch.commit.as_deref(), now, lease_secs)
            .await
    }

    async fn settle_outbox(
        &self,
        batch: &OutboxBatch,
        remaining: Vec<OutboxMessage>,
        next_attempt: DateTime<Utc>,
        dead: bool,
    ) -> Result<bool, StoreError> {
        self.settle_item(&item_of(batch), remaining, next_attempt, dead)
            .await
    }

    async fn all_users(&self, tenant: &TenantId) -> Result<Vec<User>, StoreError> {
        DynamoStore::all_users(self, tenant).await
    }

    async fn redrive_dead(
        &self,
        tenant: Option<&TenantId>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let mut redriven = 0;
        for item in self.dead_items(tenant, now).await? {
            let tenant_id = TenantId::parse(&item.tenant_id)
                .map_err(|e| StoreError::Backend(format!("outbox item: {e}")))?;
            let mut messages = item.messages.0;
            messages.iter_mut().for_each(|m| m.revive(now));
            let count = messages.len();
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .set_key(Some(key(item.pk.clone(), item.sk.clone())))
                .update_expression("SET messages = :m, attempts = :n, #state = :pending, due_pk = :dp, due_at = :da")
                .condition_expression("#state = :dead AND attempts = :a")
                .expression_attribute_names("#state", "state")
                .expression_attribute_values(":m", to_value(&JsonString(messages))?)
                .expression_attribute_values(":n", AttributeValue::N((item.attempts + 1).to_string()))
                .expression_attribute_values(":a", AttributeValue::N(item.attempts.to_string()))
                .expression_attribute_values(":pending", s("pending"))
                .expression_attribute_values(":dead", s("dead"))
                .expression_attribute_values(":dp", s(outbox_due_pk(&tenant_id)))
                .expression_attribute_values(":da", s(due_at(now, &item.sk)))
                .send()
                .await;
            self.metrics.record(None);
            match result {
                Ok(_) => redriven += count,
                // Redriven by another call first.
                Err(err) if condition_failed(&err) => {}
                Err(err) => return Err(backend(err)),
            }
        }
        Ok(redriven)
    }
}

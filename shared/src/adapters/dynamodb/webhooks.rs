//! R38 on the table: each endpoint one item in the tenant's partition (`WH#{id}`, written
//! under its version), and each attempt one item (`WA#{endpoint}#{instant}#{message}`), the
//! oldest beyond the newest 100 deleted as new ones are written.

use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, Put, PutRequest, TransactWriteItem, Update, WriteRequest,
};

use crate::adapters::dynamodb::items::{JsonString, OutboxItem};
use crate::adapters::dynamodb::keys::{outbox_sk, tenant_pk};
use crate::adapters::dynamodb::outbox::due_items;
use crate::adapters::dynamodb::{
    DynamoStore, Guard, backend, built, condition_failed, from_item, key, to_item,
};
use crate::domain::identity::TenantId;
use crate::domain::webhooks::{ATTEMPTS_KEPT, Attempt, Endpoint, MAX_ENDPOINTS, oldest_first};
use crate::outbox::OutboxMessage;
use crate::ports::{LogEntry, StoreError, Webhooks};

pub const ENDPOINT_PREFIX: &str = "WH#";
pub const ATTEMPT_PREFIX: &str = "WA#";
/// The tenant's count of endpoints (`n`), changed in the transaction that adds or deletes one:
/// the limit holds against racing creates, which a count read before the write does not.
const ENDPOINT_COUNT: &str = "WHN";

fn endpoint_sk(id: &str) -> String {
    format!("{ENDPOINT_PREFIX}{id}")
}

fn attempts_prefix(endpoint: &str) -> String {
    format!("{ATTEMPT_PREFIX}{endpoint}#")
}

/// Attempts sort by when they were sent; the message id keeps two in one millisecond apart.
fn attempt_sk(attempt: &Attempt) -> String {
    format!(
        "{}{:013}#{}",
        attempts_prefix(&attempt.endpoint_id),
        attempt.at.timestamp_millis().max(0),
        attempt.message_id
    )
}

#[derive(serde::Serialize, serde::Deserialize)]
struct EndpointItem {
    pk: String,
    sk: String,
    version: u64,
    endpoint: JsonString<Endpoint>,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct AttemptItem {
    pk: String,
    sk: String,
    attempt: JsonString<Attempt>,
}

impl DynamoStore {
    /// Adds `by` to the tenant's count of endpoints; adding one only below the limit.
    fn count_endpoints(&self, tenant: &TenantId, by: i64) -> Result<TransactWriteItem, StoreError> {
        let mut update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant), ENDPOINT_COUNT.to_owned())))
            .update_expression("ADD n :by")
            .expression_attribute_values(":by", AttributeValue::N(by.to_string()));
        if by > 0 {
            update = update
                .condition_expression("attribute_not_exists(n) OR n < :max")
                .expression_attribute_values(":max", AttributeValue::N(MAX_ENDPOINTS.to_string()));
        }
        Ok(TransactWriteItem::builder()
            .update(update.build().map_err(built)?)
            .build())
    }

    /// The sort keys of an endpoint's attempts, newest first.
    async fn attempt_keys(
        &self,
        tenant: &TenantId,
        endpoint: &str,
    ) -> Result<Vec<String>, StoreError> {
        let items = self
            .query_all(
                self.prefix_query(tenant, &attempts_prefix(endpoint))
                    .scan_index_forward(false)
                    .projection_expression("sk"),
            )
            .await?;
        Ok(items
            .into_iter()
            .filter_map(|i| i.get("sk").and_then(|v| v.as_s().ok()).cloned())
            .collect())
    }

    async fn delete_keys(&self, tenant: &TenantId, sks: Vec<String>) -> Result<(), StoreError> {
        let requests = sks
            .into_iter()
            .map(|sk| {
                DeleteRequest::builder()
                    .set_key(Some(key(tenant_pk(tenant), sk)))
                    .build()
                    .map(|d| WriteRequest::builder().delete_request(d).build())
                    .map_err(built)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(requests).await
    }
}

impl Webhooks for DynamoStore {
    async fn endpoints(&self, tenant: &TenantId) -> Result<Vec<Endpoint>, StoreError> {
        let mut all = self
            .query_all(self.prefix_query(tenant, ENDPOINT_PREFIX))
            .await?
            .into_iter()
            .map(|item| from_item::<EndpointItem>(item).map(|i| i.endpoint.0))
            .collect::<Result<Vec<_>, _>>()?;
        oldest_first(&mut all);
        Ok(all)
    }

    async fn put_endpoint(
        &self,
        endpoint: &Endpoint,
        log: Option<&LogEntry>,
        mail: Option<(&str, &OutboxMessage)>,
    ) -> Result<(), StoreError> {
        let item = to_item(&EndpointItem {
            pk: tenant_pk(&endpoint.tenant_id),
            sk: endpoint_sk(&endpoint.endpoint_id),
            version: endpoint.version,
            endpoint: JsonString(endpoint.clone()),
        })?;
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        let guard = if endpoint.version <= 1 {
            put = put.condition_expression("attribute_not_exists(pk)");
            Guard::NewUser
        } else {
            put = put
                .condition_expression("version = :prev")
                .expression_attribute_values(
                    ":prev",
                    AttributeValue::N((endpoint.version - 1).to_string()),
                );
            Guard::Version
        };
        let mut actions = vec![(
            TransactWriteItem::builder()
                .put(put.build().map_err(built)?)
                .build(),
            guard,
        )];
        if endpoint.version <= 1 {
            actions.push((self.count_endpoints(&endpoint.tenant_id, 1)?, Guard::Limit));
        }
        if let Some(log) = log {
            actions.push((self.log_put(log, &endpoint.tenant_id)?, Guard::None));
        }
        if let Some((name, mail)) = mail {
            // Named after the endpoint's version, which the endpoint's condition makes new.
            for batch in outbox_items(&endpoint.tenant_id, name, std::slice::from_ref(mail)) {
                actions.push((self.put(to_item(&batch)?, None)?, Guard::None));
            }
        }
        self.execute(actions).await.map_err(|e| match e {
            StoreError::AlreadyExists(_) => StoreError::AlreadyExists("webhook endpoint"),
            StoreError::LimitReached(_) => StoreError::LimitReached("webhook endpoints"),
            other => other,
        })
    }

    async fn delete_endpoint(
        &self,
        endpoint: &Endpoint,
        log: &LogEntry,
    ) -> Result<bool, StoreError> {
        let tenant = &endpoint.tenant_id;
        let delete = aws_sdk_dynamodb::types::Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(
                tenant_pk(tenant),
                endpoint_sk(&endpoint.endpoint_id),
            )))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(built)?;
        let deleted = self
            .execute(vec![
                (
                    TransactWriteItem::builder().delete(delete).build(),
                    Guard::Version,
                ),
                (self.count_endpoints(tenant, -1)?, Guard::None),
                (self.log_put(log, tenant)?, Guard::None),
            ])
            .await;
        match deleted {
            Ok(()) => {}
            Err(StoreError::Conflict) => return Ok(false),
            Err(e) => return Err(e),
        }
        let keys = self.attempt_keys(tenant, &endpoint.endpoint_id).await?;
        self.delete_keys(tenant, keys).await?;
        Ok(true)
    }

    async fn record_attempts(
        &self,
        tenant: &TenantId,
        attempts: &[Attempt],
    ) -> Result<(), StoreError> {
        if attempts.is_empty() {
            return Ok(());
        }
        let puts = attempts
            .iter()
            .map(|attempt| {
                let item = to_item(&AttemptItem {
                    pk: tenant_pk(tenant),
                    sk: attempt_sk(attempt),
                    attempt: JsonString(attempt.clone()),
                })?;
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map(|p| WriteRequest::builder().put_request(p).build())
                    .map_err(built)
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.batch_write(puts).await?;
        let mut endpoints: Vec<&str> = attempts.iter().map(|a| a.endpoint_id.as_str()).collect();
        endpoints.sort_unstable();
        endpoints.dedup();
        for endpoint in endpoints {
            let old: Vec<String> = self
                .attempt_keys(tenant, endpoint)
                .await?
                .into_iter()
                .skip(ATTEMPTS_KEPT as usize)
                .collect();
            if !old.is_empty() {
                self.delete_keys(tenant, old).await?;
            }
        }
        Ok(())
    }

    async fn attempts(
        &self,
        tenant: &TenantId,
        endpoint_id: &str,
    ) -> Result<Vec<Attempt>, StoreError> {
        self.query_all(
            self.prefix_query(tenant, &attempts_prefix(endpoint_id))
                .scan_index_forward(false),
        )
        .await?
        .into_iter()
        .take(ATTEMPTS_KEPT as usize)
        .map(|item| from_item::<AttemptItem>(item).map(|i| i.attempt.0))
        .collect()
    }

    async fn queue_outbox(
        &self,
        tenant: &TenantId,
        name: &str,
        messages: &[OutboxMessage],
    ) -> Result<usize, StoreError> {
        let mut added = 0;
        for item in outbox_items(tenant, name, messages) {
            self.metrics.spend_write()?;
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(to_item(&item)?))
                .condition_expression("attribute_not_exists(pk)")
                .send()
                .await;
            self.metrics.record(None);
            match result {
                Ok(_) => {
                    self.metrics.wrote(1);
                    added += 1;
                }
                Err(e) if condition_failed(&e) => {}
                Err(e) => return Err(backend(e)),
            }
        }
        Ok(added)
    }
}

/// The outbox items of `messages` as batches named `name`.
fn outbox_items(tenant: &TenantId, name: &str, messages: &[OutboxMessage]) -> Vec<OutboxItem> {
    due_items(
        tenant,
        &crate::outbox::batches(tenant, messages, |_, n| outbox_sk(&format!("{name}#{n}"))),
    )
}

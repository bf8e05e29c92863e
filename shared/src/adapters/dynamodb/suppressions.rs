//! Mail suppressions on the table: one item per address in the tenant's partition
//! (`M#{address}`), apart from the user's item, so that no change that writes the user back
//! can drop one.

use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, Put, ReturnConsumedCapacity, TransactWriteItem, Update,
};

use crate::adapters::dynamodb::keys::{SUB_SK, SUPPRESSION_PREFIX, suppression_sk, tenant_pk};
use crate::adapters::dynamodb::{DynamoStore, backend, built, from_item, key, to_item};
use crate::domain::identity::TenantId;
use crate::domain::suppression::MailSuppression;
use crate::ports::{MailSuppressions, StoreError};

#[derive(serde::Serialize, serde::Deserialize)]
struct SuppressionItem {
    pk: String,
    sk: String,
    suppression: MailSuppression,
}

impl MailSuppressions for DynamoStore {
    /// One Query of the tenant's `M#` items (none, for almost every tenant).
    async fn suppressions(&self, tenant: &TenantId) -> Result<Vec<MailSuppression>, StoreError> {
        self.query_all(self.prefix_query(tenant, SUPPRESSION_PREFIX))
            .await?
            .into_iter()
            .map(|item| from_item::<SuppressionItem>(item).map(|i| i.suppression))
            .collect()
    }

    /// A new address is written with the subscription's count of them, in one transaction
    /// that moves the version on (a change that read the count before commits again, with
    /// it). An address suppressed already, or of a tenant that is gone, is put alone.
    async fn suppress(
        &self,
        tenant: &TenantId,
        suppression: &MailSuppression,
    ) -> Result<(), StoreError> {
        let item = to_item(&SuppressionItem {
            pk: tenant_pk(tenant),
            sk: suppression_sk(&suppression.address),
            suppression: suppression.clone(),
        })?;
        let new = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item.clone()))
            .condition_expression("attribute_not_exists(pk)")
            .build()
            .map_err(built)?;
        let count = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant), SUB_SK.to_owned())))
            .update_expression("SET #s.#n = if_not_exists(#s.#n, :zero) + :one, #v = #v + :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#s", "sub")
            .expression_attribute_names("#n", "suppressed_addresses")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .build()
            .map_err(built)?;
        let counted = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(new).build())
            .transact_items(TransactWriteItem::builder().update(count).build())
            .send()
            .await;
        self.metrics.record(None);
        match counted {
            Ok(_) => return Ok(()),
            Err(err) if !cancelled(&err) => return Err(backend(err)),
            Err(_) => {}
        }
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(backend)?;
        self.metrics
            .record(out.consumed_capacity().and_then(|c| c.capacity_units()));
        Ok(())
    }
}

/// Whether the transaction was cancelled by a condition (the address is there already, or the
/// tenant is gone) and nothing else.
fn cancelled<R>(err: &SdkError<TransactWriteItemsError, R>) -> bool {
    match err.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(e)) => e
            .cancellation_reasons()
            .iter()
            .all(|r| matches!(r.code(), Some("None" | "ConditionalCheckFailed") | None)),
        _ => false,
    }
}

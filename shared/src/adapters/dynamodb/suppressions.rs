//! Mail suppressions on the table: one item per address in the tenant's partition
//! (`M#{address}`), apart from the user's item, so that no change that writes the user back
//! can drop one.

use aws_sdk_dynamodb::types::ReturnConsumedCapacity;

use crate::adapters::dynamodb::keys::{SUPPRESSION_PREFIX, suppression_sk, tenant_pk};
use crate::adapters::dynamodb::{DynamoStore, backend, from_item, to_item};
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

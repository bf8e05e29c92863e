//! R37's usage readings: one item per day in the tenant's partition (`H#{date}`), written in
//! the same transaction as the subscription's mark of the day, so a day is read once.

use chrono::NaiveDate;

use crate::adapters::dynamodb::items::JsonString;
use crate::adapters::dynamodb::keys::{tenant_pk, usage_sk};
use crate::adapters::dynamodb::{DynamoStore, Guard, from_item, s, to_item};
use crate::domain::account::Account;
use crate::domain::identity::TenantId;
use crate::domain::usage::UsageReading;
use crate::ports::{StoreError, UsageHistory};

#[derive(serde::Serialize, serde::Deserialize)]
struct UsageItem {
    pk: String,
    sk: String,
    reading: JsonString<UsageReading>,
}

impl UsageHistory for DynamoStore {
    async fn record_usage(
        &self,
        account: &Account,
        reading: Option<&UsageReading>,
    ) -> Result<(), StoreError> {
        let read = account.subscription.version;
        let sub = Self::sub_item(account, read + 1)?;
        let mut actions = vec![(self.versioned_put(sub, read)?, Guard::Version)];
        if let Some(reading) = reading {
            let item = to_item(&UsageItem {
                pk: tenant_pk(&account.subscription.tenant_id),
                sk: usage_sk(reading.date),
                reading: JsonString(reading.clone()),
            })?;
            actions.push((self.put(item, None)?, Guard::None));
        }
        self.execute(actions).await
    }

    /// One Query (400 readings of a few pools are far below its megabyte), paged on beyond.
    async fn usage_readings(
        &self,
        tenant: &TenantId,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<UsageReading>, StoreError> {
        let query = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":low", s(usage_sk(from)))
            .expression_attribute_values(":high", s(usage_sk(to)))
            .consistent_read(true);
        self.query_all(query)
            .await?
            .into_iter()
            .map(|item| from_item::<UsageItem>(item).map(|i| i.reading.0))
            .collect()
    }
}

//! Bulk seeding for tests and benchmarks (feature `test-fixtures`): a tenant of thousands of
//! users written with `BatchWriteItem` in seconds, instead of one transaction per user. The
//! seats and red seats are derived by the same domain rules a create applies (R2–R4), and the
//! subscription is written last under its version, so what a test then reads is exactly what
//! as many single creates would have left.

use aws_sdk_dynamodb::types::AttributeValue;
use std::sync::atomic::Ordering;

use super::items::{JSON_STRING_ATTRIBUTES, SeatItem, UserItem};
use super::keys::{seat_sk, tenant_pk};
use super::{DynamoStore, Item, backend, item_size, to_item};
use crate::domain::account::SeatInfo;
use crate::domain::events::DomainEvent;
use crate::domain::identity::TenantId;
use crate::domain::user::User;
use crate::ports::{AccountReads, Page, PageRequest, StoreError};

impl DynamoStore {
    /// The same table through a store that dies after `writes` write calls (each
    /// `BatchWriteItem`, `TransactWriteItems` or single-item write counts one): a process
    /// killed between any two writes of a change, for the crash tests.
    pub fn crashing_after(&self, writes: i64) -> Self {
        let store = Self::new(self.client.clone(), self.table.clone());
        store.metrics.writes_left.store(writes, Ordering::SeqCst);
        store
    }

    /// Adds `users` (new, in activation order) to an existing tenant.
    pub async fn seed_users(&self, tenant: &TenantId, users: Vec<User>) -> Result<(), StoreError> {
        let loaded = self
            .load_account(tenant)
            .await?
            .ok_or_else(|| StoreError::Backend(format!("seed: no tenant {tenant}")))?;
        let mut account = loaded.account;
        let version = account.subscription.version;
        let pk = tenant_pk(tenant);
        let mut writes = Vec::new();
        let mut events: Vec<DomainEvent> = Vec::new();
        for user in &users {
            account.subscription.users += 1;
            if user.active {
                account.subscription.count_active(&user.role, true);
            }
            for (pool, seat) in user.seats() {
                account.subscription.tick(seat.since);
                account
                    .add_seat(
                        &pool,
                        seat.clone(),
                        user.name.as_str(),
                        seat.since,
                        &mut events,
                    )
                    .map_err(|e| StoreError::Backend(e.to_string()))?;
                writes.push(Self::put_request(to_item(&SeatItem {
                    pk: pk.clone(),
                    sk: seat_sk(&pool, &seat),
                    seat: SeatInfo {
                        pool,
                        seat,
                        name: user.name.to_string(),
                    },
                })?)?);
            }
            writes.push(Self::put_request(to_item(&UserItem::new(
                tenant,
                user.clone(),
            ))?)?);
        }
        for red in account.red_changes().put {
            writes.push(Self::put_request(Self::red_item(tenant, red)?)?);
        }
        self.batch_write_concurrently(writes).await?;
        let item = Self::sub_item(&account, version + 1)?;
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("version = :v")
            .expression_attribute_values(":v", AttributeValue::N(version.to_string()))
            .send()
            .await
            .map_err(backend)?;
        Ok(())
    }

    /// Every item of a tenant's partition under `prefix` (`U#` users, `L#` log, `O#` outbox,
    /// `S#` seats …), as stored, with the documents stored as JSON strings (`JSON_STRING_ATTRIBUTES`) read back as
    /// JSON: what the crash tests compare two runs on.
    pub async fn partition(
        &self,
        tenant: &TenantId,
        prefix: &str,
    ) -> Result<Vec<serde_json::Value>, StoreError> {
        let mut all = Vec::new();
        let mut page = PageRequest {
            cursor: None,
            limit: 1000,
        };
        loop {
            let got: Page<serde_json::Value> = self
                .query_prefix(tenant_pk(tenant), prefix, &page, true)
                .await?;
            all.extend(got.items.into_iter().map(|mut item| {
                for name in JSON_STRING_ATTRIBUTES {
                    if let Some(serde_json::Value::String(text)) = item.get(name)
                        && let Ok(document) = serde_json::from_str(text)
                    {
                        item[name] = document;
                    }
                }
                item
            }));
            match got.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(all),
            }
        }
    }

    /// Every item of the table with its size as DynamoDB counts it (attribute names plus
    /// values), largest first: for the tests that hold items to a size.
    pub async fn item_sizes(&self) -> Result<Vec<(String, String, usize)>, StoreError> {
        let mut sizes = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let out = self
                .client
                .scan()
                .table_name(&self.table)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for item in out.items.unwrap_or_default() {
                let pk = item.get("pk").and_then(|v| v.as_s().ok()).cloned();
                let sk = item.get("sk").and_then(|v| v.as_s().ok()).cloned();
                sizes.push((
                    pk.unwrap_or_default(),
                    sk.unwrap_or_default(),
                    item_size(&item),
                ));
            }
            match out.last_evaluated_key {
                Some(key) => start = Some(key),
                None => break,
            }
        }
        sizes.sort_by_key(|size| std::cmp::Reverse(size.2));
        Ok(sizes)
    }
}

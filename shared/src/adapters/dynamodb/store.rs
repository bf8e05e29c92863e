//! The store's ports implemented on the table: each method one or two requests (a read of
//! many keys, one `BatchGetItem` per hundred), built from the reads, writes and plans of the
//! sibling modules.

use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use chrono::{DateTime, Utc};

use crate::adapters::dynamodb::items::{
    IdempotencyItem, InvoiceItem, JsonString, LogItem, QuoteItem, RedItem, SeatItem, SubItem,
    UserItem,
};
use crate::adapters::dynamodb::keys::{
    DUE_SHARDS, RED_PREFIX, SUB_SK, idempotency_sk, quote_sk, red_sk, seat_prefix, tenant_pk,
    user_sk,
};
use crate::adapters::dynamodb::{
    DynamoStore, Item, backend, condition_failed, from_item, key, s, to_item,
};
use crate::domain::account::{Account, SeatInfo};
use crate::domain::allocation::RedSeat;
use crate::domain::identity::{QuoteId, TenantId, UserId};
use crate::domain::invoice::Invoice;
use crate::domain::pool::PoolId;
use crate::domain::quote::Quote;
use crate::domain::user::User;
use crate::ports::{
    AccountReads, Change, Commits, DueIndex, DueWork, IdempotencyRecord, Listings, Loaded,
    LogEntry, Page, PageRequest, Quotes, Span, StoreError, StoredQuote,
};

/// The key `warm` reads: no item has it (tenant keys start with `T#`).
const WARM_KEY: &str = "WARM";

impl AccountReads for DynamoStore {
    fn usage(&self) -> crate::ports::StoreUsage {
        crate::ports::StoreUsage {
            calls: self.metrics.calls(),
            capacity: self.metrics.capacity(),
            items_written: self.metrics.items_written(),
        }
    }

    /// One read of a key nothing writes: the cheapest call every function's policy allows
    /// (GetItem, which every port set reaches), made during init so that the connection and
    /// its TLS handshake are ready for the first request. A failure is only logged: the first
    /// request then connects as it would have.
    async fn warm(&self) {
        if let Err(error) = self.get::<SubItem>(WARM_KEY.into(), WARM_KEY.into()).await {
            tracing::warn!(%error, "the DynamoDB connection could not be opened during init");
        }
    }

    /// The subscription (one strongly consistent GetItem), then its red seats (`account_of`).
    async fn load_account(&self, tenant: &TenantId) -> Result<Option<Loaded>, StoreError> {
        let Some(item) = self
            .get::<SubItem>(tenant_pk(tenant), SUB_SK.to_owned())
            .await?
        else {
            return Ok(None);
        };
        self.account_of(tenant, item).await.map(Some)
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

    async fn red_records(&self, tenant: &TenantId) -> Result<Vec<RedSeat>, StoreError> {
        self.query_all(self.prefix_query(tenant, RED_PREFIX))
            .await?
            .into_iter()
            .map(|item| from_item::<RedItem>(item).map(|i| i.red))
            .collect()
    }

    async fn load_users(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
    ) -> Result<std::collections::BTreeMap<UserId, User>, StoreError> {
        let pk = tenant_pk(tenant);
        let unique: std::collections::BTreeSet<&UserId> = ids.iter().collect();
        let keys: Vec<Item> = unique
            .into_iter()
            .map(|u| key(pk.clone(), user_sk(u.as_str())))
            .collect();
        let mut users = std::collections::BTreeMap::new();
        for item in self.batch_get(keys, None).await? {
            let user = from_item::<UserItem>(item)?.user;
            users.insert(user.user_id.clone(), user);
        }
        Ok(users)
    }

    async fn existing_users(
        &self,
        tenant: &TenantId,
        users: &[UserId],
    ) -> Result<std::collections::BTreeSet<UserId>, StoreError> {
        let pk = tenant_pk(tenant);
        let mut existing = std::collections::BTreeSet::new();
        let unique: std::collections::BTreeSet<&UserId> = users.iter().collect();
        let keys: Vec<Item> = unique
            .into_iter()
            .map(|u| key(pk.clone(), user_sk(u.as_str())))
            .collect();
        for item in self.batch_get(keys, Some("sk")).await? {
            let id = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .and_then(|sk| sk.strip_prefix("U#"))
                .and_then(|id| UserId::parse(id).ok());
            existing.extend(id);
        }
        Ok(existing)
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
}

impl Listings for DynamoStore {
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
        self.list(tenant, "L#", page, false, |i: LogItem| i.entry.0)
            .await
    }

    async fn list_invoices(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Invoice>, StoreError> {
        self.list(tenant, "I#", page, false, |i: InvoiceItem| i.invoice.0)
            .await
    }

    async fn export_log(
        &self,
        tenant: &TenantId,
        span: Span,
        page: &PageRequest,
    ) -> Result<Page<LogEntry>, StoreError> {
        self.list_span(tenant, "L#", span, page, |i: LogItem| i.entry.0)
            .await
    }

    async fn export_invoices(
        &self,
        tenant: &TenantId,
        span: Span,
        page: &PageRequest,
    ) -> Result<Page<Invoice>, StoreError> {
        self.list_span(tenant, "I#", span, page, |i: InvoiceItem| i.invoice.0)
            .await
    }
}

impl Quotes for DynamoStore {
    async fn put_quote(&self, quote: &Quote) -> Result<(), StoreError> {
        let item = to_item(&QuoteItem {
            pk: tenant_pk(&quote.tenant_id),
            sk: quote_sk(&quote.quote_id),
            quote: JsonString(quote.clone()),
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
        quote_id: &QuoteId,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredQuote>, StoreError> {
        let item: Option<QuoteItem> = self.get(tenant_pk(tenant), quote_sk(quote_id)).await?;
        Ok(item.and_then(|i| i.live(now)))
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
        Ok(item.and_then(|i| i.live(now)))
    }

    async fn load_approval(
        &self,
        tenant: &TenantId,
        user: &UserId,
        key_digest: Option<&str>,
        quote_id: &QuoteId,
        now: DateTime<Utc>,
    ) -> Result<crate::ports::ApprovalReads, StoreError> {
        let pk = tenant_pk(tenant);
        let mut keys = vec![
            key(pk.clone(), SUB_SK.to_owned()),
            key(pk.clone(), user_sk(user.as_str())),
            key(pk.clone(), quote_sk(quote_id)),
        ];
        if let Some(digest) = key_digest {
            keys.push(key(pk.clone(), idempotency_sk(digest)));
        }
        let mut reads = crate::ports::ApprovalReads::default();
        let mut sub = None;
        for item in self.batch_get(keys, None).await? {
            let sk = item
                .get("sk")
                .and_then(|v| v.as_s().ok())
                .cloned()
                .unwrap_or_default();
            if sk == SUB_SK {
                sub = Some(from_item::<SubItem>(item)?);
            } else if sk.starts_with("U#") {
                reads.user = Some(from_item::<UserItem>(item)?.user);
            } else if sk.starts_with("Q#") {
                reads.quote = from_item::<QuoteItem>(item)?.live(now);
            } else if sk.starts_with("K#") {
                reads.idempotency = from_item::<IdempotencyItem>(item)?.live(now);
            }
        }
        if let Some(item) = sub {
            reads.account = Some(self.account_of(tenant, item).await?);
        }
        Ok(reads)
    }
}

impl Commits for DynamoStore {
    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        self.commit_change(change).await
    }

    async fn delete_red_records(
        &self,
        tenant: &TenantId,
        records: &[RedSeat],
    ) -> Result<(), StoreError> {
        use futures::StreamExt;
        let deletes: Vec<_> = records
            .iter()
            .map(|red| self.delete_red_record(tenant, red))
            .collect();
        let results: Vec<Result<(), StoreError>> = futures::stream::iter(deletes)
            .buffer_unordered(8)
            .collect()
            .await;
        results.into_iter().collect()
    }
}

impl DynamoStore {
    /// Deletes a red-seat record only if it is the one read: a change that made the seat red
    /// again since wrote it anew (another deadline), and that live record stays.
    async fn delete_red_record(&self, tenant: &TenantId, red: &RedSeat) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(tenant_pk(tenant), red_sk(&red.pool, &red.seat))))
            .condition_expression("due_at = :seen")
            .expression_attribute_values(":seen", s(Self::red_due_at(tenant, red)))
            .send()
            .await;
        self.metrics.record(None);
        match result {
            Ok(_) => Ok(()),
            Err(err) if condition_failed(&err) => {
                tracing::info!(tenant = %tenant, seat = %red.seat.user_id, "a red-seat record made live again is kept");
                Ok(())
            }
            Err(err) => Err(backend(err)),
        }
    }
}

impl DueIndex for DynamoStore {
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

impl DynamoStore {
    /// The account of a subscription item read: its red-seat records are read only when its
    /// counts say a pool has any, so a tenant without red seats costs one item to read,
    /// however many users it has. A change committed between the two reads moves the
    /// version, so a command built on them fails its commit and reads again.
    async fn account_of(&self, tenant: &TenantId, item: SubItem) -> Result<Loaded, StoreError> {
        let mut subscription = item.sub;
        subscription.version = item.version;
        let reds = if subscription.pools.iter().any(|p| p.over_allocated() > 0) {
            self.red_records(tenant).await?
        } else {
            Vec::new()
        };
        let (account, stale) = Account::from_parts(subscription, reds);
        Ok(Loaded { account, stale })
    }
}

//! Reads: one page of a tenant's items by sort-key prefix (the cursor a position inside that
//! listing), every page, and the due index's shards.

use aws_sdk_dynamodb::operation::query::QueryOutput;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::ReturnConsumedCapacity;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;

use crate::adapters::dynamodb::items::{RedItem, SubItem, UserItem};
use crate::adapters::dynamodb::keys::tenant_pk;
use crate::adapters::dynamodb::{DynamoStore, Item, backend, from_item, key, s, schema};
use crate::domain::identity::TenantId;
use crate::domain::user::User;
use crate::ports::{DueWork, Page, PageRequest, Span, StoreError};

/// A cursor is the hex of the last item's sort key after the listing's prefix: a position in
/// the caller's own listing, never a key of another partition or kind. Any hex string is a
/// position (bytes that are not UTF-8 are read lossily), so every cursor the contract allows
/// (`^([0-9A-Fa-f]{2}){0,256}$`) is answered with a page, and anything else is refused.
pub(super) fn encode_cursor(sk: &str, prefix: &str) -> String {
    use std::fmt::Write;
    let suffix = sk.strip_prefix(prefix).unwrap_or(sk);
    suffix.bytes().fold(String::new(), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

pub(super) fn decode_cursor(cursor: &str, prefix: &str) -> Result<String, StoreError> {
    let bytes = hex::decode(cursor).map_err(|_| StoreError::BadCursor)?;
    Ok(format!("{prefix}{}", String::from_utf8_lossy(&bytes)))
}

impl DynamoStore {
    /// One page of a tenant's items with a sort-key prefix.
    pub(super) async fn query_prefix<T: DeserializeOwned>(
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
    pub(super) async fn list<I: DeserializeOwned, T>(
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

    /// Every item of a tenant under a sort-key prefix, strongly consistent (for `query_all`).
    pub(super) fn prefix_query(&self, tenant: &TenantId, prefix: &str) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
            .expression_attribute_values(":pk", s(tenant_pk(tenant)))
            .expression_attribute_values(":prefix", s(prefix))
            .consistent_read(true)
    }

    /// One page, oldest first, of a tenant's items keyed `{prefix}{instant}#{id}` whose
    /// instant lies in `span`: a key range, so what lies outside is never read.
    pub(super) async fn list_span<I: DeserializeOwned, T>(
        &self,
        tenant: &TenantId,
        prefix: &str,
        span: Span,
        page: &PageRequest,
        map: fn(I) -> T,
    ) -> Result<Page<T>, StoreError> {
        let pk = tenant_pk(tenant);
        // `until` excluded: every key at that instant sorts after the bare instant.
        let low = format!("{prefix}{}", crate::time::sortable(span.from));
        let high = format!("{prefix}{}", crate::time::sortable(span.until));
        let mut request = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND sk BETWEEN :low AND :high")
            .expression_attribute_values(":pk", s(pk.clone()))
            .expression_attribute_values(":low", s(low.clone()))
            .expression_attribute_values(":high", s(high.clone()))
            .scan_index_forward(true)
            .consistent_read(true)
            .limit(page.limit.clamp(1, 1000) as i32);
        if let Some(cursor) = &page.cursor {
            let sk = decode_cursor(cursor, prefix)?;
            // Any cursor is a position (as in the other listings), but DynamoDB refuses a
            // start key outside the key condition: one before the span starts at its start,
            // one after it has nothing after it.
            if sk > high {
                return Ok(Page {
                    items: Vec::new(),
                    next_cursor: None,
                });
            }
            if sk >= low {
                request = request.set_exclusive_start_key(Some(key(pk, sk)));
            }
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
            .map(|item| from_item::<I>(item).map(map))
            .collect::<Result<Vec<T>, _>>()?;
        Ok(Page { items, next_cursor })
    }

    /// Every user of the tenant, page by page (the notifier picks the managers it mails).
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

impl DynamoStore {
    /// One Query call, its consumed capacity recorded.
    pub(super) async fn query_page(
        &self,
        query: QueryFluentBuilder,
    ) -> Result<QueryOutput, StoreError> {
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
    pub(super) async fn query_all(
        &self,
        query: QueryFluentBuilder,
    ) -> Result<Vec<Item>, StoreError> {
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
    pub(super) fn due_query(
        &self,
        kind: &str,
        shard: u32,
        at: DateTime<Utc>,
    ) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .index_name(schema::DUE_INDEX)
            .key_condition_expression("due_pk = :p AND due_at <= :t")
            .expression_attribute_values(":p", s(format!("{kind}#{shard}")))
            .expression_attribute_values(":t", s(format!("{}~", crate::time::sortable(at))))
    }

    /// The due rollovers (`ROLL`) or red seats (`SEAT`) of one shard.
    pub(super) async fn due_shard(
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

//! R34 on the table: a directory key per unique `userName` and `externalId` of a user SCIM
//! manages (`N#u#{lower-case userName}`, `N#x#{externalId}` in the tenant's partition, written
//! by the user's own change, see `commit.rs`), and each provisioning token twice: in the
//! tenant's partition (`P#{id}`, for the list) and under its hash (`SCIMTOKEN#{hash}`, the one
//! GetItem a SCIM request authenticates with).

use aws_sdk_dynamodb::types::{AttributeValue, Put, TransactWriteItem, Update};

use crate::adapters::dynamodb::items::{JsonString, LogItem};
use crate::adapters::dynamodb::keys::{log_sk, tenant_pk};
use crate::adapters::dynamodb::{DynamoStore, Guard, built, from_item, key, s, to_item};
use crate::domain::directory::{DirectoryKey, ProvisioningToken};
use crate::domain::identity::{TenantId, UserId};
use crate::ports::{Directories, LogEntry, StoreError};

pub const DIRECTORY_PREFIX: &str = "N#";
pub const TOKEN_PREFIX: &str = "P#";

pub fn directory_sk(key: &DirectoryKey) -> String {
    match key {
        DirectoryKey::UserName(name) => format!("{DIRECTORY_PREFIX}u#{name}"),
        DirectoryKey::ExternalId(id) => format!("{DIRECTORY_PREFIX}x#{id}"),
    }
}

fn token_sk(token_id: &str) -> String {
    format!("{TOKEN_PREFIX}{token_id}")
}

fn token_lookup_pk(hash: &str) -> String {
    format!("SCIMTOKEN#{hash}")
}

const TOKEN_LOOKUP_SK: &str = "SCIMTOKEN";

#[derive(serde::Serialize, serde::Deserialize)]
pub(super) struct DirectoryKeyItem {
    pub pk: String,
    pub sk: String,
    pub user_id: UserId,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct TokenItem {
    pk: String,
    sk: String,
    token: ProvisioningToken,
}

impl DynamoStore {
    pub(super) fn log_put(
        &self,
        log: &LogEntry,
        tenant: &TenantId,
    ) -> Result<TransactWriteItem, StoreError> {
        self.put(
            to_item(&LogItem {
                pk: tenant_pk(tenant),
                sk: log_sk(log.at, &log.entry_id),
                entry: JsonString(log.clone()),
            })?,
            None,
        )
    }

    fn touch(&self, pk: String, sk: String, at: &str) -> Result<Update, StoreError> {
        Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .update_expression("SET #t.last_used = :at")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#t", "token")
            .expression_attribute_values(":at", s(at))
            .build()
            .map_err(built)
    }
}

impl Directories for DynamoStore {
    async fn directory_user(
        &self,
        tenant: &TenantId,
        key: &DirectoryKey,
    ) -> Result<Option<UserId>, StoreError> {
        Ok(self
            .get::<DirectoryKeyItem>(tenant_pk(tenant), directory_sk(key))
            .await?
            .map(|i| i.user_id))
    }

    async fn put_token(&self, token: &ProvisioningToken, log: &LogEntry) -> Result<(), StoreError> {
        let listed = to_item(&TokenItem {
            pk: tenant_pk(&token.tenant_id),
            sk: token_sk(&token.token_id),
            token: token.clone(),
        })?;
        let lookup = to_item(&TokenItem {
            pk: token_lookup_pk(&token.hash),
            sk: TOKEN_LOOKUP_SK.to_owned(),
            token: token.clone(),
        })?;
        let fresh = Some("attribute_not_exists(pk)");
        self.execute(vec![
            (self.put(listed, fresh)?, Guard::NewUser),
            (self.put(lookup, fresh)?, Guard::NewUser),
            (self.log_put(log, &token.tenant_id)?, Guard::None),
        ])
        .await
        .map_err(|e| match e {
            StoreError::AlreadyExists(_) => StoreError::AlreadyExists("token"),
            other => other,
        })
    }

    async fn tokens(&self, tenant: &TenantId) -> Result<Vec<ProvisioningToken>, StoreError> {
        self.query_all(self.prefix_query(tenant, TOKEN_PREFIX))
            .await?
            .into_iter()
            .map(|item| from_item::<TokenItem>(item).map(|i| i.token))
            .collect()
    }

    async fn revoke_token(
        &self,
        tenant: &TenantId,
        token_id: &str,
        log: &LogEntry,
    ) -> Result<bool, StoreError> {
        let Some(item) = self
            .get::<TokenItem>(tenant_pk(tenant), token_sk(token_id))
            .await?
        else {
            return Ok(false);
        };
        self.execute(vec![
            (self.delete(item.pk, item.sk)?, Guard::None),
            (
                self.delete(
                    token_lookup_pk(&item.token.hash),
                    TOKEN_LOOKUP_SK.to_owned(),
                )?,
                Guard::None,
            ),
            (self.log_put(log, tenant)?, Guard::None),
        ])
        .await?;
        Ok(true)
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ProvisioningToken>, StoreError> {
        Ok(self
            .get::<TokenItem>(token_lookup_pk(hash), TOKEN_LOOKUP_SK.to_owned())
            .await?
            .map(|i| i.token))
    }

    /// Both copies, in one transaction conditioned on each still existing: a token revoked
    /// meanwhile is not written back.
    async fn token_used(
        &self,
        token: &ProvisioningToken,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let touch = |pk: String, sk: String| -> Result<(TransactWriteItem, Guard), StoreError> {
            let update = self.touch(pk, sk, &at)?;
            Ok((
                TransactWriteItem::builder().update(update).build(),
                Guard::None,
            ))
        };
        self.execute(vec![
            touch(tenant_pk(&token.tenant_id), token_sk(&token.token_id))?,
            touch(token_lookup_pk(&token.hash), TOKEN_LOOKUP_SK.to_owned())?,
        ])
        .await
    }
}

/// A directory key's item, put only if no user holds the key.
pub(super) fn directory_key_put(
    store: &DynamoStore,
    tenant: &TenantId,
    key: &DirectoryKey,
    user: &UserId,
) -> Result<TransactWriteItem, StoreError> {
    let item = to_item(&DirectoryKeyItem {
        pk: tenant_pk(tenant),
        sk: directory_sk(key),
        user_id: user.clone(),
    })?;
    Ok(TransactWriteItem::builder()
        .put(
            Put::builder()
                .table_name(&store.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(pk) OR user_id = :u")
                .expression_attribute_values(":u", AttributeValue::S(user.to_string()))
                .build()
                .map_err(built)?,
        )
        .build())
}

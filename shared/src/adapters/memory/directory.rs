//! R34's tokens and directory keys: the keys read off the users, as the table's key items are
//! written with them.

use super::MemoryStore;
use crate::domain::directory::{DirectoryKey, ProvisioningToken};
use crate::domain::identity::{TenantId, UserId};
use crate::ports::{Directories, LogEntry, StoreError};

impl Directories for MemoryStore {
    async fn directory_user(
        &self,
        tenant: &TenantId,
        key: &DirectoryKey,
    ) -> Result<Option<UserId>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant).and_then(|d| {
                d.users
                    .values()
                    .find(|u| u.directory.as_ref().is_some_and(|r| r.keys().contains(key)))
                    .map(|u| u.user_id.clone())
            }))
        })
    }

    async fn put_token(&self, token: &ProvisioningToken, log: &LogEntry) -> Result<(), StoreError> {
        self.with(|t| {
            let data = t.entry(token.tenant_id.clone()).or_default();
            if data.tokens.contains_key(&token.token_id) {
                return Err(StoreError::AlreadyExists("token"));
            }
            data.tokens.insert(token.token_id.clone(), token.clone());
            data.log.push(log.clone());
            Ok(())
        })
    }

    async fn tokens(&self, tenant: &TenantId) -> Result<Vec<ProvisioningToken>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant)
                .map(|d| d.tokens.values().cloned().collect())
                .unwrap_or_default())
        })
    }

    async fn revoke_token(
        &self,
        tenant: &TenantId,
        token_id: &str,
        log: &LogEntry,
    ) -> Result<bool, StoreError> {
        self.with(|t| {
            let Some(data) = t.get_mut(tenant) else {
                return Ok(false);
            };
            let gone = data.tokens.remove(token_id).is_some();
            if gone {
                data.log.push(log.clone());
            }
            Ok(gone)
        })
    }

    async fn token_by_hash(&self, hash: &str) -> Result<Option<ProvisioningToken>, StoreError> {
        self.with(|t| {
            Ok(t.values()
                .flat_map(|d| d.tokens.values())
                .find(|k| k.hash == hash)
                .cloned())
        })
    }

    async fn token_used(
        &self,
        token: &ProvisioningToken,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), StoreError> {
        self.with(|t| {
            if let Some(k) = t
                .get_mut(&token.tenant_id)
                .and_then(|d| d.tokens.get_mut(&token.token_id))
            {
                k.last_used = Some(at);
            }
            Ok(())
        })
    }
}

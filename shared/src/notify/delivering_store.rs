//! The delivering store: a store whose commits deliver their outbox right after they succeed
//! (what failed waits for `dispatch_due`).

use chrono::{DateTime, Utc};

use crate::domain::identity::TenantId;
use crate::domain::user::User;
use crate::ports::{Change, OutboxStore, Store, StoreError};

use super::delivery::deliver;
use super::sender::Notifier;

/// A store that delivers each change's outbox right after it commits. A failure to deliver
/// never fails the change: the messages stay in the outbox for the scheduled dispatcher.
#[derive(Clone)]
pub struct DeliveringStore<S> {
    pub store: S,
    pub notifier: Notifier,
}

impl<S: Store + OutboxStore> DeliveringStore<S> {
    async fn after_commit(&self, change: &Change) {
        if change.outbox.is_empty() {
            return;
        }
        let tenant = &change.account.subscription.tenant_id;
        let batches = self.store.batches_of(tenant, &change.outbox);
        let delivery = deliver(&self.store, &self.notifier, batches, change.now);
        match tokio::time::timeout(std::time::Duration::from_secs(3), delivery).await {
            Ok(Ok(report)) => tracing::debug!(?report, "delivered after commit"),
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "delivery after commit failed; the dispatcher retries")
            }
            Err(_) => tracing::warn!("delivery after commit timed out; the dispatcher retries"),
        }
    }
}

impl<S: Store + OutboxStore> Store for DeliveringStore<S> {
    fn usage(&self) -> crate::ports::StoreUsage {
        self.store.usage()
    }
    async fn load_account(&self, t: &TenantId) -> Result<Option<crate::ports::Loaded>, StoreError> {
        self.store.load_account(t).await
    }
    async fn load_user(
        &self,
        t: &TenantId,
        u: &crate::domain::identity::UserId,
    ) -> Result<Option<User>, StoreError> {
        self.store.load_user(t, u).await
    }
    async fn red_records(
        &self,
        t: &TenantId,
    ) -> Result<Vec<crate::domain::allocation::RedSeat>, StoreError> {
        self.store.red_records(t).await
    }
    async fn existing_users(
        &self,
        t: &TenantId,
        u: &[crate::domain::identity::UserId],
    ) -> Result<std::collections::BTreeSet<crate::domain::identity::UserId>, StoreError> {
        self.store.existing_users(t, u).await
    }
    async fn newest_seats(
        &self,
        t: &TenantId,
        p: &crate::domain::pool::PoolId,
        n: u32,
    ) -> Result<Vec<crate::domain::account::SeatInfo>, StoreError> {
        self.store.newest_seats(t, p, n).await
    }
    async fn list_users(
        &self,
        t: &TenantId,
        p: &crate::ports::PageRequest,
    ) -> Result<crate::ports::Page<User>, StoreError> {
        self.store.list_users(t, p).await
    }
    async fn list_log(
        &self,
        t: &TenantId,
        p: &crate::ports::PageRequest,
    ) -> Result<crate::ports::Page<crate::ports::LogEntry>, StoreError> {
        self.store.list_log(t, p).await
    }
    async fn list_invoices(
        &self,
        t: &TenantId,
        p: &crate::ports::PageRequest,
    ) -> Result<crate::ports::Page<crate::domain::invoice::Invoice>, StoreError> {
        self.store.list_invoices(t, p).await
    }
    async fn put_quote(&self, q: &crate::domain::quote::Quote) -> Result<(), StoreError> {
        self.store.put_quote(q).await
    }
    async fn get_quote(
        &self,
        t: &TenantId,
        q: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::ports::StoredQuote>, StoreError> {
        self.store.get_quote(t, q, now).await
    }
    async fn get_idempotency(
        &self,
        t: &TenantId,
        k: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::ports::IdempotencyRecord>, StoreError> {
        self.store.get_idempotency(t, k, now).await
    }
    async fn load_approval(
        &self,
        t: &TenantId,
        u: &crate::domain::identity::UserId,
        k: Option<&str>,
        q: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::ports::ApprovalReads, StoreError> {
        self.store.load_approval(t, u, k, q, now).await
    }
    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        self.store.commit(change.clone()).await?;
        self.after_commit(&change).await;
        Ok(())
    }
    async fn delete_red_records(
        &self,
        t: &TenantId,
        r: &[crate::domain::allocation::RedSeat],
    ) -> Result<(), StoreError> {
        self.store.delete_red_records(t, r).await
    }
    async fn due_work(&self, at: DateTime<Utc>) -> Result<Vec<crate::ports::DueWork>, StoreError> {
        self.store.due_work(at).await
    }
}

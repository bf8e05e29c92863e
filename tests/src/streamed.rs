//! A store whose commits are followed by the stream path, in the test's own process: the
//! change commits, then the table's stream is read (`StreamReader`) and each batch handed to
//! the dispatcher's handler (`on_stream`), as the event source mapping and the `dispatcher`
//! function do on AWS. Tests of mail and events use it to see a change's messages when the
//! change returns; the request path itself never delivers.

use chrono::{DateTime, Utc};
use licensing::adapters::dynamodb::DynamoStore;
use licensing::domain::identity::TenantId;
use licensing::domain::user::User;
use licensing::notify::Notifier;
use licensing::ports::{Change, Store, StoreError};
use std::sync::Arc;
use tokio::sync::Mutex;

use crate::stream_reader::{InProcess, StreamReader};

#[derive(Clone)]
pub struct Streamed {
    pub store: DynamoStore,
    pub notifier: Notifier,
    reader: Arc<Mutex<StreamReader>>,
}

impl Streamed {
    /// The store's table's stream, read from its start.
    pub async fn new(store: DynamoStore, notifier: Notifier) -> Self {
        let reader = StreamReader::open(&crate::sdk().await, store.table(), None)
            .await
            .expect("the table's stream");
        Self {
            store,
            notifier,
            reader: Arc::new(Mutex::new(reader)),
        }
    }

    /// Reads the stream until it is caught up, delivering what it holds as at `now` (the
    /// change's instant: tests run on their own calendar).
    pub async fn deliver(&self, now: DateTime<Utc>) {
        let dispatch = InProcess {
            store: &self.store,
            notifier: &self.notifier,
            now: Some(now),
        };
        let mut reader = self.reader.lock().await;
        reader.drain(&dispatch, 20).await.expect("stream read");
    }
}

impl Store for Streamed {
    fn usage(&self) -> licensing::ports::StoreUsage {
        self.store.usage()
    }
    async fn load_account(
        &self,
        t: &TenantId,
    ) -> Result<Option<licensing::ports::Loaded>, StoreError> {
        self.store.load_account(t).await
    }
    async fn load_user(
        &self,
        t: &TenantId,
        u: &licensing::domain::identity::UserId,
    ) -> Result<Option<User>, StoreError> {
        self.store.load_user(t, u).await
    }
    async fn red_records(
        &self,
        t: &TenantId,
    ) -> Result<Vec<licensing::domain::allocation::RedSeat>, StoreError> {
        self.store.red_records(t).await
    }
    async fn existing_users(
        &self,
        t: &TenantId,
        u: &[licensing::domain::identity::UserId],
    ) -> Result<std::collections::BTreeSet<licensing::domain::identity::UserId>, StoreError> {
        self.store.existing_users(t, u).await
    }
    async fn newest_seats(
        &self,
        t: &TenantId,
        p: &licensing::domain::pool::PoolId,
        n: u32,
    ) -> Result<Vec<licensing::domain::account::SeatInfo>, StoreError> {
        self.store.newest_seats(t, p, n).await
    }
    async fn list_users(
        &self,
        t: &TenantId,
        p: &licensing::ports::PageRequest,
    ) -> Result<licensing::ports::Page<User>, StoreError> {
        self.store.list_users(t, p).await
    }
    async fn list_log(
        &self,
        t: &TenantId,
        p: &licensing::ports::PageRequest,
    ) -> Result<licensing::ports::Page<licensing::ports::LogEntry>, StoreError> {
        self.store.list_log(t, p).await
    }
    async fn list_invoices(
        &self,
        t: &TenantId,
        p: &licensing::ports::PageRequest,
    ) -> Result<licensing::ports::Page<licensing::domain::invoice::Invoice>, StoreError> {
        self.store.list_invoices(t, p).await
    }
    async fn put_quote(&self, q: &licensing::domain::quote::Quote) -> Result<(), StoreError> {
        self.store.put_quote(q).await
    }
    async fn get_quote(
        &self,
        t: &TenantId,
        q: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<licensing::ports::StoredQuote>, StoreError> {
        self.store.get_quote(t, q, now).await
    }
    async fn get_idempotency(
        &self,
        t: &TenantId,
        k: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<licensing::ports::IdempotencyRecord>, StoreError> {
        self.store.get_idempotency(t, k, now).await
    }
    async fn load_approval(
        &self,
        t: &TenantId,
        u: &licensing::domain::identity::UserId,
        k: Option<&str>,
        q: &str,
        now: DateTime<Utc>,
    ) -> Result<licensing::ports::ApprovalReads, StoreError> {
        self.store.load_approval(t, u, k, q, now).await
    }
    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        let delivers = !change.outbox.is_empty();
        let now = change.now;
        self.store.commit(change).await?;
        if delivers {
            self.deliver(now).await;
        }
        Ok(())
    }
    async fn delete_red_records(
        &self,
        t: &TenantId,
        r: &[licensing::domain::allocation::RedSeat],
    ) -> Result<(), StoreError> {
        self.store.delete_red_records(t, r).await
    }
    async fn due_work(
        &self,
        at: DateTime<Utc>,
    ) -> Result<Vec<licensing::ports::DueWork>, StoreError> {
        self.store.due_work(at).await
    }
}

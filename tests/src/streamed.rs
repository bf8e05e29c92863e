//! A store whose commits are followed by the stream path, in the test's own process: the
//! change commits, then the table's stream is read (`StreamReader`) and each batch handed to
//! the dispatcher's handler (`on_stream`), as the event source mapping and the `dispatcher`
//! function do on AWS. Tests of mail and events use it to see a change's messages when the
//! change returns; the request path itself never delivers.

use chrono::{DateTime, Utc};
use licensing::adapters::dynamodb::DynamoStore;
use licensing::notify::Notifier;
use std::sync::Arc;
use tokio::sync::Mutex;

use crate::faults::{AfterCommit, Fault, Faulty};
use crate::stream_reader::{InProcess, StreamReader};

/// The store, followed after each change that wrote outbox messages by the stream's delivery.
pub type Streamed = Faulty<DynamoStore, Delivery>;

/// Reads the table's stream into the dispatcher's handler.
#[derive(Clone)]
pub struct Delivery {
    pub store: DynamoStore,
    pub notifier: Notifier,
    reader: Arc<Mutex<StreamReader>>,
}

impl Streamed {
    /// The store's table's stream, read from its start.
    pub async fn open(store: DynamoStore, notifier: Notifier) -> Self {
        let reader = StreamReader::open(&crate::sdk().await, store.table(), None)
            .await
            .expect("the table's stream");
        let delivery = Delivery {
            store: store.clone(),
            notifier,
            reader: Arc::new(Mutex::new(reader)),
        };
        Faulty::with(store, |_| Fault::Pass, delivery)
    }

    /// Delivers what the stream holds as at `now`.
    pub async fn deliver(&self, now: DateTime<Utc>) {
        self.then.deliver(now).await;
    }
}

impl AfterCommit for Delivery {
    async fn after_commit(&self, now: DateTime<Utc>, wrote_outbox: bool) {
        if wrote_outbox {
            self.deliver(now).await;
        }
    }
}

impl Delivery {
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

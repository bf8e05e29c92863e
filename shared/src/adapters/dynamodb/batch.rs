//! Batched reads and writes (`BatchGetItem`, `BatchWriteItem`): what a transaction does not
//! need to hold, with their unprocessed items asked again under backoff.

use aws_sdk_dynamodb::types::{PutRequest, ReturnConsumedCapacity, WriteRequest};

use crate::adapters::dynamodb::{DynamoStore, Item, backend, built, total};
use crate::ports::StoreError;

impl DynamoStore {
    /// Every item of `keys` that exists, strongly consistent: `BatchGetItem`s of 100 keys,
    /// unprocessed keys asked again with backoff (throttled after eight rounds).
    pub(super) async fn batch_get(
        &self,
        keys: Vec<Item>,
        projection: Option<&str>,
    ) -> Result<Vec<Item>, StoreError> {
        let mut found = Vec::new();
        for chunk in keys.chunks(100) {
            let mut pending = chunk.to_vec();
            for round in 0.. {
                if pending.is_empty() {
                    break;
                }
                if round == 8 {
                    return Err(StoreError::Throttled);
                }
                if round > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(10 << round)).await;
                }
                let request = aws_sdk_dynamodb::types::KeysAndAttributes::builder()
                    .set_keys(Some(pending))
                    .consistent_read(true)
                    .set_projection_expression(projection.map(str::to_owned))
                    .build()
                    .map_err(built)?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(backend)?;
                self.metrics.record(total(out.consumed_capacity()));
                found.extend(
                    out.responses
                        .and_then(|mut r| r.remove(&self.table))
                        .unwrap_or_default(),
                );
                pending = out
                    .unprocessed_keys
                    .and_then(|mut u| u.remove(&self.table))
                    .map(|k| k.keys)
                    .unwrap_or_default();
            }
        }
        Ok(found)
    }

    pub(super) async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk.to_vec();
            let mut rounds = 0;
            while !pending.is_empty() {
                self.metrics.spend_write()?;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending.clone())
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(backend)?;
                self.metrics.record(total(out.consumed_capacity()));
                let sent = pending.len();
                pending = out
                    .unprocessed_items
                    .and_then(|mut m| m.remove(&self.table))
                    .unwrap_or_default();
                self.metrics.wrote(sent - pending.len());
                rounds += 1;
                if rounds > 8 {
                    return Err(StoreError::Throttled);
                }
                if !pending.is_empty() {
                    tokio::time::sleep(std::time::Duration::from_millis(20 << rounds)).await;
                }
            }
        }
        Ok(())
    }

    /// Many writes at once: chunks of 25, eight in flight (what one change's red seats or a
    /// seeded tenant need without a round trip per 25 items).
    pub(super) async fn batch_write_concurrently(
        &self,
        requests: Vec<WriteRequest>,
    ) -> Result<(), StoreError> {
        use futures::StreamExt;
        let chunks: Vec<Vec<WriteRequest>> = requests.chunks(25).map(<[_]>::to_vec).collect();
        let results: Vec<Result<(), StoreError>> = futures::stream::iter(chunks)
            .map(|chunk| self.batch_write(chunk))
            .buffer_unordered(8)
            .collect()
            .await;
        results.into_iter().collect()
    }

    pub(super) fn put_request(item: Item) -> Result<WriteRequest, StoreError> {
        Ok(WriteRequest::builder()
            .put_request(
                PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(built)?,
            )
            .build())
    }
}

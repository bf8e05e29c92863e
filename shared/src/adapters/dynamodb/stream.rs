//! The table's stream as the dispatcher receives it (Lambda's DynamoDB event): the outbox
//! batches among the records, and the partial batch response.

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use super::items::OutboxItem;
use super::outbox::batch_of;
use crate::outbox::OutboxBatch;
use crate::ports::StoreError;

/// Every inserted outbox batch among `event`'s records, with its sequence number (the event
/// source mapping's filter passes nothing else; anything else is skipped here too).
pub fn outbox_records(event: &Event) -> Vec<(String, Result<OutboxBatch, StoreError>)> {
    event
        .records
        .iter()
        .filter(|r| r.event_name == "INSERT")
        .filter_map(|r| {
            let sequence = r.change.sequence_number.clone().unwrap_or_default();
            outbox_batch_of_image(r.change.new_image.clone())
                .transpose()
                .map(|batch| (sequence, batch))
        })
        .collect()
}

/// The answer that has the event source mapping retry `failed` (sequence numbers).
pub fn batch_response(failed: Vec<String>) -> DynamoDbEventResponse {
    let mut response = DynamoDbEventResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|sequence| {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence);
            failure
        })
        .collect();
    response
}

/// The outbox batch a stream record's new image holds: `None` for any other item, and for a
/// batch no longer pending (dead-lettered).
pub fn outbox_batch_of_image(image: serde_dynamo::Item) -> Result<Option<OutboxBatch>, StoreError> {
    let is_outbox = matches!(image.get("sk"), Some(serde_dynamo::AttributeValue::S(sk)) if sk.starts_with("O#"));
    if !is_outbox {
        return Ok(None);
    }
    let item: OutboxItem = serde_dynamo::from_item(image)
        .map_err(|e| StoreError::Backend(format!("outbox image: {e}")))?;
    if item.state != "pending" {
        return Ok(None);
    }
    batch_of(item).map(Some)
}

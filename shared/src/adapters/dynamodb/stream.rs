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

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, sequence: &str, image: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "eventID": sequence, "eventName": name, "awsRegion": "eu-west-1",
            "dynamodb": {"Keys": {"pk": image["pk"].clone(), "sk": image["sk"].clone()},
                         "NewImage": image, "SequenceNumber": sequence, "SizeBytes": 1,
                         "StreamViewType": "NEW_IMAGE"}
        })
    }

    fn outbox(sk: &str) -> serde_json::Value {
        serde_json::json!({
            "pk": {"S": "T#acme"}, "sk": {"S": sk}, "tenant_id": {"S": "acme"},
            "attempts": {"N": "0"}, "state": {"S": "pending"},
            "messages": {"L": [{"M": {
                "message_id": {"S": "msg-1"}, "tenant_id": {"S": "acme"},
                "created_at": {"S": "2026-12-01T08:00:00Z"},
                "payload": {"M": {"channel": {"S": "event"}, "detail_type": {"S": "LicencesPurchased"},
                                   "detail": {"M": {}}}},
                "attempts": {"N": "0"}, "next_attempt_at": {"S": "2026-12-01T08:00:00Z"}
            }}]}
        })
    }

    #[test]
    fn only_inserted_outbox_items_are_delivered_and_an_unreadable_one_is_retried() {
        let user = serde_json::json!({"pk": {"S": "T#acme"}, "sk": {"S": "U#ada"}});
        let broken = serde_json::json!({"pk": {"S": "T#acme"}, "sk": {"S": "O#broken"}, "state": {"S": "pending"}});
        let event: Event = serde_json::from_value(serde_json::json!({"Records": [
            record("INSERT", "1", outbox("O#a#0")),
            record("MODIFY", "2", outbox("O#a#0")),
            record("INSERT", "3", user),
            record("INSERT", "4", broken),
        ]}))
        .unwrap();
        let found = outbox_records(&event);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].0, "1");
        let batch = found[0].1.as_ref().unwrap();
        assert_eq!(
            (batch.tenant_id.as_str(), batch.id.as_str()),
            ("acme", "O#a#0")
        );
        assert_eq!(found[1].0, "4");
        assert!(
            found[1].1.is_err(),
            "a record it cannot read is a failure to retry"
        );
        let response = serde_json::to_value(batch_response(vec!["4".into()])).unwrap();
        assert_eq!(
            response,
            serde_json::json!({"batchItemFailures": [{"itemIdentifier": "4"}]})
        );
    }
}

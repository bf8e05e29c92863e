//! A stream record as the mapping sees it (only inserted outbox items pass its filter) and as
//! Lambda hands it to the function.

use aws_lambda_events::event::dynamodb::{EventRecord, StreamRecord, StreamViewType};
use aws_sdk_dynamodbstreams::types::Record;
use chrono::DateTime;

pub(super) fn is_outbox_insert(record: &Record) -> bool {
    let insert = record.event_name().is_some_and(|n| n.as_str() == "INSERT");
    let outbox = record
        .dynamodb()
        .and_then(|d| d.keys())
        .and_then(|k| k.get("sk"))
        .and_then(|v| v.as_s().ok())
        .is_some_and(|sk| sk.starts_with("O#"));
    insert && outbox
}

/// One record in the shape Lambda gives the function.
pub fn event_record(record: &Record, stream_arn: &str, region: &str) -> EventRecord {
    let mut out = EventRecord::default();
    out.aws_region = region.to_owned();
    out.event_id = record.event_id().unwrap_or_default().to_owned();
    out.event_name = record
        .event_name()
        .map(|n| n.as_str().to_owned())
        .unwrap_or_default();
    out.event_source = Some("aws:dynamodb".into());
    out.event_version = record.event_version().map(str::to_owned);
    out.event_source_arn = Some(stream_arn.to_owned());
    let mut change = StreamRecord::default();
    if let Some(data) = record.dynamodb() {
        if let Some(at) = data.approximate_creation_date_time() {
            change.approximate_creation_date_time =
                DateTime::from_timestamp(at.secs(), at.subsec_nanos()).unwrap_or_default();
        }
        change.keys = serde_dynamo::Item::from(data.keys().cloned().unwrap_or_default());
        change.new_image = serde_dynamo::Item::from(data.new_image().cloned().unwrap_or_default());
        change.sequence_number = data.sequence_number().map(str::to_owned);
        change.size_bytes = data.size_bytes().unwrap_or(0);
    }
    change.stream_view_type = Some(StreamViewType::NewImage);
    out.change = change;
    out
}

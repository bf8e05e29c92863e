use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_runtime::{Error, LambdaEvent};
use licensing::startup::Outbox;
use licensing::startup::on_stream;

/// One batch of stream records: the failures go back to the event source mapping, which
/// retries from the first of them (`ReportBatchItemFailures`).
pub async fn handle(
    outbox: &Outbox,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Error> {
    let now = chrono::Utc::now();
    let (response, report) = on_stream(&outbox.store, &outbox.notifier, &event.payload, now).await;
    let oldest = event
        .payload
        .records
        .iter()
        .map(|r| r.change.approximate_creation_date_time)
        .min();
    tracing::info!(
        records = event.payload.records.len(),
        batches = report.batches,
        mails = report.mails,
        events = report.events,
        failed = report.failed,
        capped = report.capped,
        retried_records = response.batch_item_failures.len(),
        // Lambda's IteratorAge metric is the alarm; this line says which batch was late.
        record_age_ms = oldest.map_or(0, |at| (now - at).num_milliseconds().max(0)),
        "stream batch delivered"
    );
    licensing::telemetry::flush(&event.context.request_id);
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_event_fixture_is_a_stream_batch_with_an_outbox_insert() {
        let event: Event =
            serde_json::from_str(include_str!("../events/outbox-insert.json")).unwrap();
        assert_eq!(event.records.len(), 1);
        let record = &event.records[0];
        assert_eq!(record.event_name, "INSERT");
        let batch = licensing::adapters::dynamodb::stream::outbox_batch_of_image(
            record.change.new_image.clone(),
        )
        .unwrap()
        .expect("an outbox batch");
        assert_eq!(batch.tenant_id.as_str(), "acme");
        assert_eq!(batch.messages.len(), 1);
    }
}

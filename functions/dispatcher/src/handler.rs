use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_lambda_events::eventbridge::EventBridgeEvent;
use lambda_runtime::{Error, LambdaEvent};
use licensing::notify::Sender;
use licensing::notify::feedback::{FeedbackReport, record_feedback};
use licensing::ports::{AccountReads, MailSuppressions, OutboxStore, Webhooks};
use licensing::startup::on_stream;

/// What invokes the dispatcher: the table's stream, or SES's bounce and complaint events
/// from EventBridge's default bus (the template's `SesFeedback` rule). An EventBridge event
/// is tried first: a stream batch has no `detail-type`.
#[derive(serde::Deserialize)]
#[serde(untagged)]
pub enum Incoming {
    Ses(Box<EventBridgeEvent<serde_json::Value>>),
    Stream(Event),
}

#[derive(serde::Serialize)]
#[serde(untagged)]
pub enum Answer {
    Stream(DynamoDbEventResponse),
    Feedback(FeedbackReport),
}

pub async fn route<S: AccountReads + OutboxStore + MailSuppressions + Webhooks, N: Sender>(
    store: &S,
    notifier: &N,
    event: LambdaEvent<Incoming>,
) -> Result<Answer, Error> {
    let (payload, context) = event.into_parts();
    match payload {
        Incoming::Stream(batch) => handle(store, notifier, LambdaEvent::new(batch, context))
            .await
            .map(Answer::Stream),
        Incoming::Ses(ses) => {
            let report = feedback(store, &ses).await;
            licensing::telemetry::flush(&context.request_id);
            report.map(Answer::Feedback)
        }
    }
}

/// One SES event: an address suppressed, or nothing. A store failure fails the invocation,
/// Lambda retries the asynchronous invocation twice, then `EventInvokeConfig` puts the event in
/// `DispatcherFailures`, where its alarm is.
pub async fn feedback<S: AccountReads + MailSuppressions>(
    store: &S,
    event: &EventBridgeEvent<serde_json::Value>,
) -> Result<FeedbackReport, Error> {
    let received = event.time.unwrap_or_else(chrono::Utc::now);
    let report = record_feedback(store, &event.detail, received).await?;
    tracing::info!(
        detail_type = %event.detail_type,
        suppressed = report.suppressed,
        ignored = report.ignored,
        "SES feedback"
    );
    Ok(report)
}

/// One batch of stream records: the failures go back to the event source mapping, which
/// retries from the first of them (`ReportBatchItemFailures`).
pub async fn handle<S: AccountReads + OutboxStore + MailSuppressions + Webhooks, N: Sender>(
    store: &S,
    notifier: &N,
    event: LambdaEvent<Event>,
) -> Result<DynamoDbEventResponse, Error> {
    let now = chrono::Utc::now();
    let (response, report) = on_stream(store, notifier, &event.payload, now).await;
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
    use licensing::app::{Caller, approve_purchase, create_quote};
    use licensing::domain::identity::{TenantId, UserId};
    use licensing::http::testing::World;
    use licensing::notify::recorded::Recorder;

    fn fixture() -> serde_json::Value {
        serde_json::from_str(include_str!("../events/outbox-insert.json")).unwrap()
    }

    /// The stream record of each batch in Acme's outbox, as the event source mapping hands
    /// them over (the fixture's record with the batch's key and messages), then one whose
    /// image the adapter cannot read.
    async fn acme_after_a_purchase() -> (World, LambdaEvent<Event>) {
        acme_after_a_purchase_in(World::acme().await).await
    }

    async fn acme_after_a_purchase_in(world: World) -> (World, LambdaEvent<Event>) {
        let acme = TenantId::parse("acme").unwrap();
        let ada = Caller {
            tenant: acme.clone(),
            user: UserId::parse("ada").unwrap(),
        };
        let now = world.clock.0;
        let no_modules = Default::default();
        let quote = create_quote(&world.store, &ada, Some(1), &no_modules, now)
            .await
            .unwrap();
        let body = serde_json::json!({ "quote_id": quote.quote_id });
        approve_purchase(&world.store, &ada, Some("k"), &body, &quote.quote_id, now)
            .await
            .unwrap();
        let template = fixture()["Records"][0].clone();
        let mut records = Vec::new();
        for (n, (batch, _)) in world.store.outbox_batches(&acme).into_iter().enumerate() {
            let mut record = template.clone();
            let change = &mut record["dynamodb"];
            change["Keys"]["sk"]["S"] = batch.id.clone().into();
            change["NewImage"]["sk"]["S"] = batch.id.clone().into();
            let messages = serde_json::to_string(&batch.messages).unwrap();
            change["NewImage"]["messages"] = serde_json::json!({ "S": messages });
            change["SequenceNumber"] = format!("{n:021}").into();
            records.push(record);
        }
        let mut unreadable = template;
        unreadable["dynamodb"]["NewImage"]["messages"] = serde_json::json!({ "S": "[{" });
        unreadable["dynamodb"]["SequenceNumber"] = "999".into();
        records.push(unreadable);
        let event = serde_json::from_value(serde_json::json!({ "Records": records })).unwrap();
        (
            world,
            LambdaEvent::new(event, lambda_runtime::Context::default()),
        )
    }

    #[tokio::test]
    async fn a_stream_batch_is_delivered_and_only_the_unreadable_record_is_handed_back() {
        let (world, event) = acme_after_a_purchase().await;
        let sender = Recorder::new();
        let response = handle(&world.store, &sender, event).await.unwrap();
        let retried: Vec<_> = response
            .batch_item_failures
            .iter()
            .filter_map(|f| f.item_identifier.clone())
            .collect();
        assert_eq!(retried, ["999"]);
        let to_ada: Vec<_> = sender
            .mails()
            .into_iter()
            .filter(|m| m.to == "ada@example.com")
            .collect();
        assert_eq!(to_ada.len(), 1, "the purchase confirmation: {to_ada:?}");
        assert!(
            world
                .store
                .outbox(&TenantId::parse("acme").unwrap())
                .is_empty()
        );
    }

    #[tokio::test]
    async fn a_record_handed_over_again_after_a_partial_delivery_sends_nothing_twice() {
        let (world, event) = acme_after_a_purchase().await;
        let sender = Recorder::new();
        // EventBridge throttles: the mail goes, the events wait in the batch.
        sender.refuse_events(Some("ThrottlingException"));
        let again = event.clone();
        let to_ada = |sender: &Recorder| {
            let mails = sender.mails();
            mails.iter().filter(|m| m.to == "ada@example.com").count()
        };
        handle(&world.store, &sender, event).await.unwrap();
        assert_eq!(to_ada(&sender), 1);
        assert!(
            !world
                .store
                .outbox(&TenantId::parse("acme").unwrap())
                .is_empty()
        );
        // The mapping hands the same records over again (the copy read at insert, before the
        // mail went): the batch has moved on, so nothing is sent from the stale copy.
        sender.refuse_events(None);
        handle(&world.store, &sender, again).await.unwrap();
        assert_eq!(to_ada(&sender), 1, "the confirmation once");
        assert!(
            sender.events().is_empty(),
            "the events wait for their own time"
        );
    }

    #[tokio::test]
    async fn a_record_delivered_before_is_not_sent_again() {
        let (world, event) = acme_after_a_purchase().await;
        let sender = Recorder::new();
        let again = event.clone();
        handle(&world.store, &sender, event).await.unwrap();
        let sent = (sender.mails().len(), sender.events().len());
        // The mapping hands a batch over again after a timeout: its batch is gone, so nothing
        // is sent twice and nothing is retried but the unreadable record.
        let response = handle(&world.store, &sender, again).await.unwrap();
        assert_eq!(response.batch_item_failures.len(), 1);
        assert_eq!((sender.mails().len(), sender.events().len()), sent);
    }

    #[tokio::test]
    async fn a_bounce_from_ses_suppresses_the_address_and_its_mail_is_not_sent() {
        let world = World::acme().await;
        let bounce: Incoming =
            serde_json::from_str(include_str!("../events/ses-bounce.json")).unwrap();
        let sender = Recorder::new();
        let answer = route(
            &world.store,
            &sender,
            LambdaEvent::new(bounce, lambda_runtime::Context::default()),
        )
        .await
        .unwrap();
        let Answer::Feedback(report) = answer else {
            panic!("the SES event read as a stream batch")
        };
        assert_eq!((report.suppressed, report.ignored), (1, false));
        let (world, purchase) = acme_after_a_purchase_in(world).await;
        route(
            &world.store,
            &sender,
            LambdaEvent::new(Incoming::Stream(purchase.payload), purchase.context),
        )
        .await
        .unwrap();
        assert!(
            sender.mails().iter().all(|m| m.to != "ada@example.com"),
            "{:?}",
            sender.mails()
        );
        assert!(!sender.events().is_empty(), "the events still go");
    }

    #[tokio::test]
    async fn a_stream_batch_still_reads_as_one() {
        let incoming: Incoming = serde_json::from_value(fixture()).unwrap();
        assert!(matches!(incoming, Incoming::Stream(_)));
    }

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

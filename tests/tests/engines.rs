//! What differs between the two engine profiles (README, "Two engines"), pinned: each test
//! states both engines' behaviour and checks the one running. The code under test never asks
//! which engine it talks to; these tests do, and only to say what differs.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use licensing_tests::*;

/// The AWS endpoint that is not moto's in the LocalStack profile: LocalStack's gateway there,
/// moto in the default profile.
fn main_endpoint() -> String {
    std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL")
}

/// SES v2: moto serves it; community LocalStack does not (it answers 501 `InternalFailure`,
/// "not included in your current license plan or has not yet been emulated"), so the
/// LocalStack profile sends mail to moto (`AWS_ENDPOINT_URL_SESV2`).
#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn ses_v2_is_served_by_moto_and_not_by_community_localstack() {
    require_engines();
    let sdk = sdk().await;
    let at_main = aws_sdk_sesv2::config::Builder::from(&sdk)
        .endpoint_url(main_endpoint())
        .build();
    let identity = format!("{}@example.com", unique("pinned"));
    let answer = aws_sdk_sesv2::Client::from_conf(at_main)
        .create_email_identity()
        .email_identity(&identity)
        .send()
        .await;
    if on_localstack() {
        let err = answer.expect_err("community LocalStack has no SES v2");
        let raw = err.raw_response().map(|r| r.status().as_u16());
        assert_eq!(raw, Some(501), "{err:?}");
        // The profile's SES v2 endpoint is moto's, where it works.
        assert_ne!(
            std::env::var("AWS_ENDPOINT_URL_SESV2").ok(),
            Some(main_endpoint())
        );
    } else {
        assert!(answer.is_ok(), "moto serves SES v2: {answer:?}");
    }
    let ours = aws_sdk_sesv2::Client::new(&sdk)
        .create_email_identity()
        .email_identity(format!("{}@example.com", unique("pinned")))
        .send()
        .await;
    assert!(ours.is_ok(), "the profile's SES v2 answers: {ours:?}");
}

/// `PutEvents` to a bus that does not exist: moto refuses the whole call
/// (`ResourceNotFoundException`); LocalStack accepts every entry and drops it. So a missing bus
/// fails delivery on moto only; the delivery tests make EventBridge fail by an endpoint that
/// does not answer, which fails on both.
#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn put_events_to_a_missing_bus_fails_on_moto_and_is_accepted_by_localstack() {
    require_engines();
    let events = aws_sdk_eventbridge::Client::new(&sdk().await);
    let entry = PutEventsRequestEntry::builder()
        .source("licensing")
        .detail_type("Pinned")
        .detail("{}")
        .event_bus_name(unique("no-such-bus"))
        .build();
    let answer = events.put_events().entries(entry).send().await;
    if on_localstack() {
        let out = answer.expect("LocalStack accepts it");
        assert_eq!(out.failed_entry_count(), 0);
        assert!(out.entries()[0].event_id().is_some());
    } else {
        let err = answer.expect_err("moto refuses it");
        assert_eq!(
            err.as_service_error().and_then(|e| e.meta().code()),
            Some("ResourceNotFoundException"),
            "{err:?}"
        );
    }
}

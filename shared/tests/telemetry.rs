//! The EMF documents the functions write: CloudWatch reads metrics from these log lines, so
//! their shape is the contract (namespace, dimensions, metric names, integer amounts).

use serde_json::Value;

#[test]
fn a_purchase_and_a_request_become_emf_documents() {
    licensing::telemetry::init("purchase");
    licensing::telemetry::request(201, 3, 12.5, true);
    licensing::telemetry::purchase("DKK", 1_290);
    licensing::telemetry::purchase("DKK", 5_160);
    let mut out = Vec::new();
    licensing::telemetry::flush_to(&mut out, "req-1").unwrap();
    let documents: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!documents.is_empty());
    let metric = |name: &str| -> Vec<&Value> {
        documents
            .iter()
            .filter(|d| {
                d["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                    .as_array()
                    .is_some_and(|m| m.iter().any(|m| m["Name"] == name))
            })
            .collect()
    };
    for document in &documents {
        assert_eq!(
            document["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "Licensing"
        );
        assert!(document["_aws"]["Timestamp"].as_u64().is_some());
        assert_eq!(document["Function"], "purchase");
        assert_eq!(document["RequestId"], "req-1");
    }
    assert_eq!(metric("Purchases")[0]["Purchases"], 2);
    assert_eq!(metric("Requests")[0]["Requests"], 1);
    assert_eq!(metric("ColdStarts")[0]["ColdStarts"], 1);
    assert_eq!(metric("DynamoDbCalls")[0]["DynamoDbCalls"], 3);
    let amount = metric("PurchasedMinorUnits");
    assert_eq!(amount.len(), 1);
    assert_eq!(amount[0]["PurchasedMinorUnits"], 6_450);
    assert_eq!(amount[0]["Currency"], "DKK");
    assert_eq!(
        amount[0]["_aws"]["CloudWatchMetrics"][0]["Dimensions"][0],
        serde_json::json!(["Function", "Currency"])
    );
    // Counters restart after a flush: the next request's document holds only its own.
    licensing::telemetry::purchase("DKK", 100);
    let mut out = Vec::new();
    licensing::telemetry::flush_to(&mut out, "req-2").unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("\"PurchasedMinorUnits\":100"), "{text}");
}

//! The template pages someone (issue #31): every alarm notifies the alarm topic on ALARM and
//! on OK, every function has an errors, a throttles and a duration alarm, and the table's
//! throttle alarm watches metrics DynamoDB publishes per table.

use serde_yaml::Value;
use std::collections::{BTreeMap, BTreeSet};

const TEMPLATE: &str = include_str!("../../infra/template.yaml");

fn resources() -> BTreeMap<String, Value> {
    let template: Value = serde_yaml::from_str(TEMPLATE).unwrap();
    template["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_owned(), v.clone()))
        .collect()
}

/// The resource a `!Ref` names.
fn referenced(value: &Value) -> Option<&str> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str(),
        _ => None,
    }
}

fn alarms(resources: &BTreeMap<String, Value>) -> Vec<(&String, &Value)> {
    resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::CloudWatch::Alarm")
        .collect()
}

#[test]
fn every_alarm_notifies_the_alarm_topic_on_alarm_and_on_ok() {
    let resources = resources();
    assert_eq!(resources["AlarmTopic"]["Type"], "AWS::SNS::Topic");
    let alarms = alarms(&resources);
    assert!(alarms.len() >= 20, "{}", alarms.len());
    for (name, alarm) in alarms {
        for actions in ["AlarmActions", "OKActions"] {
            let targets: Vec<Option<&str>> = alarm["Properties"][actions]
                .as_sequence()
                .map(|s| s.iter().map(referenced).collect())
                .unwrap_or_default();
            assert_eq!(targets, [Some("AlarmTopic")], "{name} {actions}");
        }
    }
}

#[test]
fn every_function_is_watched_for_errors_throttles_and_its_timeout() {
    let resources = resources();
    let functions: BTreeSet<&String> = resources
        .iter()
        .filter(|(_, r)| r["Type"] == "AWS::Serverless::Function")
        .map(|(name, _)| name)
        .collect();
    assert!(functions.len() >= 7, "{functions:?}");
    let mut watched: BTreeSet<(String, String)> = BTreeSet::new();
    for (_, alarm) in alarms(&resources) {
        let p = &alarm["Properties"];
        if p["Namespace"] != "AWS/Lambda" {
            continue;
        }
        for d in p["Dimensions"].as_sequence().into_iter().flatten() {
            if d["Name"] == "FunctionName"
                && let Some(function) = referenced(&d["Value"])
            {
                let metric = p["MetricName"].as_str().unwrap_or_default();
                watched.insert((function.to_owned(), metric.to_owned()));
            }
        }
    }
    for function in functions {
        for metric in ["Errors", "Throttles", "Duration"] {
            assert!(
                watched.contains(&(function.clone(), metric.to_owned())),
                "{function} has no {metric} alarm"
            );
        }
    }
}

#[test]
fn the_throttle_alarm_watches_metrics_published_per_table() {
    let resources = resources();
    let metrics: Vec<&str> = resources["TableThrottlesAlarm"]["Properties"]["Metrics"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|m| m["MetricStat"]["Metric"]["MetricName"].as_str())
        .collect();
    assert!(metrics.contains(&"ReadThrottleEvents") && metrics.contains(&"WriteThrottleEvents"));
    // ThrottledRequests has an Operation dimension: an alarm on TableName alone never fires.
    assert!(!metrics.contains(&"ThrottledRequests"));
}

#[test]
fn the_api_logs_every_request_and_pages_on_its_5xx_and_its_p99_latency() {
    let resources = resources();
    let api = &resources["Api"]["Properties"];
    let logs = &api["AccessLogSettings"];
    assert!(
        matches!(logs["DestinationArn"], serde_yaml::Value::Tagged(_)),
        "{logs:?}"
    );
    for field in [
        "$context.status",
        "$context.routeKey",
        "$context.responseLatency",
    ] {
        assert!(logs["Format"].as_str().unwrap().contains(field), "{field}");
    }
    let on_the_api: BTreeMap<&str, &Value> = alarms(&resources)
        .into_iter()
        .map(|(_, a)| &a["Properties"])
        .filter(|p| p["Namespace"] == "AWS/ApiGateway")
        .map(|p| (p["MetricName"].as_str().unwrap_or_default(), p))
        .collect();
    assert!(on_the_api.contains_key("5xx"), "{:?}", on_the_api.keys());
    assert_eq!(on_the_api["Latency"]["ExtendedStatistic"], "p99");
    for p in on_the_api.values() {
        assert_eq!(referenced(&p["Dimensions"][0]["Value"]), Some("Api"));
    }
}

#[test]
fn the_dashboard_shows_every_function_the_api_delivery_the_sweep_and_the_table() {
    let resources = resources();
    let body = format!(
        "{:?}",
        resources["Dashboard"]["Properties"]["DashboardBody"]
    );
    for (name, r) in &resources {
        if r["Type"] == "AWS::Serverless::Function" {
            assert!(
                body.contains(&format!("${{{name}}}")),
                "{name} not on the dashboard"
            );
        }
    }
    for metric in [
        "5xx",
        "Latency",
        "OutboxDeadLetters",
        "OutboxUnreadable",
        "IteratorAge",
        "DeferredTenants",
        "WriteThrottleEvents",
    ] {
        assert!(body.contains(metric), "{metric} not on the dashboard");
    }
}

//! Each function's policy against what it may call, and the alarms that see its failures.

use super::*;

/// What a policy statement's `Resource` names, in the recorder's terms: the table, an index
/// of it, or anything (`*`, the bus).
fn resource_kinds(resource: &serde_yaml::Value) -> Vec<String> {
    match resource {
        serde_yaml::Value::Sequence(items) => items.iter().flat_map(resource_kinds).collect(),
        serde_yaml::Value::Tagged(tagged) => {
            let text = tagged.value.as_str().unwrap_or_default();
            match text.split_once("/index/") {
                Some((_, index)) => vec![format!("index/{index}")],
                None if text.starts_with("Table.Arn") => vec!["table".to_owned()],
                None => vec!["*".to_owned()],
            }
        }
        _ => vec!["*".to_owned()],
    }
}

/// What the platform does for a function with its role (the stream's event source mapping,
/// logs, traces, the on-failure queue), not what its code calls.
pub(crate) const PLATFORM: [&str; 9] = [
    "dynamodb:DescribeStream",
    "dynamodb:GetRecords",
    "dynamodb:GetShardIterator",
    "dynamodb:ListStreams",
    "sqs:SendMessage",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
];

/// A function's policy statements: its SAM `Policies`, or those of the role it names.
pub(crate) fn statements<'a>(
    template: &'a serde_yaml::Value,
    function: &'a serde_yaml::Value,
) -> Vec<&'a serde_yaml::Value> {
    let properties = &function["Properties"];
    let role = match &properties["Role"] {
        serde_yaml::Value::Tagged(t) => t.value.as_str().and_then(|r| r.strip_suffix(".Arn")),
        _ => None,
    };
    let policies: Vec<&serde_yaml::Value> = match role {
        Some(role) => template["Resources"][role]["Properties"]["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .map(|p| &p["PolicyDocument"])
            .collect(),
        None => properties["Policies"]
            .as_sequence()
            .into_iter()
            .flatten()
            .collect(),
    };
    policies
        .into_iter()
        .flat_map(|p| p["Statement"].as_sequence().into_iter().flatten())
        .collect()
}

/// Each deployed function's allowed `(action, resource)` pairs, from its inline policies.
pub(crate) fn template_permissions()
-> std::collections::BTreeMap<String, BTreeSet<(String, String)>> {
    let template: serde_yaml::Value = serde_yaml::from_str(TEMPLATE).unwrap();
    let mut out = std::collections::BTreeMap::new();
    for (_, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut allowed = BTreeSet::new();
        for statement in statements(&template, resource) {
            assert_eq!(statement["Effect"], "Allow", "{binary}");
            let kinds = resource_kinds(&statement["Resource"]);
            for action in statement["Action"].as_sequence().unwrap() {
                let action = action.as_str().unwrap();
                if PLATFORM.contains(&action) {
                    continue;
                }
                for kind in &kinds {
                    // SES and EventBridge actions are recorded without a resource.
                    let kind = if action.starts_with("dynamodb:") {
                        kind
                    } else {
                        "*"
                    };
                    allowed.insert((action.to_owned(), kind.to_owned()));
                }
            }
        }
        out.insert(binary, allowed);
    }
    out
}

/// Least privilege checked against behaviour: the test command runs the functions (end to
/// end, through `cargo lambda watch`, the sweeper through its own event) with
/// `LICENSING_RECORD_AWS_CALLS` set, so each records the IAM actions of the AWS calls it
/// made; then it runs this on its own. A call the policy does not allow would fail on AWS
/// (AccessDenied), which no local engine checks. Which actions a function needs at all comes
/// from its ports (`iam.rs`), for the paths no run takes; this checks that reading against
/// what the run did, and the resources.
#[test]
#[ignore = "reads the calls the end-to-end suites recorded: ./scripts/test.sh runs it after them"]
fn each_functions_policy_allows_the_aws_calls_it_makes_on_their_resources() {
    let folder = std::env::var("LICENSING_RECORD_AWS_CALLS").expect("the record's folder");
    let mut problems = Vec::new();
    for (function, allowed) in template_permissions() {
        let file = format!("{folder}/{function}.calls");
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            // A function allowed no AWS call records none (the webhook sender, R38).
            Err(_) if allowed.is_empty() => String::new(),
            Err(e) => panic!("{file}: {e} (did the suite run {function}?)"),
        };
        let recorded: BTreeSet<(String, String)> = text
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(a, r)| (a.to_owned(), r.to_owned()))
            .collect();
        for call in recorded.difference(&allowed) {
            problems.push(format!(
                "{function} calls {} on {} but its policy does not allow it",
                call.0, call.1
            ));
        }
        // An action no path of the run took may still be reachable (iam.rs derives which
        // are); an action taken on one resource but allowed on another is privilege to drop.
        for grant in allowed.difference(&recorded) {
            if recorded.iter().any(|(action, _)| *action == grant.0) {
                problems.push(format!(
                    "{function} is allowed {} on {} but calls it only elsewhere",
                    grant.0, grant.1
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// 5xx answers are not Lambda errors, so the API's failures are alarmed on the functions'
/// own `ServerErrors` metric (every HTTP function's), and the sweep's on `FailedTenants`.
#[test]
fn alarms_see_server_errors_and_failed_tenants() {
    let template: serde_yaml::Value = serde_yaml::from_str(TEMPLATE).unwrap();
    let alarms: Vec<&serde_yaml::Value> = template["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"] == "AWS::CloudWatch::Alarm")
        .collect();
    let watched = |metric: &str| -> BTreeSet<String> {
        let mut functions = BTreeSet::new();
        for alarm in &alarms {
            let p = &alarm["Properties"];
            let mut stats: Vec<&serde_yaml::Value> = vec![p];
            for m in p["Metrics"].as_sequence().into_iter().flatten() {
                stats.push(&m["MetricStat"]["Metric"]);
            }
            for s in stats {
                if s["Namespace"] == "Licensing" && s["MetricName"] == metric {
                    for d in s["Dimensions"].as_sequence().into_iter().flatten() {
                        functions.insert(d["Value"].as_str().unwrap().to_owned());
                    }
                }
            }
        }
        functions
    };
    let http: BTreeSet<String> = ["status", "purchase", "downscale", "users", "tenants"]
        .map(String::from)
        .into();
    assert_eq!(watched("ServerErrors"), http);
    assert_eq!(watched("FailedTenants"), ["sweeper".to_owned()].into());
}

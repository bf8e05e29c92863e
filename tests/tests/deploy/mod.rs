//! The deployment description agrees with the code: the SAM template's table is
//! `infra/table.json`, its routes are the watch router's, and its schedules parse
//! (cfn-lint does not check cron fields).

mod layers;
mod permissions;

pub(crate) use permissions::{statements, template_permissions};
use std::collections::BTreeSet;

const TEMPLATE: &str = include_str!("../../../infra/template.yaml");
const TABLE: &str = include_str!("../../../infra/table.json");
const CARGO: &str = include_str!("../../../Cargo.toml");
const OPENAPI: &str = include_str!("../../../openapi.yaml");

fn template_value(key: &str) -> serde_json::Value {
    let line = TEMPLATE
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("{key} in the template"));
    let value = line.trim_start()[key.len() + 2..].trim();
    serde_json::from_str(value).unwrap_or_else(|_| serde_json::Value::String(value.to_owned()))
}

#[test]
fn the_templates_table_is_the_one_table_definition() {
    let table: serde_json::Value = serde_json::from_str(TABLE).unwrap();
    for key in [
        "AttributeDefinitions",
        "KeySchema",
        "GlobalSecondaryIndexes",
        "BillingMode",
        "TimeToLiveSpecification",
        "StreamSpecification",
    ] {
        assert_eq!(template_value(key), table[key], "{key}");
    }
}

fn template_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut path: Option<String> = None;
    for line in TEMPLATE.lines() {
        for part in line.split(',') {
            let part = part.trim().trim_end_matches('}');
            if let Some(p) = part.strip_prefix("Path: ") {
                path = Some(p.trim_matches('"').to_owned());
            }
            if let Some(m) = part.strip_prefix("Method: ") {
                routes.insert((m.to_owned(), path.take().expect("a Path before its Method")));
            }
        }
    }
    routes
}

/// The local `web` function serves the reference page on the API's origin; deployed, the page
/// is static files on their own host (CORS: `AllowedOrigin`), so its routes are local only.
const LOCAL_ONLY_FUNCTION: &str = "web";

fn router_routes() -> BTreeSet<(String, String)> {
    router_routes_of(|function| function != LOCAL_ONLY_FUNCTION)
}

fn router_routes_of(keep: impl Fn(&str) -> bool) -> BTreeSet<(String, String)> {
    let cargo: toml::Value = toml::from_str(CARGO).unwrap();
    let router = cargo["workspace"]["metadata"]["lambda"]["watch"]["router"]
        .as_table()
        .unwrap();
    router
        .iter()
        .flat_map(|(path, routes)| {
            routes
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| keep(r["function"].as_str().unwrap()))
                .map(move |r| (r["method"].as_str().unwrap().to_owned(), path.clone()))
        })
        .collect()
}

#[test]
fn every_route_of_the_template_is_served_locally_and_the_other_way_round() {
    let template = template_routes();
    assert_eq!(template.len(), 51, "{template:?}");
    assert_eq!(template, router_routes());
    let page: Vec<_> = router_routes_of(|f| f == LOCAL_ONLY_FUNCTION)
        .into_iter()
        .map(|(method, path)| format!("{method} {path}"))
        .collect();
    assert_eq!(page, ["GET /", "GET /assets/{file}", "GET /config.json"]);
}

fn cron_field_ok(field: &str, min: u32, max: u32, names: &[&str]) -> bool {
    field.split(',').all(|part| {
        let (range, step) = part.split_once('/').unwrap_or((part, "1"));
        let step_ok = step.parse::<u32>().is_ok_and(|s| s >= 1);
        let value_ok = |v: &str| {
            v.parse::<u32>().is_ok_and(|n| (min..=max).contains(&n)) || names.contains(&v)
        };
        let range_ok = match range {
            "*" | "?" => true,
            r => match r.split_once('-') {
                Some((a, b)) => value_ok(a) && value_ok(b),
                None => value_ok(r) || r == "L" || r.ends_with('W') || r.contains('#'),
            },
        };
        step_ok && range_ok
    })
}

/// EventBridge schedule expressions: `rate(n unit)` or a six-field `cron(...)`, where one of
/// day-of-month and day-of-week must be `?`.
fn schedule_ok(expr: &str) -> bool {
    if let Some(rate) = expr.strip_prefix("rate(").and_then(|r| r.strip_suffix(')')) {
        let mut parts = rate.split_whitespace();
        let (Some(n), Some(unit), None) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        let Ok(n) = n.parse::<u32>() else {
            return false;
        };
        let singular = ["minute", "hour", "day"].contains(&unit);
        let plural = ["minutes", "hours", "days"].contains(&unit);
        return n >= 1 && ((n == 1 && singular) || (n > 1 && plural));
    }
    let Some(cron) = expr.strip_prefix("cron(").and_then(|c| c.strip_suffix(')')) else {
        return false;
    };
    let f: Vec<&str> = cron.split_whitespace().collect();
    let days = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    let months = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    f.len() == 6
        && cron_field_ok(f[0], 0, 59, &[])
        && cron_field_ok(f[1], 0, 23, &[])
        && cron_field_ok(f[2], 1, 31, &[])
        && cron_field_ok(f[3], 1, 12, &months)
        && cron_field_ok(f[4], 1, 7, &days)
        && cron_field_ok(f[5], 1970, 2199, &[])
        && (f[2] == "?") != (f[4] == "?")
}

#[test]
fn every_schedule_expression_parses() {
    let expressions: Vec<&str> = TEMPLATE
        .lines()
        .filter_map(|l| l.trim().strip_prefix("ScheduleExpression: "))
        .collect();
    assert_eq!(expressions.len(), 2);
    for expr in expressions {
        assert!(schedule_ok(expr), "{expr}");
    }
    for bad in [
        "cron(0 1 * * * *)",
        "cron(61 1 * * ? *)",
        "rate(1 minutes)",
        "rate(0 days)",
        "cron(0 1 * *)",
    ] {
        assert!(!schedule_ok(bad), "{bad}");
    }
}

/// The OpenAPI document's paths and methods (two-space paths, four-space methods).
fn openapi_routes() -> BTreeSet<(String, String)> {
    let mut routes = BTreeSet::new();
    let mut in_paths = false;
    let mut path = String::new();
    for line in OPENAPI.lines() {
        if line == "paths:" {
            in_paths = true;
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(p) = line.strip_prefix("  /").and_then(|p| p.strip_suffix(':')) {
            path = format!("/{p}");
        } else if let Some(m) = line.strip_prefix("    ").and_then(|m| m.strip_suffix(':'))
            && ["get", "post", "put", "delete", "patch"].contains(&m)
        {
            routes.insert((m.to_uppercase(), path.clone()));
        }
    }
    routes
}

#[test]
fn the_openapi_document_describes_exactly_the_served_routes_and_every_error_code() {
    assert_eq!(openapi_routes(), template_routes());
    for code in [
        "next_period_below_one",
        "next_period_above_purchased",
        "quote_expired",
        "idempotency_key_reused",
        "body_too_large",
    ] {
        assert!(OPENAPI.contains(code), "{code}");
    }
}

/// `sam build` runs `cargo lambda build --bin <Binary>` in each function's `CodeUri`. From
/// the workspace root cargo resolves the features of every member at once (status would be
/// built with the mail and events features it does not use); from the function's own crate
/// it resolves that crate's features only — what `scripts/build-arm64.sh` (`-p`) measures.
#[test]
fn every_function_is_built_from_its_own_crate() {
    let template: serde_yaml::Value = serde_yaml::from_str(TEMPLATE).unwrap();
    assert!(template["Globals"]["Function"].get("CodeUri").is_none());
    let mut binaries = BTreeSet::new();
    for (name, resource) in template["Resources"].as_mapping().unwrap() {
        if resource["Type"] != "AWS::Serverless::Function" {
            continue;
        }
        assert_eq!(
            resource["Metadata"]["BuildMethod"], "rust-cargolambda",
            "{name:?}"
        );
        let binary = resource["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap_or_else(|| panic!("{name:?} names its binary"));
        let crate_dir = format!("../functions/{binary}");
        assert_eq!(
            resource["Properties"]["CodeUri"],
            crate_dir.as_str(),
            "{name:?}"
        );
        let manifest = format!(
            "{}/../functions/{binary}/Cargo.toml",
            env!("CARGO_MANIFEST_DIR")
        );
        let manifest =
            std::fs::read_to_string(&manifest).unwrap_or_else(|e| panic!("{manifest}: {e}"));
        assert!(
            manifest.contains(&format!("name = \"{binary}\"")),
            "{manifest}"
        );
        binaries.insert(binary.to_owned());
    }
    let deployed: BTreeSet<String> = [
        "status",
        "purchase",
        "downscale",
        "users",
        "tenants",
        "sweeper",
        "dispatcher",
        "webhooks",
    ]
    .map(String::from)
    .into();
    assert_eq!(binaries, deployed);
}

/// The dispatcher's event source mapping (docs/decisions/0004): the table's stream, filtered
/// to inserted outbox items (the prefix the store writes them under), failures reported per
/// record, bisected, retried a bounded number of times and then kept in a queue, with an
/// alarm on the iterator's age. Its one other trigger is SES's feedback on the default bus.
#[test]
fn the_dispatcher_reads_inserted_outbox_items_from_the_stream_with_bounded_retries() {
    let template: serde_yaml::Value = serde_yaml::from_str(TEMPLATE).unwrap();
    let resources = &template["Resources"];
    let dispatcher = &resources["DispatcherFunction"];
    assert_eq!(
        dispatcher["Metadata"]["BuildProperties"]["Binary"],
        "dispatcher"
    );
    let events = dispatcher["Properties"]["Events"].as_mapping().unwrap();
    let types: Vec<_> = events.values().map(|e| e["Type"].clone()).collect();
    assert_eq!(types, ["DynamoDB", "EventBridgeRule"]);
    let feedback = &dispatcher["Properties"]["Events"]["SesFeedback"]["Properties"];
    assert_eq!(feedback["Pattern"]["source"][0], "aws.ses");
    assert!(
        serde_yaml::to_string(&feedback["Pattern"]["resources"])
            .unwrap()
            .contains("configuration-set/${MailConfigurationSet}"),
        "only mail of this deployment's configuration set"
    );
    let mapping = &dispatcher["Properties"]["Events"]["Outbox"]["Properties"];
    assert_eq!(
        serde_yaml::to_string(&mapping["Stream"]).unwrap().trim(),
        "!GetAtt Table.StreamArn"
    );
    assert_eq!(
        mapping["FunctionResponseTypes"][0],
        "ReportBatchItemFailures"
    );
    assert_eq!(mapping["BisectBatchOnFunctionError"], true);
    let retries = mapping["MaximumRetryAttempts"].as_u64().unwrap();
    assert!((1..=10).contains(&retries), "{retries}");
    assert_eq!(
        serde_yaml::to_string(&mapping["DestinationConfig"]["OnFailure"]["Destination"])
            .unwrap()
            .trim(),
        "!GetAtt DispatcherFailures.Arn"
    );
    let pattern: serde_json::Value = serde_json::from_str(
        mapping["FilterCriteria"]["Filters"][0]["Pattern"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(pattern["eventName"], serde_json::json!(["INSERT"]));
    let prefix = licensing::adapters::dynamodb::keys::outbox_sk("");
    assert_eq!(
        pattern["dynamodb"]["Keys"]["sk"]["S"],
        serde_json::json!([{ "prefix": prefix }])
    );
    // The local stream reader keeps the same batch size, parallelism and retries.
    assert_eq!(
        mapping["BatchSize"].as_u64(),
        Some(licensing_tests::stream_reader::BATCH_SIZE as u64)
    );
    assert_eq!(
        mapping["ParallelizationFactor"].as_u64(),
        Some(licensing_tests::stream_reader::PARALLELIZATION as u64)
    );
    assert_eq!(
        retries,
        u64::from(licensing_tests::stream_reader::MAX_RETRIES)
    );
    let table: serde_json::Value = serde_json::from_str(TABLE).unwrap();
    assert_eq!(table["StreamSpecification"]["StreamViewType"], "NEW_IMAGE");
    let age_alarm = resources.as_mapping().unwrap().values().find(|r| {
        r["Type"] == "AWS::CloudWatch::Alarm" && r["Properties"]["MetricName"] == "IteratorAge"
    });
    assert!(
        age_alarm.is_some(),
        "an alarm on the dispatcher's iterator age"
    );
}

/// Every action the code writes to the log is one the contract names (`LogEntry.action`): the
/// fuzzer found one that was not, after the fact.
#[test]
fn every_logged_action_is_in_the_contract() {
    let openapi: serde_yaml::Value = serde_yaml::from_str(OPENAPI).unwrap();
    let named: BTreeSet<String> =
        openapi["components"]["schemas"]["LogEntry"]["properties"]["action"]["enum"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
    let mut sources =
        vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src/app")];
    let mut files = Vec::new();
    while let Some(path) = sources.pop() {
        if path.is_dir() {
            sources.extend(std::fs::read_dir(path).unwrap().map(|e| e.unwrap().path()));
        } else {
            files.push(path);
        }
    }
    let mut logged = BTreeSet::new();
    for file in files {
        let source = std::fs::read_to_string(file).unwrap();
        // The action is the first string literal after each `log_entry(`.
        for call in source.split("log_entry(").skip(1) {
            if let Some(literal) = call.split('"').nth(1)
                && literal.contains('.')
                && !literal.contains(' ')
            {
                logged.insert(literal.to_owned());
            }
        }
    }
    assert!(logged.len() >= 14, "{logged:?}");
    let missing: Vec<_> = logged.difference(&named).collect();
    assert!(
        missing.is_empty(),
        "logged but not in openapi.yaml: {missing:?}"
    );
}

/// The events an endpoint may subscribe to are one list in three languages: the domain's
/// (`EVENT_TYPES`, what the API accepts), the contract's (`WebhookEvent`) and the page's
/// checkboxes (`EVENTS` in web/src/views/webhooks.ts).
#[test]
fn the_webhook_events_are_the_same_in_the_domain_the_contract_and_the_page() {
    let domain: Vec<&str> = licensing::domain::webhooks::EVENT_TYPES.to_vec();
    let openapi: serde_yaml::Value = serde_yaml::from_str(OPENAPI).unwrap();
    let contract: Vec<&str> = openapi["components"]["schemas"]["WebhookEvent"]["enum"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(contract, domain, "openapi.yaml's WebhookEvent");
    let page = include_str!("../../../web/src/views/webhooks.ts");
    let list = page
        .split("export const EVENTS = [")
        .nth(1)
        .and_then(|rest| rest.split("];").next())
        .expect("EVENTS in web/src/views/webhooks.ts");
    let shown: Vec<&str> = list.split('"').skip(1).step_by(2).collect();
    assert_eq!(shown, domain, "the page's EVENTS");
}

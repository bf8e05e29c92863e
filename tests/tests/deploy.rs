//! The deployment description agrees with the code: the SAM template's table is
//! `infra/table.json`, its routes are the watch router's, and its schedules parse
//! (cfn-lint does not check cron fields).

use std::collections::BTreeSet;

const TEMPLATE: &str = include_str!("../../infra/template.yaml");
const TABLE: &str = include_str!("../../infra/table.json");
const CARGO: &str = include_str!("../../Cargo.toml");
const OPENAPI: &str = include_str!("../../openapi.yaml");

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
    assert_eq!(template.len(), 24, "{template:?}");
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
    ]
    .map(String::from)
    .into();
    assert_eq!(binaries, deployed);
}

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
        let recorded: BTreeSet<(String, String)> = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("{file}: {e} (did the suite run {function}?)"))
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

/// The top-level modules of `shared/src` each file's non-test code names through `crate::`
/// (a `use crate::{a::x, b}` block names `a` and `b`).
fn module_edges() -> std::collections::BTreeMap<String, BTreeSet<String>> {
    fn files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).expect("shared/src reads") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src");
    let mut paths = Vec::new();
    files(&root, &mut paths);
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let mut edges = std::collections::BTreeMap::<String, BTreeSet<String>>::new();
    for path in paths {
        let relative = path.strip_prefix(&root).expect("under shared/src");
        let first = relative.components().next().expect("a component");
        let module = first
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if module == "lib" {
            continue;
        }
        let source = std::fs::read_to_string(&path).expect("a source file");
        let code = source
            .split("#[cfg(test)]\nmod tests")
            .next()
            .unwrap_or_default();
        let used = edges.entry(module.clone()).or_default();
        for (at, _) in code.match_indices("crate::") {
            let rest = &code[at + "crate::".len()..];
            if let Some(block) = rest.strip_prefix('{') {
                let block = &block[..block.find(';').unwrap_or(block.len())];
                let mut depth = 0;
                let mut start = 0;
                for (i, c) in block.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => {
                            used.insert(ident(&block[start..i]));
                            break;
                        }
                        '}' => depth -= 1,
                        ',' if depth == 0 => {
                            used.insert(ident(&block[start..i]));
                            start = i + 1;
                        }
                        _ => {}
                    }
                }
            } else {
                used.insert(ident(rest));
            }
        }
        used.retain(|m| !m.is_empty() && *m != module);
    }
    edges
}

/// What the README's table "What may depend on what" allows each module.
fn allowed_edges() -> std::collections::BTreeMap<String, Option<BTreeSet<String>>> {
    let readme = include_str!("../../README.md");
    let table = readme
        .split("### What may depend on what")
        .nth(1)
        .expect("the README has the table");
    let ticked = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect()
    };
    let mut allowed = std::collections::BTreeMap::new();
    for row in table
        .lines()
        .skip_while(|l| !l.starts_with("| module"))
        .skip(2)
    {
        let cells: Vec<&str> = row.split('|').collect();
        if cells.len() < 3 {
            break;
        }
        let may_use = if cells[2].trim() == "everything" {
            None
        } else {
            Some(ticked(cells[2]).into_iter().collect::<BTreeSet<_>>())
        };
        for module in ticked(cells[1]) {
            allowed.insert(module, may_use.clone());
        }
    }
    allowed
}

#[test]
fn the_modules_depend_only_on_what_the_readme_allows() {
    let edges = module_edges();
    let allowed = allowed_edges();
    for (module, used) in &edges {
        let Some(may_use) = allowed.get(module) else {
            panic!("module `{module}` is not in the README's table");
        };
        if let Some(may_use) = may_use {
            let extra: Vec<_> = used.difference(may_use).collect();
            assert!(
                extra.is_empty(),
                "`{module}` uses {extra:?}, which the README's table does not allow"
            );
        }
    }
    // No cycle: repeatedly remove the modules that use nothing left.
    let mut left = edges.clone();
    while !left.is_empty() {
        let leaves: Vec<String> = left
            .iter()
            .filter(|(_, used)| used.iter().all(|m| !left.contains_key(m)))
            .map(|(m, _)| m.clone())
            .collect();
        assert!(!leaves.is_empty(), "a cycle among {:?}", left.keys());
        for leaf in leaves {
            left.remove(&leaf);
        }
    }
    assert!(
        edges["startup"].len() > 3,
        "the scan finds edges: {edges:?}"
    );
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

//! IAM derived from the code (issue #31): what each function may call on AWS follows from the
//! ports its use cases are bounded by, and what the DynamoDB adapter does for each port. No
//! test run has to take a path for its permission to be seen: the status function reaches
//! `Commits` (R22's rollover on any request), so it needs every action of a rollover, the
//! large one's `BatchWriteItem` included, whether or not a test rolled a large tenant there.
//!
//! Sound because the compiler holds the use cases to their bounds: a use case bounded by
//! `AccountReads + Commits` can call no other port method on its store. The adapter's side
//! is read from its source, each port method's calls followed through the adapter's own
//! functions to the SDK operations (a transaction counts as the item actions it is built of,
//! as IAM counts it). The recorded calls of the end-to-end run (`deploy/permissions.rs`) must fall inside
//! this, so the reading is checked against behaviour too.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// SDK calls and transaction builders, as IAM actions.
const SDK: [(&str, &str); 13] = [
    (".query()", "dynamodb:Query"),
    (".get_item()", "dynamodb:GetItem"),
    (".put_item()", "dynamodb:PutItem"),
    (".update_item()", "dynamodb:UpdateItem"),
    (".delete_item()", "dynamodb:DeleteItem"),
    (".batch_get_item()", "dynamodb:BatchGetItem"),
    (".batch_write_item()", "dynamodb:BatchWriteItem"),
    (".scan()", "dynamodb:Scan"),
    (".describe_table()", "dynamodb:DescribeTable"),
    ("Put::builder()", "dynamodb:PutItem"),
    ("Update::builder()", "dynamodb:UpdateItem"),
    ("Delete::builder()", "dynamodb:DeleteItem"),
    ("ConditionCheck::builder()", "dynamodb:ConditionCheckItem"),
];

/// The store's ports; `Store` is the first nine, `Quotes` needs `AccountReads`, and
/// `Commits` the reads that address a change's mail.
const PORTS: [&str; 11] = [
    "AccountReads",
    "Listings",
    "Quotes",
    "Commits",
    "DueIndex",
    "MailSuppressions",
    "UsageHistory",
    "PurchaseRequests",
    "RoleMembers",
    "OutboxStore",
    "Webhooks",
];

/// What sending needs (`Notifier` on SES v2 and EventBridge; the quota read at init; the
/// webhook sender invoked, R38).
const SENDER: [&str; 4] = [
    "ses:SendEmail",
    "ses:GetAccount",
    "events:PutEvents",
    "lambda:InvokeFunction",
];

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// Every `.rs` file under `dir`, without its test module.
fn sources(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(sources(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            let code = text.split("#[cfg(test)]").next().unwrap_or_default();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            out.push((name, code.to_owned()));
        }
    }
    out
}

/// The end of the brace block that opens at the first `{` from `from`, with its text.
fn block(src: &str, from: usize) -> Option<&str> {
    let open = from + src[from..].find('{')?;
    let mut depth = 0usize;
    for (i, c) in src[open..].char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(&src[open..open + i + 1]);
                }
            }
            _ => {}
        }
    }
    None
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Each `fn` of `src` that has a body: (name, body).
fn functions(src: &str) -> Vec<(String, &str)> {
    let mut out = Vec::new();
    for (at, _) in src.match_indices("fn ") {
        if src[..at].chars().next_back().is_some_and(ident_char) {
            continue;
        }
        let name: String = src[at + 3..]
            .chars()
            .take_while(|c| ident_char(*c))
            .collect();
        let rest = &src[at..];
        let (Some(brace), semicolon) = (rest.find('{'), rest.find(';')) else {
            continue;
        };
        if name.is_empty() || semicolon.is_some_and(|s| s < brace) {
            continue;
        }
        if let Some(body) = block(src, at) {
            out.push((name, body));
        }
    }
    out
}

/// The names `body` calls: an identifier right before `(` (or before `::<…>(`), bare, on a
/// path or on `self`, not a method of another value (`item.get(` is a map's, not ours).
fn calls(body: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (at, _) in body.match_indices('(') {
        let mut head = &body[..at];
        if head.ends_with('>') {
            // A turbofish: back to its `::<`.
            let mut depth = 0usize;
            for (i, c) in head.char_indices().rev() {
                match c {
                    '>' => depth += 1,
                    '<' => {
                        depth -= 1;
                        if depth == 0 {
                            head = head[..i].strip_suffix("::").unwrap_or(&head[..i]);
                            break;
                        }
                    }
                    _ => {}
                }
            }
        }
        let name_start = head
            .char_indices()
            .rev()
            .take_while(|(_, c)| ident_char(*c))
            .last()
            .map_or(head.len(), |(i, _)| i);
        let name = &head[name_start..];
        // A method call's receiver, across the line breaks of a chain (`self\n    .list(`).
        let receiver = head[..name_start]
            .trim_end()
            .strip_suffix('.')
            .map(str::trim_end);
        let on_another_value = receiver
            .is_some_and(|r| !r.ends_with("self") || r[..r.len() - 4].ends_with(ident_char));
        if !name.is_empty() && !on_another_value {
            out.insert(name.to_owned());
        }
    }
    out
}

/// The DynamoDB adapter as the derivation sees it.
struct Adapter {
    /// Per port, the IAM actions its methods can reach.
    actions: BTreeMap<&'static str, BTreeSet<&'static str>>,
    /// Per port, its methods' names.
    methods: BTreeMap<&'static str, BTreeSet<String>>,
}

/// Reads the adapter: each port method's calls followed to the SDK.
fn adapter() -> Adapter {
    let files = sources(&root().join("shared/src/adapters/dynamodb"));
    let mut bodies: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    let mut methods: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (file, src) in &files {
        // Test fixtures are built only for tests; no function links them.
        if file == "fixtures.rs" {
            continue;
        }
        for (name, body) in functions(src) {
            bodies.entry(name).or_default().push(body);
        }
        for port in PORTS {
            let head = format!("impl {port} for DynamoStore");
            for (at, _) in src.match_indices(&head) {
                let block = block(src, at).unwrap();
                let names = functions(&block[1..]).into_iter().map(|(n, _)| n);
                methods.entry(port).or_default().extend(names);
            }
        }
    }
    let mut memo: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    fn reach(
        name: &str,
        bodies: &BTreeMap<String, Vec<&str>>,
        seen: &mut BTreeSet<String>,
        memo: &mut BTreeMap<String, BTreeSet<&'static str>>,
    ) -> BTreeSet<&'static str> {
        if let Some(done) = memo.get(name) {
            return done.clone();
        }
        let mut out = BTreeSet::new();
        if !seen.insert(name.to_owned()) {
            return out;
        }
        for body in bodies.get(name).into_iter().flatten() {
            for (pattern, action) in SDK {
                if body.contains(pattern) {
                    out.insert(action);
                }
            }
            for callee in calls(body) {
                if bodies.contains_key(&callee) {
                    out.extend(reach(&callee, bodies, seen, memo));
                }
            }
        }
        memo.insert(name.to_owned(), out.clone());
        out
    }
    let actions = PORTS
        .iter()
        .map(|port| {
            let mut actions = BTreeSet::new();
            for method in methods.get(port).into_iter().flatten() {
                actions.extend(reach(method, &bodies, &mut BTreeSet::new(), &mut memo));
            }
            (*port, actions)
        })
        .collect();
    Adapter { actions, methods }
}

/// The ports a bound names: `S: AccountReads + Commits` → both (and what `Commits` needs);
/// `Store` → its nine.
fn ports_of(bound: &str) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    for name in bound.split('+').map(str::trim) {
        let name = name.rsplit("::").next().unwrap_or(name);
        if name == "Store" {
            out.extend(&PORTS[..9]);
        } else if let Some(port) = PORTS.iter().find(|p| **p == name) {
            out.insert(*port);
            if name == "Quotes" {
                out.insert("AccountReads");
            }
            if name == "Commits" {
                out.extend(["AccountReads", "MailSuppressions", "RoleMembers"]);
            }
        }
    }
    out
}

/// Every function of the crate's use cases and wiring (`app`, `notify`, `http`, `startup`)
/// generic over a store `S`: its name and the ports of its bound (`<S: …>` or `where S: …`).
fn use_cases() -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut out = BTreeMap::new();
    let mut files = Vec::new();
    for dir in ["shared/src/app", "shared/src/notify", "shared/src/http"] {
        files.extend(sources(&root().join(dir)));
    }
    let startup = std::fs::read_to_string(root().join("shared/src/startup.rs")).unwrap();
    files.push(("startup.rs".into(), startup));
    for (_, src) in &files {
        for (at, _) in src.match_indices("fn ") {
            let rest = &src[at + 3..];
            let name: String = rest.chars().take_while(|c| ident_char(*c)).collect();
            let signature = &rest[..rest.find('{').unwrap_or(rest.len())];
            let bound = signature
                .match_indices("S: ")
                .find(|(i, _)| signature[..*i].ends_with(['<', ' ', '\n']))
                .map(|(i, _)| &signature[i + 3..]);
            let Some(bound) = bound else { continue };
            // A bound rustfmt wrapped goes on over lines (`S: A\n    + B,`).
            let end = bound.find([',', '>']).unwrap_or(bound.len());
            out.insert(name, ports_of(&bound[..end]));
        }
    }
    out
}

/// What a function's crate reaches: the ports of the use cases it calls, the ports of the
/// store methods it calls itself, and sending when it holds a `Sender`.
fn derived(function: &str) -> BTreeSet<&'static str> {
    let cases = use_cases();
    let adapter = adapter();
    let mut ports = BTreeSet::new();
    let mut sends = false;
    for (_, src) in sources(&root().join("functions").join(function).join("src")) {
        let called = calls(&src);
        for (case, bound) in &cases {
            if called.contains(case) {
                ports.extend(bound.iter().copied());
            }
        }
        for (port, methods) in &adapter.methods {
            if methods.iter().any(|m| src.contains(&format!("store.{m}("))) {
                ports.insert(*port);
            }
        }
        sends |= src.contains("Sender") || src.contains("Notifier");
    }
    let mut actions: BTreeSet<&'static str> = ports
        .iter()
        .flat_map(|p| adapter.actions[p].iter().copied())
        .collect();
    if sends {
        actions.extend(SENDER);
    }
    actions
}

#[test]
fn the_adapter_reading_finds_what_each_port_is_known_to_do() {
    let adapter = adapter().actions;
    assert!(
        adapter["Commits"].contains("dynamodb:BatchWriteItem"),
        "{adapter:?}"
    );
    assert!(
        adapter["Commits"].contains("dynamodb:PutItem"),
        "{adapter:?}"
    );
    assert!(
        adapter["AccountReads"].contains("dynamodb:Query"),
        "{adapter:?}"
    );
    assert!(
        adapter["OutboxStore"].contains("dynamodb:UpdateItem"),
        "{adapter:?}"
    );
    for (port, actions) in &adapter {
        assert!(!actions.is_empty(), "{port}");
        assert!(!actions.contains("dynamodb:Scan"), "{port}: {actions:?}");
    }
    let cases = use_cases();
    assert_eq!(
        cases["account_status"],
        BTreeSet::from(["AccountReads", "Commits", "MailSuppressions", "RoleMembers"])
    );
    assert!(cases["deliver_streamed"].contains("OutboxStore"));
}

#[test]
fn every_policy_allows_exactly_the_actions_its_functions_ports_reach() {
    let mut problems = Vec::new();
    for (function, allowed) in crate::deploy::template_permissions() {
        let allowed: BTreeSet<&str> = allowed.iter().map(|(a, _)| a.as_str()).collect();
        let needed = derived(&function);
        for action in needed.difference(&allowed) {
            problems.push(format!(
                "{function} can reach {action}; its policy lacks it"
            ));
        }
        for action in allowed.difference(&needed) {
            problems.push(format!(
                "{function} is allowed {action}; none of its ports uses it"
            ));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_dispatcher_reads_its_tables_stream_and_no_other() {
    let template: serde_yaml::Value =
        serde_yaml::from_str(include_str!("../../infra/template.yaml")).unwrap();
    let dispatcher = &template["Resources"]["DispatcherFunction"]["Properties"];
    // Its own role: with `Policies`, SAM would add AWSLambdaDynamoDBExecutionRole ("*").
    assert!(
        matches!(dispatcher["Role"], serde_yaml::Value::Tagged(_)),
        "{:?}",
        dispatcher["Role"]
    );
    assert!(dispatcher.get("Policies").is_none());
    let role = &template["Resources"]["DispatcherRole"]["Properties"];
    assert!(role.get("ManagedPolicyArns").is_none());
    let stream_actions = [
        "GetRecords",
        "GetShardIterator",
        "DescribeStream",
        "ListStreams",
    ];
    let mut seen = 0;
    for statement in
        crate::deploy::statements(&template, &template["Resources"]["DispatcherFunction"])
    {
        let actions = format!("{:?}", statement["Action"]);
        if stream_actions.iter().any(|a| actions.contains(a)) {
            seen += 1;
            let resource = format!("{:?}", statement["Resource"]);
            assert!(
                matches!(statement["Resource"], serde_yaml::Value::Tagged(_))
                    && resource.contains("Table."),
                "{actions} on {resource}"
            );
        }
    }
    assert_eq!(seen, 2);
}

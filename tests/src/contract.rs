//! Every answer the end-to-end suite receives is checked against `openapi.yaml`: the route and
//! status must be documented, and the body must validate against the documented schema (the
//! response schemas are closed, so an undocumented field fails too).

use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

const OPENAPI: &str = include_str!("../../openapi.yaml");

struct Contract {
    document: Value,
    /// (path template, its segments)
    paths: Vec<(String, Vec<String>)>,
    validators: Mutex<HashMap<String, Arc<jsonschema::Validator>>>,
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let document: Value = serde_yaml::from_str(OPENAPI).expect("openapi.yaml parses");
        let paths = document["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .map(|p| (p.clone(), p.split('/').map(str::to_owned).collect()))
            .collect();
        Contract {
            document,
            paths,
            validators: Mutex::new(HashMap::new()),
        }
    })
}

/// A JSON pointer token inside a URI fragment: `~` and `/` escaped, braces percent-encoded.
fn escape(segment: &str) -> String {
    segment
        .replace('~', "~0")
        .replace('/', "~1")
        .replace('{', "%7B")
        .replace('}', "%7D")
}

/// The documented path template a concrete path is an instance of.
fn template(path: &str) -> Option<&'static str> {
    let path = path.split('?').next().unwrap_or(path);
    let segments: Vec<&str> = path.split('/').collect();
    contract()
        .paths
        .iter()
        .find(|(_, t)| {
            t.len() == segments.len()
                && t.iter()
                    .zip(&segments)
                    .all(|(t, s)| (t.starts_with('{') && !s.is_empty()) || t == s)
        })
        .map(|(p, _)| p.as_str())
}

/// Checks one answer; routes the document does not have (the suite's probes of unknown
/// routes) are not part of the contract.
pub fn check(method: &str, path: &str, status: u16, content_type: &str, body: &Value) {
    let Some(template) = template(path) else {
        return;
    };
    let c = contract();
    let operation = &c.document["paths"][template][method.to_lowercase()];
    if operation.is_null() {
        // A method the route does not have: an error answer, never a success.
        assert!(
            status >= 400,
            "{method} {path} answered {status} but is not documented"
        );
        return;
    }
    let code = status.to_string();
    let response_key = if operation["responses"][&code].is_null() {
        assert!(
            status >= 400,
            "{method} {path}: success {status} is not documented"
        );
        "default".to_owned()
    } else {
        code
    };
    // The response object, inline or behind a `$ref`, and the URI of its place.
    let inline = &operation["responses"][&response_key];
    let (response, at) = match inline["$ref"].as_str() {
        Some(target) => (
            c.document.pointer(&target[1..]).expect("response $ref"),
            target.to_owned(),
        ),
        None => (
            inline,
            format!(
                "#/paths/{}/{}/responses/{response_key}",
                escape(template),
                method.to_lowercase()
            ),
        ),
    };
    // An answer documented without content (204): nothing may come with it.
    if response["content"].is_null() {
        assert!(
            body.is_null() || body.as_str() == Some(""),
            "{method} {path} {status} is documented without a body: {body}"
        );
        return;
    }
    let media = content_type.split(';').next().unwrap_or("").trim();
    assert!(
        !response["content"][media].is_null(),
        "{method} {path} {status}: content type {media:?} is not documented"
    );
    let pointer = format!("{at}/content/{}/schema", escape(media));
    let validator = {
        // A failed check panics while others run: the cache stays usable.
        let mut cache = c.validators.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(pointer.clone())
            .or_insert_with(|| {
                let mut root = c.document.clone();
                root["$ref"] = Value::String(pointer.clone());
                Arc::new(
                    jsonschema::options()
                        .with_draft(jsonschema::Draft::Draft202012)
                        .should_validate_formats(true)
                        .build(&root)
                        .unwrap_or_else(|e| panic!("schema {pointer}: {e}")),
                )
            })
            .clone()
    };
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{method} {path} {status} does not match openapi.yaml ({pointer}):\n  {}\nbody: {body}",
        errors.join("\n  ")
    );
}

#[test]
fn paths_match_their_templates() {
    assert_eq!(template("/v1/account"), Some("/v1/account"));
    assert_eq!(
        template("/v1/users/u-1/activate"),
        Some("/v1/users/{id}/activate")
    );
    assert_eq!(template("/v1/invoices?limit=2"), Some("/v1/invoices"));
    assert_eq!(template("/v1/users//activate"), None);
    assert_eq!(template("/v1/nope"), None);
}

#[test]
fn a_wrong_answer_fails_the_check() {
    let account_without_rights = serde_json::json!({"tenant_id": "t"});
    let result = std::panic::catch_unwind(|| {
        check(
            "GET",
            "/v1/account",
            200,
            "application/json",
            &account_without_rights,
        )
    });
    assert!(result.is_err());
    let undocumented_field = serde_json::json!({
        "type": "t", "title": "t", "status": 404, "code": "not_found", "detail": "d",
        "request_id": "r", "extra": 1
    });
    let result = std::panic::catch_unwind(|| {
        check(
            "GET",
            "/v1/account",
            404,
            "application/problem+json",
            &undocumented_field,
        )
    });
    assert!(result.is_err());
    check(
        "GET",
        "/v1/account",
        404,
        "application/problem+json",
        &serde_json::json!({"type": "t", "title": "t", "status": 404, "code": "not_found",
            "detail": "d", "request_id": "r"}),
    );
}

/// The contract's time zones are the ones the service parses (chrono-tz's IANA database), so
/// that a schema-valid `time_zone` is never refused and an invalid one never taken.
#[test]
fn the_contracts_time_zones_are_the_services() {
    let listed: std::collections::BTreeSet<String> =
        contract().document["components"]["schemas"]["TimeZone"]["enum"]
            .as_array()
            .expect("TimeZone is an enum")
            .iter()
            .map(|v| v.as_str().expect("a name").to_owned())
            .collect();
    let parsed: std::collections::BTreeSet<String> = chrono_tz::TZ_VARIANTS
        .iter()
        .map(|tz| tz.name().to_owned())
        .collect();
    let missing: Vec<_> = parsed.difference(&listed).collect();
    let extra: Vec<_> = listed.difference(&parsed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "openapi.yaml's TimeZone differs from chrono-tz: missing {missing:?}, not parsed {extra:?}"
    );
}

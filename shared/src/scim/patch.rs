//! PATCH (RFC 7644 §3.5.2) applied to a rendered resource, which is then read back as a whole
//! (`Desired::parse`): one set of rules for POST, PUT and PATCH. What identity providers send
//! is accepted: op names in any case (Entra's `Replace`), a value object without a path whose
//! keys are paths themselves (`{"name.givenName": …}`), a filtered path that matches nothing
//! (Entra's `emails[type eq "work"].value` on a user without one adds it), and an empty list.

use serde_json::{Map, Value};

use super::filter::{AttrPath, CompareOp, Filter};
use super::{PATCH_SCHEMA, ScimError, USER_SCHEMA};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Operations one PATCH may carry.
const MAX_OPERATIONS: usize = 1000;

/// A PATCH path: `[urn:]attr[[filter]][.sub]`, or a bare extension's URN.
#[derive(Debug)]
struct Target {
    /// The extension whose object holds the attribute; `None` for the core schema.
    extension: Option<String>,
    /// `None` names the whole extension object.
    attr: Option<String>,
    filter: Option<Filter>,
    sub: Option<String>,
}

fn is_extension(urn: &str) -> bool {
    super::is_urn(urn) && !urn.eq_ignore_ascii_case(USER_SCHEMA)
}

fn parse_target(raw: &str) -> Result<Target, ScimError> {
    let raw = raw.trim();
    // A bare extension URN: the schema ids this service knows end in `:User`.
    if is_extension(raw) && raw.ends_with(":User") {
        return Ok(Target {
            extension: Some(raw.to_owned()),
            attr: None,
            filter: None,
            sub: None,
        });
    }
    let (head, filter, tail) = match raw.find('[') {
        Some(open) => {
            let close = raw
                .rfind(']')
                .filter(|c| *c > open)
                .ok_or_else(|| ScimError::invalid_path(format!("{raw}: unbalanced [")))?;
            let filter = Filter::parse(&raw[open + 1..close])
                .map_err(|e| ScimError::invalid_path(e.detail))?;
            let tail = &raw[close + 1..];
            let sub = match tail.strip_prefix('.') {
                Some(sub) => Some(sub.to_owned()),
                None if tail.is_empty() => None,
                None => return Err(ScimError::invalid_path(format!("{raw}: text after ]"))),
            };
            (&raw[..open], Some(filter), sub)
        }
        None => (raw, None, None),
    };
    let path = AttrPath::parse(head)?;
    if filter.is_some() && path.sub.is_some() {
        return Err(ScimError::invalid_path(format!(
            "{raw}: a filter follows the attribute"
        )));
    }
    Ok(Target {
        extension: path.urn.filter(|u| is_extension(u)),
        attr: Some(path.attr),
        filter,
        sub: path.sub.or(tail),
    })
}

fn key_of(map: &Map<String, Value>, name: &str) -> String {
    map.keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
        .unwrap_or_else(|| name.to_owned())
}

fn empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// Without `schemas` (an extension's value may carry its own).
fn without_schemas(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("schemas"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// `add` merges objects and appends to lists; `replace` sets (merging a single complex
/// attribute's sub-attributes, as §3.5.2.3 says).
fn put(slot: &mut Map<String, Value>, key: &str, value: Value, op: Op) {
    let key = key_of(slot, key);
    match (slot.get_mut(&key), value) {
        (Some(Value::Array(existing)), Value::Array(new)) if op == Op::Add => {
            if new
                .iter()
                .any(|v| v.get("primary") == Some(&Value::Bool(true)))
            {
                for e in existing.iter_mut() {
                    if let Some(p) = e.get_mut("primary") {
                        *p = Value::Bool(false);
                    }
                }
            }
            for v in new {
                if !existing.contains(&v) {
                    existing.push(v);
                }
            }
        }
        (Some(Value::Object(existing)), Value::Object(new)) => {
            for (k, v) in new {
                let k = key_of(existing, &k);
                existing.insert(k, v);
            }
        }
        (_, value) => {
            slot.insert(key, value);
        }
    }
}

/// The element that a simple `attr eq "value"` filter describes, for a filtered add or
/// replace that matched nothing.
fn element_of(filter: &Filter) -> Option<Map<String, Value>> {
    match filter {
        Filter::Compare(path, CompareOp::Eq, value) if path.sub.is_none() && path.urn.is_none() => {
            Some(Map::from_iter([(path.attr.clone(), value.clone())]))
        }
        Filter::And(a, b) => {
            let mut m = element_of(a)?;
            m.extend(element_of(b)?);
            Some(m)
        }
        _ => None,
    }
}

fn apply_one(
    resource: &mut Map<String, Value>,
    op: Op,
    path: Option<&str>,
    value: Option<&Value>,
) -> Result<(), ScimError> {
    let Some(path) = path.filter(|p| !p.trim().is_empty()) else {
        // No path: the value's keys are paths (Entra sends `name.givenName` as a key).
        if op == Op::Remove {
            return Err(ScimError::no_target("remove needs a path"));
        }
        let Some(Value::Object(map)) = value else {
            return Err(ScimError::invalid_value(
                "an operation without a path needs an object value",
            ));
        };
        for (key, v) in map {
            if key.eq_ignore_ascii_case("schemas") {
                continue;
            }
            apply_one(resource, op, Some(key), Some(v))?;
        }
        return Ok(());
    };
    let target = parse_target(path)?;
    let attr_name = target.attr.clone().unwrap_or_default();
    if target.extension.is_none()
        && ["id", "meta", "schemas"]
            .iter()
            .any(|r| attr_name.eq_ignore_ascii_case(r))
    {
        return Err(ScimError::mutability(format!(
            "{attr_name} cannot be changed"
        )));
    }
    let value = match (op, value) {
        (Op::Remove, _) => None,
        (_, Some(v)) => Some(v.clone()),
        (_, None) => {
            return Err(ScimError::invalid_value(format!(
                "{path}: a value is required"
            )));
        }
    };
    // The object the attribute lives in: the resource, or the extension's object in it.
    let scope: &mut Map<String, Value> = match &target.extension {
        None => resource,
        Some(urn) => {
            let key = key_of(resource, urn);
            let Some(attr) = &target.attr else {
                // The whole extension object.
                match value {
                    None => {
                        resource.remove(&key);
                    }
                    Some(v) => put(resource, &key, without_schemas(&v), op),
                }
                return Ok(());
            };
            let _ = attr;
            if value.is_none() && !resource.contains_key(&key) {
                return Ok(());
            }
            let slot = resource
                .entry(key)
                .or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            match slot {
                Value::Object(m) => m,
                _ => return Err(ScimError::invalid_path(path.to_owned())),
            }
        }
    };
    let key = key_of(scope, &attr_name);
    match (&target.filter, &target.sub) {
        (None, None) => match value {
            None => {
                scope.remove(&key);
            }
            Some(v) => put(scope, &key, v, op),
        },
        (None, Some(sub)) => match (scope.get_mut(&key), value) {
            (None, None) => {}
            (Some(Value::Object(obj)), None) => {
                let k = key_of(obj, sub);
                obj.remove(&k);
            }
            (Some(Value::Array(items)), v) => {
                for item in items.iter_mut().filter_map(Value::as_object_mut) {
                    let k = key_of(item, sub);
                    match &v {
                        None => {
                            item.remove(&k);
                        }
                        Some(v) => {
                            item.insert(k, v.clone());
                        }
                    }
                }
            }
            (_, Some(v)) => {
                let slot = scope
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(obj) = slot {
                    let k = key_of(obj, sub);
                    obj.insert(k, v);
                }
            }
            (Some(_), None) => {
                scope.remove(&key);
            }
        },
        (Some(filter), sub) => {
            let items = match scope.get_mut(&key) {
                Some(Value::Array(items)) => items,
                _ if value.is_none() => return Ok(()),
                _ => {
                    scope.insert(key.clone(), Value::Array(Vec::new()));
                    match scope.get_mut(&key) {
                        Some(Value::Array(items)) => items,
                        _ => return Err(ScimError::invalid_path(path.to_owned())),
                    }
                }
            };
            let matched: Vec<usize> = (0..items.len())
                .filter(|i| filter.matches(&items[*i]))
                .collect();
            match (value, sub) {
                (None, None) => {
                    let mut i = 0;
                    items.retain(|_| {
                        i += 1;
                        !matched.contains(&(i - 1))
                    });
                }
                (None, Some(sub)) => {
                    for i in &matched {
                        if let Some(obj) = items[*i].as_object_mut() {
                            let k = key_of(obj, sub);
                            obj.remove(&k);
                        }
                    }
                    // An element that lost its `value` is gone (Entra clears a mail this way).
                    if sub.eq_ignore_ascii_case("value") {
                        items.retain(|item| super::filter::field(item, "value").is_some());
                    }
                }
                (Some(v), sub) if matched.is_empty() => {
                    let mut element = element_of(filter)
                        .ok_or_else(|| ScimError::no_target(format!("{path} matches no value")))?;
                    match (sub, v) {
                        (Some(sub), v) => {
                            element.insert(sub.clone(), v);
                        }
                        (None, Value::Object(fields)) => element.extend(fields),
                        (None, _) => {
                            return Err(ScimError::invalid_value(format!(
                                "{path} needs an object"
                            )));
                        }
                    }
                    items.push(Value::Object(element));
                }
                (Some(v), Some(sub)) => {
                    for i in matched {
                        if let Some(obj) = items[i].as_object_mut() {
                            let k = key_of(obj, sub);
                            obj.insert(k, v.clone());
                        }
                    }
                }
                (Some(v), None) => {
                    for i in matched {
                        match (&mut items[i], &v) {
                            (Value::Object(obj), Value::Object(new)) => {
                                for (k, nv) in new {
                                    let k = key_of(obj, k);
                                    obj.insert(k, nv.clone());
                                }
                            }
                            (slot, v) => *slot = v.clone(),
                        }
                    }
                }
            }
        }
    }
    // What was emptied is unassigned.
    if scope.get(&key).is_some_and(empty) {
        scope.remove(&key);
    }
    Ok(())
}

/// Applies a PatchOp body to a rendered resource.
pub fn apply(resource: &mut Value, body: &Value) -> Result<(), ScimError> {
    let schemas_ok = super::filter::field(body, "schemas")
        .and_then(Value::as_array)
        .is_some_and(|s| {
            s.iter().any(|s| {
                s.as_str()
                    .is_some_and(|s| s.eq_ignore_ascii_case(PATCH_SCHEMA))
            })
        });
    if !schemas_ok {
        return Err(ScimError::invalid_syntax(format!(
            "schemas must be [{PATCH_SCHEMA}]"
        )));
    }
    let operations = match super::filter::field(body, "Operations") {
        Some(Value::Array(ops)) => ops,
        None | Some(Value::Null) => return Ok(()),
        Some(_) => return Err(ScimError::invalid_syntax("Operations must be a list")),
    };
    if operations.len() > MAX_OPERATIONS {
        return Err(ScimError::new(413, None, "too many operations"));
    }
    let Value::Object(map) = resource else {
        return Err(ScimError::invalid_syntax("not a resource"));
    };
    for operation in operations {
        let op = match super::filter::field(operation, "op")
            .and_then(Value::as_str)
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("add") => Op::Add,
            Some("replace") => Op::Replace,
            Some("remove") => Op::Remove,
            _ => {
                return Err(ScimError::invalid_syntax(
                    "op must be add, replace or remove",
                ));
            }
        };
        let path = match super::filter::field(operation, "path") {
            None | Some(Value::Null) => None,
            Some(Value::String(p)) => Some(p.as_str()),
            Some(_) => return Err(ScimError::invalid_path("path must be a string")),
        };
        apply_one(map, op, path, super::filter::field(operation, "value"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [USER_SCHEMA], "id": "u-1", "userName": "ada@example.com",
            "name": {"givenName": "Ada"},
            "emails": [{"value": "ada@work.example", "type": "work", "primary": true}],
            "active": true
        })
    }

    fn patched(ops: Value) -> Result<Value, ScimError> {
        let mut r = user();
        apply(
            &mut r,
            &json!({"schemas": [PATCH_SCHEMA], "Operations": ops}),
        )?;
        Ok(r)
    }

    #[test]
    fn entra_deactivates_with_a_capitalised_op_and_a_string() {
        let r = patched(json!([{"op": "Replace", "path": "active", "value": "False"}])).unwrap();
        assert_eq!(
            r["active"], "False",
            "the string is read as a boolean by Desired::parse"
        );
    }

    #[test]
    fn paths_with_sub_attributes_filters_and_no_path_values() {
        let r = patched(json!([
            {"op": "replace", "path": "name.familyName", "value": "Lovelace"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "a@new.example"},
            {"op": "add", "path": "emails[type eq \"home\"].value", "value": "a@home.example"},
            {"op": "replace", "value": {"displayName": "Ada L", "name.givenName": "Augusta"}},
        ]))
        .unwrap();
        assert_eq!(
            r["name"],
            json!({"givenName": "Augusta", "familyName": "Lovelace"})
        );
        assert_eq!(r["emails"][0]["value"], "a@new.example");
        assert_eq!(
            r["emails"][1],
            json!({"type": "home", "value": "a@home.example"})
        );
        assert_eq!(r["displayName"], "Ada L");
        let r = patched(json!([{"op": "remove", "path": "emails[type eq \"work\"]"}, {"op": "remove", "path": "name"}])).unwrap();
        assert!(r.get("emails").is_none() && r.get("name").is_none());
    }

    #[test]
    fn extensions_by_urn_and_attribute() {
        let ext = super::super::LICENSING_SCHEMA;
        let r = patched(json!([{"op": "add", "path": ext, "value": {"schemas": [ext], "modules": ["reports"]}}])).unwrap();
        assert_eq!(r[ext], json!({"modules": ["reports"]}));
        let r =
            patched(json!([{"op": "add", "path": format!("{ext}:modules"), "value": ["reports"]}]))
                .unwrap();
        assert_eq!(r[ext], json!({"modules": ["reports"]}));
        let r = patched(json!([{"op": "remove", "path": ext}])).unwrap();
        assert!(r.get(ext).is_none());
    }

    #[test]
    fn an_empty_list_changes_nothing_and_bad_operations_say_why() {
        assert_eq!(patched(json!([])).unwrap(), user());
        for (ops, scim_type) in [
            (json!([{"op": "move", "path": "active"}]), "invalidSyntax"),
            (
                json!([{"op": "replace", "path": "id", "value": "x"}]),
                "mutability",
            ),
            (json!([{"op": "remove"}]), "noTarget"),
            (
                json!([{"op": "replace", "path": "emails[type eq", "value": "x"}]),
                "invalidPath",
            ),
            (
                json!([{"op": "replace", "path": "emails[value sw \"nobody\"].value", "value": "y"}]),
                "noTarget",
            ),
            (json!([{"op": "replace", "value": "x"}]), "invalidValue"),
        ] {
            assert_eq!(
                patched(ops.clone()).unwrap_err().scim_type,
                Some(scim_type),
                "{ops}"
            );
        }
    }
}

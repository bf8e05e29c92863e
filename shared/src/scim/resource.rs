//! The User resource: what a POST or PUT body asks for, and how a user is rendered.

use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

use super::filter::field;
use super::{LICENSING_SCHEMA, ScimError, USER_SCHEMA};
use crate::domain::directory::{Directory, DirectoryEmail, DirectoryName, check_value};
use crate::domain::pool::PoolId;
use crate::domain::user::User;

/// What the identity provider says a user is (a POST or PUT body, or a patched resource).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desired {
    pub user_name: String,
    pub external_id: Option<String>,
    pub name: DirectoryName,
    pub display_name: Option<String>,
    pub emails: Vec<DirectoryEmail>,
    /// As sent: absent is unassigned, which counts as active (what a create without it means).
    pub active: Option<bool>,
    /// The extension's module seats; `None` when the extension was not sent, which leaves the
    /// user's modules as they are (a PUT from a provider that does not know the extension
    /// must not take away what an administrator enabled).
    pub modules: Option<BTreeSet<PoolId>>,
}

fn string(value: &Value, what: &str) -> Result<Option<String>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        _ => Err(ScimError::invalid_value(format!("{what} must be a string"))),
    }
}

fn optional(object: &Value, name: &str) -> Result<Option<String>, ScimError> {
    field(object, name).map_or(Ok(None), |v| string(v, name))
}

/// `active` as Entra sends it too: the strings "True" and "False", in any case.
pub fn boolean(value: &Value, what: &str) -> Result<Option<bool>, ScimError> {
    match value {
        Value::Null => Ok(None),
        Value::Bool(b) => Ok(Some(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err(ScimError::invalid_value(format!(
            "{what} must be a boolean"
        ))),
    }
}

/// Free text the service keeps (names): bounded, no control characters.
fn text(value: Option<String>, what: &str) -> Result<Option<String>, ScimError> {
    match value {
        Some(v) if v.chars().count() > 200 || v.chars().any(char::is_control) => {
            Err(ScimError::invalid_value(format!(
                "{what} must be at most 200 characters, no control characters"
            )))
        }
        other => Ok(other),
    }
}

impl Desired {
    /// Reads a User body. `password` (write-only) and attributes this service does not keep
    /// (the enterprise extension, phone numbers…) are accepted and dropped; read-only ones
    /// (`id`, `meta`) are ignored, as RFC 7644 §3.3 allows.
    pub fn parse(body: &Value) -> Result<Self, ScimError> {
        if !body.is_object() {
            return Err(ScimError::invalid_syntax("the body must be a User object"));
        }
        let schemas_ok = field(body, "schemas")
            .and_then(Value::as_array)
            .is_some_and(|s| {
                s.iter().any(|s| {
                    s.as_str()
                        .is_some_and(|s| s.eq_ignore_ascii_case(USER_SCHEMA))
                })
            });
        if !schemas_ok {
            return Err(ScimError::invalid_syntax(format!(
                "schemas must include {USER_SCHEMA}"
            )));
        }
        let user_name = optional(body, "userName")?
            .ok_or_else(|| ScimError::invalid_value("userName is required"))?;
        check_value("userName", &user_name).map_err(|e| ScimError::invalid_value(e.to_string()))?;
        let external_id = optional(body, "externalId")?;
        if let Some(id) = &external_id {
            check_value("externalId", id).map_err(|e| ScimError::invalid_value(e.to_string()))?;
        }
        let name = match field(body, "name") {
            None | Some(Value::Null) => DirectoryName::default(),
            Some(n @ Value::Object(_)) => DirectoryName {
                formatted: text(optional(n, "formatted")?, "name.formatted")?,
                family_name: text(optional(n, "familyName")?, "name.familyName")?,
                given_name: text(optional(n, "givenName")?, "name.givenName")?,
            },
            Some(_) => return Err(ScimError::invalid_value("name must be an object")),
        };
        let emails = match field(body, "emails") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|e| {
                    let value = optional(e, "value")?
                        .ok_or_else(|| ScimError::invalid_value("emails[].value is required"))?;
                    crate::domain::identity::EmailAddress::parse(&value)
                        .map_err(|err| ScimError::invalid_value(format!("emails: {err}")))?;
                    Ok(DirectoryEmail {
                        value,
                        kind: text(optional(e, "type")?, "emails[].type")?,
                        primary: field(e, "primary")
                            .map_or(Ok(None), |p| boolean(p, "emails[].primary"))?
                            .unwrap_or(false),
                    })
                })
                .collect::<Result<_, ScimError>>()?,
            Some(_) => return Err(ScimError::invalid_value("emails must be a list")),
        };
        if emails.iter().filter(|e| e.primary).count() > 1 {
            return Err(ScimError::invalid_value("at most one email may be primary"));
        }
        let modules = match field(body, LICENSING_SCHEMA) {
            None => None,
            Some(Value::Null) => Some(BTreeSet::new()),
            Some(ext @ Value::Object(_)) => Some(match field(ext, "modules") {
                None | Some(Value::Null) => BTreeSet::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|m| {
                        let raw =
                            match m {
                                Value::String(s) => s.as_str(),
                                // A multi-valued attribute's element may come as `{"value": …}`.
                                other => field(other, "value").and_then(Value::as_str).ok_or_else(
                                    || ScimError::invalid_value("modules must be module ids"),
                                )?,
                            };
                        PoolId::parse(raw)
                            .map_err(|e| ScimError::invalid_value(format!("modules: {e}")))
                    })
                    .collect::<Result<_, ScimError>>()?,
                Some(_) => return Err(ScimError::invalid_value("modules must be a list")),
            }),
            Some(_) => {
                return Err(ScimError::invalid_value(format!(
                    "{LICENSING_SCHEMA} must be an object"
                )));
            }
        };
        Ok(Self {
            user_name,
            external_id,
            name,
            display_name: text(optional(body, "displayName")?, "displayName")?,
            emails,
            active: field(body, "active").map_or(Ok(None), |a| boolean(a, "active"))?,
            modules,
        })
    }

    pub fn is_active(&self) -> bool {
        self.active.unwrap_or(true)
    }
}

/// Where a user is, under the SCIM base URL.
pub fn location(base: &str, user: &User) -> String {
    format!("{}/Users/{}", base.trim_end_matches('/'), user.user_id)
}

/// A user as SCIM renders it. Attributes the provider left unassigned are omitted, so what it
/// sent is what it reads back; `active`, once assigned, is the user's own state (an
/// administrator or the sweep may have changed it since).
pub fn render(user: &User, directory: &Directory, base: &str) -> Value {
    let mut out = Map::new();
    let mut schemas = vec![Value::from(USER_SCHEMA)];
    out.insert("id".into(), user.user_id.to_string().into());
    if let Some(id) = &directory.external_id {
        out.insert("externalId".into(), id.clone().into());
    }
    out.insert("userName".into(), directory.user_name.clone().into());
    let mut name = Map::new();
    for (key, value) in [
        ("formatted", &directory.name.formatted),
        ("familyName", &directory.name.family_name),
        ("givenName", &directory.name.given_name),
    ] {
        if let Some(v) = value {
            name.insert(key.into(), v.clone().into());
        }
    }
    if !name.is_empty() {
        out.insert("name".into(), Value::Object(name));
    }
    if let Some(d) = &directory.display_name {
        out.insert("displayName".into(), d.clone().into());
    }
    if !directory.emails.is_empty() {
        let emails: Vec<Value> = directory
            .emails
            .iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("value".into(), e.value.clone().into());
                if let Some(k) = &e.kind {
                    m.insert("type".into(), k.clone().into());
                }
                m.insert("primary".into(), e.primary.into());
                Value::Object(m)
            })
            .collect();
        out.insert("emails".into(), Value::Array(emails));
    }
    if directory.active.is_some() {
        out.insert("active".into(), user.active.into());
    }
    if !user.modules.is_empty() {
        schemas.push(LICENSING_SCHEMA.into());
        let modules: Vec<Value> = user.modules.keys().map(|m| m.to_string().into()).collect();
        out.insert(LICENSING_SCHEMA.into(), json!({ "modules": modules }));
    }
    out.insert("schemas".into(), Value::Array(schemas));
    let version = etag_of(&out);
    let stamp =
        |at: chrono::DateTime<chrono::Utc>| at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    out.insert(
        "meta".into(),
        json!({
            "resourceType": "User",
            "created": stamp(user.created_at),
            "lastModified": stamp(directory.last_modified),
            "location": location(base, user),
            "version": version,
        }),
    );
    Value::Object(out)
}

/// The user's ETag: a digest of everything SCIM shows of it but `meta`, so a change made
/// outside SCIM (an administrator's modules, the sweep's removal) moves it too, and a PATCH
/// read before such a change does not overwrite it. Weak: the representation is rendered.
pub fn etag(user: &User, directory: &Directory) -> String {
    match render(user, directory, "")["meta"]["version"].as_str() {
        Some(v) => v.to_owned(),
        None => String::new(),
    }
}

fn etag_of(resource: &Map<String, Value>) -> String {
    use sha2::Digest;
    // serde_json's maps are ordered by key: one state, one digest.
    let digest = sha2::Sha256::digest(Value::Object(resource.clone()).to_string().as_bytes());
    format!("W/\"{}\"", hex::encode(&digest[..8]))
}

/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5): `id` and `schemas` are always
/// returned; `meta` too unless excluded.
pub fn project(resource: Value, attributes: &[String], excluded: &[String]) -> Value {
    let Value::Object(map) = resource else {
        return resource;
    };
    let strip = |name: &str| -> String {
        let lower = name.to_lowercase();
        let core = format!("{}:", USER_SCHEMA.to_lowercase());
        lower.strip_prefix(&core).unwrap_or(&lower).to_owned()
    };
    let wanted: Vec<String> = attributes.iter().map(|a| strip(a)).collect();
    let dropped: Vec<String> = excluded.iter().map(|a| strip(a)).collect();
    let top = |path: &str| path.split('.').next().unwrap_or(path).to_owned();
    let kept = map
        .into_iter()
        .filter(|(k, _)| {
            let k = k.to_lowercase();
            if k == "id" || k == "schemas" {
                return true;
            }
            if !wanted.is_empty() {
                return wanted
                    .iter()
                    .any(|w| top(w) == k || w.starts_with(&format!("{k}:")));
            }
            !dropped.contains(&k)
        })
        .collect();
    Value::Object(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entra_and_okta_bodies_parse() {
        let entra = json!({
            "schemas": [USER_SCHEMA, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
            "externalId": "0a21f0f2-8d2a",
            "userName": "Test_User_ab6490ee@contoso.com",
            "active": "True",
            "displayName": "Test User",
            "emails": [{"primary": true, "type": "work", "value": "Test_User_11bb11bb@contoso.com"}],
            "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Dep"},
            "password": "never kept"
        });
        let d = Desired::parse(&entra).unwrap();
        assert_eq!((d.active, d.modules.clone()), (Some(true), None));
        assert_eq!(d.emails[0].kind.as_deref(), Some("work"));
        let no =
            Desired::parse(&json!({"schemas": [USER_SCHEMA], "userName": "x", "active": "false"}))
                .unwrap();
        assert_eq!(no.active, Some(false));
    }

    #[test]
    fn bad_bodies_say_which_attribute() {
        for (body, scim_type) in [
            (json!({"userName": "x"}), "invalidSyntax"),
            (json!({"schemas": [USER_SCHEMA]}), "invalidValue"),
            (
                json!({"schemas": [USER_SCHEMA], "userName": ""}),
                "invalidValue",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": 5}),
                "invalidValue",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "active": "yes"}),
                "invalidValue",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", "emails": [{"value": "nope"}]}),
                "invalidValue",
            ),
            (
                json!({"schemas": [USER_SCHEMA], "userName": "x", LICENSING_SCHEMA: {"modules": ["a b"]}}),
                "invalidValue",
            ),
        ] {
            assert_eq!(
                Desired::parse(&body).unwrap_err().scim_type,
                Some(scim_type),
                "{body}"
            );
        }
    }

    #[test]
    fn projection_keeps_id_and_schemas() {
        let r = json!({"id": "1", "schemas": [], "userName": "a", "name": {"givenName": "b"}, "meta": {}});
        let only = project(r.clone(), &["name.givenName".into()], &[]);
        assert_eq!(
            only,
            json!({"id": "1", "schemas": [], "name": {"givenName": "b"}})
        );
        let without = project(r, &[], &["userName".into()]);
        assert!(without.get("userName").is_none() && without.get("meta").is_some());
    }
}

//! R34: what a tenant's identity provider says about a user it provisions over SCIM, kept on
//! the user. The seat rules are the users' own (R2–R5, R23): SCIM only says which users exist,
//! their names and mail, and whether they are active.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::error::DomainError;

/// The longest `userName` or `externalId` kept, in characters and in UTF-8 bytes: far above
/// any directory's, and (lower-cased, which can grow a character by half) inside a sort key's
/// 1 KB with its prefix.
pub const MAX_DIRECTORY_VALUE: usize = 256;
const MAX_DIRECTORY_BYTES: usize = 512;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryName {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub formatted: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given_name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirectoryEmail {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default)]
    pub primary: bool,
}

/// A user's directory record. Its `user_name` (compared in lower case) and `external_id` are
/// unique in the tenant while the record is not deprovisioned: the store keeps one key item
/// for each, written in the user's own transaction, so a retried create finds the first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    pub user_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    #[serde(default)]
    pub name: DirectoryName,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default)]
    pub emails: Vec<DirectoryEmail>,
    /// `active` as the provider last set it; unassigned counts as active.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// The provisioning token that last wrote the record, and its name (the log's actor).
    pub token_id: String,
    pub token_name: String,
    /// Moves with every change: SCIM's `meta.version`, the ETag an `If-Match` names.
    pub version: u64,
    pub last_modified: DateTime<Utc>,
    /// Set by SCIM's DELETE: the user stays (deactivated) for the log and invoices, but is
    /// gone from SCIM and its keys are free for a new user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprovisioned_at: Option<DateTime<Utc>>,
}

/// A unique key of a directory record, as the store indexes it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DirectoryKey {
    /// `userName` in lower case: SCIM's `userName` is `caseExact: false`.
    UserName(String),
    ExternalId(String),
}

impl DirectoryKey {
    pub fn user_name(value: &str) -> Self {
        Self::UserName(value.to_lowercase())
    }
}

impl Directory {
    /// The keys the record holds: none once deprovisioned.
    pub fn keys(&self) -> Vec<DirectoryKey> {
        if self.deprovisioned_at.is_some() {
            return Vec::new();
        }
        std::iter::once(DirectoryKey::user_name(&self.user_name))
            .chain(self.external_id.clone().map(DirectoryKey::ExternalId))
            .collect()
    }

    pub fn is_live(&self) -> bool {
        self.deprovisioned_at.is_none()
    }

    /// The address mail goes to: the primary one, else a work one, else the first, else the
    /// `userName` when it is an address (Entra's user principal name usually is).
    pub fn mail_address(&self) -> Option<&str> {
        self.emails
            .iter()
            .find(|e| e.primary)
            .or_else(|| {
                self.emails.iter().find(|e| {
                    e.kind
                        .as_deref()
                        .is_some_and(|k| k.eq_ignore_ascii_case("work"))
                })
            })
            .or_else(|| self.emails.first())
            .map(|e| e.value.as_str())
            .or_else(|| {
                self.user_name
                    .contains('@')
                    .then_some(self.user_name.as_str())
            })
    }

    /// The name shown for the user: the display name, else the formatted name, else given and
    /// family names, else the `userName`.
    pub fn shown_name(&self) -> String {
        let joined = [&self.name.given_name, &self.name.family_name]
            .into_iter()
            .flatten()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        [&self.display_name, &self.name.formatted]
            .into_iter()
            .flatten()
            .map(|s| s.trim().to_owned())
            .find(|s| !s.is_empty())
            .or((!joined.is_empty()).then_some(joined))
            .unwrap_or_else(|| self.user_name.clone())
    }
}

/// A `userName` or `externalId` as kept: 1–256 characters, no control characters.
pub fn check_value(field: &'static str, value: &str) -> Result<(), DomainError> {
    if value.trim().is_empty()
        || value.chars().count() > MAX_DIRECTORY_VALUE
        || value.len() > MAX_DIRECTORY_BYTES
        || value.chars().any(char::is_control)
    {
        return Err(DomainError::invalid(
            field,
            "must be 1-256 characters (512 bytes), not blank, without control characters",
        ));
    }
    Ok(())
}

/// A tenant's provisioning token (R34): shown once when made, kept only as its SHA-256.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProvisioningToken {
    pub tenant_id: super::identity::TenantId,
    pub token_id: String,
    pub name: String,
    /// Hex SHA-256 of the token: the token has 244 random bits, so a plain hash is as safe
    /// as a slow one and lets one GetItem find it.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub created_by: super::identity::UserId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_used: Option<DateTime<Utc>>,
}

/// Tokens a tenant may hold at once: one per identity provider and a few for rotation.
pub const MAX_TOKENS: usize = 10;

/// How stale a token's `last_used` may get before a request writes it again: one write a
/// minute, not one a request, through a first sync of thousands.
pub const LAST_USED_EVERY_SECS: i64 = 60;

/// The stored hash of a presented token.
pub fn token_hash(token: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(token.as_bytes()))
}

/// A token's name: at most 100 characters, at least one not white space, no control
/// characters (as a display name, and as openapi.yaml's `TokenName` says).
pub fn check_token_name(name: &str) -> Result<String, DomainError> {
    let trimmed = name.trim();
    if trimmed.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "name",
            "must be 1-100 characters without control characters",
        ));
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Directory {
        Directory {
            user_name: "Ada.Lovelace@Example.com".into(),
            external_id: Some("0f1e".into()),
            name: DirectoryName {
                given_name: Some("Ada".into()),
                family_name: Some("Lovelace".into()),
                formatted: None,
            },
            display_name: None,
            emails: vec![],
            active: None,
            token_id: "t1".into(),
            token_name: "Entra ID".into(),
            version: 1,
            last_modified: DateTime::<Utc>::MIN_UTC,
            deprovisioned_at: None,
        }
    }

    #[test]
    fn user_names_are_keyed_in_lower_case_and_a_deprovisioned_record_holds_no_key() {
        let mut r = record();
        assert_eq!(
            r.keys(),
            vec![
                DirectoryKey::UserName("ada.lovelace@example.com".into()),
                DirectoryKey::ExternalId("0f1e".into())
            ]
        );
        r.deprovisioned_at = Some(Utc::now());
        assert!(r.keys().is_empty());
    }

    #[test]
    fn mail_and_name_fall_back_in_order() {
        let mut r = record();
        assert_eq!(r.mail_address(), Some("Ada.Lovelace@Example.com"));
        assert_eq!(r.shown_name(), "Ada Lovelace");
        r.emails = vec![
            DirectoryEmail {
                value: "home@example.com".into(),
                kind: Some("home".into()),
                primary: false,
            },
            DirectoryEmail {
                value: "work@example.com".into(),
                kind: Some("Work".into()),
                primary: false,
            },
        ];
        assert_eq!(r.mail_address(), Some("work@example.com"));
        r.emails[0].primary = true;
        assert_eq!(r.mail_address(), Some("home@example.com"));
        r.display_name = Some(" Countess ".into());
        assert_eq!(r.shown_name(), "Countess");
    }

    #[test]
    fn values_are_bounded() {
        assert!(check_value("userName", "a").is_ok());
        for bad in ["", "  ", "a\nb", &"x".repeat(257), &"😀".repeat(129)] {
            assert!(check_value("userName", bad).is_err(), "{bad:?}");
        }
    }
}

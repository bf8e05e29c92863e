//! Identifiers and personal fields, parsed once so that an invalid one cannot exist.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::error::DomainError;

fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')
}

macro_rules! id_type {
    ($name:ident, $field:literal, $max:expr) => {
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// 1–N characters of `A–Z a–z 0–9 - _ .`; never `#`, which the store uses as a key
            /// separator.
            pub fn parse(value: &str) -> Result<Self, DomainError> {
                if !value.is_empty() && value.len() <= $max && value.chars().all(is_id_char) {
                    Ok(Self(value.to_owned()))
                } else {
                    Err(DomainError::invalid(
                        $field,
                        concat!(
                            "must be 1-",
                            stringify!($max),
                            " characters of A-Z a-z 0-9 - _ ."
                        ),
                    ))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// For names fixed in the code (built-in roles), which are valid by construction.
            #[allow(dead_code)]
            pub(crate) fn trusted(value: &str) -> Self {
                debug_assert!(Self::parse(value).is_ok(), "{value}");
                Self(value.to_owned())
            }
        }

        impl TryFrom<String> for $name {
            type Error = DomainError;
            fn try_from(value: String) -> Result<Self, Self::Error> {
                Self::parse(&value)
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> Self {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(TenantId, "tenant_id", 64);
id_type!(UserId, "user_id", 64);
id_type!(RoleName, "role", 64);
id_type!(QuoteId, "quote_id", 64);

impl QuoteId {
    /// A new quote's id: `q-` and a random UUID, valid by construction.
    pub fn generate() -> Self {
        Self(format!("q-{}", uuid::Uuid::new_v4().simple()))
    }
}

/// A person's or a company's name as shown in mail headers and pages: at most 200 characters
/// as sent, at least one that is not white space, no control characters (so no CR/LF header
/// injection, no NUL); kept without its surrounding white space. The limit counts what was
/// sent, so that the contract's `maxLength` says exactly what is refused.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let trimmed = value.trim();
        if trimmed.is_empty() || value.chars().count() > 200 {
            return Err(DomainError::invalid("name", "must be 1-200 characters"));
        }
        if value.chars().any(char::is_control) {
            return Err(DomainError::invalid(
                "name",
                "must not contain control characters",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DisplayName {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<DisplayName> for String {
    fn from(value: DisplayName) -> Self {
        value.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address good enough to put in a header: `local@domain`, printable ASCII, no
/// spaces, no CR/LF/NUL, at most 254 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let bad = || DomainError::invalid("email", "must be an address like name@example.com");
        if value.len() > 254 || !value.chars().all(|c| c.is_ascii_graphic()) {
            return Err(bad());
        }
        let (local, domain) = value.split_once('@').ok_or_else(bad)?;
        let forbidden = |c: char| {
            matches!(
                c,
                '<' | '>' | '(' | ')' | ',' | ';' | ':' | '"' | '\\' | '[' | ']' | '@'
            )
        };
        if local.is_empty()
            || local.len() > 64
            || local.contains(forbidden)
            || domain.len() < 3
            || !domain.contains('.')
            || domain.starts_with('.')
            || domain.ends_with('.')
            || !domain
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
        {
            return Err(bad());
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for EmailAddress {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<EmailAddress> for String {
    fn from(value: EmailAddress) -> Self {
        value.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The languages mail and pages are written in (R20).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    #[default]
    En,
    Da,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Da => "da",
        }
    }
}

/// Who made a change: a user of the tenant, an operator, the tenant's identity provider (by
/// its provisioning token's name, R34), or the scheduled job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum Actor {
    User(UserId),
    Operator(String),
    Directory(String),
    System,
}

impl Actor {
    pub fn label(&self) -> String {
        match self {
            Self::User(id) => format!("user:{id}"),
            Self::Operator(id) => format!("operator:{id}"),
            Self::Directory(name) => format!("directory:{name}"),
            Self::System => "system".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_refuse_separators_and_empties() {
        assert!(UserId::parse("u-11").is_ok());
        for bad in ["", "a#b", "a b", "å", &"x".repeat(65)] {
            assert!(UserId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_and_addresses_refuse_header_injection() {
        assert!(DisplayName::parse("Ada\r\nBcc: x@y.z").is_err());
        assert!(DisplayName::parse("Ada\0").is_err());
        assert_eq!(
            DisplayName::parse("  Ada Lovelace ").unwrap().as_str(),
            "Ada Lovelace"
        );
        assert!(EmailAddress::parse("ada@acme.dk").is_ok());
        for bad in [
            "ada@acme.dk\r\nBcc: x@y.z",
            "ada",
            "@acme.dk",
            "ada@acme",
            "a da@acme.dk",
            "ada@acme.dk\0",
            "<ada@acme.dk>",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
    }
}

//! SCIM filters (RFC 7644 §3.4.2.2) and attribute paths: parsed once, evaluated against a
//! rendered resource. `userName`, `externalId` and `id` are served from keys; any other filter
//! is evaluated here over the users read.

use serde_json::Value;

use super::ScimError;

/// `urn:…:User:name.givenName` → the schema (when given), `name`, `givenName`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttrPath {
    pub urn: Option<String>,
    pub attr: String,
    pub sub: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    Compare(AttrPath, CompareOp, Value),
    Present(AttrPath),
    /// `emails[type eq "work"]`: some element of the multi-valued attribute matches.
    Elements(AttrPath, Box<Filter>),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

impl AttrPath {
    /// Parses `[urn:…:]attr[.sub]`. Attribute names are case-insensitive and kept as sent.
    pub fn parse(raw: &str) -> Result<Self, ScimError> {
        let bad = || ScimError::invalid_path(format!("{raw:?} is not an attribute path"));
        let (urn, rest) = if super::is_urn(raw) {
            let at = raw.rfind(':').ok_or_else(bad)?;
            (Some(raw[..at].to_owned()), &raw[at + 1..])
        } else {
            (None, raw)
        };
        let (attr, sub) = match rest.split_once('.') {
            Some((a, s)) => (a, Some(s)),
            None => (rest, None),
        };
        let name_ok = |n: &str| {
            n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '$')
        };
        if !name_ok(attr) || sub.is_some_and(|s| !name_ok(s)) {
            return Err(bad());
        }
        Ok(Self {
            urn,
            attr: attr.to_owned(),
            sub: sub.map(str::to_owned),
        })
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Literal(Value),
    Open,
    Close,
    OpenBracket,
    CloseBracket,
}

fn tokens(input: &str) -> Result<Vec<Token>, ScimError> {
    let mut out = Vec::new();
    let chars: Vec<char> = input.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Token::Open);
                i += 1;
            }
            ')' => {
                out.push(Token::Close);
                i += 1;
            }
            '[' => {
                out.push(Token::OpenBracket);
                i += 1;
            }
            ']' => {
                out.push(Token::CloseBracket);
                i += 1;
            }
            '"' => {
                // A JSON string: find its end, honouring escapes, and let serde decode it.
                let start = i;
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                if i >= chars.len() {
                    return Err(ScimError::invalid_filter("an unterminated string"));
                }
                i += 1;
                let raw: String = chars[start..i].iter().collect();
                let value: Value = serde_json::from_str(&raw)
                    .map_err(|_| ScimError::invalid_filter(format!("{raw} is not a string")))?;
                out.push(Token::Literal(value));
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '(' | ')' | '[' | ']' | '"') {
                    i += 1;
                }
                out.push(Token::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

/// The longest filter accepted: a filter is a query, not a document.
const MAX_FILTER: usize = 4096;
/// Nesting accepted: parentheses and `not` recurse.
const MAX_DEPTH: usize = 32;

struct Parser {
    tokens: Vec<Token>,
    at: usize,
    depth: usize,
}

impl Filter {
    pub fn parse(input: &str) -> Result<Self, ScimError> {
        if input.len() > MAX_FILTER {
            return Err(ScimError::invalid_filter("the filter is too long"));
        }
        let mut parser = Parser {
            tokens: tokens(input)?,
            at: 0,
            depth: 0,
        };
        let filter = parser.or()?;
        if parser.at != parser.tokens.len() {
            return Err(ScimError::invalid_filter(
                "unexpected text after the filter",
            ));
        }
        Ok(filter)
    }
}

impl Parser {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn expect(&mut self, token: Token, what: &str) -> Result<(), ScimError> {
        if self.tokens.get(self.at) == Some(&token) {
            self.at += 1;
            Ok(())
        } else {
            Err(ScimError::invalid_filter(format!("expected {what}")))
        }
    }

    fn nest(&mut self) -> Result<(), ScimError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ScimError::invalid_filter("the filter nests too deep"));
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.and()?;
        while self.peek_word("or") {
            self.at += 1;
            left = Filter::Or(Box::new(left), Box::new(self.and()?));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, ScimError> {
        let mut left = self.unary()?;
        while self.peek_word("and") {
            self.at += 1;
            left = Filter::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Filter, ScimError> {
        self.nest()?;
        let filter = if self.peek_word("not") {
            self.at += 1;
            self.expect(Token::Open, "( after not")?;
            let inner = self.or()?;
            self.expect(Token::Close, ")")?;
            Filter::Not(Box::new(inner))
        } else if self.tokens.get(self.at) == Some(&Token::Open) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(Token::Close, ")")?;
            inner
        } else {
            self.attribute()?
        };
        self.depth -= 1;
        Ok(filter)
    }

    fn attribute(&mut self) -> Result<Filter, ScimError> {
        let Some(Token::Word(raw)) = self.tokens.get(self.at).cloned() else {
            return Err(ScimError::invalid_filter("expected an attribute"));
        };
        self.at += 1;
        let path = AttrPath::parse(&raw).map_err(|e| ScimError::invalid_filter(e.detail))?;
        if self.tokens.get(self.at) == Some(&Token::OpenBracket) {
            self.at += 1;
            let inner = self.or()?;
            self.expect(Token::CloseBracket, "]")?;
            return Ok(Filter::Elements(path, Box::new(inner)));
        }
        let Some(Token::Word(op)) = self.tokens.get(self.at).cloned() else {
            return Err(ScimError::invalid_filter(format!(
                "expected an operator after {raw}"
            )));
        };
        self.at += 1;
        let op = match op.to_ascii_lowercase().as_str() {
            "pr" => return Ok(Filter::Present(path)),
            "eq" => CompareOp::Eq,
            "ne" => CompareOp::Ne,
            "co" => CompareOp::Co,
            "sw" => CompareOp::Sw,
            "ew" => CompareOp::Ew,
            "gt" => CompareOp::Gt,
            "ge" => CompareOp::Ge,
            "lt" => CompareOp::Lt,
            "le" => CompareOp::Le,
            other => {
                return Err(ScimError::invalid_filter(format!(
                    "unknown operator {other}"
                )));
            }
        };
        let value = match self.tokens.get(self.at).cloned() {
            Some(Token::Literal(v)) => v,
            Some(Token::Word(w)) => match w.as_str() {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                "null" => Value::Null,
                number => serde_json::from_str::<serde_json::Number>(number)
                    .map(Value::Number)
                    .map_err(|_| ScimError::invalid_filter(format!("{number} is not a value")))?,
            },
            _ => return Err(ScimError::invalid_filter("expected a value")),
        };
        self.at += 1;
        Ok(Filter::Compare(path, op, value))
    }
}

/// The attribute `name` of an object, its name compared case-insensitively.
pub fn field<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// Attributes compared exactly (RFC 7643 `caseExact: true`); every other string ignores case.
fn case_exact(path: &AttrPath) -> bool {
    path.sub.is_none() && (path.attr == "id" || path.attr.eq_ignore_ascii_case("externalId"))
}

fn compare(actual: &Value, op: CompareOp, expected: &Value, exact: bool) -> bool {
    use std::cmp::Ordering;
    let ordering = match (actual, expected) {
        (Value::String(a), Value::String(e)) => {
            let (a, e) = if exact {
                (a.clone(), e.clone())
            } else {
                (a.to_lowercase(), e.to_lowercase())
            };
            match op {
                CompareOp::Co => return a.contains(&e),
                CompareOp::Sw => return a.starts_with(&e),
                CompareOp::Ew => return a.ends_with(&e),
                _ => a.cmp(&e),
            }
        }
        (Value::Number(a), Value::Number(e)) => match a.as_f64().partial_cmp(&e.as_f64()) {
            Some(o) => o,
            None => return false,
        },
        (Value::Bool(a), Value::Bool(e)) => match op {
            CompareOp::Eq => return a == e,
            CompareOp::Ne => return a != e,
            _ => return false,
        },
        _ => return op == CompareOp::Ne && actual != expected,
    };
    match op {
        CompareOp::Eq => ordering == Ordering::Equal,
        CompareOp::Ne => ordering != Ordering::Equal,
        CompareOp::Gt => ordering == Ordering::Greater,
        CompareOp::Ge => ordering != Ordering::Less,
        CompareOp::Lt => ordering == Ordering::Less,
        CompareOp::Le => ordering != Ordering::Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// The values a path names in a resource: a multi-valued attribute gives each element's (its
/// `value` sub-attribute when no sub-attribute is named).
fn values<'a>(resource: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let scope = match &path.urn {
        Some(urn) if !urn.eq_ignore_ascii_case(super::USER_SCHEMA) => match field(resource, urn) {
            Some(extension) => extension,
            None => return Vec::new(),
        },
        _ => resource,
    };
    let Some(top) = field(scope, &path.attr) else {
        return Vec::new();
    };
    let pick = |v: &'a Value| -> Option<&'a Value> {
        match (&path.sub, v) {
            (Some(sub), _) => field(v, sub),
            (None, Value::Object(_)) => field(v, "value"),
            (None, _) => Some(v),
        }
    };
    match top {
        Value::Array(items) => items.iter().filter_map(pick).collect(),
        other => pick(other).into_iter().collect(),
    }
}

impl Filter {
    pub fn matches(&self, resource: &Value) -> bool {
        match self {
            Self::Compare(path, op, expected) => {
                let found = values(resource, path);
                if *op == CompareOp::Ne {
                    return found
                        .iter()
                        .all(|v| compare(v, CompareOp::Ne, expected, case_exact(path)));
                }
                found
                    .iter()
                    .any(|v| compare(v, *op, expected, case_exact(path)))
            }
            Self::Present(path) => values(resource, path).iter().any(|v| match v {
                Value::Null => false,
                Value::String(s) => !s.is_empty(),
                Value::Array(a) => !a.is_empty(),
                Value::Object(o) => !o.is_empty(),
                _ => true,
            }),
            Self::Elements(path, inner) => {
                let scope = AttrPath {
                    sub: None,
                    ..path.clone()
                };
                let top = match &scope.urn {
                    Some(urn) if !urn.eq_ignore_ascii_case(super::USER_SCHEMA) => {
                        field(resource, urn).and_then(|e| field(e, &scope.attr))
                    }
                    _ => field(resource, &scope.attr),
                };
                match top {
                    Some(Value::Array(items)) => items.iter().any(|item| inner.matches(item)),
                    Some(item @ Value::Object(_)) => inner.matches(item),
                    _ => false,
                }
            }
            Self::And(a, b) => a.matches(resource) && b.matches(resource),
            Self::Or(a, b) => a.matches(resource) || b.matches(resource),
            Self::Not(a) => !a.matches(resource),
        }
    }

    /// The `eq` comparisons on `attr` (of the core schema) that every match must satisfy: what
    /// a key can answer instead of reading every user.
    pub fn required_eq(&self, attr: &str) -> Option<&str> {
        match self {
            Self::Compare(path, CompareOp::Eq, Value::String(v))
                if path.sub.is_none()
                    && path
                        .urn
                        .as_deref()
                        .is_none_or(|u| u.eq_ignore_ascii_case(super::USER_SCHEMA))
                    && path.attr.eq_ignore_ascii_case(attr) =>
            {
                Some(v)
            }
            Self::And(a, b) => a.required_eq(attr).or_else(|| b.required_eq(attr)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "schemas": [super::super::USER_SCHEMA],
            "id": "u-1", "userName": "Ada@Example.com", "externalId": "AbC",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "ada@work.example", "type": "work", "primary": true},
                       {"value": "ada@home.example", "type": "home"}],
            "active": true,
            "meta": {"created": "2026-01-01T00:00:00Z"}
        })
    }

    fn check(filter: &str) -> bool {
        Filter::parse(filter).unwrap().matches(&user())
    }

    #[test]
    fn what_identity_providers_send_matches() {
        assert!(
            check(r#"userName eq "ada@example.com""#),
            "userName ignores case"
        );
        assert!(check(r#"externalId eq "AbC""#));
        assert!(!check(r#"externalId eq "abc""#), "externalId is case-exact");
        assert!(check(
            r#"userName eq "ada@example.com" and externalId eq "AbC""#
        ));
        assert!(check(
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ADA@example.com""#
        ));
        assert!(check(r#"emails[type eq "work" and value co "@work"]"#));
        assert!(check(r#"emails.value eq "ada@home.example""#));
        assert!(check(r#"emails eq "ada@home.example""#));
        assert!(check(r#"name.familyName sw "love" or id eq "nope""#));
        assert!(check("not (active eq false) and title pr or userName pr"));
        assert!(!check("title pr"));
        assert!(check(r#"meta.created lt "2026-02-01T00:00:00Z""#));
        assert!(check(r#"userName ne "bo@example.com""#));
    }

    #[test]
    fn malformed_filters_are_invalid_filters() {
        for bad in [
            "",
            "userName",
            r#"userName eq"#,
            r#"userName xx "a""#,
            r#"userName eq "a" and"#,
            r#"(userName eq "a""#,
            r#"userName eq "unterminated"#,
            r#"emails[type eq "work""#,
            r#"1abc eq "a""#,
            &"(".repeat(40),
        ] {
            let err = Filter::parse(bad).unwrap_err();
            assert_eq!(err.scim_type, Some("invalidFilter"), "{bad}");
        }
    }

    #[test]
    fn keys_are_found_only_where_every_match_needs_them() {
        let f = Filter::parse(r#"userName eq "A" and active eq true"#).unwrap();
        assert_eq!(f.required_eq("username"), Some("A"));
        let f = Filter::parse(r#"userName eq "A" or externalId eq "b""#).unwrap();
        assert_eq!(f.required_eq("userName"), None);
        assert_eq!(f.required_eq("externalId"), None);
    }
}

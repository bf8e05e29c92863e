//! R10: approvals carry an `Idempotency-Key`; the same key with the same body is one effect.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::error::DomainError;

/// 1–255 printable ASCII characters, as the header arrives.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(value: &str) -> Result<Self, DomainError> {
        if !value.is_empty()
            && value.len() <= 255
            && value.bytes().all(|b| (0x20..0x7f).contains(&b))
        {
            Ok(Self(value.to_owned()))
        } else {
            Err(DomainError::invalid(
                "Idempotency-Key",
                "must be 1-255 printable ASCII characters",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A fixed-length form for storage keys: any printable key, including `#`, is safe there.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }
}

/// What "the same body" means: the request's meaning, not its bytes, so that key order and
/// white space in the JSON do not turn a retry into a conflict.
pub fn fingerprint(request: &serde_json::Value) -> String {
    // serde_json's map keeps keys sorted (no `preserve_order`), so this form is canonical.
    hex::encode(Sha256::digest(request.to_string().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r10_keys_are_printable_and_bounded() {
        assert!(IdempotencyKey::parse("a1b2-#/+").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", "a\nb", "é", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn r10_the_same_body_in_another_layout_is_the_same_request() {
        let a: serde_json::Value =
            serde_json::from_str(r#"{"quote_id":"q1","x":{"b":1,"a":2}}"#).unwrap();
        let b: serde_json::Value =
            serde_json::from_str("{ \"x\": {\"a\": 2, \"b\": 1},\n \"quote_id\": \"q1\" }")
                .unwrap();
        let c: serde_json::Value = serde_json::from_str(r#"{"quote_id":"q2"}"#).unwrap();
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_ne!(fingerprint(&a), fingerprint(&c));
    }
}

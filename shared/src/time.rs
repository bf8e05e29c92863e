//! Instants as the contract writes them, and as storage keys sort them.

use chrono::{DateTime, SecondsFormat, Utc};

/// RFC 3339 UTC with a `Z`, as the HTTP contract writes instants.
pub fn rfc3339(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A fixed-width form whose byte order is time order, for sort keys.
pub fn sortable(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Instants on the wire: RFC 3339 with a `Z` and microseconds.
pub mod serde_rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::Serializer;

    pub fn serialize<S: Serializer>(at: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::rfc3339(*at))
    }
}

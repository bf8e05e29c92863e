//! R38: a tenant's webhook endpoints, what may be sent where, and Standard Webhooks 1.0's
//! signature. Pure: the address a name resolves to is passed in, as is the clock.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::error::DomainError;
use super::identity::{TenantId, UserId};

/// Endpoints a tenant may have.
pub const MAX_ENDPOINTS: usize = 10;
/// Attempts kept per endpoint, newest first.
pub const ATTEMPTS_KEPT: u64 = 100;
/// How long a send may take before it counts as failed.
pub const SEND_TIMEOUT_SECS: u64 = 15;
/// An endpoint failing this long (no success since its first failure) is disabled.
pub const FAILING_DAYS_BEFORE_DISABLED: i64 = 5;
/// How long a rotated-out secret still signs, beside the new one.
pub const ROTATED_SECRET_HOURS: i64 = 24;
/// How much of an endpoint's answer an attempt keeps.
pub const ANSWER_KEPT_BYTES: usize = 256;
/// A receiver refuses a timestamp further than this from its clock (Standard Webhooks).
pub const TOLERANCE_SECS: i64 = 5 * 60;

const MAX_URL_BYTES: usize = 2048;
const MAX_DESCRIPTION_CHARS: usize = 200;
/// Standard Webhooks' prefix of a secret, which its libraries strip.
pub const SECRET_PREFIX: &str = "whsec_";

/// The events an endpoint may subscribe to: those the bus carries (R21).
pub const EVENT_TYPES: [&str; 12] = [
    "LicencesPurchased",
    "InvoiceIssued",
    "NextPeriodChanged",
    "PeriodRolledOver",
    "SeatOverAllocated",
    "SeatRemoved",
    "UserActivated",
    "UserDeactivated",
    "PurchaseRequested",
    "PurchaseRequestDeclined",
    "PurchaseRequestExpired",
    "ApprovalThresholdChanged",
];

/// The type of the message an administrator sends on demand; no domain event has it.
pub const TEST_EVENT: &str = "WebhookTest";

/// A signing secret; a rotated-out one signs beside its successor until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Secret {
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
}

/// Why an endpoint stopped receiving.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disabled {
    /// An administrator turned it off.
    Manual,
    /// It answered `410 Gone`.
    Gone,
    /// It failed for [`FAILING_DAYS_BEFORE_DISABLED`] days.
    Failing,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Endpoint {
    pub tenant_id: TenantId,
    pub endpoint_id: String,
    pub url: String,
    #[serde(default)]
    pub description: String,
    /// Subscribed event types, from [`EVENT_TYPES`], sorted.
    pub events: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<Disabled>,
    /// The newest first.
    pub secrets: Vec<Secret>,
    pub created_at: DateTime<Utc>,
    pub created_by: UserId,
    /// The first failure since the last success.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failing_since: Option<DateTime<Utc>>,
    /// Moves with every write, so that two writers never overwrite each other.
    pub version: u64,
}

impl Endpoint {
    pub fn enabled(&self) -> bool {
        self.disabled.is_none()
    }

    pub fn subscribes(&self, event_type: &str) -> bool {
        self.enabled() && self.events.iter().any(|e| e == event_type)
    }

    /// The secrets that sign at `now`: the current one and any rotated out less than
    /// [`ROTATED_SECRET_HOURS`] ago.
    pub fn live_secrets(&self, now: DateTime<Utc>) -> Vec<&str> {
        self.secrets
            .iter()
            .filter(|s| s.expires_at.is_none_or(|at| at > now))
            .map(|s| s.value.as_str())
            .collect()
    }

    /// A new current secret; the old one keeps signing for [`ROTATED_SECRET_HOURS`].
    pub fn rotate(&mut self, new: String, now: DateTime<Utc>) {
        let until = now + Duration::hours(ROTATED_SECRET_HOURS);
        self.secrets
            .retain(|s| s.expires_at.is_none_or(|at| at > now));
        for old in &mut self.secrets {
            old.expires_at = Some(old.expires_at.map_or(until, |at| at.min(until)));
        }
        self.secrets.insert(
            0,
            Secret {
                value: new,
                expires_at: None,
            },
        );
    }

    /// What one attempt's outcome does to the endpoint: a success clears its failing streak;
    /// `410 Gone` disables it; a failure starts a streak or, after
    /// [`FAILING_DAYS_BEFORE_DISABLED`] days of one, disables it. Returns whether it was
    /// disabled by this attempt.
    pub fn note_attempt(&mut self, outcome: Outcome, at: DateTime<Utc>) -> Option<Disabled> {
        match outcome {
            Outcome::Delivered => {
                self.failing_since = None;
                None
            }
            Outcome::Gone => {
                self.failing_since = None;
                self.disabled.is_none().then(|| {
                    self.disabled = Some(Disabled::Gone);
                    Disabled::Gone
                })
            }
            Outcome::Failed => {
                let since = *self.failing_since.get_or_insert(at);
                let failing_too_long = at - since >= Duration::days(FAILING_DAYS_BEFORE_DISABLED);
                (failing_too_long && self.disabled.is_none()).then(|| {
                    self.disabled = Some(Disabled::Failing);
                    Disabled::Failing
                })
            }
        }
    }
}

/// One try at sending a message to an endpoint, as the endpoint's history shows it, with the
/// event it carried so that it can be sent again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    pub endpoint_id: String,
    pub message_id: String,
    pub event_type: String,
    /// When it was sent (the real clock).
    pub at: DateTime<Utc>,
    /// The answer's status; none when there was no answer (refused address, timeout, no
    /// connection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub latency_ms: u64,
    /// The answer's first [`ANSWER_KEPT_BYTES`] bytes.
    #[serde(default)]
    pub answer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub event_at: DateTime<Utc>,
    pub data: serde_json::Value,
}

/// What the dispatcher asks the webhook sender to POST: the sender holds no secret and reaches
/// nothing but the address it is given, which it checks again as it resolves it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub url: String,
    pub webhook_id: String,
    pub timestamp: i64,
    pub signature: String,
    pub body: String,
}

/// What the webhook sender saw: the status (none when nothing answered or the address was
/// refused), how long it took, and the start of the answer or the error.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub latency_ms: u64,
    #[serde(default)]
    pub answer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The first [`ANSWER_KEPT_BYTES`] of an answer, cut at a character boundary.
pub fn answer_start(text: &str) -> String {
    let mut end = text.len().min(ANSWER_KEPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// Endpoints in the order every listing gives them: oldest first.
pub fn oldest_first(endpoints: &mut [Endpoint]) {
    endpoints.sort_by(|a, b| (a.created_at, &a.endpoint_id).cmp(&(b.created_at, &b.endpoint_id)));
}

/// What an endpoint's answer to one attempt means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// 2xx.
    Delivered,
    /// 410: the receiver is gone for good.
    Gone,
    /// Anything else, no answer, or an address refused: tried again on R32's schedule.
    Failed,
}

impl Outcome {
    pub fn of(status: Option<u16>) -> Self {
        match status {
            Some(s) if (200..300).contains(&s) => Self::Delivered,
            Some(410) => Self::Gone,
            _ => Self::Failed,
        }
    }
}

/// The subscribed types, checked and sorted: 1 to 12 of them (the contract's bound; a type
/// listed twice counts twice), each from [`EVENT_TYPES`].
pub fn check_events(events: &[String]) -> Result<Vec<String>, DomainError> {
    if events.is_empty() || events.len() > EVENT_TYPES.len() {
        return Err(DomainError::invalid(
            "events",
            format!("subscribe to 1 to {} events", EVENT_TYPES.len()),
        ));
    }
    let mut checked = Vec::new();
    for event in events {
        if !EVENT_TYPES.contains(&event.as_str()) {
            return Err(DomainError::invalid(
                "events",
                format!("unknown event type (one of {})", EVENT_TYPES.join(", ")),
            ));
        }
        checked.push(event.clone());
    }
    checked.sort();
    checked.dedup();
    Ok(checked)
}

pub fn check_description(description: &str) -> Result<String, DomainError> {
    let trimmed = description.trim();
    if trimmed.chars().count() > MAX_DESCRIPTION_CHARS || trimmed.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "description",
            format!("at most {MAX_DESCRIPTION_CHARS} characters, none a control character"),
        ));
    }
    Ok(trimmed.to_owned())
}

/// Where an endpoint's URL points: the host to resolve (or the address it names) and port.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub host: String,
    pub port: u16,
    pub literal: Option<IpAddr>,
}

/// An endpoint's URL as an administrator gives it: absolute, `https` (or `http` where the
/// deployment allows private receivers, which only a local run does), no user or password,
/// no fragment. An address in it is checked at once; a name is checked where it is resolved.
///
/// Every refusal is `address_refused` (422): the contract says what a URL looks like, not
/// every way one can be unusable.
pub fn check_url(raw: &str, allow_private: bool) -> Result<Target, DomainError> {
    let bad = |reason: &str| DomainError::AddressRefused(format!("the url {reason}"));
    if raw.len() > MAX_URL_BYTES {
        return Err(bad("is longer than 2048 bytes"));
    }
    let url = url::Url::parse(raw.trim()).map_err(|e| bad(&format!("is not a URL: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err(bad("must start with https://")),
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry a user name or password"));
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| bad("has no port"))?;
    let (host, literal) = match url.host() {
        Some(url::Host::Domain(name)) => (name.to_owned(), None),
        Some(url::Host::Ipv4(ip)) => (ip.to_string(), Some(IpAddr::V4(ip))),
        Some(url::Host::Ipv6(ip)) => (ip.to_string(), Some(IpAddr::V6(ip))),
        None => return Err(bad("has no host")),
    };
    if let Some(ip) = literal {
        refuse_address(ip, allow_private)?;
    }
    if literal.is_none() && (host == "localhost" || host.ends_with(".localhost")) && !allow_private
    {
        return Err(DomainError::AddressRefused(format!("{host} is loopback")));
    }
    Ok(Target {
        url: url.to_string(),
        host,
        port,
        literal,
    })
}

/// Refuses an address a webhook must not reach: the cloud's metadata service always; private,
/// loopback, link-local and other non-public ranges unless `allow_private`.
pub fn refuse_address(ip: IpAddr, allow_private: bool) -> Result<(), DomainError> {
    match address_class(ip) {
        Some(class @ "the metadata service") => {
            Err(DomainError::AddressRefused(format!("{ip} is {class}")))
        }
        Some(class) if !allow_private => {
            Err(DomainError::AddressRefused(format!("{ip} is {class}")))
        }
        _ => Ok(()),
    }
}

/// Which non-public range an address is in, if any.
pub fn address_class(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_class(v4),
        IpAddr::V6(v6) => {
            // An IPv4 address written as IPv6 (::ffff:a.b.c.d, ::a.b.c.d) is that address.
            if let Some(v4) = v6
                .to_ipv4_mapped()
                .or_else(|| compatible(v6))
                .or_else(|| translated(v6))
            {
                return v4_class(v4);
            }
            v6_class(v6)
        }
    }
}

fn compatible(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    (s[..6] == [0; 6] && (s[6] != 0 || s[7] > 1)).then(|| {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    })
}

/// An IPv4-translated address (`::ffff:0:a.b.c.d`, RFC 2765).
fn translated(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    (s[..4] == [0; 4] && s[4] == 0xffff && s[5] == 0).then(|| {
        let [a, b] = s[6].to_be_bytes();
        let [c, d] = s[7].to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    })
}

fn v4_class(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(169, 254, 170, 2) {
        Some("the metadata service")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_private() {
        Some("private")
    } else if ip.is_link_local() {
        Some("link-local")
    } else if ip.is_unspecified() || a == 0 {
        Some("unspecified")
    } else if a == 100 && (64..128).contains(&b) {
        Some("shared (carrier-grade NAT)")
    } else if ip.is_broadcast() || ip.is_multicast() || a >= 240 {
        Some("not unicast")
    } else if a == 192 && b == 0 && ip.octets()[2] == 0 {
        Some("reserved (IETF)")
    } else if (a == 198 && (18..20).contains(&b)) || ip.is_documentation() {
        Some("reserved (testing)")
    } else {
        None
    }
}

fn v6_class(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        Some("the metadata service")
    } else if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if first & 0xfe00 == 0xfc00 {
        Some("private")
    } else if first & 0xffc0 == 0xfe80 {
        Some("link-local")
    } else if ip.is_multicast() {
        Some("not unicast")
    } else if first == 0x2001 && ip.segments()[1] == 0xdb8 {
        Some("reserved (testing)")
    } else if first == 0x64 && ip.segments()[1] == 0xff9b {
        // NAT64 reaches IPv4 addresses, private ones included.
        Some("NAT64")
    } else if first == 0x2002 || (first == 0x2001 && ip.segments()[1] == 0) {
        // 6to4 and Teredo relay to IPv4 addresses, private ones included.
        Some("a tunnel to IPv4")
    } else if first & 0xffc0 == 0xfec0 {
        Some("private (site-local)")
    } else {
        None
    }
}

/// A new secret: `whsec_` and the base64 of 32 bytes, two v4 UUIDs from the OS's generator
/// (244 of the 256 bits random; Standard Webhooks asks for at least 24 random bytes).
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    format!("{SECRET_PREFIX}{}", STANDARD.encode(key))
}

fn key_of(secret: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(secret.strip_prefix(SECRET_PREFIX).unwrap_or(secret))
        .ok()
        .filter(|k| !k.is_empty())
}

fn mac(key: &[u8], id: &str, timestamp: i64, body: &str) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Some(mac)
}

/// `webhook-signature` for a message: `v1,<base64 HMAC-SHA256 of id.timestamp.body>` for each
/// secret, space-separated (Standard Webhooks 1.0).
pub fn signature(secrets: &[&str], id: &str, timestamp: i64, body: &str) -> String {
    secrets
        .iter()
        .filter_map(|s| key_of(s))
        .filter_map(|key| mac(&key, id, timestamp, body))
        .map(|mac| format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether `header` holds a valid `v1` signature of the message by `secret`, its timestamp
/// within [`TOLERANCE_SECS`] of `now`. An empty signature (`v1,`) is never one: some verifiers
/// compared only as much as was sent.
pub fn verify(
    secret: &str,
    id: &str,
    timestamp: i64,
    body: &str,
    header: &str,
    now: DateTime<Utc>,
) -> bool {
    if (now.timestamp() - timestamp).abs() > TOLERANCE_SECS {
        return false;
    }
    let Some(key) = key_of(secret) else {
        return false;
    };
    header.split(' ').any(|part| {
        let Some(sent) = part.strip_prefix("v1,") else {
            return false;
        };
        let Ok(sent) = STANDARD.decode(sent) else {
            return false;
        };
        // verify_slice compares in constant time and refuses a length that is not the MAC's.
        mac(&key, id, timestamp, body).is_some_and(|m| m.verify_slice(&sent).is_ok())
    })
}

/// The JSON a receiver gets: the event's type, when it happened and what it says.
pub fn message_body(event_type: &str, at: DateTime<Utc>, data: &serde_json::Value) -> String {
    serde_json::json!({
        "type": event_type,
        "timestamp": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": data,
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::{
        Disabled, Endpoint, Outcome, Secret, TOLERANCE_SECS, check_url, key_of, new_secret,
        refuse_address, signature, verify,
    };
    use crate::domain::identity::{TenantId, UserId};
    use chrono::{DateTime, Duration, TimeZone, Utc};

    fn at(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 1, h, 0, 0).unwrap()
    }

    // Standard Webhooks' own test vector (its libraries' tests).
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TS: i64 = 1614265330;
    const BODY: &str = r#"{"test": 2432232314}"#;
    const SIGNED: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    fn then() -> DateTime<Utc> {
        Utc.timestamp_opt(TS, 0).unwrap()
    }

    #[test]
    fn the_signature_is_standard_webhooks_own_vector() {
        assert_eq!(signature(&[SECRET], ID, TS, BODY), SIGNED);
        assert!(verify(SECRET, ID, TS, BODY, SIGNED, then()));
    }

    #[test]
    fn an_empty_or_cut_signature_is_refused() {
        for header in [
            "v1,",
            "v1",
            "",
            "v1, ",
            "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "v1,g0hM9SsE",
        ] {
            assert!(!verify(SECRET, ID, TS, BODY, header, then()), "{header:?}");
        }
        // One valid signature among others is enough; a tampered body or id is not.
        assert!(verify(
            SECRET,
            ID,
            TS,
            BODY,
            &format!("v1, {SIGNED}"),
            then()
        ));
        assert!(!verify(SECRET, ID, TS, "{}", SIGNED, then()));
        assert!(!verify(SECRET, "msg_other", TS, BODY, SIGNED, then()));
    }

    #[test]
    fn a_stale_timestamp_is_refused() {
        let late = then() + Duration::seconds(TOLERANCE_SECS + 1);
        assert!(!verify(SECRET, ID, TS, BODY, SIGNED, late));
    }

    /// An endpoint made at midnight, signing with `secrets`.
    fn endpoint(secrets: &[&str]) -> Endpoint {
        Endpoint {
            tenant_id: TenantId::parse("acme").unwrap(),
            endpoint_id: "we-1".into(),
            url: "https://example.com/hook".into(),
            description: String::new(),
            events: vec!["LicencesPurchased".into()],
            disabled: None,
            secrets: secrets
                .iter()
                .map(|s| Secret {
                    value: (*s).into(),
                    expires_at: None,
                })
                .collect(),
            created_at: at(0),
            created_by: UserId::parse("ada").unwrap(),
            failing_since: None,
            version: 1,
        }
    }

    #[test]
    fn a_rotated_secret_signs_beside_the_new_one_for_a_day() {
        let mut e = endpoint(&[SECRET]);
        let new = new_secret();
        e.rotate(new.clone(), at(1));
        assert_eq!(e.live_secrets(at(2)), vec![new.as_str(), SECRET]);
        let header = signature(&e.live_secrets(at(2)), ID, TS, BODY);
        assert!(verify(&new, ID, TS, BODY, &header, then()));
        assert!(verify(SECRET, ID, TS, BODY, &header, then()));
        assert_eq!(
            e.live_secrets(at(1) + Duration::hours(24)),
            vec![new.as_str()]
        );
        // A second rotation within the day does not extend the first one's life.
        let newer = new_secret();
        e.rotate(newer.clone(), at(3));
        assert_eq!(e.secrets[2].expires_at, Some(at(1) + Duration::hours(24)));
        assert_eq!(e.live_secrets(at(3)).len(), 3);
    }

    #[test]
    fn a_secret_is_whsec_and_32_bytes() {
        let s = new_secret();
        assert_eq!(key_of(&s).map(|k| k.len()), Some(32));
        assert_ne!(s, new_secret());
    }

    #[test]
    fn addresses_a_webhook_must_not_reach() {
        let refused = |ip: &str, allow: bool| refuse_address(ip.parse().unwrap(), allow).is_err();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.1.1",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fc00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "255.255.255.255",
            "224.0.0.1",
            "2002:a00:1::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "::ffff:0:10.0.0.1",
            "fec0::1",
        ] {
            assert!(refused(ip, false), "{ip}");
            assert!(!refused(ip, true), "{ip} allowed locally");
        }
        for ip in [
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "fd00:ec2::254",
            "169.254.170.2",
        ] {
            assert!(refused(ip, true), "{ip} always refused");
        }
        for ip in [
            "93.184.215.14",
            "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
            "1.1.1.1",
        ] {
            assert!(!refused(ip, false), "{ip}");
        }
    }

    #[test]
    fn urls_are_https_without_credentials() {
        assert!(check_url("https://hooks.example.com/licences?x=1", false).is_ok());
        for (raw, allow) in [
            ("http://hooks.example.com/", false),
            ("ftp://hooks.example.com/", true),
            ("https://user:pw@hooks.example.com/", false),
            ("https://hooks.example.com/#frag", false),
            ("hooks.example.com", false),
            ("https://127.0.0.1/", false),
            ("https://[::1]:8443/", false),
            ("https://localhost/", false),
            ("https://169.254.169.254/latest/meta-data", true),
            ("http://2130706433/", false),
        ] {
            assert!(check_url(raw, allow).is_err(), "{raw}");
        }
        let local = check_url("http://127.0.0.1:9999/hook", true).unwrap();
        assert_eq!((local.host.as_str(), local.port), ("127.0.0.1", 9999));
        // A decimal address is read as the address it is.
        assert!(check_url("https://2130706433/", false).is_err());
    }

    #[test]
    fn outcomes_move_the_endpoint() {
        let mut e = endpoint(&[]);
        assert_eq!(e.note_attempt(Outcome::Failed, at(1)), None);
        assert_eq!(
            e.note_attempt(Outcome::Failed, at(1) + Duration::days(4)),
            None
        );
        assert_eq!(
            e.note_attempt(Outcome::Delivered, at(2) + Duration::days(4)),
            None
        );
        assert_eq!(e.failing_since, None);
        e.note_attempt(Outcome::Failed, at(3));
        assert_eq!(
            e.note_attempt(Outcome::Failed, at(3) + Duration::days(5)),
            Some(Disabled::Failing)
        );
        assert!(!e.enabled());
        assert_eq!(Outcome::of(Some(410)), Outcome::Gone);
        assert_eq!(Outcome::of(Some(204)), Outcome::Delivered);
        assert_eq!(Outcome::of(Some(301)), Outcome::Failed);
        assert_eq!(Outcome::of(None), Outcome::Failed);
    }
}

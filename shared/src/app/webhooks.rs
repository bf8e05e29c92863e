//! R38's endpoints as an administrator manages them: added with a secret shown once, listed
//! with their state and recent attempts, changed, deleted, a secret rotated, a test message
//! sent and any kept message sent again. Every change is in the action log. Sending is the
//! dispatcher's (`notify`): a change here only writes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::app::{AppError, Caller, authorize, log_entry, retrying};
use crate::domain::DomainError;
use crate::domain::identity::Actor;
use crate::domain::rights::Right;
use crate::domain::webhooks::{
    self, Attempt, Disabled, Endpoint, MAX_ENDPOINTS, Secret, TEST_EVENT, check_description,
    check_events, check_url, new_secret,
};
use crate::outbox::{OutboxMessage, Payload};
use crate::ports::{AccountReads, Commits, Resolve, StoreError, Webhooks};

/// The deployment's webhook settings: whether private receivers are allowed (only a local run
/// allows them), and how names resolve.
pub struct WebhookSettings<'a, R: Resolve> {
    pub allow_private: bool,
    pub resolver: &'a R,
}

#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct NewEndpoint {
    pub url: String,
    pub events: Vec<String>,
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct EndpointPatch {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

#[derive(Serialize, Debug, Clone)]
pub struct EndpointView {
    pub endpoint_id: String,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub enabled: bool,
    /// Why it stopped: `manual`, `gone` (it answered 410) or `failing` (5 days of failures).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled_reason: Option<Disabled>,
    #[serde(with = "crate::time::serde_rfc3339")]
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    #[serde(serialize_with = "crate::app::views::opt_instant")]
    pub failing_since: Option<DateTime<Utc>>,
    /// Until when a rotated-out secret still signs beside the current one.
    #[serde(serialize_with = "crate::app::views::opt_instant")]
    pub previous_secret_until: Option<DateTime<Utc>>,
}

impl EndpointView {
    fn of(e: &Endpoint, now: DateTime<Utc>) -> Self {
        Self {
            endpoint_id: e.endpoint_id.clone(),
            url: e.url.clone(),
            description: e.description.clone(),
            events: e.events.clone(),
            enabled: e.enabled(),
            disabled_reason: e.disabled,
            created_at: e.created_at,
            created_by: e.created_by.to_string(),
            failing_since: e.failing_since,
            previous_secret_until: e
                .secrets
                .iter()
                .filter_map(|s| s.expires_at)
                .filter(|at| *at > now)
                .max(),
        }
    }
}

/// An endpoint with its secret: answered when it is made or its secret rotated, never again.
#[derive(Serialize, Debug, Clone)]
pub struct EndpointWithSecret {
    #[serde(flatten)]
    pub endpoint: EndpointView,
    pub secret: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct AttemptView {
    pub message_id: String,
    pub event_type: String,
    #[serde(with = "crate::time::serde_rfc3339")]
    pub at: DateTime<Utc>,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub answer: String,
    pub error: Option<String>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> Self {
        Self {
            message_id: a.message_id,
            event_type: a.event_type,
            at: a.at,
            status: a.status,
            latency_ms: a.latency_ms,
            answer: a.answer,
            error: a.error,
        }
    }
}

/// A message queued for an endpoint (a test or a resend): its id is the `webhook-id`.
#[derive(Serialize, Debug, Clone)]
pub struct QueuedView {
    pub message_id: String,
}

/// Only an administrator (every right) manages webhooks: an endpoint hears every change of
/// the tenant, purchases and users included.
async fn administrator<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let auth = authorize(store, caller, Right::LicencesManage, now).await?;
    if auth.rights.len() != Right::ALL.len() {
        return Err(DomainError::AdministratorOnly.into());
    }
    Ok(())
}

/// The URL checked, and every address its name resolves to now.
async fn checked_url<R: Resolve>(
    raw: &str,
    settings: &WebhookSettings<'_, R>,
) -> Result<String, AppError> {
    let target = check_url(raw, settings.allow_private)?;
    if target.literal.is_none() {
        let addresses = settings
            .resolver
            .resolve(&target.host, target.port)
            .await
            .map_err(DomainError::AddressRefused)?;
        if addresses.is_empty() {
            return Err(DomainError::AddressRefused(format!(
                "{} resolves to no address",
                target.host
            ))
            .into());
        }
        for ip in addresses {
            webhooks::refuse_address(ip, settings.allow_private)
                .map_err(|e| DomainError::AddressRefused(format!("{}: {e}", target.host)))?;
        }
    }
    Ok(target.url)
}

async fn find<S: Webhooks>(store: &S, caller: &Caller, id: &str) -> Result<Endpoint, AppError> {
    store
        .endpoints(&caller.tenant)
        .await?
        .into_iter()
        .find(|e| e.endpoint_id == id)
        .ok_or(AppError::NotFound("webhook endpoint"))
}

/// `POST /v1/webhooks`.
pub async fn create_endpoint<S: AccountReads + Commits + Webhooks, R: Resolve>(
    store: &S,
    caller: &Caller,
    new: NewEndpoint,
    settings: &WebhookSettings<'_, R>,
    now: DateTime<Utc>,
) -> Result<EndpointWithSecret, AppError> {
    let events = check_events(&new.events)?;
    let description = check_description(&new.description)?;
    administrator(store, caller, now).await?;
    let url = checked_url(&new.url, settings).await?;
    let limit = || {
        AppError::from(DomainError::LimitReached {
            what: "webhook endpoints",
            max: MAX_ENDPOINTS as u32,
        })
    };
    let secret = new_secret();
    let endpoint = Endpoint {
        tenant_id: caller.tenant.clone(),
        endpoint_id: format!("we-{}", &uuid::Uuid::new_v4().simple().to_string()[..12]),
        url,
        description,
        events,
        disabled: None,
        secrets: vec![Secret {
            value: secret.clone(),
            expires_at: None,
        }],
        created_at: now,
        created_by: caller.user.clone(),
        failing_since: None,
        version: 1,
    };
    let log = log_entry(
        Actor::User(caller.user.clone()),
        "webhook.created",
        json!({ "endpoint_id": endpoint.endpoint_id, "url": endpoint.url, "events": endpoint.events }),
        now,
    );
    // The write counts the tenant's endpoints (two creates at once cannot both take the last
    // place); one that raced another on the count is tried again, and counts again.
    retrying(|_| async {
        match store.put_endpoint(&endpoint, Some(&log), None).await {
            Err(StoreError::LimitReached(_)) => Err(limit()),
            other => Ok(other?),
        }
    })
    .await?;
    Ok(EndpointWithSecret {
        endpoint: EndpointView::of(&endpoint, now),
        secret,
    })
}

pub async fn list_endpoints<S: AccountReads + Commits + Webhooks>(
    store: &S,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<Vec<EndpointView>, AppError> {
    administrator(store, caller, now).await?;
    Ok(store
        .endpoints(&caller.tenant)
        .await?
        .iter()
        .map(|e| EndpointView::of(e, now))
        .collect())
}

pub async fn get_endpoint<S: AccountReads + Commits + Webhooks>(
    store: &S,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Result<EndpointView, AppError> {
    administrator(store, caller, now).await?;
    Ok(EndpointView::of(&find(store, caller, id).await?, now))
}

/// `PATCH /v1/webhooks/{id}`: its URL, events, description, or enabled. Enabling one that was
/// disabled (by hand, a 410 or failures) clears its failing streak.
pub async fn update_endpoint<S: AccountReads + Commits + Webhooks, R: Resolve>(
    store: &S,
    caller: &Caller,
    id: &str,
    patch: EndpointPatch,
    settings: &WebhookSettings<'_, R>,
    now: DateTime<Utc>,
) -> Result<EndpointView, AppError> {
    administrator(store, caller, now).await?;
    // Resolved once, before the write that may be tried again.
    let url = match &patch.url {
        Some(url) => Some(checked_url(url, settings).await?),
        None => None,
    };
    let events = patch.events.as_deref().map(check_events).transpose()?;
    let description = patch
        .description
        .as_deref()
        .map(check_description)
        .transpose()?;
    let endpoint = rewrite(store, caller, id, |endpoint| {
        let mut changed = serde_json::Map::new();
        if let Some(url) = &url {
            endpoint.url = url.clone();
            changed.insert("url".into(), json!(endpoint.url));
        }
        if let Some(events) = &events {
            endpoint.events = events.clone();
            changed.insert("events".into(), json!(endpoint.events));
        }
        if let Some(description) = &description {
            endpoint.description = description.clone();
            changed.insert("description".into(), json!(endpoint.description));
        }
        match patch.enabled {
            Some(true) if !endpoint.enabled() => {
                endpoint.disabled = None;
                endpoint.failing_since = None;
                changed.insert("enabled".into(), json!(true));
            }
            Some(false) if endpoint.enabled() => {
                endpoint.disabled = Some(Disabled::Manual);
                changed.insert("enabled".into(), json!(false));
            }
            _ => {}
        }
        if changed.is_empty() {
            return None;
        }
        changed.insert("endpoint_id".into(), json!(endpoint.endpoint_id));
        Some(log_entry(
            Actor::User(caller.user.clone()),
            "webhook.updated",
            serde_json::Value::Object(changed),
            now,
        ))
    })
    .await?;
    Ok(EndpointView::of(&endpoint, now))
}

pub async fn delete_endpoint<S: AccountReads + Commits + Webhooks>(
    store: &S,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    administrator(store, caller, now).await?;
    let endpoint = find(store, caller, id).await?;
    let log = log_entry(
        Actor::User(caller.user.clone()),
        "webhook.deleted",
        json!({ "endpoint_id": endpoint.endpoint_id, "url": endpoint.url }),
        now,
    );
    if store.delete_endpoint(&endpoint, &log).await? {
        Ok(())
    } else {
        Err(AppError::NotFound("webhook endpoint"))
    }
}

/// `POST /v1/webhooks/{id}/rotate-secret`: a new secret, shown once; the old one signs beside
/// it for 24 hours, so a receiver can switch without losing a message.
pub async fn rotate_secret<S: AccountReads + Commits + Webhooks>(
    store: &S,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Result<EndpointWithSecret, AppError> {
    administrator(store, caller, now).await?;
    let secret = new_secret();
    let endpoint = rewrite(store, caller, id, |endpoint| {
        endpoint.rotate(secret.clone(), now);
        Some(log_entry(
            Actor::User(caller.user.clone()),
            "webhook.secret_rotated",
            json!({ "endpoint_id": endpoint.endpoint_id }),
            now,
        ))
    })
    .await?;
    Ok(EndpointWithSecret {
        endpoint: EndpointView::of(&endpoint, now),
        secret,
    })
}

pub async fn list_attempts<S: AccountReads + Commits + Webhooks>(
    store: &S,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Vec<AttemptView>, AppError> {
    administrator(store, caller, now).await?;
    let endpoint = find(store, caller, id).await?;
    Ok(store
        .attempts(&caller.tenant, &endpoint.endpoint_id)
        .await?
        .into_iter()
        .map(AttemptView::from)
        .collect())
}

/// Reads the endpoint, lets `change` change it, and writes it under its version with the log
/// entry `change` returns (none: nothing to write). A write that loses a race (the
/// dispatcher noting an attempt's outcome, another administrator) starts again from a fresh
/// read.
async fn rewrite<S: Webhooks>(
    store: &S,
    caller: &Caller,
    id: &str,
    change: impl Fn(&mut Endpoint) -> Option<crate::ports::LogEntry>,
) -> Result<Endpoint, AppError> {
    retrying(|_| async {
        let mut endpoint = find(store, caller, id).await?;
        let Some(log) = change(&mut endpoint) else {
            return Ok(endpoint);
        };
        endpoint.version += 1;
        store.put_endpoint(&endpoint, Some(&log), None).await?;
        Ok(endpoint)
    })
    .await
}

/// Queues one message for `endpoint` in a batch of its own, named `name`.
async fn queue<S: Webhooks>(
    store: &S,
    endpoint: &Endpoint,
    name: &str,
    message: OutboxMessage,
) -> Result<QueuedView, AppError> {
    let message_id = message.message_id.clone();
    store
        .queue_outbox(&endpoint.tenant_id, name, std::slice::from_ref(&message))
        .await?;
    Ok(QueuedView { message_id })
}

/// `POST /v1/webhooks/{id}/test`: a `WebhookTest` message, sent as every other is.
pub async fn send_test<S: AccountReads + Commits + Webhooks>(
    store: &S,
    caller: &Caller,
    id: &str,
    now: DateTime<Utc>,
) -> Result<QueuedView, AppError> {
    administrator(store, caller, now).await?;
    let endpoint = find(store, caller, id).await?;
    let name = format!("test-{}", uuid::Uuid::new_v4().simple());
    let message = OutboxMessage::new(
        &caller.tenant,
        &name,
        0,
        now,
        Payload::Webhook {
            endpoint_id: endpoint.endpoint_id.clone(),
            event_type: TEST_EVENT.to_owned(),
            at: now,
            data: json!({ "tenant_id": caller.tenant, "endpoint_id": endpoint.endpoint_id, "sent_by": caller.user }),
        },
    );
    // Logged first: if the log cannot be written, nothing is sent.
    let log = log_entry(
        Actor::User(caller.user.clone()),
        "webhook.test_sent",
        json!({ "endpoint_id": endpoint.endpoint_id, "message_id": message.message_id }),
        now,
    );
    rewrite(store, caller, id, |_| Some(log.clone())).await?;
    queue(store, &endpoint, &name, message).await
}

/// `POST /v1/webhooks/{id}/messages/{msg}/resend`: a message of the endpoint's kept attempts,
/// sent again under the same `webhook-id` (a receiver that took it already knows it). One
/// still waiting for its own retry is sent by both: twice, under that one id.
pub async fn resend<S: AccountReads + Commits + Webhooks>(
    store: &S,
    caller: &Caller,
    id: &str,
    message_id: &str,
    now: DateTime<Utc>,
) -> Result<QueuedView, AppError> {
    administrator(store, caller, now).await?;
    let endpoint = find(store, caller, id).await?;
    let attempt = store
        .attempts(&caller.tenant, &endpoint.endpoint_id)
        .await?
        .into_iter()
        .find(|a| a.message_id == message_id)
        .ok_or(AppError::NotFound("message"))?;
    let name = format!("resend-{}", uuid::Uuid::new_v4().simple());
    let mut message = OutboxMessage::new(
        &caller.tenant,
        &name,
        0,
        now,
        Payload::Webhook {
            endpoint_id: endpoint.endpoint_id.clone(),
            event_type: attempt.event_type,
            at: attempt.event_at,
            data: attempt.data,
        },
    );
    message.message_id = attempt.message_id;
    let log = log_entry(
        Actor::User(caller.user.clone()),
        "webhook.resent",
        json!({ "endpoint_id": endpoint.endpoint_id, "message_id": message.message_id }),
        now,
    );
    rewrite(store, caller, id, |_| Some(log.clone())).await?;
    queue(store, &endpoint, &name, message).await
}

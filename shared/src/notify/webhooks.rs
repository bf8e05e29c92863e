//! R38 in delivery: an event's webhook messages written once (a batch per subscribed
//! endpoint, so one endpoint's failures never spend another's attempts or hold back the
//! event's own mail),
//! each sent signed through the webhook sender, its attempt kept, and the endpoint's state
//! moved by the answer.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

use super::attempt::Outcome;
use super::sender::{Refusal, Sender};
use crate::domain::identity::TenantId;
use crate::domain::webhooks::{self, Attempt, Disabled, Endpoint, Post};
use crate::outbox::{MailKind, OutboxMessage, Payload, Recipient};
use crate::ports::{LogEntry, StoreError, Webhooks};

/// A tenant's endpoints for one delivery (read once, when a batch first needs them), and what
/// its webhook attempts did, written after each batch.
#[derive(Default)]
pub(super) struct Hooks {
    endpoints: Option<BTreeMap<String, Endpoint>>,
    attempts: Vec<Attempt>,
    /// The outcomes that moved an endpoint's state (its failing streak, disabled), in order,
    /// not yet written: applied to the endpoint as read, and again to a fresh read when
    /// another write came first.
    outcomes: BTreeMap<String, Vec<(webhooks::Outcome, DateTime<Utc>)>>,
    /// Endpoints an attempt of this delivery disabled, and why.
    disabled: BTreeMap<String, Disabled>,
    /// Endpoints that failed in this delivery and how: their other messages are not sent into
    /// the same failure, but share it (a "slow down" included, which counts no attempt).
    failing: BTreeMap<String, Refusal>,
}

impl Hooks {
    pub async fn load<S: Webhooks>(
        &mut self,
        store: &S,
        tenant: &TenantId,
    ) -> Result<(), StoreError> {
        if self.endpoints.is_none() {
            let all = store.endpoints(tenant).await?;
            self.endpoints = Some(
                all.into_iter()
                    .map(|e| (e.endpoint_id.clone(), e))
                    .collect(),
            );
        }
        Ok(())
    }

    fn subscribed(&self) -> impl Iterator<Item = &Endpoint> {
        self.endpoints.iter().flat_map(|all| all.values())
    }

    /// Writes what the attempts since the last call did: the attempts, and each endpoint whose
    /// state moved, under its version (with a log entry, and then the managers' mail, when it
    /// was disabled). When another write came first (an administrator's, another
    /// dispatcher's), the endpoints are read again and the outcomes applied to it as it is now.
    pub async fn save<S: Webhooks>(
        &mut self,
        store: &S,
        tenant: &TenantId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let attempts = std::mem::take(&mut self.attempts);
        if !attempts.is_empty() {
            store.record_attempts(tenant, &attempts).await?;
        }
        for (id, outcomes) in std::mem::take(&mut self.outcomes) {
            let mut disabled = self.disabled.remove(&id);
            for round in 0..3 {
                // Gone from a fresh read: deleted meanwhile, nothing to write.
                let Some(endpoint) = self.endpoints.as_mut().and_then(|all| all.get_mut(&id))
                else {
                    break;
                };
                endpoint.version += 1;
                let log = disabled.map(|reason| disabled_log(endpoint, reason, now));
                let mail = disabled.map(|reason| disabled_mail(endpoint, reason, now));
                let mail = mail.as_ref().map(|(name, mail)| (name.as_str(), mail));
                match store.put_endpoint(endpoint, log.as_ref(), mail).await {
                    Ok(()) => break,
                    Err(StoreError::Conflict) if round < 2 => {
                        self.endpoints = None;
                        self.load(store, tenant).await?;
                        disabled = None;
                        if let Some(fresh) =
                            self.endpoints.as_mut().and_then(|all| all.get_mut(&id))
                        {
                            for (outcome, at) in &outcomes {
                                if let Some(reason) = fresh.note_attempt(*outcome, *at) {
                                    disabled = Some(reason);
                                }
                            }
                        }
                    }
                    Err(StoreError::Conflict) => {
                        tracing::warn!(tenant = %tenant, endpoint = %id, "webhook endpoint kept changing; its state is moved by its next attempt");
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(())
    }
}

fn disabled_log(endpoint: &Endpoint, reason: Disabled, now: DateTime<Utc>) -> LogEntry {
    LogEntry {
        entry_id: format!("log-{}", uuid::Uuid::new_v4().simple()),
        at: now,
        actor: crate::domain::identity::Actor::System,
        action: "webhook.disabled".to_owned(),
        details: serde_json::json!({
            "endpoint_id": endpoint.endpoint_id,
            "url": endpoint.url,
            "reason": reason,
        }),
    }
}

/// The managers' mail about an endpoint just disabled, and the name of its batch (one per
/// endpoint and version, written with that version of the endpoint).
fn disabled_mail(
    endpoint: &Endpoint,
    reason: Disabled,
    now: DateTime<Utc>,
) -> (String, OutboxMessage) {
    let name = format!(
        "webhook-disabled-{}-{}",
        endpoint.endpoint_id, endpoint.version
    );
    let since = endpoint.failing_since.unwrap_or(now);
    let mail = OutboxMessage::new(
        &endpoint.tenant_id,
        &name,
        0,
        now,
        Payload::Mail {
            kind: MailKind::WebhookDisabled,
            to: Recipient::Managers,
            language: None,
            data: serde_json::json!({
                "url": endpoint.url,
                "reason": reason,
                "since": since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            }),
            addressed: None,
        },
    );
    (name, mail)
}

/// Whether `messages` hold an event whose webhook messages are not written yet.
pub(super) fn needs_fan_out(messages: &[OutboxMessage]) -> bool {
    messages
        .iter()
        .any(|m| !m.dead && !m.fanned_out && matches!(m.payload, Payload::Event { .. }))
}

/// Whether `messages` hold a webhook message.
pub(super) fn has_webhooks(messages: &[OutboxMessage]) -> bool {
    messages
        .iter()
        .any(|m| matches!(m.payload, Payload::Webhook { .. }))
}

/// The webhook messages of `messages`' events not fanned out yet, one group per subscribed
/// endpoint; the events are marked fanned out. Each webhook message's id is derived from its
/// event's and its endpoint's, so a repeat derives the same names, which the store writes
/// only where no batch of that name exists.
pub(super) fn fan_out(messages: &mut [OutboxMessage], hooks: &Hooks) -> Vec<Vec<OutboxMessage>> {
    let mut groups: BTreeMap<String, Vec<OutboxMessage>> = BTreeMap::new();
    for event in messages.iter_mut().filter(|m| !m.dead && !m.fanned_out) {
        let Payload::Event {
            detail_type,
            detail,
        } = &event.payload
        else {
            continue;
        };
        // An endpoint hears what happens from its creation on, not an older event that was
        // still waiting for its delivery.
        let hearing = hooks
            .subscribed()
            .filter(|e| e.subscribes(detail_type) && e.created_at <= event.created_at);
        for endpoint in hearing {
            let id = &endpoint.endpoint_id;
            // `new` derives the id from the event's and the endpoint's: the webhook-id.
            let message = OutboxMessage::new(
                &event.tenant_id,
                &format!("{}/{id}", event.message_id),
                0,
                event.created_at,
                Payload::Webhook {
                    endpoint_id: id.clone(),
                    event_type: detail_type.clone(),
                    at: event.created_at,
                    data: detail.clone(),
                },
            );
            groups.entry(id.clone()).or_default().push(message);
        }
        event.fanned_out = true;
    }
    groups.into_values().collect()
}

/// One webhook message sent to its endpoint as it is now. A message whose endpoint is gone
/// or disabled is dropped (one tried before is in the endpoint's attempts, from where an
/// administrator can send it again); one whose endpoint failed earlier in this delivery
/// fails with it unsent.
#[allow(clippy::too_many_arguments)]
pub(super) async fn send<N: Sender>(
    notifier: &N,
    hooks: &mut Hooks,
    message_id: &str,
    endpoint_id: &str,
    event_type: &str,
    at: DateTime<Utc>,
    data: &serde_json::Value,
    now: DateTime<Utc>,
) -> Outcome {
    let Some(endpoint) = hooks
        .endpoints
        .as_ref()
        .and_then(|all| all.get(endpoint_id))
    else {
        tracing::info!(endpoint = %endpoint_id, message = %message_id, "webhook endpoint deleted; message dropped");
        return Outcome::Sent;
    };
    if !endpoint.enabled() {
        tracing::info!(endpoint = %endpoint_id, message = %message_id, "webhook endpoint disabled; message dropped");
        return Outcome::Sent;
    }
    if let Some(refusal) = hooks.failing.get(endpoint_id) {
        return Outcome::Refused(refusal.clone());
    }
    let body = webhooks::message_body(event_type, at, data);
    let timestamp = now.timestamp();
    let post = Post {
        url: endpoint.url.clone(),
        webhook_id: message_id.to_owned(),
        timestamp,
        signature: webhooks::signature(&endpoint.live_secrets(now), message_id, timestamp, &body),
        body,
    };
    let (answer, refusal) = match notifier.post_webhook(&post).await {
        Ok(answer) => (answer, None),
        Err(refusal) => (
            webhooks::Answer {
                error: Some(refusal.error.clone()),
                ..Default::default()
            },
            Some(refusal),
        ),
    };
    if let Some(refusal) = refusal.as_ref().filter(|r| r.slow_down) {
        // The sender was throttled: nothing was sent, nothing is kept, no attempt counts.
        hooks
            .failing
            .insert(endpoint_id.to_owned(), refusal.clone());
        return Outcome::Refused(refusal.clone());
    }
    let outcome = webhooks::Outcome::of(answer.status);
    hooks.attempts.push(Attempt {
        endpoint_id: endpoint_id.to_owned(),
        message_id: message_id.to_owned(),
        event_type: event_type.to_owned(),
        at: now,
        status: answer.status,
        latency_ms: answer.latency_ms,
        answer: webhooks::answer_start(&answer.answer),
        error: answer.error.clone(),
        event_at: at,
        data: data.clone(),
    });
    if let Some(refusal) = refusal {
        // The sender itself failed (not the endpoint): the endpoint's state does not move.
        hooks
            .failing
            .insert(endpoint_id.to_owned(), refusal.clone());
        return Outcome::Refused(refusal);
    }
    if let Some(endpoint) = hooks
        .endpoints
        .as_mut()
        .and_then(|all| all.get_mut(endpoint_id))
    {
        let before = (endpoint.failing_since, endpoint.disabled);
        if let Some(reason) = endpoint.note_attempt(outcome, now) {
            hooks.disabled.insert(endpoint_id.to_owned(), reason);
            tracing::warn!(endpoint = %endpoint_id, reason = ?reason, metric = "WebhookEndpointDisabled", "webhook endpoint disabled");
        }
        if before != (endpoint.failing_since, endpoint.disabled) {
            hooks
                .outcomes
                .entry(endpoint_id.to_owned())
                .or_default()
                .push((outcome, now));
        }
    }
    match outcome {
        webhooks::Outcome::Delivered | webhooks::Outcome::Gone => Outcome::Sent,
        webhooks::Outcome::Failed => {
            let error = match (answer.status, &answer.error) {
                (Some(status), _) => format!("the endpoint answered {status}"),
                (None, Some(error)) => error.clone(),
                (None, None) => "no answer".to_owned(),
            };
            let refusal = Refusal::of(None, error);
            hooks
                .failing
                .insert(endpoint_id.to_owned(), refusal.clone());
            Outcome::Refused(refusal)
        }
    }
}

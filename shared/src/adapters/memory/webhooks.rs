//! R38's endpoints and their attempts, as the table keeps them.

use super::MemoryStore;
use crate::domain::identity::TenantId;
use crate::domain::webhooks::{ATTEMPTS_KEPT, Attempt, Endpoint, MAX_ENDPOINTS, oldest_first};
use crate::outbox::OutboxMessage;
use crate::ports::{LogEntry, StoreError, Webhooks};

impl Webhooks for MemoryStore {
    async fn endpoints(&self, tenant: &TenantId) -> Result<Vec<Endpoint>, StoreError> {
        self.with(|t| {
            let mut all: Vec<Endpoint> = t
                .get(tenant)
                .map(|d| d.endpoints.values().cloned().collect())
                .unwrap_or_default();
            oldest_first(&mut all);
            Ok(all)
        })
    }

    async fn put_endpoint(
        &self,
        endpoint: &Endpoint,
        log: Option<&LogEntry>,
        mail: Option<(&str, &OutboxMessage)>,
    ) -> Result<(), StoreError> {
        self.with(|t| {
            let data = t.entry(endpoint.tenant_id.clone()).or_default();
            let stored = data.endpoints.get(&endpoint.endpoint_id).map(|e| e.version);
            let expected = endpoint.version.checked_sub(1).filter(|v| *v > 0);
            if stored != expected {
                return Err(match stored {
                    Some(_) if expected.is_none() => StoreError::AlreadyExists("webhook endpoint"),
                    _ => StoreError::Conflict,
                });
            }
            if expected.is_none() && data.endpoints.len() >= MAX_ENDPOINTS {
                return Err(StoreError::LimitReached("webhook endpoints"));
            }
            data.endpoints
                .insert(endpoint.endpoint_id.clone(), endpoint.clone());
            if let Some(log) = log {
                data.log.push(log.clone());
            }
            if let Some((name, mail)) = mail {
                queue(data, &endpoint.tenant_id, name, std::slice::from_ref(mail));
            }
            Ok(())
        })
    }

    async fn delete_endpoint(
        &self,
        endpoint: &Endpoint,
        log: &LogEntry,
    ) -> Result<bool, StoreError> {
        self.with(|t| {
            let Some(data) = t.get_mut(&endpoint.tenant_id) else {
                return Ok(false);
            };
            if data.endpoints.remove(&endpoint.endpoint_id).is_none() {
                return Ok(false);
            }
            data.attempts
                .retain(|a| a.endpoint_id != endpoint.endpoint_id);
            data.log.push(log.clone());
            Ok(true)
        })
    }

    async fn record_attempts(
        &self,
        tenant: &TenantId,
        attempts: &[Attempt],
    ) -> Result<(), StoreError> {
        self.with(|t| {
            let data = t.entry(tenant.clone()).or_default();
            data.attempts.extend(attempts.iter().cloned());
            data.attempts.sort_by_key(|a| std::cmp::Reverse(a.at));
            let mut kept = std::collections::BTreeMap::<String, u64>::new();
            data.attempts.retain(|a| {
                let n = kept.entry(a.endpoint_id.clone()).or_default();
                *n += 1;
                *n <= ATTEMPTS_KEPT
            });
            Ok(())
        })
    }

    async fn attempts(
        &self,
        tenant: &TenantId,
        endpoint_id: &str,
    ) -> Result<Vec<Attempt>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant)
                .map(|d| {
                    d.attempts
                        .iter()
                        .filter(|a| a.endpoint_id == endpoint_id)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default())
        })
    }

    async fn queue_outbox(
        &self,
        tenant: &TenantId,
        name: &str,
        messages: &[OutboxMessage],
    ) -> Result<usize, StoreError> {
        self.with(|t| {
            Ok(queue(
                t.entry(tenant.clone()).or_default(),
                tenant,
                name,
                messages,
            ))
        })
    }
}

/// Adds the batches of `messages` named `name` that are not there yet; how many.
fn queue(
    data: &mut super::TenantData,
    tenant: &TenantId,
    name: &str,
    messages: &[OutboxMessage],
) -> usize {
    let mut added = 0;
    for batch in crate::outbox::batches(tenant, messages, |_, n| format!("O#{name}#{n}")) {
        if data.outbox.iter().any(|b| b.batch.id == batch.id) {
            continue;
        }
        data.outbox.push(super::StoredBatch {
            due: Some(batch.messages[0].next_attempt_at),
            batch,
            lease_until: None,
        });
        added += 1;
    }
    added
}

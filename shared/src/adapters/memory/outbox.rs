//! The outbox as the table keeps it: batches due, leased, settled or dead.

use chrono::{DateTime, Utc};

use super::{MemoryStore, batches};
use crate::domain::identity::TenantId;
use crate::domain::user::User;
use crate::outbox::{OutboxBatch, OutboxMessage};
use crate::ports::{Claim, OutboxStore, StoreError};

impl OutboxStore for MemoryStore {
    fn batches_of(&self, tenant: &TenantId, messages: &[OutboxMessage]) -> Vec<OutboxBatch> {
        batches(tenant, messages)
    }

    async fn due_outbox(
        &self,
        at: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<OutboxBatch>, StoreError> {
        self.with(|t| {
            let mut due: Vec<(DateTime<Utc>, OutboxBatch)> = t
                .values()
                .flat_map(|d| &d.outbox)
                .filter_map(|b| b.due.filter(|due| *due <= at).map(|due| (due, b)))
                .map(|(due, b)| (due, b.batch.clone()))
                .collect();
            due.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
            Ok(due
                .into_iter()
                .take(limit.max(0) as usize)
                .map(|(_, batch)| batch)
                .collect())
        })
    }

    async fn claim_outbox(
        &self,
        batch: &OutboxBatch,
        now: DateTime<Utc>,
        lease_secs: i64,
    ) -> Result<Claim, StoreError> {
        self.with(|t| {
            let Some(data) = t.get_mut(&batch.tenant_id) else {
                return Ok(Claim::Held);
            };
            // Every change here commits with its outbox, so no batch carries a marker; one
            // named anyway is a log entry's key, `L#…#<entry id>`, as in the table.
            if let Some(marker) = &batch.commit {
                let committed = marker.starts_with("L#")
                    && data
                        .log
                        .iter()
                        .any(|entry| marker.ends_with(&format!("#{}", entry.entry_id)));
                if !committed {
                    return Ok(Claim::Uncommitted);
                }
            }
            let Some(stored) = data.outbox.iter_mut().find(|b| b.batch.id == batch.id) else {
                return Ok(Claim::Held);
            };
            let free = stored.lease_until.is_none_or(|until| until < now);
            if stored.batch.attempts != batch.attempts || stored.due.is_none() || !free {
                return Ok(Claim::Held);
            }
            stored.lease_until = Some(now + chrono::Duration::seconds(lease_secs));
            Ok(Claim::Taken)
        })
    }

    async fn settle_outbox(
        &self,
        batch: &OutboxBatch,
        remaining: Vec<OutboxMessage>,
        next_attempt: DateTime<Utc>,
        dead: bool,
    ) -> Result<bool, StoreError> {
        self.with(|t| {
            let Some(data) = t.get_mut(&batch.tenant_id) else {
                return Ok(false);
            };
            let Some(at) = data.outbox.iter().position(|b| b.batch.id == batch.id) else {
                return Ok(false);
            };
            if data.outbox[at].batch.attempts != batch.attempts {
                return Ok(false);
            }
            if remaining.is_empty() {
                data.outbox.remove(at);
                return Ok(true);
            }
            let stored = &mut data.outbox[at];
            stored.batch.messages = remaining;
            stored.batch.attempts += 1;
            stored.due = (!dead).then_some(next_attempt);
            stored.lease_until = None;
            Ok(true)
        })
    }

    async fn redrive_dead(
        &self,
        tenant: Option<&TenantId>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        self.with(|t| {
            let mut redriven = 0;
            for (id, data) in t.iter_mut() {
                if tenant.is_some_and(|only| only != id) {
                    continue;
                }
                for stored in data.outbox.iter_mut().filter(|b| b.due.is_none()) {
                    stored.batch.messages.iter_mut().for_each(|m| m.revive(now));
                    redriven += stored.batch.messages.len();
                    stored.batch.attempts += 1;
                    stored.due = Some(now);
                }
            }
            Ok(redriven)
        })
    }

    async fn all_users(&self, tenant: &TenantId) -> Result<Vec<User>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant)
                .map(|d| d.users.values().cloned().collect())
                .unwrap_or_default())
        })
    }
}

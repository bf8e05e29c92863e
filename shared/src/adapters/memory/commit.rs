//! A change committed whole or not at all, under the DynamoDB store's conditions.

use super::{MemoryStore, StoredBatch, batches};
use crate::domain::account::Account;
use crate::domain::allocation::RedSeat;
use crate::domain::identity::TenantId;
use crate::domain::purchase_request::RequestStatus;
use crate::ports::{Change, Commits, StoreError};

impl Commits for MemoryStore {
    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        self.with(|t| {
            let tenant_id = change.account.subscription.tenant_id.clone();
            let data = t.entry(tenant_id.clone()).or_default();
            // Every condition first, in the order the DynamoDB store reads its cancellation
            // reasons; nothing is written unless all hold.
            if let Some(record) = &change.idempotency {
                let taken = data
                    .idempotency
                    .get(&record.key_digest)
                    .is_some_and(|r| r.expires_at >= change.now);
                if taken {
                    return Err(StoreError::IdempotencyRace);
                }
            }
            let stored_version = data.account.as_ref().map(|a| a.subscription.version);
            match (change.expected_version, stored_version) {
                (None, Some(_)) => return Err(StoreError::AlreadyExists("tenant")),
                (Some(expected), Some(stored)) if expected == stored => {}
                (Some(_), _) => return Err(StoreError::Conflict),
                (None, None) => {}
            }
            if let Some(quote_id) = &change.approve_quote {
                let open = data.quotes.get(quote_id).is_some_and(|(q, _)| !q.approved);
                if !open {
                    return Err(StoreError::QuoteUsed);
                }
            }
            if change
                .users
                .iter()
                .any(|w| w.before.is_none() && data.users.contains_key(&w.after.user_id))
            {
                return Err(StoreError::AlreadyExists("user"));
            }
            // R34: a directory key held by another user refuses the change, as the table's
            // key items do.
            for write in &change.users {
                let keys = write
                    .after
                    .directory
                    .as_ref()
                    .map(|d| d.keys())
                    .unwrap_or_default();
                let taken = data.users.values().any(|u| {
                    u.user_id != write.after.user_id
                        && u.directory
                            .as_ref()
                            .is_some_and(|d| d.keys().iter().any(|k| keys.contains(k)))
                });
                if taken {
                    return Err(StoreError::AlreadyExists("directory key"));
                }
            }
            if change
                .invoices
                .iter()
                .any(|i| data.invoices.contains_key(&i.invoice_id))
            {
                return Err(StoreError::AlreadyExists("invoice"));
            }
            let open =
                |w: &crate::ports::RequestWrite| match data.requests.get(&w.request.request_id) {
                    None => w.new,
                    Some(stored) => !w.new && stored.status == RequestStatus::Pending,
                };
            if !change.requests.iter().all(open) {
                return Err(StoreError::RequestDecided);
            }
            let mut account = change.account;
            account.subscription.version = change.expected_version.map_or(1, |v| v + 1);
            data.account = Some(account);
            for write in change.users {
                data.users.insert(write.after.user_id.clone(), write.after);
            }
            data.log.push(change.log);
            for invoice in change.invoices {
                data.invoices.insert(invoice.invoice_id.clone(), invoice);
            }
            data.outbox.extend(
                batches(&tenant_id, &change.outbox)
                    .into_iter()
                    .map(|batch| StoredBatch {
                        due: Some(batch.messages[0].next_attempt_at),
                        batch,
                        lease_until: None,
                    }),
            );
            if let Some(quote_id) = change.approve_quote
                && let Some((quote, _)) = data.quotes.get_mut(&quote_id)
            {
                quote.approved = true;
            }
            if let Some(record) = change.idempotency {
                data.idempotency.insert(record.key_digest.clone(), record);
            }
            for write in change.requests {
                data.requests
                    .insert(write.request.request_id.clone(), write.request);
            }
            Ok(())
        })
    }

    async fn delete_red_records(
        &self,
        tenant: &TenantId,
        records: &[RedSeat],
    ) -> Result<(), StoreError> {
        self.with(|t| {
            // As in the table: a deleted record no longer counts, whatever the account said.
            if let Some(account) = t.get_mut(tenant).and_then(|d| d.account.as_mut()) {
                let kept: Vec<RedSeat> = account
                    .all_reds()
                    // Only the record as it was read: a seat flagged again since (another
                    // deadline) keeps its record, as the table's conditional delete does.
                    .filter(|r| {
                        !records
                            .iter()
                            .any(|d| d.pool == r.pool && d.seat == r.seat && d.flag == r.flag)
                    })
                    .cloned()
                    .collect();
                let (rebuilt, _) = Account::from_parts(account.subscription.clone(), kept);
                *account = rebuilt;
            }
            Ok(())
        })
    }
}

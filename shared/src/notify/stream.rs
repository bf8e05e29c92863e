//! The dispatcher's handler: the table's stream hands it every outbox batch a change writes,
//! right after the change commits, so a request answers without waiting for SES or
//! EventBridge (R20, R21). What fails here is settled with its backoff and retried by the
//! sweeper's outbox run, the safety net; a stream record fails only when the store cannot be
//! read or written, and then the event source mapping retries it (partial batch response).
//! The records come read by the adapter (`adapters::dynamodb::stream`); `startup::on_stream`
//! joins the two for the dispatcher function and the local stream reader.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::time::Duration;

use super::attempt::DispatchReport;
use super::delivery::{Pace, deliver_tenant, per_tenant};
use super::sender::Sender;
use crate::domain::identity::TenantId;
use crate::outbox::OutboxBatch;
use crate::ports::{AccountReads, MailSuppressions, OutboxStore, StoreError, Webhooks};

/// How long the handler waits for the commit of a batch written before its change's
/// transaction (a change too large for one): the transaction follows its pre-writes by
/// milliseconds; one that takes longer is left to the sweeper's run.
const COMMIT_WAITS: [Duration; 5] = [
    Duration::from_millis(50),
    Duration::from_millis(100),
    Duration::from_millis(200),
    Duration::from_millis(400),
    Duration::from_millis(800),
];

/// A stream record that holds an outbox batch: its sequence number, and the batch (or why it
/// could not be read).
pub type StreamedBatch = (String, Result<OutboxBatch, StoreError>);

/// Delivers the outbox batches of one batch of stream records, in their order per tenant.
/// Returns the sequence numbers of the records to retry, and what was delivered.
pub async fn deliver_streamed<
    S: AccountReads + OutboxStore + MailSuppressions + Webhooks,
    N: Sender,
>(
    store: &S,
    notifier: &N,
    records: Vec<StreamedBatch>,
    now: DateTime<Utc>,
) -> (Vec<String>, DispatchReport) {
    let mut failed: Vec<String> = Vec::new();
    let mut sequences: BTreeMap<TenantId, Vec<String>> = BTreeMap::new();
    let mut batches = Vec::new();
    for (sequence, batch) in records {
        match batch {
            Ok(batch) => {
                sequences
                    .entry(batch.tenant_id.clone())
                    .or_default()
                    .push(sequence);
                batches.push(batch);
            }
            Err(err) => {
                // Retried, then (bisected to this record) sent to the on-failure destination.
                tracing::error!(error = %err, sequence = %sequence, "an outbox record the dispatcher cannot read");
                failed.push(sequence);
            }
        }
    }
    // One deadline for the whole invocation: tenants beyond the first eight start later.
    let deadline = tokio::time::Instant::now() + super::delivery::STREAM_SEND_SECS;
    let results = per_tenant(batches, |tenant, batches| {
        deliver_committed(store, notifier, tenant, batches, now, deadline)
    })
    .await;
    let mut report = DispatchReport::default();
    for (tenant, result) in results {
        match result {
            Ok(done) => report.add(&done),
            Err(err) => {
                let records = sequences.remove(&tenant).unwrap_or_default();
                tracing::warn!(error = %err, records = records.len(), "outbox records failed; the stream retries them");
                failed.extend(records);
            }
        }
    }
    (failed, report)
}

/// One tenant's batches; one written ahead of its change's transaction is waited for (for
/// `COMMIT_WAITS`) before it is left to the sweeper's run.
async fn deliver_committed<
    S: AccountReads + OutboxStore + MailSuppressions + Webhooks,
    N: Sender,
>(
    store: &S,
    notifier: &N,
    tenant: TenantId,
    batches: Vec<OutboxBatch>,
    now: DateTime<Utc>,
    deadline: tokio::time::Instant,
) -> Result<DispatchReport, StoreError> {
    let pace = Pace {
        mail_budget: notifier.mail_cap(),
        deadline,
        commit_waits: &COMMIT_WAITS,
    };
    deliver_tenant(store, notifier, tenant, batches, now, pace).await
}

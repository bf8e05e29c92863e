//! Delivering the outbox: a change's batches right after it commits (from the table's stream,
//! `stream::on_stream`), and on a schedule whatever failed then (`dispatch_due`), with
//! backoff, a per-message attempt count and a dead-letter state; a lease keeps two
//! dispatchers from sending one batch.

use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

use super::attempt::{DispatchReport, Left, Outcome, record};
use super::mail::{MailContext, render};
use super::recipients::{Recipients, recipients};
use super::sender::Refusal;
use super::sender::Sender;
use super::webhooks::{self, Hooks};
use crate::domain::identity::TenantId;
use crate::outbox::{OutboxBatch, OutboxMessage, Payload};
use crate::ports::{AccountReads, Claim, MailSuppressions, OutboxStore, StoreError, Webhooks};

/// How long a dispatcher holds a batch it is delivering.
const LEASE_SECS: i64 = 60;

/// No mail of a batch is started later than this after its claim: paced mail (R32's send
/// rate) must not outlast the lease, or another dispatcher would claim the batch and send
/// again what was sent but not yet settled. What is left is settled, due again at once.
const SEND_WITHIN_LEASE: std::time::Duration = std::time::Duration::from_secs(40);

/// What a webhook may take (the sender's 20 s, through the SDK's timeout): none is started
/// later than this before its batch's sending stops, so it is answered within the lease and
/// the invocation.
const WEBHOOK_WITHIN: std::time::Duration = std::time::Duration::from_secs(20);

/// A delivery from the stream starts no mail later than this after it began: the dispatcher's
/// invocation has 60 s, and an invocation that times out is handed over again whole.
pub(super) const STREAM_SEND_SECS: std::time::Duration = std::time::Duration::from_secs(40);

/// A batch written before its change's transaction whose change has not committed this long
/// after the change's instant never will (a transaction is retried for seconds, not minutes):
/// it is dropped, never sent.
const UNCOMMITTED_AFTER_SECS: i64 = 600;

/// What a batch may still send: mails left of the tenant's cap for the run, and the instant
/// after which no mail is started (its lease, the invocation).
struct Allowance {
    mails: usize,
    until: tokio::time::Instant,
}

/// Delivers the messages of one batch that this dispatcher has claimed that are due; a dead
/// one, or one whose own next attempt is later, is kept as it is.
#[allow(clippy::too_many_arguments)]
async fn deliver_batch<N: Sender>(
    notifier: &N,
    tenant: &TenantId,
    people: &Recipients,
    messages: Vec<OutboxMessage>,
    now: DateTime<Utc>,
    allowed: &mut Allowance,
    report: &mut DispatchReport,
    hooks: &mut Hooks,
) -> Left {
    let mut remaining = Vec::new();
    let failed_before = report.failed;
    // A message tried before waits for its own time: a neighbour slowed down or capped makes
    // the batch due sooner, and must not spend this one's attempts. One never tried goes
    // whenever its batch is handed over (its change's instant may be a replay's, later than
    // the real clock).
    let waits = |m: &OutboxMessage| {
        m.dead || ((m.attempts > 0 || m.last_error.is_some()) && m.next_attempt_at > now)
    };
    let event_entries: Vec<(&str, &str, String)> = messages
        .iter()
        .filter(|m| !waits(m))
        .filter_map(|m| match &m.payload {
            Payload::Event {
                detail_type,
                detail,
            } => {
                let mut detail = detail.clone();
                if let Some(map) = detail.as_object_mut() {
                    map.insert("message_id".into(), m.message_id.clone().into());
                }
                Some((
                    m.message_id.as_str(),
                    detail_type.as_str(),
                    detail.to_string(),
                ))
            }
            Payload::Mail { .. } | Payload::Webhook { .. } => None,
        })
        .collect();
    let (accepted, event_refusal) = if event_entries.is_empty() {
        (Vec::new(), None)
    } else {
        notifier.put_events(&event_entries).await
    };
    report.events += accepted.len();
    for mut message in messages {
        if waits(&message) {
            remaining.push(message);
            continue;
        }
        let outcome = match &message.payload {
            Payload::Event { .. } if accepted.contains(&message.message_id) => Outcome::Sent,
            Payload::Event { .. } => Outcome::Refused(
                event_refusal
                    .clone()
                    .unwrap_or_else(|| Refusal::of(None, "not accepted")),
            ),
            Payload::Webhook { .. }
                if tokio::time::Instant::now() + WEBHOOK_WITHIN >= allowed.until =>
            {
                report.held += 1;
                Outcome::HeldBack
            }
            Payload::Webhook {
                endpoint_id,
                event_type,
                at,
                data,
            } => {
                let outcome = webhooks::send(
                    notifier,
                    hooks,
                    &message.message_id,
                    endpoint_id,
                    event_type,
                    *at,
                    data,
                    now,
                )
                .await;
                if matches!(outcome, Outcome::Sent) {
                    report.webhooks += 1;
                }
                outcome
            }
            Payload::Mail {
                kind,
                to,
                language,
                data,
                addressed,
            } => {
                // A message written before its change addressed it is resolved now.
                let addressed = match addressed {
                    Some(addressed) => addressed.clone(),
                    None => people.addressed(to, *language),
                };
                let about = MailContext {
                    tenant_name: addressed.tenant_name,
                    time_zone: addressed.time_zone,
                    support: people.about.support.clone(),
                    contacts: addressed.contacts,
                };
                let mut outcome = Outcome::Sent;
                for addressee in addressed.to {
                    if message.delivered_to.contains(&addressee.address) {
                        continue;
                    }
                    if addressee.suppressed {
                        report.suppressed += 1;
                        continue;
                    }
                    if allowed.mails == 0 {
                        report.capped += 1;
                        outcome = Outcome::Capped;
                        break;
                    }
                    if tokio::time::Instant::now() >= allowed.until {
                        report.held += 1;
                        outcome = Outcome::HeldBack;
                        break;
                    }
                    let mail = match render(*kind, addressee.language, &about, data) {
                        Ok(mail) => mail,
                        Err(e) => {
                            outcome = Outcome::Unrenderable(e);
                            break;
                        }
                    };
                    match notifier
                        .send_mail(&addressee.address, &mail, &message.message_id, tenant)
                        .await
                    {
                        Ok(()) => {
                            allowed.mails -= 1;
                            report.mails += 1;
                            message.delivered_to.push(addressee.address);
                        }
                        Err(refusal) => {
                            outcome = Outcome::Refused(refusal);
                            break;
                        }
                    }
                }
                outcome
            }
        };
        if record(&mut message, outcome, now, report) {
            remaining.push(message);
        }
    }
    Left {
        messages: remaining,
        failed: report.failed > failed_before,
    }
}

/// Tenants whose batches are delivered at once. Each tenant's batches stay in order; tenants
/// are independent, so one slow or failing tenant does not hold up the others.
const TENANT_CONCURRENCY: usize = 8;

/// Hands each tenant's batches, in their order, to `each`, up to `TENANT_CONCURRENCY`
/// tenants at once; what each tenant's delivery came to.
pub(super) async fn per_tenant<F, Fut>(
    batches: Vec<OutboxBatch>,
    each: F,
) -> Vec<(TenantId, Result<DispatchReport, StoreError>)>
where
    F: Fn(TenantId, Vec<OutboxBatch>) -> Fut,
    Fut: std::future::Future<Output = Result<DispatchReport, StoreError>>,
{
    use futures::StreamExt;
    let mut by_tenant: BTreeMap<TenantId, Vec<OutboxBatch>> = BTreeMap::new();
    for batch in batches {
        by_tenant
            .entry(batch.tenant_id.clone())
            .or_default()
            .push(batch);
    }
    futures::stream::iter(by_tenant)
        .map(|(tenant, batches)| {
            let delivered = each(tenant.clone(), batches);
            async move { (tenant, delivered.await) }
        })
        .buffer_unordered(TENANT_CONCURRENCY)
        .collect()
        .await
}

/// Claims, delivers and settles batches. A batch another dispatcher holds is left to it.
pub async fn deliver<S: AccountReads + OutboxStore + MailSuppressions + Webhooks, N: Sender>(
    store: &S,
    notifier: &N,
    batches: Vec<OutboxBatch>,
    now: DateTime<Utc>,
) -> Result<DispatchReport, StoreError> {
    let deadline = tokio::time::Instant::now() + STREAM_SEND_SECS;
    deliver_within_cap(
        store,
        notifier,
        batches,
        now,
        deadline,
        &mut BTreeMap::new(),
    )
    .await
}

/// `deliver` as one round of a run: `sent` holds each tenant's mails so far in the run, so
/// that the per-run cap holds across rounds (a capped mail is due again at once, and the next
/// round would otherwise send the next 200). A tenant that has used its cap still has its
/// events delivered; its mail waits for the next run, behind the other tenants' batches. No
/// mail is started after `deadline`.
async fn deliver_within_cap<
    S: AccountReads + OutboxStore + MailSuppressions + Webhooks,
    N: Sender,
>(
    store: &S,
    notifier: &N,
    batches: Vec<OutboxBatch>,
    now: DateTime<Utc>,
    deadline: tokio::time::Instant,
    sent: &mut BTreeMap<TenantId, usize>,
) -> Result<DispatchReport, StoreError> {
    let cap = notifier.mail_cap();
    let budgets: BTreeMap<TenantId, usize> = batches
        .iter()
        .map(|b| {
            let used = sent.get(&b.tenant_id).copied().unwrap_or(0);
            (b.tenant_id.clone(), cap.saturating_sub(used))
        })
        .collect();
    let results = per_tenant(batches, |tenant, batches| {
        let budget = budgets.get(&tenant).copied().unwrap_or(cap);
        let pace = Pace {
            mail_budget: budget,
            deadline,
            commit_waits: &[],
        };
        deliver_tenant(store, notifier, tenant, batches, now, pace)
    })
    .await;
    let mut report = DispatchReport::default();
    for (tenant, result) in results {
        let done = result?;
        *sent.entry(tenant).or_default() += done.mails;
        report.add(&done);
    }
    Ok(report)
}

/// How a tenant's delivery is paced: the mail it may still send in the run, the instant after
/// which it starts none, and how long it waits for a change that wrote its batches ahead of
/// its transaction (the stream's delivery does; a scheduled run does not).
pub(super) struct Pace<'a> {
    pub mail_budget: usize,
    pub deadline: tokio::time::Instant,
    pub commit_waits: &'a [std::time::Duration],
}

pub(super) async fn deliver_tenant<
    S: AccountReads + OutboxStore + MailSuppressions + Webhooks,
    N: Sender,
>(
    store: &S,
    notifier: &N,
    tenant: TenantId,
    batches: Vec<OutboxBatch>,
    now: DateTime<Utc>,
    pace: Pace<'_>,
) -> Result<DispatchReport, StoreError> {
    let Pace {
        mut mail_budget,
        deadline,
        commit_waits,
    } = pace;
    let mut report = DispatchReport::default();
    let mut given_up = std::collections::BTreeSet::new();
    let mut hooks = Hooks::default();
    let people = recipients(store, &tenant, &batches, notifier.support_contact()).await?;
    let started = std::time::Instant::now();
    for batch in batches {
        // Each claim on the clock as it is then (R33): a slow run must not take a lease that
        // ran out before it was taken.
        let now = later(now, started);
        match claim(store, &batch, now, commit_waits, &mut given_up).await? {
            Claim::Taken => {}
            Claim::Held => continue,
            Claim::Uncommitted => {
                let made = batch
                    .messages
                    .iter()
                    .map(|m| m.created_at)
                    .min()
                    .unwrap_or(now);
                // No dispatcher can take it, so it is dropped without a lease.
                if (now - made).num_seconds() > UNCOMMITTED_AFTER_SECS
                    && store.settle_outbox(&batch, Vec::new(), now, false).await?
                {
                    tracing::warn!(tenant = %tenant, batch = %batch.id, "outbox batch of a change that never committed: dropped unsent");
                }
                continue;
            }
        }
        let mut allowed = Allowance {
            mails: mail_budget,
            until: deadline.min(tokio::time::Instant::now() + SEND_WITHIN_LEASE),
        };
        report.batches += 1;
        let dead_before = report.dead;
        let mut messages = batch.messages.clone();
        if webhooks::needs_fan_out(&messages) || webhooks::has_webhooks(&messages) {
            hooks.load(store, &tenant).await?;
        }
        if webhooks::needs_fan_out(&messages) {
            // Written before the events are sent. A delivery repeated before this batch
            // settles writes them again: a no-op while those batches exist (decision 0017).
            for group in webhooks::fan_out(&mut messages, &hooks) {
                store
                    .queue_outbox(&tenant, &group[0].message_id, &group)
                    .await?;
            }
        }
        let left = deliver_batch(
            notifier,
            &tenant,
            &people,
            messages,
            now,
            &mut allowed,
            &mut report,
            &mut hooks,
        )
        .await;
        mail_budget = allowed.mails;
        if report.dead > dead_before {
            let error = left
                .messages
                .iter()
                .filter(|m| m.dead)
                .find_map(|m| m.last_error.clone())
                .unwrap_or_default();
            tracing::error!(tenant = %tenant, batch = %batch.id, dead = report.dead - dead_before, error = %error, metric = "OutboxDeadLetter", "outbox messages dead-lettered");
        } else if left.failed {
            let error = left
                .messages
                .iter()
                .find_map(|m| m.last_error.clone())
                .unwrap_or_default();
            tracing::warn!(tenant = %tenant, batch = %batch.id, error = %error, "outbox delivery failed; will retry");
        }
        if mail_budget == 0 {
            tracing::warn!(tenant = %tenant, cap = notifier.mail_cap(), "per-tenant mail cap reached in this run");
        }
        // Dead only when nothing in it is live: a live message keeps the batch due.
        let next = left.next_attempt();
        let dead = next.is_none() && !left.messages.is_empty();
        store
            .settle_outbox(&batch, left.messages, next.unwrap_or(now), dead)
            .await?;
        // After the settle: what was sent is recorded as sent before its history is written,
        // so a history that cannot be written never sends a webhook again.
        if let Err(error) = hooks.save(store, &tenant, now).await {
            tracing::warn!(tenant = %tenant, batch = %batch.id, error = %error, "webhook attempts and endpoint state not written");
        }
    }
    Ok(report)
}

/// Claims `batch`. One written ahead of its change's transaction may be handed over (by the
/// stream) a moment before that commits: the claim is tried again after each of `waits`, once
/// per change (`given_up` holds the markers waited for in vain).
async fn claim<S: OutboxStore>(
    store: &S,
    batch: &OutboxBatch,
    now: DateTime<Utc>,
    waits: &[std::time::Duration],
    given_up: &mut std::collections::BTreeSet<String>,
) -> Result<Claim, StoreError> {
    let mut claim = store.claim_outbox(batch, now, LEASE_SECS).await?;
    let Some(marker) = &batch.commit else {
        return Ok(claim);
    };
    if given_up.contains(marker) {
        return Ok(claim);
    }
    for wait in waits {
        if claim != Claim::Uncommitted {
            return Ok(claim);
        }
        tokio::time::sleep(*wait).await;
        claim = store.claim_outbox(batch, now, LEASE_SECS).await?;
    }
    if claim == Claim::Uncommitted {
        given_up.insert(marker.clone());
    }
    Ok(claim)
}

/// `at`, moved on by the whole seconds of real time elapsed since `started` (a lease is a
/// minute; whole seconds keep a short run's instants exactly the ones it was given).
fn later(at: DateTime<Utc>, started: std::time::Instant) -> DateTime<Utc> {
    let elapsed = i64::try_from(started.elapsed().as_secs()).unwrap_or(i64::MAX / 2);
    at + Duration::seconds(elapsed)
}

/// Reads of the due index one dispatch makes at most: a read returns what fits in 1 MB (a few
/// dozen large batches), so a change of thousands of seats takes a few reads, not a few runs.
const DISPATCH_ROUNDS: usize = 20;

/// The scheduled dispatcher: every batch due at `now`, through the due index, read again
/// while the last read's batches were delivered (what failed is due later, what another
/// dispatcher holds or an uncommitted change wrote is left, so the rounds end).
pub async fn dispatch_due<
    S: AccountReads + OutboxStore + MailSuppressions + Webhooks,
    N: Sender,
>(
    store: &S,
    notifier: &N,
    now: DateTime<Utc>,
) -> Result<DispatchReport, StoreError> {
    dispatch_due_within(store, notifier, now, now, None).await
}

/// `dispatch_due` for a scheduled run (R33): `now` is the real clock's, which every lease,
/// retry time and attempt goes by; `due_until` (not before `now`) bounds only which batches
/// are read, so a replay for a later instant delivers the messages its changes wrote without
/// spending a retry before its time. No round starts after `budget_ends` (the invocation's
/// deadline; what is left is due for the next run).
pub async fn dispatch_due_within<
    S: AccountReads + OutboxStore + MailSuppressions + Webhooks,
    N: Sender,
>(
    store: &S,
    notifier: &N,
    now: DateTime<Utc>,
    due_until: DateTime<Utc>,
    budget_ends: Option<std::time::Instant>,
) -> Result<DispatchReport, StoreError> {
    let mut report = DispatchReport::default();
    let started = std::time::Instant::now();
    let mut sent = BTreeMap::new();
    // No mail is started after the run's budget either, as no round is (none: no deadline).
    let deadline = budget_ends.map_or_else(
        || tokio::time::Instant::now() + std::time::Duration::from_secs(24 * 3600),
        tokio::time::Instant::from_std,
    );
    for round in 0..DISPATCH_ROUNDS {
        if budget_ends.is_some_and(|ends| std::time::Instant::now() >= ends) {
            report.out_of_time = true;
            break;
        }
        let now = later(now, started);
        let due = store.due_outbox(due_until.max(now), 100).await?;
        if round == 0 {
            let oldest = due
                .iter()
                .flat_map(|batch| batch.messages.iter())
                .map(|m| m.created_at)
                .min();
            report.oldest_age_secs = oldest.map_or(0, |at| (now - at).num_seconds().max(0) as u64);
        }
        if due.is_empty() {
            break;
        }
        let done = deliver_within_cap(store, notifier, due, now, deadline, &mut sent).await?;
        let delivered = done.batches;
        report.add(&done);
        if delivered == 0 {
            break;
        }
    }
    Ok(report)
}

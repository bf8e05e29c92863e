//! A `Store` in memory, for use-case tests that need no engine (feature `test-fixtures`; the
//! deployed builds do not link it). It keeps the DynamoDB store's contract: a change commits
//! whole or not at all, under the same conditions and with the same errors (a version that
//! moved, a tenant, user or invoice that exists, an approved quote, an unexpired idempotency
//! key), and quotes and keys read as gone past the same expiry. What only the engine can show
//! (transactions racing in DynamoDB, item sizes, the due index's shards, consistency) stays in
//! the DynamoDB Local suites. Its outbox is the table's too: a change's messages in batches,
//! due, leased, settled with an attempt count, or dead.

use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use crate::domain::account::{Account, SeatInfo};
use crate::domain::allocation::RedSeat;
use crate::domain::identity::{QuoteId, TenantId, UserId};
use crate::domain::invoice::Invoice;
use crate::domain::pool::PoolId;
use crate::domain::purchase_request::{PurchaseRequest, RequestStatus};
use crate::domain::quote::Quote;
use crate::domain::suppression::MailSuppression;
use crate::domain::usage::UsageReading;
use crate::domain::user::User;
use crate::outbox::{OutboxBatch, OutboxMessage};
use crate::ports::{
    AccountReads, Change, Commits, DueIndex, DueWork, IdempotencyRecord, Listings, Loaded,
    LogEntry, MailSuppressions, OutboxStore, Page, PageRequest, PurchaseRequests, Quotes, Span,
    StoreError, StoreUsage, StoredQuote, UsageHistory,
};

/// How long a quote's record outlives the quote (the DynamoDB item's TTL).
const QUOTE_RECORD_SECS: i64 = 24 * 3600;

#[derive(Default)]
struct TenantData {
    account: Option<Account>,
    users: BTreeMap<UserId, User>,
    log: Vec<LogEntry>,
    invoices: BTreeMap<String, Invoice>,
    /// Quote id → the quote, whether approved, and when its record expires.
    quotes: BTreeMap<QuoteId, (StoredQuote, DateTime<Utc>)>,
    idempotency: BTreeMap<String, IdempotencyRecord>,
    outbox: Vec<StoredBatch>,
    suppressions: BTreeMap<String, MailSuppression>,
    usage: BTreeMap<chrono::NaiveDate, UsageReading>,
    requests: BTreeMap<String, PurchaseRequest>,
}

/// An outbox batch as the table keeps it: due at `due` (none once dead), and leased to a
/// dispatcher until `lease_until`.
struct StoredBatch {
    batch: OutboxBatch,
    due: Option<DateTime<Utc>>,
    lease_until: Option<DateTime<Utc>>,
}

/// A change's outbox in batches, as the DynamoDB store cuts and names them.
fn batches(tenant: &TenantId, messages: &[OutboxMessage]) -> Vec<OutboxBatch> {
    crate::outbox::batches(tenant, messages, |first, n| {
        format!("O#{}#{n}", first.message_id)
    })
}

/// A clone shares its tenants, as two clients of one table do.
#[derive(Clone, Default)]
pub struct MemoryStore {
    tenants: Arc<Mutex<BTreeMap<TenantId, TenantData>>>,
    calls: Arc<AtomicU64>,
}

fn poisoned<T>(_: T) -> StoreError {
    StoreError::Backend("a test panicked while holding the memory store".into())
}

/// One page of `items` (already in listing order) after the item whose key the cursor names.
/// A cursor is the key in hex, as the DynamoDB adapter's is: one that is not hex is refused,
/// and any other is read as the DynamoDB adapter reads it.
fn page_of<T: Clone>(items: &[(String, T)], page: &PageRequest) -> Result<Page<T>, StoreError> {
    let start = match &page.cursor {
        Some(cursor) => {
            let after = hex::decode(cursor)
                .ok()
                .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                .ok_or(StoreError::BadCursor)?;
            items
                .iter()
                .position(|(k, _)| *k > after)
                .unwrap_or(items.len())
        }
        None => 0,
    };
    let limit = page.limit.clamp(1, 1000) as usize;
    let taken: Vec<_> = items.iter().skip(start).take(limit).collect();
    let next_cursor = (start + taken.len() < items.len())
        .then(|| taken.last().map(|(k, _)| hex::encode(k)))
        .flatten();
    Ok(Page {
        items: taken.into_iter().map(|(_, v)| v.clone()).collect(),
        next_cursor,
    })
}

/// `items` newest first by `order`, keyed by their place in that order (what a cursor names).
fn newest_first<T, K: Ord>(mut items: Vec<T>, order: impl Fn(&T) -> K) -> Vec<(String, T)> {
    items.sort_by_key(|item| std::cmp::Reverse(order(item)));
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| (format!("{i:010}"), item))
        .collect()
}

/// `items` oldest first by `order`, keyed by their place in that order.
fn oldest_first<T, K: Ord>(mut items: Vec<T>, order: impl Fn(&T) -> K) -> Vec<(String, T)> {
    items.sort_by_key(|item| order(item));
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| (format!("{i:010}"), item))
        .collect()
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut BTreeMap<TenantId, TenantData>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let mut tenants = self.tenants.lock().map_err(poisoned)?;
        f(&mut tenants)
    }

    /// Every message of the tenant's outbox not yet delivered (dead ones included), in
    /// commit order.
    pub fn outbox(&self, tenant: &TenantId) -> Vec<OutboxMessage> {
        self.outbox_batches(tenant)
            .into_iter()
            .flat_map(|(batch, _)| batch.messages)
            .collect()
    }

    /// The tenant's outbox batches, each with whether it is dead (failed too often).
    pub fn outbox_batches(&self, tenant: &TenantId) -> Vec<(OutboxBatch, bool)> {
        self.with(|t| {
            Ok(t.get(tenant)
                .map(|d| {
                    d.outbox
                        .iter()
                        .map(|b| (b.batch.clone(), b.due.is_none()))
                        .collect()
                })
                .unwrap_or_default())
        })
        .unwrap_or_default()
    }
}

impl AccountReads for MemoryStore {
    fn usage(&self) -> StoreUsage {
        StoreUsage {
            calls: self.calls.load(Ordering::Relaxed),
            capacity: 0.0,
            items_written: 0,
        }
    }

    async fn load_account(&self, tenant: &TenantId) -> Result<Option<Loaded>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant)
                .and_then(|d| d.account.clone())
                .map(|account| Loaded {
                    account: account.settled(),
                    stale: Vec::new(),
                }))
        })
    }

    async fn load_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Option<User>, StoreError> {
        self.with(|t| Ok(t.get(tenant).and_then(|d| d.users.get(user).cloned())))
    }

    async fn newest_seats(
        &self,
        tenant: &TenantId,
        pool: &PoolId,
        limit: u32,
    ) -> Result<Vec<SeatInfo>, StoreError> {
        self.with(|t| {
            let mut seats: Vec<SeatInfo> =
                t.get(tenant)
                    .map(|d| {
                        d.users
                            .values()
                            .flat_map(|u| {
                                u.seats().into_iter().filter(|(p, _)| p == pool).map(
                                    |(pool, seat)| SeatInfo {
                                        pool,
                                        seat,
                                        name: u.name.to_string(),
                                    },
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
            seats.sort_by(|a, b| b.seat.cmp(&a.seat));
            seats.truncate(limit as usize);
            Ok(seats)
        })
    }
}

impl Listings for MemoryStore {
    async fn list_users(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        self.with(|t| {
            let users: Vec<(String, User)> = t
                .get(tenant)
                .map(|d| {
                    d.users
                        .iter()
                        .map(|(id, u)| (id.to_string(), u.clone()))
                        .collect()
                })
                .unwrap_or_default();
            page_of(&users, page)
        })
    }

    async fn list_log(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<LogEntry>, StoreError> {
        self.with(|t| {
            let log = t.get(tenant).map(|d| d.log.clone()).unwrap_or_default();
            let listed = newest_first(log, |e| (e.at, e.entry_id.clone()));
            page_of(&listed, page)
        })
    }

    async fn list_invoices(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Invoice>, StoreError> {
        self.with(|t| {
            let invoices = t
                .get(tenant)
                .map(|d| d.invoices.values().cloned().collect())
                .unwrap_or_default();
            let listed = newest_first(invoices, |i| (i.issued_at, i.invoice_id.clone()));
            page_of(&listed, page)
        })
    }

    async fn export_log(
        &self,
        tenant: &TenantId,
        span: Span,
        page: &PageRequest,
    ) -> Result<Page<LogEntry>, StoreError> {
        self.with(|t| {
            let log = t.get(tenant).map(|d| d.log.clone()).unwrap_or_default();
            let within = log
                .into_iter()
                .filter(|e| e.at >= span.from && e.at < span.until);
            page_of(
                &oldest_first(within.collect(), |e| (e.at, e.entry_id.clone())),
                page,
            )
        })
    }

    async fn export_invoices(
        &self,
        tenant: &TenantId,
        span: Span,
        page: &PageRequest,
    ) -> Result<Page<Invoice>, StoreError> {
        self.with(|t| {
            let invoices: Vec<Invoice> = t
                .get(tenant)
                .map(|d| d.invoices.values().cloned().collect())
                .unwrap_or_default();
            let within = invoices
                .into_iter()
                .filter(|i| i.issued_at >= span.from && i.issued_at < span.until);
            page_of(
                &oldest_first(within.collect(), |i| (i.issued_at, i.invoice_id.clone())),
                page,
            )
        })
    }
}

impl Quotes for MemoryStore {
    async fn put_quote(&self, quote: &Quote) -> Result<(), StoreError> {
        self.with(|t| {
            let expires = quote.expires_at + chrono::Duration::seconds(QUOTE_RECORD_SECS);
            t.entry(quote.tenant_id.clone()).or_default().quotes.insert(
                quote.quote_id.clone(),
                (
                    StoredQuote {
                        quote: quote.clone(),
                        approved: false,
                    },
                    expires,
                ),
            );
            Ok(())
        })
    }

    async fn get_quote(
        &self,
        tenant: &TenantId,
        quote_id: &QuoteId,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredQuote>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant)
                .and_then(|d| d.quotes.get(quote_id))
                .filter(|(_, expires)| *expires > now)
                .map(|(q, _)| q.clone()))
        })
    }

    async fn get_idempotency(
        &self,
        tenant: &TenantId,
        key_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant)
                .and_then(|d| d.idempotency.get(key_digest))
                .filter(|r| r.expires_at >= now)
                .cloned())
        })
    }
}

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

impl DueIndex for MemoryStore {
    async fn due_work(&self, at: DateTime<Utc>) -> Result<Vec<DueWork>, StoreError> {
        self.with(|t| {
            let mut work = Vec::new();
            for (tenant, data) in t.iter() {
                let Some(account) = &data.account else {
                    continue;
                };
                let sub = &account.subscription;
                if sub.sweep_due().is_some_and(|due| due <= at) {
                    work.push(DueWork::Rollover {
                        tenant: tenant.clone(),
                        indexed: Box::new(sub.clone()),
                    });
                }
                for red in account.all_reds() {
                    let next = if red.flag.reminded {
                        red.flag.deadline
                    } else {
                        red.flag.remind_at()
                    };
                    if next <= at {
                        work.push(DueWork::Seat {
                            tenant: tenant.clone(),
                            pool: red.pool.clone(),
                            user: red.seat.user_id.clone(),
                        });
                    }
                }
            }
            Ok(work)
        })
    }
}

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
    ) -> Result<bool, StoreError> {
        self.with(|t| {
            let Some(stored) = t
                .get_mut(&batch.tenant_id)
                .and_then(|d| d.outbox.iter_mut().find(|b| b.batch.id == batch.id))
            else {
                return Ok(false);
            };
            let free = stored.lease_until.is_none_or(|until| until < now);
            if stored.batch.attempts != batch.attempts || stored.due.is_none() || !free {
                return Ok(false);
            }
            stored.lease_until = Some(now + chrono::Duration::seconds(lease_secs));
            Ok(true)
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

    async fn committed(&self, tenant: &TenantId, marker: &str) -> Result<bool, StoreError> {
        // Every change here commits with its outbox, so no batch carries a marker; one named
        // anyway is a log entry's key, `L#…#<entry id>`, as in the table.
        self.with(|t| {
            Ok(marker.starts_with("L#")
                && t.get(tenant).is_some_and(|d| {
                    d.log
                        .iter()
                        .any(|entry| marker.ends_with(&format!("#{}", entry.entry_id)))
                }))
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

impl MailSuppressions for MemoryStore {
    async fn suppressions(&self, tenant: &TenantId) -> Result<Vec<MailSuppression>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant)
                .map(|d| d.suppressions.values().cloned().collect())
                .unwrap_or_default())
        })
    }

    async fn suppress(
        &self,
        tenant: &TenantId,
        suppression: &MailSuppression,
    ) -> Result<(), StoreError> {
        self.with(|t| {
            t.entry(tenant.clone())
                .or_default()
                .suppressions
                .insert(suppression.address.clone(), suppression.clone());
            Ok(())
        })
    }
}

impl UsageHistory for MemoryStore {
    async fn record_usage(
        &self,
        account: &Account,
        reading: Option<&UsageReading>,
    ) -> Result<(), StoreError> {
        self.with(|t| {
            let data = t
                .get_mut(&account.subscription.tenant_id)
                .ok_or(StoreError::Conflict)?;
            let stored = data.account.as_mut().ok_or(StoreError::Conflict)?;
            if stored.subscription.version != account.subscription.version {
                return Err(StoreError::Conflict);
            }
            // Only the subscription's item is written, as in the table: the red seats stay.
            let mut sub = account.subscription.clone();
            sub.version += 1;
            let reds = stored.all_reds().cloned().collect();
            *stored = Account::from_parts(sub, reds).0;
            if let Some(reading) = reading {
                data.usage.insert(reading.date, reading.clone());
            }
            Ok(())
        })
    }

    async fn usage_readings(
        &self,
        tenant: &TenantId,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<UsageReading>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant)
                .map(|d| d.usage.range(from..=to).map(|(_, r)| r.clone()).collect())
                .unwrap_or_default())
        })
    }
}

impl PurchaseRequests for MemoryStore {
    async fn get_request(
        &self,
        tenant: &TenantId,
        request_id: &str,
    ) -> Result<Option<PurchaseRequest>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant)
                .and_then(|d| d.requests.get(request_id).cloned()))
        })
    }

    async fn list_requests(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<PurchaseRequest>, StoreError> {
        self.with(|t| {
            let requests = t
                .get(tenant)
                .map(|d| d.requests.values().cloned().collect())
                .unwrap_or_default();
            page_of(
                &newest_first(requests, |r: &PurchaseRequest| r.request_id.clone()),
                page,
            )
        })
    }
}

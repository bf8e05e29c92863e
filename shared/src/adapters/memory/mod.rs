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
use crate::domain::identity::{QuoteId, TenantId, UserId};
use crate::domain::invoice::Invoice;
use crate::domain::pool::PoolId;
use crate::domain::purchase_request::PurchaseRequest;
use crate::domain::quote::Quote;
use crate::domain::suppression::MailSuppression;
use crate::domain::usage::UsageReading;
use crate::domain::user::User;
use crate::outbox::{OutboxBatch, OutboxMessage};
use crate::ports::{
    AccountReads, DueIndex, DueWork, IdempotencyRecord, Listings, Loaded, LogEntry, Page,
    PageRequest, Quotes, Span, StoreError, StoreUsage, StoredQuote,
};

/// How long a quote's record outlives the quote (the DynamoDB item's TTL).
const QUOTE_RECORD_SECS: i64 = 24 * 3600;

mod commit;
mod directory;
mod outbox;
mod records;
mod webhooks;

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
    tokens: BTreeMap<String, crate::domain::directory::ProvisioningToken>,
    endpoints: BTreeMap<String, crate::domain::webhooks::Endpoint>,
    /// Every endpoint's kept attempts, newest first.
    attempts: Vec<crate::domain::webhooks::Attempt>,
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

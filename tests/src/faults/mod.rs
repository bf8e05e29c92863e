//! One decorator over every port, for tests that need a store which misbehaves the way a
//! production one does: a call that fails, one that is slow, a process killed between two
//! calls, or a change followed by something (the stream's delivery). It forwards each call to
//! the store it wraps, so it behaves exactly like that store unless a rule says otherwise.
//!
//! The rule sees each call ([`Call`]: which method, its place among all calls and among the
//! writes) and answers a [`Fault`]. A kill is final: that call and every later one fail, as
//! nothing more comes from a process that died. Counting is atomic, so one decorator can be
//! shared by concurrent callers for thousands of steps.

use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use licensing::domain::account::{Account, SeatInfo};
use licensing::domain::allocation::RedSeat;
use licensing::domain::identity::{RoleName, TenantId, UserId};
use licensing::domain::invoice::Invoice;
use licensing::domain::pool::PoolId;
use licensing::domain::purchase_request::PurchaseRequest;
use licensing::domain::quote::Quote;
use licensing::domain::suppression::MailSuppression;
use licensing::domain::usage::UsageReading;
use licensing::domain::user::User;
use licensing::domain::webhooks::{Attempt, Endpoint};
use licensing::outbox::{OutboxBatch, OutboxMessage};
use licensing::ports::{
    AccountReads, ApprovalReads, Change, Claim, Commits, DueIndex, DueWork, IdempotencyRecord,
    Listings, Loaded, LogEntry, MailSuppressions, OutboxStore, Page, PageRequest, PurchaseRequests,
    Quotes, RoleMembers, Span, StoreError, StoreUsage, StoredQuote, UsageHistory, Webhooks,
};

/// The port methods, as a rule names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    LoadAccount,
    LoadUser,
    RedRecords,
    LoadUsers,
    ExistingUsers,
    NewestSeats,
    ListUsers,
    ListLog,
    ListInvoices,
    ExportLog,
    ExportInvoices,
    PutQuote,
    GetQuote,
    GetIdempotency,
    LoadApproval,
    Commit,
    DeleteRedRecords,
    DueWork,
    DueOutbox,
    ClaimOutbox,
    SettleOutbox,
    AllUsers,
    RedriveDead,
    Suppressions,
    Suppress,
    RecordUsage,
    UsageReadings,
    GetRequest,
    ListRequests,
    ActiveInRoles,
    QueueOutbox,
    Endpoints,
    PutEndpoint,
    DeleteEndpoint,
    RecordAttempts,
    Attempts,
}

impl Method {
    /// Whether the call changes the table: the kill points of a crash test.
    pub fn writes(self) -> bool {
        matches!(
            self,
            Method::PutQuote
                | Method::Commit
                | Method::DeleteRedRecords
                | Method::ClaimOutbox
                | Method::SettleOutbox
                | Method::RedriveDead
                | Method::Suppress
                | Method::RecordUsage
                | Method::QueueOutbox
                | Method::PutEndpoint
                | Method::DeleteEndpoint
                | Method::RecordAttempts
        )
    }
}

/// One call as a rule sees it, before it is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    pub method: Method,
    /// Calls made through this decorator before this one.
    pub index: u64,
    /// Write calls made through the decorator before this one, faulted ones included.
    pub writes_before: u64,
}

/// What happens to a call.
#[derive(Debug)]
pub enum Fault {
    Pass,
    /// The call is not made; it answers this error.
    Fail(StoreError),
    /// The call is made after this wait.
    Delay(Duration),
    /// The process dies before the call: it and every later call fail.
    Kill,
}

type Rule = dyn Fn(&Call) -> Fault + Send + Sync;

/// Runs after a commit that succeeded, with the change's instant and whether it wrote outbox
/// messages: how the stream's delivery follows a change in the tests of mail.
pub trait AfterCommit: Send + Sync {
    fn after_commit(
        &self,
        now: DateTime<Utc>,
        wrote_outbox: bool,
    ) -> impl Future<Output = ()> + Send;
}

/// Nothing after a commit.
#[derive(Clone, Copy, Debug, Default)]
pub struct Nothing;

impl AfterCommit for Nothing {
    async fn after_commit(&self, _: DateTime<Utc>, _: bool) {}
}

/// `store` with faults from `rule`, and `then` after each commit.
#[derive(Clone)]
pub struct Faulty<S, A = Nothing> {
    pub store: S,
    pub then: A,
    rule: Arc<Rule>,
    calls: Arc<AtomicU64>,
    writes: Arc<AtomicU64>,
    killed: Arc<AtomicBool>,
}

impl<S> Faulty<S> {
    /// `store` with each call answered as `rule` says.
    pub fn new(store: S, rule: impl Fn(&Call) -> Fault + Send + Sync + 'static) -> Self {
        Self::with(store, rule, Nothing)
    }

    /// `store` killed at its write call after the first `n`: that call and every one after it
    /// fail, as for the crash test's process that dies between two writes.
    pub fn killed_after_writes(store: S, n: u64) -> Self {
        Self::new(store, move |call| {
            if call.method.writes() && call.writes_before >= n {
                Fault::Kill
            } else {
                Fault::Pass
            }
        })
    }
}

impl<S, A> Faulty<S, A> {
    pub fn with(store: S, rule: impl Fn(&Call) -> Fault + Send + Sync + 'static, then: A) -> Self {
        Self {
            store,
            then,
            rule: Arc::new(rule),
            calls: Arc::new(AtomicU64::new(0)),
            writes: Arc::new(AtomicU64::new(0)),
            killed: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Calls made through the decorator so far, faulted ones included.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    /// Whether a rule has killed it.
    pub fn killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }

    /// The rule's answer for the next call of `method`, applied: `Err` when it is not made.
    async fn enter(&self, method: Method) -> Result<(), StoreError> {
        let index = self.calls.fetch_add(1, Ordering::SeqCst);
        let writes_before = if method.writes() {
            self.writes.fetch_add(1, Ordering::SeqCst)
        } else {
            self.writes.load(Ordering::SeqCst)
        };
        if self.killed() {
            return Err(killed());
        }
        match (self.rule)(&Call {
            method,
            index,
            writes_before,
        }) {
            Fault::Pass => Ok(()),
            Fault::Fail(error) => Err(error),
            Fault::Delay(wait) => {
                tokio::time::sleep(wait).await;
                Ok(())
            }
            Fault::Kill => {
                self.killed.store(true, Ordering::SeqCst);
                Err(killed())
            }
        }
    }
}

fn killed() -> StoreError {
    StoreError::Backend("the process was killed (a test's fault)".into())
}

mod ports;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{acme, ada, at, nov};
    use licensing::adapters::memory::MemoryStore;
    use licensing::app;
    use licensing::ports::Store;
    use std::collections::BTreeMap;
    use std::sync::Mutex;

    async fn tenant<S: Store>(store: &S) -> Result<(), app::AppError> {
        let acme = acme("f", nov(), 2, 0);
        app::create_tenant(store, "op", acme, at("2026-11-01T08:00:00Z")).await?;
        Ok(())
    }

    async fn buy<S: Store>(store: &S, key: &str) -> Result<(), app::AppError> {
        let now = at("2026-11-10T09:00:00Z");
        let caller = ada("f");
        let quote = app::create_quote(store, &caller, Some(1), &BTreeMap::new(), now).await?;
        let body = serde_json::json!({ "quote_id": quote.quote_id });
        app::approve_purchase(store, &caller, Some(key), &body, &quote.quote_id, now).await?;
        Ok(())
    }

    async fn purchased(store: &MemoryStore) -> u32 {
        let loaded = store.load_account(&TenantId::parse("f").unwrap()).await;
        let loaded = loaded.unwrap().unwrap();
        loaded
            .account
            .subscription
            .pool(&PoolId::licences())
            .unwrap()
            .purchased
    }

    #[tokio::test]
    async fn a_kill_fails_that_call_and_every_later_one() {
        let store = MemoryStore::new();
        tenant(&store).await.unwrap();
        // Killed before its second write: the quote is stored, the approval's commit is not.
        let killed = Faulty::killed_after_writes(store.clone(), 1);
        assert!(buy(&killed, "k").await.is_err());
        assert!(killed.killed());
        let tenant_id = TenantId::parse("f").unwrap();
        assert!(
            killed.load_account(&tenant_id).await.is_err(),
            "nothing answers after a kill"
        );
        assert_eq!(purchased(&store).await, 2, "nothing was bought");
        // Started again (a new process): the same key buys once.
        buy(&store, "k").await.unwrap();
        assert_eq!(purchased(&store).await, 3);
    }

    #[tokio::test]
    async fn a_rule_sees_every_call_in_order_and_can_fail_one_of_them() {
        let store = MemoryStore::new();
        tenant(&store).await.unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let faulty = Faulty::new(store.clone(), move |call| {
            log.lock().unwrap().push(*call);
            if call.method == Method::Commit && call.writes_before == 1 {
                Fault::Fail(StoreError::Backend("injected".into()))
            } else {
                Fault::Pass
            }
        });
        assert!(buy(&faulty, "k").await.is_err(), "the failed commit");
        let calls = seen.lock().unwrap().clone();
        assert!(
            calls.iter().enumerate().all(|(i, c)| c.index == i as u64),
            "{calls:?}"
        );
        let writes: Vec<_> = calls.iter().filter(|c| c.method.writes()).collect();
        assert_eq!(writes.len(), 2, "the quote and the commit: {calls:?}");
        assert!(!faulty.killed());
        assert_eq!(purchased(&store).await, 2);
        // A fault is that call's alone: the next purchase goes through.
        buy(&faulty, "k2").await.unwrap();
        assert_eq!(purchased(&store).await, 3);
    }

    #[tokio::test]
    async fn a_throttled_commit_is_tried_again_and_then_answered_503_never_500() {
        let store = MemoryStore::new();
        tenant(&store).await.unwrap();
        // Throttled commits, `throttles` of them: the purchase's retries ride out a few.
        let throttling = |throttles: u64| {
            let seen = Arc::new(Mutex::new(0u64));
            let commits = seen.clone();
            let faulty = Faulty::new(store.clone(), move |call| {
                let mut commits = seen.lock().unwrap();
                if call.method != Method::Commit {
                    return Fault::Pass;
                }
                *commits += 1;
                if *commits <= throttles {
                    Fault::Fail(StoreError::Throttled)
                } else {
                    Fault::Pass
                }
            });
            (faulty, commits)
        };
        let attempts = u64::from(app::THROTTLED_ATTEMPTS);
        let (brief, _) = throttling(attempts - 1);
        buy(&brief, "k").await.unwrap();
        assert_eq!(purchased(&store).await, 3, "bought once, on the last try");

        let (lasting, commits) = throttling(u64::MAX);
        let err = buy(&lasting, "k2").await.unwrap_err();
        assert_eq!((err.status(), err.code()), (503, "throttled"));
        assert_eq!(
            *commits.lock().unwrap(),
            attempts,
            "tried a bounded number of times"
        );
        assert_eq!(purchased(&store).await, 3, "nothing more bought");
    }

    #[tokio::test]
    async fn a_delay_holds_the_call_then_makes_it() {
        let store = MemoryStore::new();
        let slow = Faulty::new(store.clone(), |call| match call.method {
            Method::Commit => Fault::Delay(Duration::from_millis(50)),
            _ => Fault::Pass,
        });
        let started = std::time::Instant::now();
        tenant(&slow).await.unwrap();
        assert!(started.elapsed() >= Duration::from_millis(50));
        assert_eq!(purchased(&store).await, 2);
    }
}

//! The month's customers, schedule and weather: each request and each scheduled run is a
//! process of its own over the shared store, with the faults its draw gave it.

use chrono::{DateTime, Duration, Months, Utc};
use licensing::app::{self, Activation, AppError, Caller};
use licensing::domain::identity::{Language, TenantId, UserId};
use licensing::notify::dispatch_due_within;
use licensing::notify::recorded::Recorder;
use licensing::ports::{OutboxStore, Store, StoreError, Webhooks};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

mod customers;
mod schedule;

use super::model::Books;
use super::{CALENDAR, Outage, Outcome, Plan, start};
use crate::faults::{Call, Fault, Faulty, Method};
use crate::{acme, new_user, nov};

/// Tries a client makes of one request: the last is never faulted, so every change the month
/// makes ends in an answer and the books know what happened.
const CLIENT_TRIES: u32 = 4;

/// A tenant of the month, as its customer knows it.
pub struct Tenant {
    pub id: TenantId,
    pub caller: Caller,
    pub size: usize,
    pub books: Books,
    pub users: Vec<UserId>,
    next_user: usize,
    keys: u64,
}

/// SplitMix64: small, seeded, the same on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

type Tally = Arc<Mutex<BTreeMap<&'static str, u64>>>;

const THROTTLED: &str = "DynamoDB call throttled";

fn count<K: Ord>(map: &Mutex<BTreeMap<K, u64>>, key: K) {
    *map.lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(key)
        .or_default() += 1;
}

pub(super) struct World<S> {
    store: S,
    sender: Recorder,
    plan: Plan,
    rng: Rng,
    pub tenants: Vec<Tenant>,
    calls: Arc<Mutex<BTreeMap<Method, u64>>>,
    faults: Tally,
    calm: bool,
    /// The calendar's outages of the running hour.
    outages: BTreeSet<Outage>,
    outcome: Outcome,
}

impl<S: Store + OutboxStore + Webhooks + Clone + 'static> World<S> {
    pub fn new(store: S, sender: Recorder, plan: &Plan) -> Self {
        Self {
            store,
            sender,
            plan: plan.clone(),
            rng: Rng(plan.seed),
            tenants: Vec::new(),
            calls: Arc::default(),
            faults: Arc::default(),
            calm: false,
            outages: BTreeSet::new(),
            outcome: Outcome::default(),
        }
    }

    /// When customers stop: two days into the period after the last one the plan bills.
    pub fn end(&self) -> DateTime<Utc> {
        start()
            .checked_add_months(Months::new(self.plan.periods))
            .unwrap_or_else(start)
            + Duration::days(2)
    }

    fn violation(&mut self, what: String) {
        self.outcome.violations.push(what);
    }

    /// A process over the store: with `faults`, it may die at one of its first `reach`
    /// calls, or be throttled for a call or two, or from some call on (a storm that outlasts
    /// the use case's own retries).
    fn process(&mut self, faults: bool, reach: u64) -> Faulty<S> {
        let faults = faults && !self.calm;
        let kill =
            (faults && self.rng.chance(self.plan.kill_percent)).then(|| self.rng.below(reach));
        let throttle = (faults && self.rng.chance(self.plan.throttle_percent)).then(|| {
            let from = self.rng.below(reach.min(6));
            let storm = self.rng.chance(25);
            (
                from,
                if storm {
                    u64::MAX
                } else {
                    1 + self.rng.below(2)
                },
            )
        });
        let (calls, tally) = (self.calls.clone(), self.faults.clone());
        Faulty::new(self.store.clone(), move |call: &Call| {
            count(&calls, call.method);
            if kill == Some(call.index) {
                count(&tally, "process killed between two calls");
                return Fault::Kill;
            }
            match throttle {
                Some((from, n)) if call.index >= from && call.index - from < n => {
                    count(&tally, THROTTLED);
                    Fault::Fail(StoreError::Throttled)
                }
                _ => Fault::Pass,
            }
        })
    }

    /// One request as a client makes it: tried again when the connection dropped (the
    /// process died) or the answer was 503; any other 5xx is a violation.
    async fn as_client<T, F, Fut>(&mut self, what: &str, mut op: F) -> Option<T>
    where
        F: FnMut(Faulty<S>) -> Fut,
        Fut: Future<Output = Result<T, AppError>>,
    {
        for attempt in 1..=CLIENT_TRIES {
            let process = self.process(attempt < CLIENT_TRIES, 8);
            let answer = op(process.clone()).await;
            self.outcome.requests += 1;
            match answer {
                Ok(value) => {
                    *self.outcome.statuses.entry(200).or_default() += 1;
                    return Some(value);
                }
                Err(_) if process.killed() => continue,
                Err(e) => {
                    let status = e.status();
                    *self.outcome.statuses.entry(status).or_default() += 1;
                    if status == 503 {
                        continue;
                    }
                    if status >= 500 {
                        self.violation(format!("{what} answered {status}: {e}"));
                    }
                    return None;
                }
            }
        }
        self.violation(format!("{what}: no answer in {CLIENT_TRIES} tries"));
        None
    }

    /// Each tenant with its administrator and its users, all licensed but the module seats
    /// of one user in twelve (R2: red from the start, removed after the grace).
    pub async fn open_tenants(&mut self, at: DateTime<Utc>) {
        let zones = [
            chrono_tz::Europe::Copenhagen,
            chrono_tz::UTC,
            chrono_tz::Asia::Tokyo,
        ];
        for i in 0..self.plan.tenants {
            let size = self.plan.sizes[i % self.plan.sizes.len()].max(1);
            let id = format!("{}{i:04}", self.plan.prefix);
            let zone = zones[i % zones.len()];
            let purchased = [size as u32 + 2, (size / 4 + 1) as u32];
            let mut new = acme(&id, nov(), purchased[0], purchased[1]);
            new.time_zone = zone;
            if let Err(e) = app::create_tenant(&self.store, "op", new, at).await {
                self.violation(format!("{id}: not created: {e}"));
                continue;
            }
            let caller = Caller {
                tenant: new_tenant_id(&id),
                user: UserId::parse("ada").unwrap_or_else(|_| unreachable!("a valid id")),
            };
            let mut tenant = Tenant {
                id: caller.tenant.clone(),
                caller,
                size,
                books: Books::new(zone, nov(), purchased),
                users: Vec::new(),
                next_user: 0,
                keys: 0,
            };
            let mut left = size - 1;
            while left > 0 {
                let n = left.min(500);
                let (ids, items) = next_users(&mut tenant, n);
                match app::create_users(&self.store, &tenant.caller, items, at).await {
                    Ok(view) if view.failed == 0 => tenant.users.extend(ids),
                    Ok(view) => self.violation(format!("{id}: {} users not created", view.failed)),
                    Err(e) => self.violation(format!("{id}: users not created: {e}")),
                }
                left -= n;
            }
            self.outcome.users += size;
            self.outcome.by_size.entry(size).or_default().tenants += 1;
            self.tenants.push(tenant);
        }
        self.outcome.tenants = self.tenants.len();
    }

    /// Sets SES and EventBridge as the calendar says for `hour`.
    pub fn weather(&mut self, hour: u32) {
        let now: BTreeSet<Outage> = CALENDAR
            .iter()
            .filter(|(from, hours, _)| hour >= *from && hour < from + hours)
            .map(|(_, _, what)| *what)
            .collect();
        let mail = if now.contains(&Outage::Mail) {
            Some("MessageRejected")
        } else if now.contains(&Outage::MailSlowDown) {
            Some("TooManyRequestsException")
        } else {
            None
        };
        let events = if now.contains(&Outage::Events) {
            Some("InternalException")
        } else if now.contains(&Outage::EventsSlowDown) {
            Some("ThrottlingException")
        } else {
            None
        };
        for what in &now {
            count(&self.faults, outage_name(*what));
        }
        self.sender.refuse_mail(mail);
        self.sender.refuse_events(events);
        self.outages = now;
    }

    /// How many faults of kind `what` were injected so far.
    fn injected(&self, what: &str) -> u64 {
        let tally = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        tally.get(what).copied().unwrap_or(0)
    }

    /// No more faults: SES and EventBridge answer, processes live, DynamoDB keeps up.
    pub fn calm(&mut self) {
        self.calm = true;
        self.outages.clear();
        self.sender.refuse_mail(None);
        self.sender.refuse_events(None);
    }

    /// The run's figures so far.
    pub async fn finish(&mut self, now: DateTime<Utc>, hours: u32) -> Outcome {
        let mut outcome = std::mem::take(&mut self.outcome);
        outcome.hours = u64::from(hours);
        outcome.simulated_days = (now - start()).num_days();
        outcome.faults = self
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        outcome.calls = self.calls.lock().unwrap_or_else(|e| e.into_inner()).clone();
        for tenant in &mut self.tenants {
            // Customers stopped before the end: the books follow the calendar all the same.
            tenant.books.roll_to(now);
            outcome.purchases += tenant.books.purchases;
            outcome.downscales += tenant.books.downscales;
            outcome.rollovers += tenant.books.rollovers;
        }
        outcome
    }
}

/// Whether a message may die at `hour`: only when an outage has lasted longer than R32's
/// schedule (about 75 hours), and not after it ended.
fn dying_allowed(hour: u32) -> bool {
    CALENDAR.iter().any(|(from, hours, what)| {
        matches!(what, Outage::Mail | Outage::Events) && hour >= from + 72 && hour <= from + hours
    })
}

fn outage_name(what: Outage) -> &'static str {
    match what {
        Outage::Mail => "hours SES refused every mail",
        Outage::Events => "hours EventBridge refused every event",
        Outage::MailSlowDown => "hours SES said slow down",
        Outage::EventsSlowDown => "hours EventBridge throttled",
    }
}

fn new_tenant_id(id: &str) -> TenantId {
    TenantId::parse(id).unwrap_or_else(|_| unreachable!("the month's tenant ids are valid"))
}

/// The next `n` users of `tenant`: ids the month chose, so a try again makes the same ones.
fn next_users(tenant: &mut Tenant, n: usize) -> (Vec<UserId>, Vec<app::CreateUser>) {
    (0..n)
        .map(|_| {
            tenant.next_user += 1;
            let id = format!("u{}", tenant.next_user);
            let (language, modules): (Language, &[&str]) = match tenant.next_user % 12 {
                0 => (Language::Da, &["crm"]),
                k if k % 3 == 0 => (Language::En, &["crm"]),
                k if k % 2 == 0 => (Language::Da, &[]),
                _ => (Language::En, &[]),
            };
            let user = new_user(&id, "Member", language, modules);
            (user.user_id.clone(), user.into())
        })
        .unzip()
}

/// A request's licences and modules for `n` of pool `pool` (0: licences, 1: the module).
fn request(pool: usize, n: u32) -> (Option<u32>, BTreeMap<String, u32>) {
    if pool == 0 {
        (Some(n), BTreeMap::new())
    } else {
        (None, BTreeMap::from([("crm".to_owned(), n)]))
    }
}

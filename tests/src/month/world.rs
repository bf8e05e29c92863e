//! The month's customers, schedule and weather: each request and each scheduled run is a
//! process of its own over the shared store, with the faults its draw gave it.

use chrono::{DateTime, Duration, Months, Utc};
use licensing::app::{self, Activation, AppError, Caller};
use licensing::domain::identity::{Language, TenantId, UserId};
use licensing::notify::dispatch_due_within;
use licensing::notify::recorded::Recorder;
use licensing::ports::{OutboxStore, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

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

impl<S: Store + OutboxStore + Clone + 'static> World<S> {
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

    /// One customer's change at `now`, on a tenant drawn at random.
    pub async fn customer_change(&mut self, now: DateTime<Utc>) {
        if self.tenants.is_empty() {
            return;
        }
        let i = self.rng.below(self.tenants.len() as u64) as usize;
        self.tenants[i].books.roll_to(now);
        let (before, requests) = (self.store.usage(), self.outcome.requests);
        self.change(i, now).await;
        let used = self.store.usage().since(before);
        let requests = self.outcome.requests - requests;
        let size = self.tenants[i].size;
        self.outcome
            .by_size
            .entry(size)
            .or_default()
            .add(requests, used);
    }

    async fn change(&mut self, i: usize, now: DateTime<Utc>) {
        match self.rng.below(100) {
            0..=29 => self.add_users(i, now).await,
            30..=46 => self.set_users(i, now, Activation::Deactivate).await,
            47..=59 => self.set_users(i, now, Activation::Activate).await,
            60..=77 => self.purchase(i, now).await,
            78..=92 => self.downscale(i, now).await,
            _ => {
                let caller = self.tenants[i].caller.clone();
                let caller = &caller;
                self.as_client("GET /v1/account", |s| async move {
                    app::account_status(&s, caller, now).await
                })
                .await;
            }
        }
    }

    /// A burst of new users, active, a third of them with the module: one batch request.
    async fn add_users(&mut self, i: usize, now: DateTime<Utc>) {
        let most = (self.tenants[i].size / 10).clamp(1, 500) as u64;
        let n = 1 + self.rng.below(most) as usize;
        let (ids, items) = next_users(&mut self.tenants[i], n);
        let caller = self.tenants[i].caller.clone();
        let caller = &caller;
        let done = self
            .as_client("POST /v1/users/batch", |s| {
                let items = items.clone();
                async move { app::create_users(&s, caller, items, now).await }
            })
            .await;
        for result in done.iter().flat_map(|view| &view.results) {
            if result.status >= 500 {
                self.violation(format!("a user of the batch answered {}", result.status));
            }
        }
        // Whichever try created them, they exist (a later try says 409 for each).
        self.tenants[i].users.extend(ids);
    }

    /// A few users deactivated or activated again, one request each.
    async fn set_users(&mut self, i: usize, now: DateTime<Utc>, what: Activation) {
        let known = self.tenants[i].users.len() as u64;
        if known == 0 {
            return;
        }
        let n = 1 + self.rng.below((known / 20 + 1).min(20));
        let caller = self.tenants[i].caller.clone();
        let caller = &caller;
        for _ in 0..n {
            let user = self.tenants[i].users[self.rng.below(known) as usize].clone();
            let user = &user;
            self.as_client("POST /v1/users/{id}/(de)activate", |s| async move {
                app::set_active(&s, caller, user, what, now).await
            })
            .await;
        }
    }

    /// A quote and its approval (R6–R10) for tenant `i`. Now and then the answer is lost and
    /// the client sends the approval again: it must get the first answer back and pay
    /// nothing more.
    pub async fn purchase(&mut self, i: usize, now: DateTime<Utc>) {
        if i >= self.tenants.len() {
            return;
        }
        self.tenants[i].books.roll_to(now);
        let pool = usize::from(self.rng.chance(30));
        let quantity = 1 + self.rng.below(5) as u32;
        let (licences, modules) = request(pool, quantity);
        let caller = self.tenants[i].caller.clone();
        let (caller, modules) = (&caller, &modules);
        let Some(quote) = self
            .as_client("POST /v1/purchase/quote", |s| async move {
                app::create_quote(&s, caller, licences, modules, now).await
            })
            .await
        else {
            return;
        };
        let tenant = &mut self.tenants[i];
        tenant.keys += 1;
        let key = format!("k-{}-{}", tenant.id, tenant.keys);
        let body = serde_json::json!({ "quote_id": quote.quote_id });
        let id = quote.quote_id.clone();
        let (key, body, id) = (key.as_str(), &body, &id);
        let approve = |s: Faulty<S>| async move {
            app::approve_purchase(&s, caller, Some(key), body, id, now).await
        };
        let Some(first) = self.as_client("POST /v1/purchase", approve).await else {
            return;
        };
        if first.status >= 300 {
            return;
        }
        self.tenants[i].books.bought(now, pool, quantity);
        if self.rng.chance(5) {
            count(&self.faults, "answer lost, request sent again");
            match self.as_client("POST /v1/purchase (again)", approve).await {
                Some(again) if again.replayed && again.body == first.body => {}
                other => self.violation(format!(
                    "{key}: sent again, answered {:?} instead of the first answer",
                    other.map(|a| (a.status, a.replayed))
                )),
            }
        }
    }

    /// The next period of a pool set lower (R11): mostly a little, now and then a lot.
    async fn downscale(&mut self, i: usize, now: DateTime<Utc>) {
        let pool = usize::from(self.rng.chance(25));
        let books = &self.tenants[i].books;
        let purchased = u64::from(books.purchased[pool]);
        if purchased <= 1 {
            return;
        }
        let n = if self.rng.chance(5) {
            1 + self.rng.below(purchased)
        } else {
            purchased - self.rng.below((purchased / 5).max(1))
        } as u32;
        if n == self.tenants[i].books.next[pool] {
            return;
        }
        let (licences, modules) = request(pool, n);
        let caller = self.tenants[i].caller.clone();
        let (caller, modules) = (&caller, &modules);
        let done = self
            .as_client("PUT /v1/next-period", |s| async move {
                app::set_next_period(&s, caller, licences, modules, now).await
            })
            .await;
        if done.is_some() {
            self.tenants[i].books.downscaled(now, pool, n);
        }
    }

    /// The scheduled run of `hour`, with the schedule's own faults: an event lost, one
    /// delivered twice, one delivered an hour late (after the next).
    pub async fn schedule(&mut self, hour: u32, now: DateTime<Utc>) {
        let draw = if self.calm { 99 } else { self.rng.below(100) };
        match draw {
            0..=2 => count(&self.faults, "scheduled event lost"),
            3..=5 => {
                count(&self.faults, "scheduled event delivered twice");
                self.scheduled_run(hour, now, now).await;
                self.scheduled_run(hour, now, now).await;
            }
            6..=8 => {
                count(&self.faults, "scheduled event an hour late");
                self.scheduled_run(hour, now, now).await;
                self.scheduled_run(hour, now - Duration::hours(1), now)
                    .await;
            }
            _ => self.scheduled_run(hour, now, now).await,
        }
    }

    /// The sweeper for the event of `event`, running at `now` on the real clock (R33).
    async fn scheduled_run(&mut self, hour: u32, event: DateTime<Utc>, now: DateTime<Utc>) {
        let before = self.store.usage();
        self.run_once(hour, event, now).await;
        let used = self.store.usage().since(before);
        self.outcome.scheduled.add(1, used);
    }

    async fn run_once(&mut self, hour: u32, event: DateTime<Utc>, now: DateTime<Utc>) {
        self.outcome.scheduled_runs += 1;
        let process = self.process(true, 60);
        let throttled = self.injected(THROTTLED);
        let swept = app::sweep::sweep(&process, event, None).await;
        // Throttled calls may fail a tenant (it is due again next run); nothing else may.
        let faulted = process.killed() || self.injected(THROTTLED) > throttled;
        match swept {
            Ok(report) if report.failed_tenants > 0 && !faulted => self.violation(format!(
                "hour {hour}: the sweep failed {} tenants with no fault injected",
                report.failed_tenants
            )),
            Err(e) if !faulted => self.violation(format!("hour {hour}: the sweep failed: {e}")),
            _ => {}
        }
        if process.killed() {
            return;
        }
        let refusing =
            self.outages.contains(&Outage::Mail) || self.outages.contains(&Outage::Events);
        match dispatch_due_within(&process, &self.sender, now, event.max(now), None).await {
            Ok(report) => {
                if report.failed > 0 && !refusing {
                    self.violation(format!(
                        "hour {hour}: {} messages failed with SES and EventBridge answering",
                        report.failed
                    ));
                }
                self.outcome.dead_lettered += report.dead as u64;
                if report.dead > 0 && !dying_allowed(hour) {
                    self.violation(format!(
                        "hour {hour}: {} messages dead-lettered before R32's schedule ran out",
                        report.dead
                    ));
                }
            }
            Err(StoreError::Throttled) => {}
            Err(_) if process.killed() => {}
            Err(e) => self.violation(format!("hour {hour}: the dispatch failed: {e}")),
        }
    }

    /// A dispatch alone, fault-free, at `now`.
    pub async fn dispatch(&mut self, now: DateTime<Utc>) {
        if let Err(e) = dispatch_due_within(&self.store, &self.sender, now, now, None).await {
            self.violation(format!("the last dispatch failed: {e}"));
        }
    }

    /// The operator's redrive of every dead letter (R32), once SES is back.
    pub async fn redrive(&mut self, now: DateTime<Utc>) {
        match self.store.redrive_dead(None, now).await {
            Ok(0) => self.violation("the long outage left no dead letter to redrive".into()),
            Ok(n) => self.outcome.redriven += n as u64,
            Err(e) => self.violation(format!("the redrive failed: {e}")),
        }
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

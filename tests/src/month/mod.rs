//! A production month with faults (#31, R32, R33): many tenants of every size go through
//! several billing periods of simulated time, hour by hour, as customers and the schedule
//! drive them: purchases, downscales, users in bursts, status reads, and the scheduled sweep
//! and dispatch. Meanwhile SES and EventBridge refuse for hours and days or say "slow down",
//! DynamoDB throttles (inside transactions too), processes die between any two calls, answers
//! are lost, and scheduled events come late, twice or not at all.
//!
//! At the end `checks` compares the store with books kept apart from the domain
//! ([`model`]) and with what the recording sender received. The run is seeded: the same
//! [`Plan`] makes the same customers' actions and the same faults at the same calls. Which
//! retry lands in which hour can differ between runs: delivery moves its clock on by the
//! real seconds a run takes (R33).
//!
//! The world is any store with every port: the memory store for the long run (a `bench`
//! command) and a short one in the test command, DynamoDB Local for a short one too. The
//! clock is simulated: the hour's instant is both the event's `time` and the real clock of
//! leases and retries (R33), which is what a run that lasts for months sees.

mod checks;
pub mod model;
mod world;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use licensing::notify::recorded::Recorder;
use licensing::ports::{OutboxStore, Store, StoreUsage, Webhooks};
use std::collections::BTreeMap;

use crate::faults::Method;
use world::World;

/// What a run does.
#[derive(Clone, Debug)]
pub struct Plan {
    pub seed: u64,
    /// Tenant ids start with this, so runs on one table do not meet.
    pub prefix: String,
    pub tenants: usize,
    /// Users per tenant, given out over the tenants in turn.
    pub sizes: Vec<usize>,
    /// Billing periods every tenant goes through.
    pub periods: u32,
    /// Simulated hours between two scheduled runs (on AWS a minute; here an hour keeps a
    /// quarter to thousands of runs; the engine's short run takes six).
    pub step_hours: u32,
    /// Customers' changes per step, over all tenants.
    pub changes_per_step: usize,
    /// Percent of requests and scheduled runs whose process dies at some call.
    pub kill_percent: u64,
    /// Percent of requests and runs that DynamoDB throttles.
    pub throttle_percent: u64,
}

impl Plan {
    /// A few small tenants, every fault kind, three periods: seconds, for the test command.
    pub fn short(seed: u64, prefix: &str) -> Self {
        Self {
            seed,
            prefix: prefix.to_owned(),
            tenants: 8,
            sizes: vec![3, 12, 40, 120],
            periods: 3,
            step_hours: 1,
            changes_per_step: 1,
            kill_percent: 4,
            throttle_percent: 2,
        }
    }

    /// `tenants` tenants, most small, one in twenty of 10 000 users (R24's customers).
    pub fn long(seed: u64, tenants: usize) -> Self {
        Self {
            seed,
            prefix: "m".into(),
            tenants,
            sizes: vec![
                10_000, 12, 30, 300, 20, 50, 2_000, 15, 100, 25, 40, 500, 10, 60, 18, 1_000, 35,
                200, 22, 45,
            ],
            periods: 3,
            step_hours: 1,
            changes_per_step: tenants.div_ceil(8),
            kill_percent: 3,
            throttle_percent: 2,
        }
    }
}

/// When the outside world misbehaves, in hours from the start of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Outage {
    /// SES refuses every mail (a deleted identity, an outage).
    Mail,
    /// EventBridge refuses every event.
    Events,
    /// SES says "slow down" (throttling, over its quota).
    MailSlowDown,
    /// EventBridge throttles.
    EventsSlowDown,
}

/// The month's calendar of outages: (first hour, hours, what).
pub const CALENDAR: [(u32, u32, Outage); 6] = [
    (24 * 9 + 3, 2, Outage::Mail),
    // The 54 hours of the issue: nothing may die of it.
    (24 * 19 + 5, 54, Outage::Mail),
    (24 * 32 + 1, 30, Outage::Events),
    (24 * 40, 6, Outage::MailSlowDown),
    (24 * 44, 3, Outage::EventsSlowDown),
    // Five days: R32's schedule runs out, so the mail of those days is dead-lettered,
    // then redriven by the operator once SES is back.
    (24 * 49 + 2, 120, Outage::Mail),
];

/// The outage that outlasts R32's schedule.
const LONG_OUTAGE: (u32, u32, Outage) = CALENDAR[5];

/// The hour the operator redrives the dead letters of the long outage.
pub const REDRIVE_HOUR: u32 = 24 * 56;

/// The instant the run starts: 1 November 2026, 01:00 UTC, in every tenant's first period.
pub fn start() -> DateTime<Utc> {
    NaiveDate::from_ymd_opt(2026, 11, 1)
        .and_then(|d| d.and_hms_opt(1, 0, 0))
        .map(|t| t.and_utc())
        .unwrap_or_default()
}

/// What a run did, and what it found wrong.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub tenants: usize,
    pub users: usize,
    pub simulated_days: i64,
    pub hours: u64,
    /// Requests answered (each try counts), and scheduled runs started.
    pub requests: u64,
    pub scheduled_runs: u64,
    /// Faults injected, by kind.
    pub faults: BTreeMap<&'static str, u64>,
    /// Answers by status, over every request's tries.
    pub statuses: BTreeMap<u16, u64>,
    pub purchases: u64,
    pub downscales: u64,
    pub rollovers: u64,
    pub invoices: u64,
    pub mails: u64,
    pub events: u64,
    /// Messages sent again because a dispatcher died between sending and settling (at least
    /// once; receivers deduplicate by message id).
    pub resent: u64,
    pub dead_lettered: u64,
    pub redriven: u64,
    /// Store calls by method, over the whole run.
    pub calls: BTreeMap<Method, u64>,
    /// The store's own account of its use (read and write units on DynamoDB), over the run.
    pub capacity: f64,
    /// What customers' requests used, by the size (users) of their tenant.
    pub by_size: BTreeMap<usize, Use>,
    /// What the scheduled runs (sweep and dispatch) used, over all tenants.
    pub scheduled: Use,
    pub violations: Vec<String>,
}

/// Requests and store use, for the cost of a tenant.
#[derive(Clone, Copy, Debug, Default)]
pub struct Use {
    pub tenants: u64,
    pub requests: u64,
    pub calls: u64,
    pub capacity: f64,
}

impl Use {
    fn add(&mut self, requests: u64, used: StoreUsage) {
        self.requests += requests;
        self.calls += used.calls;
        self.capacity += used.capacity;
    }
}

/// Runs `plan` on `store` and checks the result.
pub async fn run<S>(store: S, plan: &Plan) -> Outcome
where
    S: Store + OutboxStore + Webhooks + Clone + 'static,
{
    let sender = Recorder::new();
    let before = store.usage();
    let mut world = World::new(store.clone(), sender.clone(), plan);
    world.open_tenants(start()).await;
    let end = world.end();
    let step = Duration::hours(i64::from(plan.step_hours.max(1)));
    let mut now = start();
    let mut hour = 0u32;
    let mut redriven = false;
    let mut bought_in_the_long_outage = false;
    while now < end {
        world.weather(hour);
        for _ in 0..plan.changes_per_step {
            world.customer_change(now).await;
        }
        // A purchase as the long outage starts, so its mail outlives R32's schedule whatever
        // the draw (the redrive then has something to bring back).
        if hour >= LONG_OUTAGE.0 && !bought_in_the_long_outage {
            world.purchase(0, now).await;
            bought_in_the_long_outage = true;
        }
        world.schedule(hour, now).await;
        if hour >= REDRIVE_HOUR && !redriven {
            world.redrive(now).await;
            redriven = true;
        }
        now += step;
        hour += plan.step_hours.max(1);
    }
    // Everything back to normal: a few quiet days of scheduled runs deliver what waits.
    world.calm();
    let quiet = now + Duration::days(4);
    while now < quiet {
        world.schedule(hour, now).await;
        now += step;
        hour += plan.step_hours.max(1);
    }
    // The last run's sweep wrote news after its dispatch read the due index (its changes are
    // a microsecond later than its instant): the next run's dispatch, as on AWS, sends them.
    world.dispatch(now).await;
    let mut outcome = world.finish(now, hour).await;
    outcome.capacity = store.usage().since(before).capacity;
    checks::after_the_month(&store, &sender, &world.tenants, now, &mut outcome).await;
    outcome
}

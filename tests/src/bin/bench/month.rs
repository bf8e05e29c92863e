//! `bench month [tenants] [seed]`: the production month (#31) at size on the memory store,
//! and `bench month-dynamodb [tenants] [seed]` the same on DynamoDB Local, whose consumed
//! capacity prices a tenant. Both print the run's figures and its violations (the goal is 0).

use licensing::adapters::memory::MemoryStore;
use licensing::ports::{OutboxStore, Store, Webhooks};
use licensing_tests::month::{self, Outcome, Plan};
use std::time::Instant;

/// On-demand list prices, us-east-1, in dollars (AWS pricing pages, 2026): DynamoDB per
/// million write request units (a read unit is a fifth of it; pricing every unit as a write
/// makes the figure an upper bound), Lambda per million requests and per GB-second (arm64),
/// API Gateway HTTP API per million requests, SES per thousand mails, EventBridge per
/// million custom events.
const DYNAMODB_PER_MILLION_UNITS: f64 = 0.625;
const LAMBDA_PER_MILLION: f64 = 0.20;
const LAMBDA_PER_GB_SECOND: f64 = 0.000_013_333_4;
const HTTP_API_PER_MILLION: f64 = 1.00;
const SES_PER_THOUSAND: f64 = 0.10;
const EVENTS_PER_MILLION: f64 = 1.00;
/// What a request's function is billed for, assumed: 256 MB (the template's global size)
/// for 50 ms (the use cases' p99 on DynamoDB Local is in BENCHMARKS.md, "Use cases").
const REQUEST_GB_SECONDS: f64 = 0.25 * 0.050;
/// The sweeper runs every minute on AWS (the month runs it hourly): 43 200 runs a month at
/// 512 MB, for 200 ms each (an idle run reads the due index and the outbox once).
const SWEEPER_RUNS_A_MONTH: f64 = 43_200.0;
const SWEEPER_GB_SECONDS: f64 = 0.5 * 0.200;

pub async fn month_on_memory(tenants: u64, seed: u64) {
    let plan = Plan::long(seed, tenants as usize);
    report(MemoryStore::new(), &plan).await;
}

pub async fn month_on_dynamodb(tenants: u64, seed: u64) {
    let mut plan = Plan::long(seed, tenants as usize);
    plan.prefix = licensing_tests::unique("m");
    report(licensing_tests::fresh_store().await, &plan).await;
}

async fn report<S: Store + OutboxStore + Webhooks + Clone + 'static>(store: S, plan: &Plan) {
    let started = Instant::now();
    let outcome = month::run(store, plan).await;
    let secs = started.elapsed().as_secs_f64();
    print_run(plan, &outcome, secs);
    print_cost(plan, &outcome);
    println!("violations: {}", outcome.violations.len());
    for violation in outcome.violations.iter().take(50) {
        println!("  {violation}");
    }
}

fn print_run(plan: &Plan, o: &Outcome, secs: f64) {
    println!(
        "seed {} · {} tenants, {} users · {} periods · {} simulated days ({} hours) in {secs:.0} s",
        plan.seed, o.tenants, o.users, plan.periods, o.simulated_days, o.hours
    );
    println!(
        "requests {} (answers by status {:?}) · scheduled runs {}",
        o.requests, o.statuses, o.scheduled_runs
    );
    println!(
        "purchases {} · downscales {} · rollovers {} · invoices {} · mails {} · events {} · sent again after a kill {} · dead-lettered {} · redriven {}",
        o.purchases,
        o.downscales,
        o.rollovers,
        o.invoices,
        o.mails,
        o.events,
        o.resent,
        o.dead_lettered,
        o.redriven
    );
    let faults: u64 = o.faults.values().sum();
    println!("faults injected {faults}:");
    for (what, n) in &o.faults {
        println!("  {n:>7}  {what}");
    }
    let calls: u64 = o.calls.values().sum();
    println!("store calls {calls} · capacity units {:.0}", o.capacity);
}

/// What a tenant costs a month on AWS, by size: its requests (API Gateway, Lambda, their
/// DynamoDB units) measured, the schedule's and the messages' share spread evenly.
fn print_cost(plan: &Plan, o: &Outcome) {
    let months = f64::from(plan.periods).max(1.0);
    let tenants = (o.tenants as f64).max(1.0);
    let shared_units = o.scheduled.capacity / tenants / months;
    let messages = (o.mails as f64 * SES_PER_THOUSAND / 1e3
        + o.events as f64 * EVENTS_PER_MILLION / 1e6)
        / tenants
        / months;
    let schedule = SWEEPER_RUNS_A_MONTH
        * (LAMBDA_PER_MILLION / 1e6 + SWEEPER_GB_SECONDS * LAMBDA_PER_GB_SECOND);
    println!(
        "per tenant-month, shared: scheduled runs' units {shared_units:.1}, mails {:.1}, events {:.1}; the sweeper ${schedule:.2} a month for the deployment",
        o.mails as f64 / tenants / months,
        o.events as f64 / tenants / months
    );
    println!(
        "| users | tenants | requests / tenant-month | store calls | capacity units | $ per 1 000 tenants a month |"
    );
    println!("|---:|---:|---:|---:|---:|---:|");
    for (size, used) in &o.by_size {
        let n = (used.tenants as f64).max(1.0) * months;
        let requests = used.requests as f64 / n;
        let units = used.capacity / n + shared_units;
        let dollars = requests
            * (HTTP_API_PER_MILLION / 1e6
                + LAMBDA_PER_MILLION / 1e6
                + REQUEST_GB_SECONDS * LAMBDA_PER_GB_SECOND)
            + units * DYNAMODB_PER_MILLION_UNITS / 1e6
            + messages;
        println!(
            "| {size} | {} | {requests:.0} | {:.0} | {units:.0} | {:.2} |",
            used.tenants,
            used.calls as f64 / n,
            dollars * 1000.0
        );
    }
}

//! Benchmarks against the local platform (DynamoDB Local; start it with the test or run
//! command's engines, or any endpoint in `AWS_ENDPOINT_URL_DYNAMODB`).
//!
//! `bench api [iterations] [callers]`   DynamoDB calls, consumed capacity and latency per use
//!   case, then throughput against the engine's raw rates with `callers` in flight (16);
//!   with `BENCH_ENGINE_PID` set to the engine's process id, the engine's CPU per operation too
//! `bench sweep [tenants] [users_per_tenant] [due_percent]`   one sweep over a seeded table
//! `bench size [users …]`   each use case on tenants of 100 / 1 000 / 10 000 / 50 000 users
//! `bench creates [clients] [total]`   single creates racing on one tenant (in process, or
//!   through the local API when `LICENSING_API_URL` is set)
//! `bench notify [purchases]`   approval latency with and without the stream path delivering,
//!   answer-to-sent latency and the scheduled dispatcher's throughput (moto)
//! `bench webhooks [purchases]`   approval latency on a tenant with 10 webhook endpoints
//!   against one with none, interleaved, every webhook delivered (R38)
//! `bench month [tenants] [seed]`   the production month (#31) on the memory store: tenants of
//!   every size through three periods of faults, its figures, a tenant's cost, its violations
//! `bench month-dynamodb [tenants] [seed]`   the same on DynamoDB Local (its capacity units)
//! `bench first-request <bootstrap> [runs]`   an HTTP function's init, first and second answer
//!   after a cold start (stub Runtime API, DynamoDB Local's table in `LICENSING_TABLE`)
//! `bench startup <bootstrap> [runs]`   process start to the first `invocation/next` request,
//!   the function started under a stub Lambda Runtime API (no engines needed)
//!
//! Figures and the commands that produced them are recorded in BENCHMARKS.md.

mod api;
mod creates;
mod measure;
mod month;
mod notify;
mod rates;
mod ratios;
mod scim;
mod size;
mod startup;
mod sweep;
mod webhooks;

pub(crate) fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    match std::env::args().nth(1).as_deref() {
        Some("api") => api::api(arg(2, 200), arg(3, 16).max(1)).await,
        Some("sweep") => sweep::sweep_bench(arg(2, 10_000), arg(3, 20), arg(4, 1)).await,
        Some("notify") => notify::notify(arg(2, 100)).await,
        Some("creates") => creates::creates(arg(2, 8), arg(3, 400)).await,
        Some("scim") => scim::scim(arg(2, 10_000), arg(3, 4).max(1)).await,
        Some("webhooks") => webhooks::webhooks(arg(2, 100).max(1)).await,
        Some("size") => {
            let sizes: Vec<u64> = std::env::args()
                .skip(2)
                .filter_map(|a| a.parse().ok())
                .collect();
            let sizes = if sizes.is_empty() {
                vec![100, 1_000, 10_000, 50_000]
            } else {
                sizes
            };
            size::size_bench(&sizes, 50).await
        }
        Some("month") => month::month_on_memory(arg(2, 200), arg(3, 1)).await,
        Some("month-dynamodb") => month::month_on_dynamodb(arg(2, 20), arg(3, 1)).await,
        Some("first-request") => match std::env::args().nth(2) {
            Some(bootstrap) => startup::first_request(&bootstrap, arg(3, 20)),
            None => eprintln!("usage: bench first-request <bootstrap> [runs]"),
        },
        Some("startup") => match std::env::args().nth(2) {
            Some(bootstrap) => startup::startup(&bootstrap, arg(3, 50)),
            None => eprintln!("usage: bench startup <bootstrap> [runs]"),
        },
        _ => eprintln!(
            "usage: bench api [iterations] [callers] | bench creates [clients] [total] | bench scim [users] [in_flight] | bench size [users …] | bench sweep [tenants] [users_per_tenant] [due_percent] | bench notify [purchases] | bench webhooks [purchases] | bench month[-dynamodb] [tenants] [seed] | bench startup <bootstrap> [runs]"
        ),
    }
}

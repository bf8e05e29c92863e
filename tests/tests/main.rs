//! The integration and end-to-end suites, one module each, in one test binary: the SDK and
//! the crate are linked once instead of once per suite (BENCHMARKS.md has the time saved).
//! `cargo test --workspace --test main <filter>` runs part of it.

mod addressed;
mod api;
mod delivery;
mod deploy;
mod engines;
mod exports;
mod feedback;
mod front;
mod iam;
mod month;
mod notify;
mod operators;
mod outage;
mod paging;
mod size;
mod store;
mod sweeper;
mod use_cases;
mod webhooks;

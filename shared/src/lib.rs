//! The licensing service: pure domain rules, the ports it needs, and the AWS adapters.

pub mod adapters;
pub mod app;
pub mod config;
pub mod domain;
#[cfg(feature = "http")]
pub mod http;
#[cfg(all(feature = "notify", feature = "dynamodb"))]
pub mod notify;
pub mod outbox;
pub mod ports;
pub mod scim;
#[cfg(feature = "dynamodb")]
pub mod startup;
pub mod telemetry;
pub mod time;

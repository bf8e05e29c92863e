//! The licensing rules (docs/rules.md, R1–R23) as pure functions over plain data: no I/O, no clock.

pub mod account;
pub mod allocation;
pub mod directory;
pub mod error;
pub mod events;
pub mod idempotency;
pub mod identity;
pub mod invoice;
pub mod money;
pub mod next_period;
pub mod period;
pub mod pool;
pub mod proration;
pub mod purchase;
pub mod purchase_request;
pub mod quote;
pub mod removal;
pub mod rights;
pub mod rollover;
pub mod subscription;
pub mod suppression;
pub mod tenant;
pub mod usage;
pub mod user;
pub mod webhooks;

pub use error::{DomainError, ErrorKind};

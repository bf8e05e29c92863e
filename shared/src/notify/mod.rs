//! Mail and events (R20, R21): rendering, and delivering the outbox through SES v2 and
//! EventBridge.

pub mod dispatch;
pub mod mail;

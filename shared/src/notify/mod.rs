//! Mail and events (R20, R21): rendering, the sender (SES v2, EventBridge), and delivering
//! the outbox, from the table's stream (`deliver_streamed`) and on a schedule (`dispatch_due`).

mod attempt;
mod delivery;
pub mod feedback;
pub mod mail;
mod recipients;
#[cfg(feature = "test-fixtures")]
pub mod recorded;
mod sender;
mod stream;
mod webhooks;

pub use attempt::DispatchReport;
pub use delivery::{deliver, dispatch_due, dispatch_due_within};
pub use sender::{MAIL_CAP_PER_RUN, Notifier, Refusal, SLOW_DOWN_CODES, Sender};
pub use stream::{StreamedBatch, deliver_streamed};

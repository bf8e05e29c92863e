//! Mail and events (R20, R21): rendering, the sender (SES v2, EventBridge), delivering the
//! outbox, and the store whose commits deliver.

mod delivering_store;
mod delivery;
pub mod mail;
mod sender;

pub use delivering_store::DeliveringStore;
pub use delivery::{DispatchReport, deliver, dispatch_due};
pub use sender::{MAIL_CAP_PER_RUN, Notifier, Sender};

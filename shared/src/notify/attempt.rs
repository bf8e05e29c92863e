//! What one attempt at a batch's messages came to: each message's outcome written on it
//! (its attempts, its next time, dead), and what a run counts.

use chrono::{DateTime, Duration, Utc};

use super::sender::Refusal;
use crate::outbox::{FAILURES_BEFORE_DEAD, OutboxMessage, SLOW_DOWN_SECS, backoff};

/// Mail over a tenant's cap of a run waits this long (the next run): long enough that the
/// run's later rounds read other tenants' batches first, not the same held-back ones.
const CAPPED_WAIT_SECS: i64 = 30;

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DispatchReport {
    pub batches: usize,
    pub mails: usize,
    pub events: usize,
    /// Webhook messages delivered (R38), or dropped as their endpoint is gone or disabled.
    pub webhooks: usize,
    /// Messages whose attempt failed (counted towards their dead letter).
    pub failed: usize,
    /// Messages dead-lettered in this run.
    pub dead: usize,
    pub capped: usize,
    /// Messages held back because their batch's lease or the invocation was running out
    /// (paced mail): due again at once, not an attempt.
    pub held: usize,
    /// Mails not sent because their address is suppressed (bounced for good, or complained).
    pub suppressed: usize,
    /// Messages told to slow down (throttled, over quota, paused): waiting, not counted.
    pub slowed: usize,
    /// The run stopped for its invocation's deadline with rounds left.
    pub out_of_time: bool,
    /// Age of the oldest message that was due when the dispatcher looked (0 when none):
    /// a growing age means delivery keeps failing (metric `OutboxOldestAgeSeconds`).
    pub oldest_age_secs: u64,
}

impl DispatchReport {
    pub(crate) fn add(&mut self, other: &DispatchReport) {
        self.batches += other.batches;
        self.mails += other.mails;
        self.events += other.events;
        self.webhooks += other.webhooks;
        self.failed += other.failed;
        self.dead += other.dead;
        self.capped += other.capped;
        self.held += other.held;
        self.suppressed += other.suppressed;
        self.slowed += other.slowed;
        self.out_of_time |= other.out_of_time;
        self.oldest_age_secs = self.oldest_age_secs.max(other.oldest_age_secs);
    }
}

/// What one delivery attempt of a batch left: the messages not delivered (each with its own
/// attempts, next time and, when its schedule ran out, dead), and whether any failed.
pub(super) struct Left {
    pub messages: Vec<OutboxMessage>,
    pub failed: bool,
}

impl Left {
    /// When the batch is due again: its soonest live message (none: all are dead).
    pub fn next_attempt(&self) -> Option<DateTime<Utc>> {
        self.messages
            .iter()
            .filter(|m| !m.dead)
            .map(|m| m.next_attempt_at)
            .min()
    }
}

/// What a message's attempt came to.
pub(super) enum Outcome {
    Sent,
    /// Held back by the run's mail cap: due in the next run, not an attempt.
    Capped,
    /// Held back because the batch's lease or the invocation is running out: due again at
    /// once, not an attempt.
    HeldBack,
    /// Refused: a "slow down" waits without counting; anything else counts.
    Refused(Refusal),
    /// It cannot be rendered, now or ever: set aside alone (R32).
    Unrenderable(String),
}

/// Writes a message's outcome on it: what a failure counts, when it is due again, whether it
/// is dead. Returns whether it is still to send (or kept dead).
pub(super) fn record(
    message: &mut OutboxMessage,
    outcome: Outcome,
    now: DateTime<Utc>,
    report: &mut DispatchReport,
) -> bool {
    match outcome {
        Outcome::Sent => false,
        Outcome::Capped => {
            message.next_attempt_at = now + Duration::seconds(CAPPED_WAIT_SECS);
            true
        }
        Outcome::HeldBack => {
            message.next_attempt_at = now;
            true
        }
        Outcome::Refused(refusal) if refusal.slow_down => {
            message.last_error = Some(refusal.error);
            message.next_attempt_at = now + Duration::seconds(SLOW_DOWN_SECS);
            report.slowed += 1;
            true
        }
        Outcome::Refused(refusal) => {
            message.last_error = Some(refusal.error);
            message.attempts += 1;
            report.failed += 1;
            if message.attempts >= FAILURES_BEFORE_DEAD {
                message.dead = true;
                report.dead += 1;
            } else {
                message.next_attempt_at = now + backoff(message.attempts);
            }
            true
        }
        Outcome::Unrenderable(error) => {
            message.last_error = Some(format!("cannot be rendered: {error}"));
            message.dead = true;
            report.dead += 1;
            true
        }
    }
}

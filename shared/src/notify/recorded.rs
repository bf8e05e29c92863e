//! A `Sender` that keeps what it is given, for tests with no SES or EventBridge engine
//! (feature `test-fixtures`). It can be told to refuse with an error code, as SES does when
//! the sender identity is gone (`MessageRejected`) or it throttles (`TooManyRequestsException`,
//! a "slow down", as `Notifier` reads the same codes), and EventBridge likewise.

use std::sync::{Arc, Mutex};

use super::mail::RenderedMail;
use super::sender::{MAIL_CAP_PER_RUN, Refusal, Sender};
use crate::domain::identity::TenantId;

/// One mail as sent: to whom, what, and the outbox message it came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub message_id: String,
    /// The `tenant` tag the mail went with (`feedback::tenant_tag`).
    pub tenant_tag: String,
}

/// One event as put on the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PutEvent {
    pub message_id: String,
    pub detail_type: String,
    pub detail: serde_json::Value,
}

#[derive(Default)]
struct Kept {
    mails: Vec<SentMail>,
    events: Vec<PutEvent>,
    mail_refused: Option<String>,
    events_refused: Option<String>,
    webhooks: Vec<crate::domain::webhooks::Post>,
    /// What every webhook's endpoint answers (none: nothing answers); 200 unless told.
    webhook_status: Option<Option<u16>>,
    /// The webhook sender itself refuses, with this error code (Lambda's throttling).
    webhooks_refused: Option<String>,
}

/// A clone shares what was kept, so a test keeps one while delivery uses another.
#[derive(Clone)]
pub struct Recorder {
    kept: Arc<Mutex<Kept>>,
    mail_cap: usize,
    support: Option<String>,
}

impl Default for Recorder {
    fn default() -> Self {
        Self {
            kept: Arc::default(),
            mail_cap: MAIL_CAP_PER_RUN,
            support: None,
        }
    }
}

impl Recorder {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_mail_cap(mut self, cap: usize) -> Self {
        self.mail_cap = cap;
        self
    }

    pub fn with_support_contact(mut self, email: &str) -> Self {
        self.support = Some(email.to_owned());
        self
    }

    fn kept<T>(&self, f: impl FnOnce(&mut Kept) -> T) -> T {
        // A test that panicked while holding the lock has failed already; what it kept is
        // still worth reading.
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut kept)
    }

    /// Every mail sent so far, in order.
    pub fn mails(&self) -> Vec<SentMail> {
        self.kept(|k| k.mails.clone())
    }

    /// Every event put so far, in order.
    pub fn events(&self) -> Vec<PutEvent> {
        self.kept(|k| k.events.clone())
    }

    /// From now on every mail is refused with the error code `code` (`None`: sent again).
    pub fn refuse_mail(&self, code: Option<&str>) {
        self.kept(|k| k.mail_refused = code.map(str::to_owned));
    }

    /// Every webhook posted so far, in order (those whose endpoint failed too).
    pub fn webhooks(&self) -> Vec<crate::domain::webhooks::Post> {
        self.kept(|k| k.webhooks.clone())
    }

    /// From now on the webhook sender itself refuses with the error code `code` (`None`: it
    /// sends again).
    pub fn refuse_webhooks(&self, code: Option<&str>) {
        self.kept(|k| k.webhooks_refused = code.map(str::to_owned));
    }

    /// From now on every endpoint answers `status` (`None`: nothing answers).
    pub fn answer_webhooks(&self, status: Option<u16>) {
        self.kept(|k| k.webhook_status = Some(status));
    }

    /// From now on every event is refused with the error code `code` (`None`: accepted again).
    pub fn refuse_events(&self, code: Option<&str>) {
        self.kept(|k| k.events_refused = code.map(str::to_owned));
    }
}

impl Sender for Recorder {
    async fn send_mail(
        &self,
        to: &str,
        mail: &RenderedMail,
        message_id: &str,
        tenant: &TenantId,
    ) -> Result<(), Refusal> {
        self.kept(|k| match &k.mail_refused {
            Some(code) => Err(Refusal::of(Some(code), code.clone())),
            None => {
                k.mails.push(SentMail {
                    to: to.to_owned(),
                    subject: mail.subject.clone(),
                    text: mail.text.clone(),
                    message_id: message_id.to_owned(),
                    tenant_tag: super::feedback::tenant_tag(tenant),
                });
                Ok(())
            }
        })
    }

    async fn put_events(&self, events: &[(&str, &str, String)]) -> (Vec<String>, Option<Refusal>) {
        self.kept(|k| match &k.events_refused {
            Some(code) => (Vec::new(), Some(Refusal::of(Some(code), code.clone()))),
            None => {
                for (message_id, detail_type, detail) in events {
                    k.events.push(PutEvent {
                        message_id: (*message_id).to_owned(),
                        detail_type: (*detail_type).to_owned(),
                        detail: serde_json::from_str(detail).unwrap_or_default(),
                    });
                }
                (
                    events.iter().map(|(id, _, _)| (*id).to_owned()).collect(),
                    None,
                )
            }
        })
    }

    async fn post_webhook(
        &self,
        post: &crate::domain::webhooks::Post,
    ) -> Result<crate::domain::webhooks::Answer, Refusal> {
        self.kept(|k| {
            if let Some(code) = &k.webhooks_refused {
                return Err(Refusal::of(Some(code), code.clone()));
            }
            k.webhooks.push(post.clone());
            let status = k.webhook_status.unwrap_or(Some(200));
            Ok(crate::domain::webhooks::Answer {
                status,
                latency_ms: 1,
                answer: String::new(),
                error: status.is_none().then(|| "connection refused".to_owned()),
            })
        })
    }

    fn mail_cap(&self) -> usize {
        self.mail_cap
    }

    fn support_contact(&self) -> Option<&str> {
        self.support.as_deref()
    }
}

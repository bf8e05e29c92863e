//! The sender: mail through SES v2 `SendEmail` and events through EventBridge `PutEvents`,
//! with the clients built from the standard endpoint settings.

use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_sesv2::error::ProvideErrorMetadata;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageTag};

use crate::domain::identity::TenantId;

/// Why a mail or an event was not taken.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub error: String,
    /// The service said "slow down" rather than "failed": the message waits without the
    /// attempt counting (R32).
    pub slow_down: bool,
}

/// The error codes that mean "slow down": SES v2's throttling, its sending quota, sending
/// paused (for the account or its configuration set) and a paused account; EventBridge's
/// throttling.
pub const SLOW_DOWN_CODES: [&str; 5] = [
    "TooManyRequestsException",
    "LimitExceededException",
    "SendingPausedException",
    "AccountSuspendedException",
    "ThrottlingException",
];

impl Refusal {
    /// A refusal with the service's error code, when it has one.
    pub fn of(code: Option<&str>, error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
            slow_down: code.is_some_and(|c| SLOW_DOWN_CODES.contains(&c)),
        }
    }
}

/// What delivery needs of the outside world: one mail sent, events put on the bus, and how
/// many mails one tenant may send in one run. `Notifier` is it on SES v2 and EventBridge.
pub trait Sender: Send + Sync {
    /// Sends one rendered mail to `to`, tagged with its message and tenant (SES's bounce and
    /// complaint events carry the tags back); the refusal says why it was not sent.
    fn send_mail(
        &self,
        to: &str,
        mail: &super::mail::RenderedMail,
        message_id: &str,
        tenant: &TenantId,
    ) -> impl std::future::Future<Output = Result<(), Refusal>> + Send;

    /// Puts `(message id, detail type, detail)` events on the bus: the ids accepted, and the
    /// refusal of those that were not.
    fn put_events(
        &self,
        events: &[(&str, &str, String)],
    ) -> impl std::future::Future<Output = (Vec<String>, Option<Refusal>)> + Send;

    /// Hands one signed webhook to the webhook sender (R38) and returns what the endpoint
    /// answered; the refusal is the sender's own failure (not reached, throttled).
    fn post_webhook(
        &self,
        post: &crate::domain::webhooks::Post,
    ) -> impl std::future::Future<Output = Result<crate::domain::webhooks::Answer, Refusal>> + Send;

    fn mail_cap(&self) -> usize;

    /// The support contact every mail's footer names (R29), when the deployment has one.
    fn support_contact(&self) -> Option<&str> {
        None
    }
}

impl Sender for Notifier {
    async fn send_mail(
        &self,
        to: &str,
        mail: &super::mail::RenderedMail,
        message_id: &str,
        tenant: &TenantId,
    ) -> Result<(), Refusal> {
        self.send_mail_now(to, mail, message_id, tenant).await
    }

    async fn put_events(&self, events: &[(&str, &str, String)]) -> (Vec<String>, Option<Refusal>) {
        self.put_events_now(events).await
    }

    async fn post_webhook(
        &self,
        post: &crate::domain::webhooks::Post,
    ) -> Result<crate::domain::webhooks::Answer, Refusal> {
        self.post_webhook_now(post).await
    }

    fn mail_cap(&self) -> usize {
        self.mail_cap
    }

    fn support_contact(&self) -> Option<&str> {
        self.support.as_deref()
    }
}

/// Abuse guard: mails one tenant may send in one delivery run; the rest wait for the next.
pub const MAIL_CAP_PER_RUN: usize = 200;

#[derive(Clone)]
pub struct Notifier {
    ses: aws_sdk_sesv2::Client,
    events: aws_sdk_eventbridge::Client,
    bus: String,
    from: String,
    configuration_set: Option<String>,
    mail_cap: usize,
    support: Option<String>,
    pace: Option<std::sync::Arc<Pace>>,
    /// The webhook sender (R38): the Lambda client and the function's name.
    webhooks: Option<(aws_sdk_lambda::Client, String)>,
}

/// Spaces one process's mails at least `gap` apart, whichever task sends them.
pub struct Pace {
    gap: std::time::Duration,
    next: std::sync::Mutex<tokio::time::Instant>,
}

impl Pace {
    pub fn new(gap: std::time::Duration) -> Self {
        Self {
            gap,
            next: std::sync::Mutex::new(tokio::time::Instant::now()),
        }
    }

    /// Waits for this mail's turn: each caller takes the next free slot.
    pub async fn wait(&self) {
        let slot = {
            // A poisoned lock only means another sender panicked between two reads of the
            // clock: its slot is still a valid instant.
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let slot = (*next).max(tokio::time::Instant::now());
            *next = slot + self.gap;
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

/// The gap between one process's mails: the account's maximum send rate (mails per second),
/// shared by `senders` processes. None when SES gave no usable rate.
pub fn mail_gap(max_send_rate: f64, senders: u32) -> Option<std::time::Duration> {
    (max_send_rate.is_finite() && max_send_rate > 0.0)
        .then(|| std::time::Duration::from_secs_f64(f64::from(senders.max(1)) / max_send_rate))
}

impl Notifier {
    /// The SES v2 and EventBridge clients from the SDK configuration and the standard
    /// endpoint settings (`AWS_ENDPOINT_URL_SESV2`, `AWS_ENDPOINT_URL_EVENTBRIDGE`, else
    /// `AWS_ENDPOINT_URL`).
    pub fn new(
        sdk: &aws_types::SdkConfig,
        bus: impl Into<String>,
        from: impl Into<String>,
    ) -> Self {
        let (ses, events) = Self::client_configs(sdk);
        Self::from_configs(ses, events, bus, from)
    }

    /// The two clients' configurations as `new` builds them, for a caller that adds to them
    /// (`startup` adds the test-only recorder of AWS calls).
    pub fn client_configs(
        sdk: &aws_types::SdkConfig,
    ) -> (
        aws_sdk_sesv2::config::Builder,
        aws_sdk_eventbridge::config::Builder,
    ) {
        use crate::config::endpoint_url;
        let mut ses = aws_sdk_sesv2::config::Builder::from(sdk);
        if let Some(url) = endpoint_url("SESV2") {
            ses = ses.endpoint_url(url);
        }
        let mut events = aws_sdk_eventbridge::config::Builder::from(sdk);
        if let Some(url) = endpoint_url("EVENTBRIDGE") {
            events = events.endpoint_url(url);
        }
        (ses, events)
    }

    pub fn from_configs(
        ses: aws_sdk_sesv2::config::Builder,
        events: aws_sdk_eventbridge::config::Builder,
        bus: impl Into<String>,
        from: impl Into<String>,
    ) -> Self {
        Self {
            ses: aws_sdk_sesv2::Client::from_conf(ses.build()),
            events: aws_sdk_eventbridge::Client::from_conf(events.build()),
            bus: bus.into(),
            from: from.into(),
            configuration_set: None,
            mail_cap: MAIL_CAP_PER_RUN,
            support: None,
            pace: None,
            webhooks: None,
        }
    }

    /// Webhooks go through `function` (its name or ARN), invoked with `lambda`.
    pub fn with_webhook_sender(mut self, lambda: aws_sdk_lambda::Client, function: String) -> Self {
        self.webhooks = Some((lambda, function));
        self
    }

    /// Invokes the webhook sender and reads its answer. A sender that failed (an error it
    /// returned, a timeout, Lambda's throttling) is a refusal: the message is tried again.
    async fn post_webhook_now(
        &self,
        post: &crate::domain::webhooks::Post,
    ) -> Result<crate::domain::webhooks::Answer, Refusal> {
        let Some((lambda, function)) = &self.webhooks else {
            return Err(Refusal::of(
                None,
                "no webhook sender configured (LICENSING_WEBHOOK_SENDER)",
            ));
        };
        let payload = serde_json::to_vec(post).map_err(|e| Refusal::of(None, e.to_string()))?;
        let out = lambda
            .invoke()
            .function_name(function)
            .payload(aws_sdk_lambda::primitives::Blob::new(payload))
            .send()
            .await
            .map_err(|e| {
                let code = e.code().map(str::to_owned);
                let error = format!("{}", aws_sdk_lambda::error::DisplayErrorContext(e));
                Refusal::of(code.as_deref(), error)
            })?;
        let body = out.payload().map(|b| b.as_ref()).unwrap_or_default();
        if let Some(error) = out.function_error() {
            return Err(Refusal::of(
                None,
                format!(
                    "the webhook sender failed ({error}): {}",
                    String::from_utf8_lossy(body)
                ),
            ));
        }
        serde_json::from_slice(body)
            .map_err(|e| Refusal::of(None, format!("the webhook sender's answer: {e}")))
    }

    /// Paces this process's mail to its share of the account's SES sending quota, read once
    /// (SES v2 `GetAccount`, during init). When the quota cannot be read, mail is not paced:
    /// SES's throttling answers still make delivery wait without spending attempts (R32).
    pub async fn paced_by_quota(mut self, senders: u32) -> Self {
        match self.ses.get_account().send().await {
            Ok(account) => {
                let rate = account.send_quota().map_or(0.0, |q| q.max_send_rate());
                match mail_gap(rate, senders) {
                    Some(gap) => {
                        tracing::info!(
                            max_send_rate = rate,
                            senders,
                            gap_ms = gap.as_millis() as u64,
                            "mail paced to the SES quota"
                        );
                        self.pace = Some(std::sync::Arc::new(Pace::new(gap)));
                    }
                    None => tracing::warn!(
                        max_send_rate = rate,
                        "SES gave no sending rate: mail is not paced"
                    ),
                }
            }
            Err(e) => {
                let error = aws_sdk_sesv2::error::DisplayErrorContext(e);
                tracing::warn!(%error, "the SES sending quota could not be read: mail is not paced");
            }
        }
        self
    }

    /// Mails one tenant may send in one delivery run (default [`MAIL_CAP_PER_RUN`]).
    pub fn with_mail_cap(mut self, cap: usize) -> Self {
        self.mail_cap = cap;
        self
    }

    /// The support contact (R29) the mails' footers name.
    pub fn with_support_contact(mut self, email: impl Into<String>) -> Self {
        self.support = Some(email.into());
        self
    }

    pub fn with_configuration_set(mut self, name: Option<String>) -> Self {
        self.configuration_set = name;
        self
    }

    async fn send_mail_now(
        &self,
        to: &str,
        mail: &super::mail::RenderedMail,
        message_id: &str,
        tenant: &TenantId,
    ) -> Result<(), Refusal> {
        if let Some(pace) = &self.pace {
            pace.wait().await;
        }
        let tag = |name: &str, value: String| {
            MessageTag::builder()
                .name(name)
                .value(value)
                .build()
                .map_err(|e| Refusal::of(None, e.to_string()))
        };
        let content = |data: &str| {
            Content::builder()
                .data(data)
                .charset("UTF-8")
                .build()
                .map_err(|e| Refusal::of(None, e.to_string()))
        };
        let message = Message::builder()
            .subject(content(&mail.subject)?)
            .body(
                Body::builder()
                    .html(content(&mail.html)?)
                    .text(content(&mail.text)?)
                    .build(),
            )
            .build();
        self.ses
            .send_email()
            .from_email_address(&self.from)
            .set_configuration_set_name(self.configuration_set.clone())
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .email_tags(tag("message_id", message_id.to_owned())?)
            .email_tags(tag(
                super::feedback::TENANT_TAG,
                super::feedback::tenant_tag(tenant),
            )?)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| {
                let code = e.code().map(str::to_owned);
                let error = format!("{}", aws_sdk_sesv2::error::DisplayErrorContext(e));
                Refusal::of(code.as_deref(), error)
            })
    }

    /// Puts events in calls of at most 10 entries and 256 KB (EventBridge's limits); returns
    /// the ids that were accepted.
    async fn put_events_now(
        &self,
        events: &[(&str, &str, String)],
    ) -> (Vec<String>, Option<Refusal>) {
        let mut accepted = Vec::new();
        let mut error = None;
        for chunk in put_events_calls(events) {
            let entries: Vec<PutEventsRequestEntry> = chunk
                .iter()
                .map(|(_, detail_type, detail)| {
                    PutEventsRequestEntry::builder()
                        .event_bus_name(&self.bus)
                        .source("licensing")
                        .detail_type(*detail_type)
                        .detail(detail)
                        .build()
                })
                .collect();
            match self
                .events
                .put_events()
                .set_entries(Some(entries))
                .send()
                .await
            {
                Ok(out) => {
                    // Per-entry results are in request order; a failed entry has an error code.
                    for ((id, _, _), result) in chunk.iter().zip(out.entries()) {
                        match result.error_code() {
                            None => accepted.push((*id).to_owned()),
                            Some(code) => {
                                let message = result.error_message().unwrap_or("entry failed");
                                error = Some(Refusal::of(Some(code), format!("{code}: {message}")));
                            }
                        }
                    }
                }
                Err(e) => {
                    let code = e.code().map(str::to_owned);
                    let text = format!("{}", aws_sdk_eventbridge::error::DisplayErrorContext(e));
                    error = Some(Refusal::of(code.as_deref(), text));
                }
            }
        }
        (accepted, error)
    }
}

/// EventBridge counts an entry as its source, detail type and detail (plus the bus name and
/// 14 bytes of time); a call holds at most 10 entries and 256 KB of them.
const PUT_EVENTS_BYTES: usize = 256 * 1024;

fn entry_size((_, detail_type, detail): &(&str, &str, String)) -> usize {
    "licensing".len() + detail_type.len() + detail.len() + 14 + 64
}

/// Events cut into `PutEvents` calls within its limits, in order.
fn put_events_calls<'a>(
    events: &'a [(&'a str, &'a str, String)],
) -> Vec<&'a [(&'a str, &'a str, String)]> {
    let mut calls = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, event) in events.iter().enumerate() {
        let size = entry_size(event);
        if i > start && (i - start == 10 || bytes + size > PUT_EVENTS_BYTES) {
            calls.push(&events[start..i]);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < events.len() {
        calls.push(&events[start..]);
    }
    calls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_process_takes_its_share_of_the_accounts_rate() {
        let ms = |gap: Option<std::time::Duration>| gap.map(|g| g.as_millis());
        assert_eq!(ms(mail_gap(14.0, 1)), Some(71));
        assert_eq!(ms(mail_gap(14.0, 7)), Some(500));
        assert_eq!(ms(mail_gap(1.0, 0)), Some(1000), "at least one sender");
        assert_eq!(mail_gap(0.0, 3), None);
        assert_eq!(mail_gap(f64::NAN, 3), None);
    }

    #[tokio::test(start_paused = true)]
    async fn paced_mails_go_one_gap_apart_whoever_sends_them() {
        let pace = std::sync::Arc::new(Pace::new(std::time::Duration::from_millis(250)));
        let start = tokio::time::Instant::now();
        let sends = (0..8).map(|_| {
            let pace = pace.clone();
            tokio::spawn(async move {
                pace.wait().await;
                tokio::time::Instant::now() - start
            })
        });
        let mut sent_at: Vec<u128> = futures::future::join_all(sends)
            .await
            .into_iter()
            .map(|t| t.unwrap().as_millis())
            .collect();
        sent_at.sort();
        assert_eq!(sent_at, [0, 250, 500, 750, 1000, 1250, 1500, 1750]);
    }

    #[test]
    fn put_events_calls_keep_to_ten_entries_and_256_kb() {
        let big = "x".repeat(60 * 1024);
        let events: Vec<(&str, &str, String)> = (0..25)
            .map(|i| {
                (
                    "id",
                    if i < 12 { "Small" } else { "Big" },
                    if i < 12 { "{}".to_owned() } else { big.clone() },
                )
            })
            .collect();
        let calls = put_events_calls(&events);
        let sizes: Vec<usize> = calls.iter().map(|c| c.len()).collect();
        assert_eq!(sizes, [10, 6, 4, 4, 1]);
        assert!(
            calls
                .iter()
                .all(|c| c.iter().map(entry_size).sum::<usize>() <= PUT_EVENTS_BYTES)
        );
    }
}

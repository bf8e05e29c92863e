//! Each function's start: its configuration, the SDK clients, its dependencies built once per
//! process (Lambda reuses the process), and the loop that serves its handler. The only module
//! that depends on everything; nothing depends on it but the functions' `main`.

use crate::adapters::dynamodb::DynamoStore;
use crate::config::{Config, MissingVariable, endpoint_url, sdk_config};

/// The DynamoDB client from the SDK configuration and the standard endpoint settings, with
/// the test-only recorder of IAM actions when `LICENSING_RECORD_AWS_CALLS` is set.
pub fn dynamodb_client(sdk: &aws_types::SdkConfig) -> aws_sdk_dynamodb::Client {
    let mut config = aws_sdk_dynamodb::config::Builder::from(sdk);
    if let Some(url) = endpoint_url("DYNAMODB") {
        config = config.endpoint_url(url);
    }
    if let Some(calls) = crate::adapters::aws_calls::AwsCalls::from_env("dynamodb") {
        config = config.interceptor(calls);
    }
    aws_sdk_dynamodb::Client::from_conf(config.build())
}

/// A store a function is served with, built from the configuration.
pub trait FromConfig: Sized {
    fn from_config(config: &Config, sdk: &aws_types::SdkConfig) -> Self;
}

impl FromConfig for DynamoStore {
    /// For functions that reach only DynamoDB.
    fn from_config(config: &Config, sdk: &aws_types::SdkConfig) -> Self {
        DynamoStore::new(dynamodb_client(sdk), config.table.clone())
    }
}

/// What delivers the outbox (the dispatcher, from the table's stream, and the sweeper, on its
/// schedule): the store and the sender. The functions that serve requests have no sender:
/// a change's mail and events leave after the answer, never on its path.
#[cfg(feature = "notify")]
pub struct Outbox {
    pub store: DynamoStore,
    pub notifier: crate::notify::Notifier,
}

/// The sender, with the test-only recorder of AWS calls when it is on.
#[cfg(feature = "notify")]
pub fn notifier(config: &Config, sdk: &aws_types::SdkConfig) -> crate::notify::Notifier {
    use crate::adapters::aws_calls::AwsCalls;
    let (mut ses, mut events) = crate::notify::Notifier::client_configs(sdk);
    if let Some(calls) = AwsCalls::from_env("ses") {
        ses = ses.interceptor(calls);
    }
    if let Some(calls) = AwsCalls::from_env("events") {
        events = events.interceptor(calls);
    }
    let notifier = crate::notify::Notifier::from_configs(
        ses,
        events,
        config.event_bus.clone(),
        config.mail_from.clone(),
    )
    .with_configuration_set(config.ses_configuration_set.clone())
    .with_support_contact(config.support_email.clone());
    match &config.webhook_sender {
        Some(function) => {
            // The sender's own timeout (the template's 20 s; an endpoint gets 15 of them), so a
            // webhook started within its batch's lease is answered within it (`delivery.rs`).
            let mut lambda = aws_sdk_lambda::config::Builder::from(sdk).timeout_config(
                aws_sdk_lambda::config::timeout::TimeoutConfig::builder()
                    .operation_timeout(std::time::Duration::from_secs(20))
                    .build(),
            );
            if let Some(url) = crate::config::endpoint_url("LAMBDA") {
                lambda = lambda.endpoint_url(url);
            }
            if let Some(calls) = AwsCalls::from_env("lambda") {
                lambda = lambda.interceptor(calls);
            }
            notifier.with_webhook_sender(
                aws_sdk_lambda::Client::from_conf(lambda.build()),
                function.clone(),
            )
        }
        None => notifier,
    }
}

#[cfg(feature = "notify")]
impl FromConfig for Outbox {
    fn from_config(config: &Config, sdk: &aws_types::SdkConfig) -> Self {
        Outbox {
            store: DynamoStore::from_config(config, sdk),
            notifier: notifier(config, sdk),
        }
    }
}

/// The dispatcher's work on one batch of stream records: the adapter reads the outbox batches
/// out of the records, the delivery sends them, and the failures become the partial batch
/// response. The `dispatcher` function and the local stream reader both call this.
#[cfg(feature = "stream")]
pub async fn on_stream<S, N>(
    store: &S,
    notifier: &N,
    event: &aws_lambda_events::event::dynamodb::Event,
    now: chrono::DateTime<chrono::Utc>,
) -> (
    aws_lambda_events::event::streams::DynamoDbEventResponse,
    crate::notify::DispatchReport,
)
where
    S: crate::ports::AccountReads
        + crate::ports::OutboxStore
        + crate::ports::MailSuppressions
        + crate::ports::Webhooks,
    N: crate::notify::Sender,
{
    use crate::adapters::dynamodb::stream::{batch_response, outbox_records};
    let (failed, report) =
        crate::notify::deliver_streamed(store, notifier, outbox_records(event), now).await;
    (batch_response(failed), report)
}

/// A function's store, built once and kept for the life of the process.
pub fn store<S: FromConfig>() -> Result<&'static S, MissingVariable> {
    let config = Config::from_env()?;
    let sdk = sdk_config()?;
    Ok(Box::leak(Box::new(S::from_config(&config, &sdk))))
}

/// What delivers the outbox, built once per process, with two calls made during init rather
/// than on the first invocation: the DynamoDB connection opened, and the SES sending quota
/// read to pace mail by (`Notifier::paced_by_quota`).
#[cfg(feature = "notify")]
pub async fn outbox() -> Result<&'static Outbox, MissingVariable> {
    let config = Config::from_env()?;
    let sdk = sdk_config()?;
    let mut outbox = Outbox::from_config(&config, &sdk);
    let (notifier, ()) = tokio::join!(
        outbox.notifier.clone().paced_by_quota(config.mail_senders),
        crate::ports::AccountReads::warm(&outbox.store)
    );
    outbox.notifier = notifier;
    Ok(Box::leak(Box::new(outbox)))
}

/// What every HTTP function needs, built once per process.
#[cfg(feature = "http")]
pub struct HttpDeps<S: 'static> {
    pub store: &'static S,
    pub clock: crate::ports::SystemClock,
    pub auth: crate::http::auth::AuthConfig,
}

/// Serves an HTTP function: telemetry under its name, the support contact its answers name
/// (R29), its store, the system clock and the token check, then `handler` for every request.
#[cfg(feature = "http")]
pub async fn serve_http<S, H, Fut>(name: &'static str, handler: H) -> Result<(), lambda_http::Error>
where
    S: FromConfig + crate::ports::AccountReads + Sync + 'static,
    H: Fn(
            &'static S,
            &'static crate::ports::SystemClock,
            &'static crate::http::auth::AuthConfig,
            lambda_http::Request,
        ) -> Fut
        + Copy
        + Send
        + 'static,
    Fut: std::future::Future<Output = crate::http::HttpResult> + Send + 'static,
{
    crate::telemetry::init(name);
    let config = Config::from_env()?;
    crate::http::set_support_contact(&config.support_email);
    let sdk = sdk_config()?;
    let deps: &'static HttpDeps<S> = Box::leak(Box::new(HttpDeps {
        store: Box::leak(Box::new(S::from_config(&config, &sdk))),
        clock: crate::ports::SystemClock,
        auth: crate::http::auth::AuthConfig::from_env(),
    }));
    // During init, not on the first request (a published measurement of the Rust SDK at
    // 128 MB: 745 ms of a 912 ms first request was the TLS handshake to DynamoDB).
    crate::ports::AccountReads::warm(deps.store).await;
    lambda_http::run(lambda_http::service_fn(move |request| {
        handler(deps.store, &deps.clock, &deps.auth, request)
    }))
    .await
}

//! Configuration from the environment, read once at start (`startup`). Endpoints are not
//! configuration of ours: the SDK's standard settings `AWS_ENDPOINT_URL`,
//! `AWS_ENDPOINT_URL_DYNAMODB`, … decide where AWS is. A leaf: it uses nothing else of the
//! crate, so every module may read it.

#[derive(Clone, Debug)]
pub struct Config {
    pub table: String,
    pub event_bus: String,
    pub mail_from: String,
    /// An SES configuration set for delivery events, when one is configured.
    pub ses_configuration_set: Option<String>,
    /// Where customers write to terminate a subscription (R29): a deployment setting.
    pub support_email: String,
    /// How many processes send mail at once (`LICENSING_MAIL_SENDERS`, default 1): each paces
    /// itself to this share of the account's SES sending rate.
    pub mail_senders: u32,
    /// The webhook sender's function (R38, `LICENSING_WEBHOOK_SENDER`: its name or ARN); no
    /// webhook is sent without it.
    pub webhook_sender: Option<String>,
}

/// R38: `LICENSING_WEBHOOKS_ALLOW_PRIVATE=1` lets webhooks reach private and loopback
/// addresses, over `http` too: a local run's receivers. No deployment sets it; the metadata
/// service is refused whatever it says.
pub fn webhooks_allow_private() -> bool {
    std::env::var("LICENSING_WEBHOOKS_ALLOW_PRIVATE").is_ok_and(|v| v == "1")
}

#[derive(Debug, thiserror::Error)]
#[error("environment variable {0} is required")]
pub struct MissingVariable(pub &'static str);

fn var(name: &'static str) -> Result<String, MissingVariable> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .ok_or(MissingVariable(name))
}

impl Config {
    pub fn from_env() -> Result<Self, MissingVariable> {
        Ok(Self {
            table: var("LICENSING_TABLE")?,
            event_bus: std::env::var("LICENSING_EVENT_BUS").unwrap_or_else(|_| "licensing".into()),
            mail_from: std::env::var("LICENSING_MAIL_FROM")
                .unwrap_or_else(|_| "licensing@example.com".into()),
            ses_configuration_set: std::env::var("LICENSING_SES_CONFIGURATION_SET")
                .ok()
                .filter(|v| !v.is_empty()),
            support_email: std::env::var("LICENSING_SUPPORT_EMAIL")
                .ok()
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "support@example.com".into()),
            mail_senders: std::env::var("LICENSING_MAIL_SENDERS")
                .ok()
                .and_then(|v| v.parse().ok())
                .filter(|n| *n > 0)
                .unwrap_or(1),
            webhook_sender: std::env::var("LICENSING_WEBHOOK_SENDER")
                .ok()
                .filter(|v| !v.is_empty()),
        })
    }
}

/// The SDK's shared configuration from the standard environment settings: `AWS_REGION` (or
/// `AWS_DEFAULT_REGION`) and the credentials `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, which Lambda sets for the life of the execution environment.
///
/// Not `aws-config`: its provider chain (profiles, SSO, IMDS, ECS, STS web identity, with a
/// whole STS client) added ~0.6 MB to every bootstrap for sources a function never uses.
/// The endpoint settings are applied per client (`startup::dynamodb_client`, the notifier's).
#[cfg(any(feature = "dynamodb", feature = "notify"))]
pub fn sdk_config() -> Result<aws_types::SdkConfig, MissingVariable> {
    use aws_credential_types::Credentials;
    use aws_credential_types::provider::SharedCredentialsProvider;
    let region = var("AWS_REGION").or_else(|_| var("AWS_DEFAULT_REGION"))?;
    let credentials = Credentials::new(
        var("AWS_ACCESS_KEY_ID")?,
        var("AWS_SECRET_ACCESS_KEY")?,
        std::env::var("AWS_SESSION_TOKEN")
            .ok()
            .filter(|t| !t.is_empty()),
        None,
        "Environment",
    );
    Ok(aws_types::SdkConfig::builder()
        .behavior_version(
            aws_smithy_runtime_api::client::behavior_version::BehaviorVersion::latest(),
        )
        .region(aws_types::region::Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .build())
}

/// The standard endpoint setting for one service (`AWS_ENDPOINT_URL_<SERVICE>`, else
/// `AWS_ENDPOINT_URL`); None means AWS itself.
#[cfg(any(feature = "dynamodb", feature = "notify"))]
pub fn endpoint_url(service: &str) -> Option<String> {
    std::env::var(format!("AWS_ENDPOINT_URL_{service}"))
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .ok()
        .filter(|url| !url.is_empty())
}

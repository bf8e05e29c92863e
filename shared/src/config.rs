//! Configuration from the environment, read once in `main`. Endpoints are not configuration
//! of ours: the SDK's standard settings `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, …
//! decide where AWS is.

#[derive(Clone, Debug)]
pub struct Config {
    pub table: String,
    pub event_bus: String,
    pub mail_from: String,
    /// An SES configuration set for delivery events, when one is configured.
    pub ses_configuration_set: Option<String>,
    /// Where customers write to terminate a subscription (R29): a deployment setting.
    pub support_email: String,
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
        })
    }
}

/// The SDK's shared configuration from the standard environment settings: `AWS_REGION` (or
/// `AWS_DEFAULT_REGION`) and the credentials `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`, which Lambda sets for the life of the execution environment.
///
/// Not `aws-config`: its provider chain (profiles, SSO, IMDS, ECS, STS web identity, with a
/// whole STS client) added ~0.6 MB to every bootstrap for sources a function never uses.
/// The endpoint settings are applied per client (`dynamodb_client`, the notifier's).
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

#[cfg(feature = "dynamodb")]
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

/// What every HTTP function needs, built once per process.
#[cfg(all(feature = "dynamodb", feature = "http"))]
pub struct HttpDeps<S> {
    pub store: S,
    pub clock: crate::ports::SystemClock,
    pub auth: crate::http::auth::AuthConfig,
    pub config: Config,
}

#[cfg(all(feature = "dynamodb", feature = "http"))]
impl<S> HttpDeps<S> {
    /// Every HTTP function's start: its configuration, the support contact its answers name
    /// (R29), and the store built from the SDK configuration by `store`.
    fn build(
        store: impl FnOnce(&Config, &aws_types::SdkConfig) -> S,
    ) -> Result<Self, MissingVariable> {
        let config = Config::from_env()?;
        crate::http::set_support_contact(&config.support_email);
        let sdk = sdk_config()?;
        Ok(Self {
            store: store(&config, &sdk),
            clock: crate::ports::SystemClock,
            auth: crate::http::auth::AuthConfig::from_env(),
            config,
        })
    }
}

#[cfg(all(feature = "dynamodb", feature = "http"))]
impl HttpDeps<crate::adapters::dynamodb::DynamoStore> {
    /// For functions that reach only DynamoDB.
    pub async fn from_env() -> Result<Self, MissingVariable> {
        Self::build(|config, sdk| {
            crate::adapters::dynamodb::DynamoStore::new(dynamodb_client(sdk), config.table.clone())
        })
    }
}

#[cfg(all(feature = "dynamodb", feature = "http", feature = "notify"))]
impl HttpDeps<crate::notify::dispatch::Notifying> {
    /// For functions that change state: each change's mail and events go out right after it
    /// commits.
    pub async fn notifying_from_env() -> Result<Self, MissingVariable> {
        Self::build(|config, sdk| crate::notify::dispatch::Notifying {
            store: crate::adapters::dynamodb::DynamoStore::new(
                dynamodb_client(sdk),
                config.table.clone(),
            ),
            notifier: crate::notify::dispatch::Notifier::new(
                sdk,
                config.event_bus.clone(),
                config.mail_from.clone(),
            )
            .with_configuration_set(config.ses_configuration_set.clone()),
        })
    }
}

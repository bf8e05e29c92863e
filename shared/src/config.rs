//! Configuration from the environment, read once in `main`. Endpoints are not configuration
//! of ours: the SDK reads `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_DYNAMODB`, … itself.

#[derive(Clone, Debug)]
pub struct Config {
    pub table: String,
    pub event_bus: String,
    pub mail_from: String,
    /// An SES configuration set for delivery events, when one is configured.
    pub ses_configuration_set: Option<String>,
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
        })
    }
}

/// The SDK's shared configuration: region, credentials and endpoints, all standard settings.
#[cfg(any(feature = "dynamodb", feature = "notify"))]
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
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
impl HttpDeps<crate::adapters::dynamodb::DynamoStore> {
    /// For read-only functions: DynamoDB only.
    pub async fn from_env() -> Result<Self, MissingVariable> {
        let config = Config::from_env()?;
        let sdk = sdk_config().await;
        Ok(Self {
            store: crate::adapters::dynamodb::DynamoStore::new(
                aws_sdk_dynamodb::Client::new(&sdk),
                config.table.clone(),
            ),
            clock: crate::ports::SystemClock,
            auth: crate::http::auth::AuthConfig::from_env(),
            config,
        })
    }
}

#[cfg(all(feature = "dynamodb", feature = "http", feature = "notify"))]
impl HttpDeps<crate::notify::dispatch::Notifying> {
    /// For functions that change state: each change's mail and events go out right after it
    /// commits.
    pub async fn notifying_from_env() -> Result<Self, MissingVariable> {
        let config = Config::from_env()?;
        let sdk = sdk_config().await;
        Ok(Self {
            store: crate::notify::dispatch::Notifying {
                store: crate::adapters::dynamodb::DynamoStore::new(
                    aws_sdk_dynamodb::Client::new(&sdk),
                    config.table.clone(),
                ),
                notifier: crate::notify::dispatch::Notifier::new(
                    &sdk,
                    config.event_bus.clone(),
                    config.mail_from.clone(),
                )
                .with_configuration_set(config.ses_configuration_set.clone()),
            },
            clock: crate::ports::SystemClock,
            auth: crate::http::auth::AuthConfig::from_env(),
            config,
        })
    }
}

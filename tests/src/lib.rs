//! Helpers for the integration and end-to-end tests, and the provisioning tools the run and
//! test commands use. Everything here talks to real engines (DynamoDB Local, moto) through the
//! real SDK clients; endpoints come from the SDK's standard environment settings.

pub mod contract;
pub mod faults;
pub mod front;
pub mod http;
pub mod mail;
pub mod month;
pub mod stream_reader;
pub mod streamed;
pub mod usage;

use aws_config::SdkConfig;
use aws_sdk_dynamodb::types::AttributeValue;
use chrono::{DateTime, NaiveDate, Utc};
use licensing::adapters::dynamodb::keys::{outbox_due_pk, tenant_pk};
use licensing::adapters::dynamodb::{DynamoStore, schema};
use licensing::domain::identity::{DisplayName, EmailAddress, Language, TenantId, UserId};
use licensing::domain::money::{Amount, Currency};
use licensing::domain::period::PeriodLength;
use licensing::domain::pool::PoolId;
use licensing::domain::rights::{administrator, plain_user};
use licensing::domain::tenant::{NewPool, NewTenant};
use licensing::domain::user::NewUser;
use licensing::ports::{AccountReads, Commits};
use serde::Serialize;

/// The engines the test command started. The tests that need them are `#[ignore]`d, so a
/// bare `cargo test` lists them as ignored; run on their own without engines, they fail here
/// and say why, instead of passing.
pub fn require_engines() {
    assert!(
        std::env::var("LICENSING_TEST_ENGINES").is_ok_and(|v| v == "1"),
        "engines not started: ./scripts/test.sh starts them and runs the ignored tests"
    );
}

/// Whether the engines are the LocalStack profile (`LICENSING_ENGINE=localstack`, README "Two
/// engines"). The code under test never asks; a test asks only to pin what differs.
pub fn on_localstack() -> bool {
    std::env::var("LICENSING_ENGINE").is_ok_and(|v| v == "localstack")
}

/// The tools' SDK configuration: the full `aws-config` chain (the functions build theirs
/// from the environment alone).
pub async fn sdk() -> SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await
}

/// How long until `tenant`'s outbox is empty (every batch delivered and deleted), polled every
/// 10 ms; `None` if it is not within `within` (a failed read is read again). Sent mail is read
/// from moto's data.json, which grows to tens of MB over a test run: too slow to time a
/// delivery by.
pub async fn outbox_drained(
    store: &DynamoStore,
    tenant: &TenantId,
    within: std::time::Duration,
) -> Option<std::time::Duration> {
    let started = std::time::Instant::now();
    loop {
        if store
            .partition(tenant, "O#")
            .await
            .is_ok_and(|left| left.is_empty())
        {
            return Some(started.elapsed());
        }
        if started.elapsed() > within {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

/// The end-to-end table (`LICENSING_TABLE`, which the local API serves), for checks the API
/// does not answer.
pub async fn e2e_store() -> Option<DynamoStore> {
    let table = std::env::var("LICENSING_TABLE").ok()?;
    Some(DynamoStore::new(
        aws_sdk_dynamodb::Client::new(&sdk().await),
        table,
    ))
}

/// A new, uniquely named table with the production definition but its stream, so tests run
/// in parallel (`schema::create_table_without_stream` says why no stream).
pub async fn fresh_store() -> DynamoStore {
    new_table(false).await
}

/// A new table with the production definition, stream included: for the tests that deliver
/// mail and events through it.
pub async fn fresh_streamed_store() -> DynamoStore {
    new_table(true).await
}

async fn new_table(stream: bool) -> DynamoStore {
    let client = aws_sdk_dynamodb::Client::new(&sdk().await);
    let name = format!("test-{}", uuid::Uuid::new_v4().simple());
    let created = if stream {
        schema::create_table(&client, &name).await
    } else {
        schema::create_table_without_stream(&client, &name).await
    };
    created.expect("create table");
    DynamoStore::new(client, name)
}

#[derive(Serialize)]
struct TokenClaims<'a> {
    sub: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    tenant_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<&'a str>,
    exp: i64,
}

/// An HS256 token as the local API accepts them (R16).
pub fn token(
    secret: &str,
    sub: &str,
    tenant: Option<&str>,
    scope: Option<&str>,
    valid_for_secs: i64,
) -> String {
    let claims = TokenClaims {
        sub,
        tenant_id: tenant,
        scope,
        exp: Utc::now().timestamp() + valid_for_secs,
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("encode token")
}

pub fn new_user(id: &str, name: &str, language: Language, modules: &[&str]) -> NewUser {
    NewUser {
        user_id: UserId::parse(id).expect("user id"),
        name: DisplayName::parse(name).expect("name"),
        email: EmailAddress::parse(&format!("{id}@example.com")).expect("email"),
        language,
        role: plain_user(),
        modules: modules
            .iter()
            .map(|m| PoolId::parse(m).expect("module"))
            .collect(),
        active: true,
    }
}

/// Today in the test tenants' time zone: their current period starts on its month's first day
/// (from 22:00 or 23:00 UTC on a month's last day, the UTC date is a month behind).
pub fn copenhagen_today() -> NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::Copenhagen)
        .date_naive()
}

/// A tenant like the example in docs/rules.md: DKK, Copenhagen, monthly, licences at 12 900, CRM at 4 900.
pub fn acme(tenant: &str, start: NaiveDate, licences: u32, crm: u32) -> NewTenant {
    NewTenant {
        tenant_id: TenantId::parse(tenant).expect("tenant id"),
        name: DisplayName::parse("Acme ApS").expect("name"),
        currency: Currency::parse("DKK").expect("currency"),
        time_zone: chrono_tz::Europe::Copenhagen,
        period_length: PeriodLength::Monthly,
        period_start: start,
        pools: vec![
            NewPool {
                pool: PoolId::licences(),
                name: "Licences".into(),
                unit_price: Amount::new(12_900).expect("price"),
                purchased: licences,
            },
            NewPool {
                pool: PoolId::parse("crm").expect("pool"),
                name: "CRM".into(),
                unit_price: Amount::new(4_900).expect("price"),
                purchased: crm,
            },
        ],
        administrator: NewUser {
            role: administrator(),
            ..new_user("ada", "Ada Admin", Language::Da, &[])
        },
    }
}

pub fn at(s: &str) -> DateTime<Utc> {
    s.parse().expect("instant")
}

/// Creates the event bus, a rule for every `licensing` event into an SQS queue (so tests and
/// people can read events), and the verified SES sender. Returns the queue URL.
pub async fn provision_messaging(
    sdk: &SdkConfig,
    bus: &str,
    queue: &str,
    from: &str,
) -> Result<String, String> {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let ses = aws_sdk_sesv2::Client::new(sdk);
    let err = |what: &str, e: &dyn std::fmt::Display| format!("{what}: {e}");
    if events.describe_event_bus().name(bus).send().await.is_err()
        && let Err(e) = events.create_event_bus().name(bus).send().await
    {
        // Another provisioning (a parallel test) may have created it meanwhile.
        let exists = e
            .as_service_error()
            .is_some_and(|s| s.is_resource_already_exists_exception());
        if !exists {
            return Err(err(
                "create bus",
                &aws_sdk_eventbridge::error::DisplayErrorContext(e),
            ));
        }
    }
    let queue_url = sqs
        .create_queue()
        .queue_name(queue)
        .send()
        .await
        .map_err(|e| err("create queue", &aws_sdk_sqs::error::DisplayErrorContext(e)))?
        .queue_url
        .ok_or("no queue url")?;
    let arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| err("queue arn", &aws_sdk_sqs::error::DisplayErrorContext(e)))?
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .ok_or("no queue arn")?;
    let rule = format!("{queue}-all");
    events
        .put_rule()
        .name(&rule)
        .event_bus_name(bus)
        .event_pattern(r#"{"source":["licensing"]}"#)
        .send()
        .await
        .map_err(|e| {
            err(
                "put rule",
                &aws_sdk_eventbridge::error::DisplayErrorContext(e),
            )
        })?;
    events
        .put_targets()
        .rule(&rule)
        .event_bus_name(bus)
        .targets(
            aws_sdk_eventbridge::types::Target::builder()
                .id("queue")
                .arn(arn)
                .build()
                .map_err(|e| err("target", &e))?,
        )
        .send()
        .await
        .map_err(|e| {
            err(
                "put targets",
                &aws_sdk_eventbridge::error::DisplayErrorContext(e),
            )
        })?;
    let _ = ses
        .create_email_identity()
        .email_identity(from)
        .send()
        .await;
    Ok(queue_url)
}

/// Adds `n` active users `b-00001`… to a tenant, 40 per transaction, through the domain and
/// the store's commit (creating thousands one request at a time would only test patience).
pub async fn bulk_users(store: &DynamoStore, tenant: &TenantId, n: usize, from: DateTime<Utc>) {
    use licensing::ports::{Change, LogEntry, UserWrite};
    let mut created = 0;
    while created < n {
        let loaded = store
            .load_account(tenant)
            .await
            .expect("load")
            .expect("tenant");
        let mut account = loaded.account.clone();
        let mut writes = Vec::new();
        for _ in 0..40.min(n - created) {
            created += 1;
            let user = new_user(
                &format!("b-{created:05}"),
                &format!("Bulk {created}"),
                Language::En,
                &[],
            );
            let at = from + chrono::Duration::seconds(created as i64);
            let (u, _) =
                licensing::domain::user::create_user(&mut account, user, at).expect("create");
            writes.push(UserWrite {
                before: None,
                after: u,
            });
        }
        store
            .commit(Change {
                delta: None,
                expected_version: Some(loaded.account.subscription.version),
                account,
                users: writes,
                log: LogEntry {
                    entry_id: format!("bulk-{created}"),
                    at: from,
                    actor: licensing::domain::identity::Actor::System,
                    action: "test.bulk_users".into(),
                    details: serde_json::Value::Null,
                },
                invoices: Vec::new(),
                outbox: Vec::new(),
                approve_quote: None,
                idempotency: None,
                requests: Vec::new(),
                now: from,
            })
            .await
            .expect("commit");
    }
}

/// One licence bought as a client buys it: a quote, then its approval under `key`.
pub async fn buy_one_licence<S: licensing::ports::Store>(
    store: &S,
    caller: &licensing::app::Caller,
    key: &str,
    now: DateTime<Utc>,
) -> licensing::app::Replayable {
    let quote = licensing::app::create_quote(
        store,
        caller,
        Some(1),
        &std::collections::BTreeMap::new(),
        now,
    )
    .await
    .expect("quote");
    let body = serde_json::json!({ "quote_id": quote.quote_id });
    licensing::app::approve_purchase(store, caller, Some(key), &body, &quote.quote_id, now)
        .await
        .expect("approval")
}

/// An outbox batch of `tenant` whose messages are not JSON, due at `due` (an instant as the
/// due index writes it): what a poison item looks like to the dispatcher (R32).
pub async fn put_unreadable_outbox_item(store: &DynamoStore, tenant: &TenantId, due: &str) {
    let s = AttributeValue::S;
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("pk", s(tenant_pk(tenant)))
        .item("sk", s("O#msg-poison#0".into()))
        .item("tenant_id", s(tenant.to_string()))
        .item("messages", s("[{not json".into()))
        .item("attempts", AttributeValue::N("0".into()))
        .item("state", s("pending".into()))
        .item("due_pk", s(outbox_due_pk(tenant)))
        .item("due_at", s(format!("{due}#O#msg-poison#0")))
        .send()
        .await
        .expect("put the unreadable item");
}

/// A name no other test run uses: `prefix-` and ten hex digits.
/// The value after `name` in a binary's arguments (`--table T`).
pub fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..10]
    )
}

/// 1 November 2026, the first day of the period most tests start in.
pub fn nov() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date")
}

/// Ada, the administrator `acme(..)` creates, as the caller in `tenant`.
pub fn ada(tenant: &str) -> licensing::app::Caller {
    licensing::app::Caller {
        tenant: TenantId::parse(tenant).expect("tenant id"),
        user: UserId::parse("ada").expect("user id"),
    }
}

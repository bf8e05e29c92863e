//! Creates the table (from `infra/table.json`), the event bus with a rule into an SQS queue,
//! and the verified SES sender; with `--seed`, the demo tenant (with a made-up usage history,
//! `licensing_tests::usage`). Used by the run command.
//!
//! `provision --table licensing --bus licensing --queue licensing-events --from a@b.c [--seed]`
//!
//! `provision --table T --index-users` puts the active users of a table deployed before
//! decision 0014 in its `role` index, once, and does nothing else.

use licensing::adapters::dynamodb::{DynamoStore, schema};
use licensing::domain::identity::{Language, TenantId, UserId};
use licensing::ports::AccountReads;
use licensing_tests::{acme, new_user, provision_messaging, sdk};

fn arg(args: &[String], name: &str, default: &str) -> String {
    licensing_tests::arg(args, name).unwrap_or_else(|| default.to_owned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let table = arg(&args, "--table", "licensing");
    let bus = arg(&args, "--bus", "licensing");
    let queue = arg(&args, "--queue", "licensing-events");
    let from = arg(&args, "--from", "licensing@example.com");
    let sdk = sdk().await;
    let client = aws_sdk_dynamodb::Client::new(&sdk);
    if args.iter().any(|a| a == "--index-users") {
        let indexed = DynamoStore::new(client, table.clone())
            .index_users()
            .await?;
        println!("{table}: {indexed} active users put in the role index");
        return Ok(());
    }
    schema::create_table(&client, &table).await?;
    let queue_url = provision_messaging(&sdk, &bus, &queue, &from).await?;
    println!("table={table} bus={bus} queue={queue_url}");
    if args.iter().any(|a| a == "--seed") {
        let store = DynamoStore::new(client, table);
        let tenant = TenantId::parse("acme")?;
        if store.load_account(&tenant).await?.is_none() {
            seed(&store).await?;
            let days =
                licensing_tests::usage::seed_usage(&store, &tenant, 90, chrono::Utc::now()).await?;
            println!(
                "seeded tenant acme: 10 licences, 11 active users (1 over-allocated), CRM 2 of 2, {days} days of usage history"
            );
        } else {
            println!("tenant acme exists; left as it is");
        }
    }
    Ok(())
}

/// The demo: the current month, 10 licences, the administrator and 10 more users (one red),
/// and CRM with 2 licences used by 2 users.
async fn seed(store: &DynamoStore) -> Result<(), Box<dyn std::error::Error>> {
    use chrono::Datelike;
    let now = chrono::Utc::now();
    let today = licensing_tests::copenhagen_today();
    let start = chrono::NaiveDate::from_ymd_opt(today.year(), today.month(), 1).ok_or("date")?;
    licensing::app::create_tenant(store, "seed", acme("acme", start, 10, 2), now).await?;
    let admin = licensing::app::Caller {
        tenant: TenantId::parse("acme")?,
        user: UserId::parse("ada")?,
    };
    let names = [
        "Bo Berg",
        "Cecilie Dahl",
        "Dan Eriksen",
        "Ebba Fog",
        "Frej Gram",
        "Gry Holm",
        "Hans Iversen",
        "Ida Juul",
        "Jens Krogh",
        "Karen Lund",
    ];
    for (i, name) in names.iter().enumerate() {
        let modules: &[&str] = if i < 2 { &["crm"] } else { &[] };
        let language = if i % 2 == 0 {
            Language::Da
        } else {
            Language::En
        };
        let user = new_user(&format!("u-{:02}", i + 1), name, language, modules);
        licensing::app::create_user(
            store,
            &admin,
            user.into(),
            None,
            &serde_json::Value::Null,
            chrono::Utc::now(),
        )
        .await?;
    }
    Ok(())
}

//! Gives a tenant with no usage history yet (R37) 90 days of it, as the sweep would have read
//! them, for a demo or a page test of a tenant created today (`licensing_tests::usage`); a
//! tenant the sweep has begun to read is left alone (0 days).
//!
//! `seed-usage --table T --tenant acme` with the AWS settings of the environment.

use licensing::adapters::dynamodb::DynamoStore;
use licensing::domain::identity::TenantId;
use licensing_tests::usage::seed_usage;
use licensing_tests::{arg, sdk};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let table = arg(&args, "--table")
        .or_else(|| std::env::var("LICENSING_TABLE").ok())
        .ok_or("--table or LICENSING_TABLE")?;
    let tenant = TenantId::parse(&arg(&args, "--tenant").ok_or("--tenant")?)?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk().await), table);
    let written = seed_usage(&store, &tenant, 90, chrono::Utc::now()).await?;
    println!("{written} days of usage for tenant {tenant}");
    Ok(())
}

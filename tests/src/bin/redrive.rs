//! The operator's redrive of dead letters (R32): every dead outbox batch (all tenants', or one
//! tenant's) is due again at once with its messages' attempts reset, so the next dispatch (the
//! sweeper's every-minute run) delivers each of them once. Prints how many messages.
//!
//! `redrive --table T [--tenant acme]` with the AWS settings of the environment (as the
//! functions read them: AWS_REGION, credentials, AWS_ENDPOINT_URL_DYNAMODB locally).

use licensing::adapters::dynamodb::DynamoStore;
use licensing::domain::identity::TenantId;
use licensing::ports::OutboxStore;
use licensing_tests::{arg, sdk};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let table = arg(&args, "--table")
        .or_else(|| std::env::var("LICENSING_TABLE").ok())
        .ok_or("--table or LICENSING_TABLE")?;
    let tenant = arg(&args, "--tenant")
        .map(|t| TenantId::parse(&t))
        .transpose()?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk().await), table);
    let redriven = store
        .redrive_dead(tenant.as_ref(), chrono::Utc::now())
        .await?;
    match &tenant {
        Some(t) => println!("redriven {redriven} dead messages of tenant {t}"),
        None => println!("redriven {redriven} dead messages"),
    }
    Ok(())
}

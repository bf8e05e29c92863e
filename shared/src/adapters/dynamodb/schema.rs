//! The table definition, read from `infra/table.json`: the one definition that provisioning,
//! the tests and the SAM template (checked by a test) share.

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, StreamSpecification, StreamViewType,
    TimeToLiveSpecification,
};
use serde::Deserialize;

use crate::ports::StoreError;

pub const DUE_INDEX: &str = "due";
pub const ROLE_INDEX: &str = "role";
pub const TABLE_JSON: &str = include_str!("../../../../infra/table.json");

#[derive(Deserialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct TableDefinition {
    pub attribute_definitions: Vec<Attribute>,
    pub key_schema: Vec<KeyElement>,
    pub global_secondary_indexes: Vec<Index>,
    pub billing_mode: String,
    pub time_to_live_specification: Ttl,
    pub stream_specification: Stream,
}

/// The table's stream, the outbox's delivery path (the dispatcher reads new outbox items), in
/// CloudFormation's shape (which has no `StreamEnabled`: a specification means enabled).
#[derive(Deserialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Stream {
    pub stream_view_type: String,
}

#[derive(Deserialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Attribute {
    pub attribute_name: String,
    pub attribute_type: String,
}

#[derive(Deserialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct KeyElement {
    pub attribute_name: String,
    pub key_type: String,
}

#[derive(Deserialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Index {
    pub index_name: String,
    pub key_schema: Vec<KeyElement>,
    pub projection: IndexProjection,
}

#[derive(Deserialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct IndexProjection {
    pub projection_type: String,
}

#[derive(Deserialize, Debug, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Ttl {
    pub attribute_name: String,
    pub enabled: bool,
}

pub fn definition() -> Result<TableDefinition, StoreError> {
    serde_json::from_str(TABLE_JSON)
        .map_err(|e| StoreError::Backend(format!("infra/table.json: {e}")))
}

fn keys(elements: &[KeyElement]) -> Result<Vec<KeySchemaElement>, StoreError> {
    elements
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(&k.attribute_name)
                .key_type(KeyType::from(k.key_type.as_str()))
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))
        })
        .collect()
}

/// Creates the table (and its TTL) if it does not exist yet; waits until it is active.
pub async fn create_table(client: &Client, name: &str) -> Result<(), StoreError> {
    create(client, name, true).await
}

/// The same table without its stream, for tests that do not deliver mail or events: DynamoDB
/// Local 3.3.1 writes each item of a transaction about 20 times slower on a table with a
/// stream (≈ 5 ms instead of 0.25 ms per item, measured; BENCHMARKS.md), which a 10 000-user
/// test would pay on every change.
pub async fn create_table_without_stream(client: &Client, name: &str) -> Result<(), StoreError> {
    create(client, name, false).await
}

async fn create(client: &Client, name: &str, stream: bool) -> Result<(), StoreError> {
    let def = definition()?;
    let mut request = client
        .create_table()
        .table_name(name)
        .billing_mode(BillingMode::from(def.billing_mode.as_str()))
        .set_key_schema(Some(keys(&def.key_schema)?));
    if stream {
        request = request.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(
                    def.stream_specification.stream_view_type.as_str(),
                ))
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?,
        );
    }
    for a in &def.attribute_definitions {
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(&a.attribute_name)
                .attribute_type(ScalarAttributeType::from(a.attribute_type.as_str()))
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?,
        );
    }
    for index in &def.global_secondary_indexes {
        request = request.global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(&index.index_name)
                .set_key_schema(Some(keys(&index.key_schema)?))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::from(
                            index.projection.projection_type.as_str(),
                        ))
                        .build(),
                )
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?,
        );
    }
    match request.send().await {
        Ok(_) => {}
        Err(err) => {
            let code = err
                .as_service_error()
                .map(|e| e.meta().code().unwrap_or("").to_owned());
            if code.as_deref() != Some("ResourceInUseException") {
                return Err(StoreError::Backend(format!(
                    "create table: {}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&err)
                )));
            }
        }
    }
    for _ in 0..100 {
        let out = client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| {
                StoreError::Backend(format!(
                    "{}",
                    aws_sdk_dynamodb::error::DisplayErrorContext(&e)
                ))
            })?;
        let active = out
            .table()
            .and_then(|t| t.table_status())
            .is_some_and(|s| s.as_str() == "ACTIVE");
        if active {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let ttl = &def.time_to_live_specification;
    let _ = client
        .update_time_to_live()
        .table_name(name)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(&ttl.attribute_name)
                .enabled(ttl.enabled)
                .build()
                .map_err(|e| StoreError::Backend(e.to_string()))?,
        )
        .send()
        .await;
    Ok(())
}

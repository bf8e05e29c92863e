//! A record of the AWS operations a process calls, as IAM actions, for the least-privilege
//! test: the template's policy of each function must allow exactly what the function calls.
//! DynamoDB Local and moto check no IAM, so nothing else would see a missing permission
//! before AWS does (a purchase failing on `BatchGetItem`, say).
//!
//! Off unless `LICENSING_RECORD_AWS_CALLS` names a folder (the test command sets it; the
//! template never does). Each process appends `action<TAB>resource` lines, once each, to
//! `<folder>/<executable name>.calls`.

use aws_sdk_dynamodb::config::interceptors::BeforeSerializationInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use aws_sdk_dynamodb::error::BoxError;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub const RECORD_VARIABLE: &str = "LICENSING_RECORD_AWS_CALLS";

/// The interceptor; one per client, sharing the process's record.
#[derive(Clone, Debug)]
pub struct AwsCalls {
    /// The IAM service prefix: `dynamodb`, `ses`, `events`, `lambda`.
    service: &'static str,
    record: Arc<Record>,
}

#[derive(Debug)]
struct Record {
    file: PathBuf,
    seen: Mutex<BTreeSet<String>>,
}

static RECORD: Mutex<Option<Arc<Record>>> = Mutex::new(None);

impl AwsCalls {
    /// The interceptor for one service's client, when recording is on.
    pub fn from_env(service: &'static str) -> Option<Self> {
        let folder = std::env::var(RECORD_VARIABLE)
            .ok()
            .filter(|v| !v.is_empty())?;
        let name = std::env::current_exe()
            .ok()
            .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .unwrap_or_else(|| "unknown".into());
        let mut shared = RECORD.lock().ok()?;
        let record = shared
            .get_or_insert_with(|| {
                Arc::new(Record {
                    file: PathBuf::from(folder).join(format!("{name}.calls")),
                    seen: Mutex::new(BTreeSet::new()),
                })
            })
            .clone();
        Some(Self { service, record })
    }

    fn note(&self, action: &str, resource: &str) {
        let line = format!("{}:{action}\t{resource}", self.service);
        let fresh = self
            .record
            .seen
            .lock()
            .map(|mut seen| seen.insert(line.clone()))
            .unwrap_or(false);
        if !fresh {
            return;
        }
        if let Some(dir) = self.record.file.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.record.file)
            .and_then(|mut f| f.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = written {
            tracing::warn!(error = %e, "could not record an AWS call");
        }
    }
}

/// The IAM actions and resources one DynamoDB request needs: a transaction is authorised per
/// item action, and a Query of an index needs the index's ARN.
fn dynamodb_actions(
    operation: &str,
    input: &aws_smithy_runtime_api::client::interceptors::context::Input,
) -> Vec<(String, String)> {
    use aws_sdk_dynamodb::operation::query::QueryInput;
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
    if let Some(tx) = input.downcast_ref::<TransactWriteItemsInput>() {
        return tx
            .transact_items()
            .iter()
            .filter_map(|item| {
                if item.put().is_some() {
                    Some("PutItem")
                } else if item.update().is_some() {
                    Some("UpdateItem")
                } else if item.delete().is_some() {
                    Some("DeleteItem")
                } else if item.condition_check().is_some() {
                    Some("ConditionCheckItem")
                } else {
                    None
                }
            })
            .map(|a| (a.to_owned(), "table".to_owned()))
            .collect();
    }
    if let Some(query) = input.downcast_ref::<QueryInput>()
        && let Some(index) = query.index_name()
    {
        return vec![(operation.to_owned(), format!("index/{index}"))];
    }
    vec![(operation.to_owned(), "table".to_owned())]
}

impl Intercept for AwsCalls {
    fn name(&self) -> &'static str {
        "AwsCalls"
    }

    // Not `read_before_execution`: a client's interceptors run that before the operation's
    // configuration (and its `Metadata`, the operation's name) is in the bag.
    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(operation) = cfg.load::<Metadata>().map(|m| m.name().to_owned()) else {
            return Ok(());
        };
        let actions = match (self.service, operation.as_str()) {
            ("dynamodb", _) => dynamodb_actions(&operation, context.input()),
            // Lambda's Invoke API is the IAM action `lambda:InvokeFunction`.
            ("lambda", "Invoke") => vec![("InvokeFunction".to_owned(), "*".to_owned())],
            _ => vec![(operation, "*".to_owned())],
        };
        for (action, resource) in actions {
            self.note(&action, &resource);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record is written before the request is sent, so a client with nothing behind its
    /// endpoint shows what would have been called.
    #[tokio::test]
    async fn a_transaction_is_recorded_as_its_item_actions_and_an_index_query_against_the_index() {
        let folder = std::env::temp_dir().join(format!("aws-calls-{}", uuid::Uuid::new_v4()));
        // SAFETY: set before any client of this test process reads it; no other test reads it.
        unsafe { std::env::set_var(RECORD_VARIABLE, &folder) };
        let calls = AwsCalls::from_env("dynamodb").unwrap();
        let client = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::Config::builder()
                .behavior_version_latest()
                .region(aws_sdk_dynamodb::config::Region::new("eu-west-1"))
                .endpoint_url("http://127.0.0.1:1")
                .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
                    "local", "local", None, None, "test",
                ))
                .interceptor(calls)
                .build(),
        );
        use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
        let key = |k: &str| (k.to_owned(), AttributeValue::S("x".into()));
        let put = Put::builder()
            .table_name("t")
            .item("pk", AttributeValue::S("x".into()))
            .build()
            .unwrap();
        let delete = Delete::builder()
            .table_name("t")
            .set_key(Some([key("pk"), key("sk")].into()))
            .build()
            .unwrap();
        let _ = client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(TransactWriteItem::builder().delete(delete).build())
            .send()
            .await;
        let _ = client
            .query()
            .table_name("t")
            .index_name("due")
            .send()
            .await;
        let _ = client.get_item().table_name("t").send().await;
        let file = std::fs::read_dir(&folder)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let mut lines: Vec<String> = std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        assert_eq!(
            lines,
            [
                "dynamodb:DeleteItem\ttable",
                "dynamodb:GetItem\ttable",
                "dynamodb:PutItem\ttable",
                "dynamodb:Query\tindex/due",
            ]
        );
    }
}

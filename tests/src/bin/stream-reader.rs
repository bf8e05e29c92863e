//! The local stream reader: what Lambda's event source mapping does on AWS, for the run and
//! test commands (tests/src/stream_reader.rs). It reads the table's stream and hands each
//! batch to the dispatcher, either through the local API's Lambda Invoke endpoint (the
//! `dispatcher` function under `cargo lambda watch`, as deployed) or in this process through
//! the same handler code (`licensing::notify::on_stream`), for tests that kill the reader.
//!
//! `stream-reader [--table T] [--invoke http://127.0.0.1:9000] [--state FILE] [--interval-ms 20]`
//! (`--interval-ms`: the wait between polls while records come; idle, it grows to 250 ms).

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use licensing_tests::stream_reader::{Dispatch, InProcess, StreamReader};
use licensing_tests::{arg, sdk};
use std::time::Duration;

/// Invokes the dispatcher through the Lambda Invoke API (`cargo lambda watch` serves it).
struct Invoke {
    http: reqwest::Client,
    url: String,
}

impl Dispatch for Invoke {
    async fn dispatch(&self, event: Event) -> Result<DynamoDbEventResponse, String> {
        invoke(&self.http, &self.url, event).await
    }
}

async fn invoke(
    http: &reqwest::Client,
    url: &str,
    event: Event,
) -> Result<DynamoDbEventResponse, String> {
    let response = http
        .post(format!("{url}/2015-03-31/functions/dispatcher/invocations"))
        .json(&event)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    let function_error = response.headers().contains_key("x-amz-function-error");
    let body = response.text().await.map_err(|e| e.to_string())?;
    if !status.is_success() || function_error {
        return Err(format!("dispatcher answered {status}: {body}"));
    }
    serde_json::from_str(&body).map_err(|e| format!("dispatcher's answer {body}: {e}"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let table = arg(&args, "--table")
        .or_else(|| std::env::var("LICENSING_TABLE").ok())
        .ok_or("--table or LICENSING_TABLE")?;
    let state = arg(&args, "--state").map(std::path::PathBuf::from);
    let interval = Duration::from_millis(
        arg(&args, "--interval-ms")
            .and_then(|v| v.parse().ok())
            .unwrap_or(20),
    );
    let sdk = sdk().await;
    let mut reader = StreamReader::open(&sdk, &table, state).await?;
    reader.crash_after_invocations =
        arg(&args, "--crash-after-invocations").and_then(|v| v.parse().ok());
    eprintln!(
        "stream reader on {} (resuming at {:?})",
        reader.checkpoint().stream_arn,
        reader.checkpoint().shards
    );
    let invoke_url = arg(&args, "--invoke");
    let http = reqwest::Client::new();
    let outbox = match invoke_url {
        Some(_) => None,
        None => Some(licensing::startup::store::<licensing::startup::Outbox>()?),
    };
    match (invoke_url, outbox) {
        (Some(url), _) => run(reader, Invoke { http, url }, interval).await,
        (None, Some(outbox)) => {
            let dispatch = InProcess {
                store: &outbox.store,
                notifier: &outbox.notifier,
                now: None,
            };
            run(reader, dispatch, interval).await
        }
        (None, None) => Err("no dispatcher".into()),
    }
}

/// The longest wait between two polls of a stream that had nothing: Lambda's event source
/// mapping polls a shard four times a second.
const IDLE_WAIT: Duration = Duration::from_millis(250);

/// Polls every `interval` while records come, and, idle, waits twice as long after each empty
/// poll up to [`IDLE_WAIT`]. Polling an idle stream every 20 ms cost DynamoDB Local 14 % of a
/// core and this debug-built reader 11 % more, the whole test command long (BENCHMARKS.md,
/// "The test command's time (session 22)").
async fn run(
    mut reader: StreamReader,
    dispatch: impl Dispatch,
    interval: Duration,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut wait = interval;
    loop {
        let before = reader.stats.invocations;
        match reader.poll(&dispatch).await {
            Ok(0) => {
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(IDLE_WAIT.max(interval));
            }
            Ok(_) => {
                wait = interval;
                if reader.stats.invocations > before {
                    println!("{}", serde_json::to_string(&reader.stats)?);
                }
            }
            Err(error) => {
                eprintln!("stream reader: {error}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

//! The local stand-in for Lambda's event source mapping on the table's stream: it reads the
//! stream through DynamoDB Local's Streams API, keeps the mapping's filter (inserted outbox
//! items only), hands each batch of at most 100 records to the dispatcher as the AWS event
//! (`aws_lambda_events`' DynamoDB `Event`), honours the partial batch response, and keeps
//! its position in a file, so a restart resumes after the last batch the dispatcher finished.
//! A record that keeps failing goes, after `MAX_RETRIES`, to the on-failure file (the
//! mapping's on-failure destination), never silently away.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use aws_lambda_events::event::streams::DynamoDbEventResponse;
use aws_sdk_dynamodbstreams::error::ProvideErrorMetadata;
use aws_sdk_dynamodbstreams::types::{Record, ShardIteratorType};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::{Duration, Instant};

mod empty_maps;
mod records;
pub use records::event_record;
use records::is_outbox_insert;

/// What the reader hands each batch to: the dispatcher.
pub trait Dispatch: Sync {
    fn dispatch(
        &self,
        event: Event,
    ) -> impl std::future::Future<Output = Result<DynamoDbEventResponse, String>> + Send;
}

/// The dispatcher's handler in this process, delivering as at `now` (the system clock when
/// `None`; tests pass their own calendar's instant).
pub struct InProcess<'a> {
    pub store: &'a licensing::adapters::dynamodb::DynamoStore,
    pub notifier: &'a licensing::notify::Notifier,
    pub now: Option<DateTime<Utc>>,
}

impl Dispatch for InProcess<'_> {
    async fn dispatch(&self, event: Event) -> Result<DynamoDbEventResponse, String> {
        let now = self.now.unwrap_or_else(Utc::now);
        Ok(
            licensing::startup::on_stream(self.store, self.notifier, &event, now)
                .await
                .0,
        )
    }
}

/// Records per dispatcher invocation, as the template's `BatchSize` (counted after the filter,
/// as the event source mapping counts them).
pub const BATCH_SIZE: usize = 100;
/// Batches of one shard in flight at once, as the template's `ParallelizationFactor`: records
/// are assigned by partition key (the tenant), so one tenant's stay in order.
pub const PARALLELIZATION: usize = 4;
/// Records one `GetRecords` reads (its maximum): most are not outbox items.
const READ_LIMIT: i32 = 1000;
/// Retries of a failing record before it goes to the on-failure file, as the template's
/// `MaximumRetryAttempts`.
pub const MAX_RETRIES: u32 = 5;
/// How often the stream's shards are listed again (a shard closes and a child opens every
/// few hours on AWS).
const DESCRIBE_EVERY: Duration = Duration::from_secs(2);

/// Where each shard was read up to, for one stream.
#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub stream_arn: String,
    /// Shard id → the sequence number of the last record handled (`None`: none yet).
    pub shards: BTreeMap<String, Option<String>>,
    /// Shards read to their end.
    #[serde(default)]
    pub closed: Vec<String>,
}

/// What the reader did, for its log line and the tests.
#[derive(Default, Debug, Clone, Serialize)]
pub struct ReaderStats {
    pub invocations: u64,
    pub records_handed: u64,
    pub records_read: u64,
    pub retried: u64,
    pub sent_to_on_failure: u64,
    /// Age of the newest record handed, when it was handed (Lambda's `IteratorAge`).
    pub iterator_age_ms: i64,
    /// Shards opened again after a trimmed or expired iterator.
    pub reopened: u64,
}

/// Errors after which a shard is opened again rather than read again.
fn reopens(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("TrimmedDataAccessException" | "ExpiredIteratorException")
    )
}

pub struct StreamReader {
    streams: aws_sdk_dynamodbstreams::Client,
    stream_arn: String,
    region: String,
    state_file: Option<PathBuf>,
    checkpoint: Checkpoint,
    iterators: HashMap<String, String>,
    retries: HashMap<String, u32>,
    described: Option<Instant>,
    /// A test hook: after this many invocations the process aborts before it checkpoints,
    /// as a reader killed mid-batch would.
    pub crash_after_invocations: Option<u64>,
    pub stats: ReaderStats,
}

/// Sequence numbers are decimal strings of varying length: compare them as numbers.
fn seq_key(s: &str) -> (usize, &str) {
    (s.len(), s)
}

impl StreamReader {
    /// The reader of `table`'s stream; resumes from `state_file` when it holds this stream's
    /// position (a new engine has a new stream: then from the start).
    pub async fn open(
        sdk: &aws_config::SdkConfig,
        table: &str,
        state_file: Option<PathBuf>,
    ) -> Result<Self, String> {
        let dynamodb = aws_sdk_dynamodb::Client::new(sdk);
        let described = dynamodb
            .describe_table()
            .table_name(table)
            .send()
            .await
            .map_err(|e| format!("describe table {table}: {e:?}"))?;
        let stream_arn = described
            .table()
            .and_then(|t| t.latest_stream_arn())
            .ok_or_else(|| format!("table {table} has no stream (infra/table.json enables one)"))?
            .to_owned();
        let mut checkpoint = state_file
            .as_ref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|s| serde_json::from_str::<Checkpoint>(&s).ok())
            .filter(|c| c.stream_arn == stream_arn)
            .unwrap_or_default();
        checkpoint.stream_arn = stream_arn.clone();
        // Plain HTTP: the reader stands in for the event source mapping on the local engines
        // only (on AWS the mapping reads the stream).
        let inner = aws_smithy_http_client::Builder::new().build_http();
        let config = aws_sdk_dynamodbstreams::config::Builder::from(sdk)
            .http_client(empty_maps::EmptyMaps { inner });
        Ok(Self {
            streams: aws_sdk_dynamodbstreams::Client::from_conf(config.build()),
            stream_arn,
            region: sdk
                .region()
                .map(|r| r.to_string())
                .unwrap_or_else(|| "eu-west-1".into()),
            state_file,
            checkpoint,
            iterators: HashMap::new(),
            retries: HashMap::new(),
            described: None,
            crash_after_invocations: None,
            stats: ReaderStats::default(),
        })
    }

    pub fn checkpoint(&self) -> &Checkpoint {
        &self.checkpoint
    }

    fn save(&self) -> Result<(), String> {
        let Some(file) = &self.state_file else {
            return Ok(());
        };
        let tmp = file.with_extension("tmp");
        let text = serde_json::to_string_pretty(&self.checkpoint).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, file).map_err(|e| format!("{}: {e}", file.display()))
    }

    fn on_failure(&mut self, record: &EventRecord) -> Result<(), String> {
        use std::io::Write;
        self.stats.sent_to_on_failure += 1;
        let line = serde_json::to_string(record).map_err(|e| e.to_string())?;
        eprintln!("stream record sent to the on-failure file after {MAX_RETRIES} retries: {line}");
        let Some(file) = &self.state_file else {
            return Ok(());
        };
        let path = file.with_extension("on-failure.jsonl");
        let mut out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        writeln!(out, "{line}").map_err(|e| e.to_string())
    }

    /// Lists the shards and opens an iterator on each one not yet read to its end: after the
    /// checkpoint where there is one, else from the start of what the stream holds.
    async fn discover(&mut self) -> Result<(), String> {
        let mut start: Option<String> = None;
        loop {
            let out = self
                .streams
                .describe_stream()
                .stream_arn(&self.stream_arn)
                .set_exclusive_start_shard_id(start.clone())
                .send()
                .await
                .map_err(|e| format!("describe stream: {e:?}"))?;
            let Some(description) = out.stream_description() else {
                break;
            };
            for shard in description.shards() {
                let Some(id) = shard.shard_id() else { continue };
                if self.iterators.contains_key(id) || self.checkpoint.closed.iter().any(|c| c == id)
                {
                    continue;
                }
                let after = self.checkpoint.shards.get(id).cloned().flatten();
                let request = self
                    .streams
                    .get_shard_iterator()
                    .stream_arn(&self.stream_arn)
                    .shard_id(id);
                let request = match &after {
                    Some(seq) => request
                        .shard_iterator_type(ShardIteratorType::AfterSequenceNumber)
                        .sequence_number(seq),
                    None => request.shard_iterator_type(ShardIteratorType::TrimHorizon),
                };
                let iterator = match request.send().await {
                    Ok(iterator) => iterator,
                    // The checkpoint is past the stream's 24 hours (or DynamoDB Local says so):
                    // as the event source mapping does, from what the shard still holds.
                    Err(e) if after.is_some() && reopens(e.code()) => {
                        eprintln!(
                            "stream reader: shard {id} after {after:?}: {:?}; reading from its trim horizon",
                            e.code()
                        );
                        self.streams
                            .get_shard_iterator()
                            .stream_arn(&self.stream_arn)
                            .shard_id(id)
                            .shard_iterator_type(ShardIteratorType::TrimHorizon)
                            .send()
                            .await
                            .map_err(|e| format!("get shard iterator: {e:?}"))?
                    }
                    Err(e) => return Err(format!("get shard iterator: {e:?}")),
                };
                if let Some(it) = iterator.shard_iterator() {
                    self.iterators.insert(id.to_owned(), it.to_owned());
                    self.checkpoint.shards.entry(id.to_owned()).or_insert(after);
                }
            }
            start = description.last_evaluated_shard_id().map(str::to_owned);
            if start.is_none() {
                break;
            }
        }
        self.described = Some(Instant::now());
        Ok(())
    }

    /// A reader of `table`'s stream from its start, handing every record to `dispatch` until
    /// `stop` is set, looking again every 10 ms once caught up (the benches' reader, in
    /// process).
    pub async fn run_until(
        table: &str,
        dispatch: &impl Dispatch,
        stop: &std::sync::atomic::AtomicBool,
    ) -> Result<(), String> {
        let mut reader = Self::open(&crate::sdk().await, table, None).await?;
        while !stop.load(std::sync::atomic::Ordering::SeqCst) {
            if reader.poll(dispatch).await? == 0 {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        }
        Ok(())
    }

    /// Reads every open shard once and hands what passes the filter to `dispatch`, batch by
    /// batch. Returns how many records were read (0: the reader is caught up).
    pub async fn poll(&mut self, dispatch: &impl Dispatch) -> Result<usize, String> {
        if self
            .described
            .is_none_or(|at| at.elapsed() >= DESCRIBE_EVERY)
            || self.iterators.is_empty()
        {
            self.discover().await?;
        }
        let mut read = 0;
        let shards: Vec<String> = self.iterators.keys().cloned().collect();
        for shard in shards {
            let Some(iterator) = self.iterators.get(&shard).cloned() else {
                continue;
            };
            let out = match self
                .streams
                .get_records()
                .shard_iterator(iterator)
                .limit(READ_LIMIT)
                .send()
                .await
            {
                Ok(out) => out,
                Err(e) if reopens(e.code()) => {
                    // DynamoDB Local 3.3.1 answers TrimmedDataAccessException for records it
                    // still holds (aws/aws-sdk-java#2923; LocalStack's poller reopens its
                    // shards on it too), and an iterator expires after 15 minutes. Reading the
                    // same iterator again fails for good (a run's purchase went undelivered
                    // for 140 s): the shard is opened again after the checkpoint.
                    eprintln!(
                        "stream reader: shard {shard}: {:?}; opening it again",
                        e.code()
                    );
                    self.stats.reopened += 1;
                    self.iterators.remove(&shard);
                    self.described = None;
                    continue;
                }
                Err(e) => return Err(format!("get records: {e:?}")),
            };
            let records = out.records().to_vec();
            read += records.len();
            self.stats.records_read += records.len() as u64;
            let next = out.next_shard_iterator().map(str::to_owned);
            let resume = self.handle(&shard, &records, dispatch).await?;
            match (resume, next) {
                (Some(retry_at), _) => {
                    let it = self
                        .streams
                        .get_shard_iterator()
                        .stream_arn(&self.stream_arn)
                        .shard_id(&shard)
                        .shard_iterator_type(ShardIteratorType::AtSequenceNumber)
                        .sequence_number(&retry_at)
                        .send()
                        .await
                        .map_err(|e| format!("get shard iterator: {e:?}"))?;
                    match it.shard_iterator() {
                        Some(it) => self.iterators.insert(shard.clone(), it.to_owned()),
                        None => self.iterators.remove(&shard),
                    };
                }
                (None, Some(next)) => {
                    self.iterators.insert(shard.clone(), next);
                }
                (None, None) => {
                    self.iterators.remove(&shard);
                    self.checkpoint.closed.push(shard.clone());
                    self.save()?;
                }
            }
        }
        Ok(read)
    }

    /// Hands one read's records to the dispatcher. Returns the sequence number to read again
    /// from when a record failed and has retries left.
    async fn handle(
        &mut self,
        shard: &str,
        records: &[Record],
        dispatch: &impl Dispatch,
    ) -> Result<Option<String>, String> {
        let Some(last) = records
            .last()
            .and_then(|r| r.dynamodb())
            .and_then(|d| d.sequence_number())
        else {
            return Ok(None);
        };
        let last = last.to_owned();
        let passed: Vec<EventRecord> = records
            .iter()
            .filter(|r| is_outbox_insert(r))
            .map(|r| event_record(r, &self.stream_arn, &self.region))
            .collect();
        let mut done_up_to = Some(last);
        let mut retry_at = None;
        if !passed.is_empty() {
            let newest = passed
                .iter()
                .map(|r| r.change.approximate_creation_date_time)
                .max()
                .unwrap_or_default();
            self.stats.iterator_age_ms = (Utc::now() - newest).num_milliseconds().max(0);
            // By partition key into parallel lanes, each lane in batches of BATCH_SIZE, in order.
            let mut lanes: Vec<Vec<EventRecord>> = vec![Vec::new(); PARALLELIZATION];
            for record in &passed {
                let key = record
                    .change
                    .keys
                    .get("pk")
                    .map(|v| format!("{v:?}"))
                    .unwrap_or_default();
                let lane = key
                    .bytes()
                    .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
                lanes[lane % PARALLELIZATION].push(record.clone());
            }
            let results =
                futures::future::join_all(lanes.into_iter().filter(|l| !l.is_empty()).map(
                    |lane| async move {
                        let mut invocations = 0u64;
                        for chunk in lane.chunks(BATCH_SIZE) {
                            let mut event = Event::default();
                            event.records = chunk.to_vec();
                            invocations += 1;
                            let failed: Vec<String> = match dispatch.dispatch(event).await {
                                Ok(response) => response
                                    .batch_item_failures
                                    .into_iter()
                                    .filter_map(|f| f.item_identifier)
                                    .collect(),
                                Err(error) => {
                                    eprintln!("dispatcher invocation failed: {error}");
                                    chunk
                                        .iter()
                                        .filter_map(|r| r.change.sequence_number.clone())
                                        .collect()
                                }
                            };
                            // A lane stops at its first failure: its later records wait, in order.
                            if !failed.is_empty() {
                                return (invocations, failed);
                            }
                        }
                        (invocations, Vec::new())
                    },
                ))
                .await;
            let failed: Vec<String> = results.iter().flat_map(|(_, f)| f.clone()).collect();
            self.stats.invocations += results.iter().map(|(n, _)| n).sum::<u64>();
            self.stats.records_handed += passed.len() as u64;
            if self
                .crash_after_invocations
                .is_some_and(|n| self.stats.invocations >= n)
            {
                eprintln!(
                    "stream reader: crashing after {} invocations, before its checkpoint",
                    self.stats.invocations
                );
                std::process::abort();
            }
            if let Some(first) = failed.iter().min_by(|a, b| seq_key(a).cmp(&seq_key(b))) {
                let tries = self.retries.entry(first.clone()).or_insert(0);
                *tries += 1;
                self.stats.retried += 1;
                if *tries > MAX_RETRIES {
                    self.retries.remove(first);
                    if let Some(record) = passed
                        .iter()
                        .find(|r| r.change.sequence_number.as_deref() == Some(first.as_str()))
                        .cloned()
                    {
                        self.on_failure(&record)?;
                    }
                    // Past it, as the mapping does: the rest of the read was handled.
                } else {
                    // Done up to the record before the first failure, read again from it.
                    done_up_to = records
                        .iter()
                        .filter_map(|r| r.dynamodb().and_then(|d| d.sequence_number()))
                        .filter(|s| seq_key(s) < seq_key(first))
                        .max_by(|a, b| seq_key(a).cmp(&seq_key(b)))
                        .map(str::to_owned)
                        .or_else(|| self.checkpoint.shards.get(shard).cloned().flatten());
                    retry_at = Some(first.clone());
                }
            }
        }
        self.checkpoint.shards.insert(shard.to_owned(), done_up_to);
        self.save()?;
        Ok(retry_at)
    }

    /// Polls until a poll reads nothing (at most `rounds` polls).
    pub async fn drain(&mut self, dispatch: &impl Dispatch, rounds: usize) -> Result<(), String> {
        for _ in 0..rounds {
            if self.poll(dispatch).await? == 0 {
                break;
            }
        }
        Ok(())
    }
}

//! Logs and metrics. Logs: JSON lines (with `AWS_LAMBDA_LOG_FORMAT=json`, as the template
//! sets) at `AWS_LAMBDA_LOG_LEVEL`/`RUST_LOG` (a level name), the request's span fields on
//! every line.
//!
//! Metrics: CloudWatch's embedded metric format (EMF): the `metrics` facade, collected
//! by `metrics_cloudwatch_embedded` and written to stdout as one JSON document per request
//! or sweep, which CloudWatch Logs turns into metrics (no API call, no extra latency).
//!
//! Namespace `Licensing`, dimension `Function`. Counters are integers, so amounts are
//! recorded exactly, in minor units per currency. Without `init` (tests, tools) every
//! metric is a no-op.

use metrics_cloudwatch_embedded::Collector;
use std::sync::OnceLock;

static COLLECTOR: OnceLock<&'static Collector> = OnceLock::new();

/// Installs the log subscriber and the EMF recorder for this process; call once from `main`.
pub fn init(function: &'static str) {
    init_logging();
    let built = metrics_cloudwatch_embedded::Builder::new()
        .cloudwatch_namespace("Licensing")
        .with_dimension("Function", function)
        .init();
    match built {
        Ok(collector) => {
            let _ = COLLECTOR.set(collector);
        }
        // Metrics are worth less than the request: log and go on without them.
        Err(e) => tracing::warn!(error = %e, "EMF metrics are off"),
    }
}

fn init_logging() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .ok()
        .and_then(|l| l.parse::<tracing::Level>().ok())
        .unwrap_or(tracing::Level::INFO);
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false)
        .without_time()
        .with_ansi(false);
    // Lambda stamps every line itself; a second clock would only disagree.
    // An error means a subscriber is already installed (a test harness's): keep that one.
    let _ = if json {
        builder.json().with_current_span(true).try_init()
    } else {
        builder.try_init()
    };
}

/// Writes what was recorded since the last flush as one EMF document, with the request id
/// as a property so a metric leads to its log lines.
pub fn flush(request_id: &str) {
    if let Err(e) = flush_to(std::io::stdout().lock(), request_id) {
        tracing::warn!(error = %e, "EMF flush failed");
    }
}

/// `flush` into any writer (one JSON document per line).
pub fn flush_to(writer: impl std::io::Write, request_id: &str) -> std::io::Result<()> {
    match COLLECTOR.get() {
        Some(collector) => collector
            .set_property("RequestId", request_id.to_owned())
            .flush(writer),
        None => Ok(()),
    }
}

/// One HTTP request: its DynamoDB calls and consumed capacity, and whether it failed.
pub fn request(status: u16, dynamodb_calls: u64, consumed_capacity: f64, cold_start: bool) {
    metrics::counter!("Requests").increment(1);
    if status >= 500 {
        metrics::counter!("ServerErrors").increment(1);
    } else if status >= 400 {
        metrics::counter!("ClientErrors").increment(1);
    }
    if cold_start {
        metrics::counter!("ColdStarts").increment(1);
    }
    metrics::counter!("DynamoDbCalls").increment(dynamodb_calls);
    metrics::histogram!("DynamoDbConsumedCapacity").record(consumed_capacity);
}

/// A committed purchase (not a replay): one purchase and its total in minor units.
pub fn purchase(currency: &str, total_minor: i64) {
    metrics::counter!("Purchases").increment(1);
    metrics::counter!("PurchasedMinorUnits", "Currency" => currency.to_owned())
        .increment(u64::try_from(total_minor).unwrap_or(0));
}

/// One sweep's figures, as the sweeper reads them off its reports (this module knows no use
/// case, so that everything may depend on it).
#[derive(Clone, Debug, Default)]
pub struct SweepFigures {
    pub rollovers: usize,
    pub invoices: usize,
    pub removals: usize,
    pub reminders: usize,
    pub failed_tenants: usize,
    pub deferred_tenants: usize,
    /// Outbox batches that were due when the dispatcher looked, delivered or not.
    pub outbox_batches: usize,
    pub outbox_failed: usize,
    pub outbox_dead: usize,
    pub outbox_oldest_age_secs: u64,
    pub consumed_capacity: f64,
}

/// One sweep: rollovers, invoices, removals, reminders, the outbox it delivered, and the
/// DynamoDB capacity it consumed.
pub fn sweep(figures: &SweepFigures) {
    let n = |v: usize| v as u64;
    let f = figures;
    metrics::counter!("Rollovers").increment(n(f.rollovers));
    metrics::counter!("PeriodInvoices").increment(n(f.invoices));
    metrics::counter!("SeatsRemoved").increment(n(f.removals));
    metrics::counter!("DeadlineReminders").increment(n(f.reminders));
    metrics::counter!("FailedTenants").increment(n(f.failed_tenants));
    metrics::counter!("DeferredTenants").increment(n(f.deferred_tenants));
    metrics::gauge!("OutboxDepth").set(f.outbox_batches as f64);
    metrics::gauge!("OutboxOldestAgeSeconds").set(f.outbox_oldest_age_secs as f64);
    metrics::counter!("OutboxDelivered").increment(n(f
        .outbox_batches
        .saturating_sub(f.outbox_failed + f.outbox_dead)));
    metrics::counter!("OutboxFailed").increment(n(f.outbox_failed));
    metrics::counter!("OutboxDeadLetters").increment(n(f.outbox_dead));
    metrics::histogram!("DynamoDbConsumedCapacity").record(f.consumed_capacity);
}

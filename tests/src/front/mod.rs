//! The local front of the run and test commands (docs/decisions/0007): `cargo lambda watch`
//! serves the production routes and Lambda's Invoke API and queues each invocation, with
//! `--only-lambda-apis`, so it starts no function itself; this front starts each function's
//! processes, restarts any that exits, and connects them to watch through the relay
//! (`relay.rs`), which hands every answer to watch whole.
//!
//! watch 1.9.2 left a process that exited in its pool for good, and every later request to
//! that function waited without end (`scheduler.rs`, `state.rs`); it answered successful
//! answers of some kilobytes with its own 500 now and then. Both are measured in BENCHMARKS.md
//! ("The local front").

pub mod relay;

use relay::Relay;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::Notify;

/// What the front runs.
pub struct Front {
    /// watch's address, where clients call the API (`127.0.0.1:9000`).
    pub watch: String,
    /// watch itself: program and arguments (`cargo-lambda lambda watch --only-lambda-apis …`).
    pub watch_command: Vec<String>,
    /// Where the function binaries are (`target/debug`).
    pub bin_dir: PathBuf,
    /// Each function and how many processes of it run at once.
    pub functions: Vec<(String, usize)>,
    /// Each function's timeout (the template's), sent as the invocation's deadline.
    pub timeouts: HashMap<String, Duration>,
    pub default_timeout: Duration,
    /// A process holding one invocation longer than its function's timeout and a minute, and
    /// at least this, is stopped, and the invocation answered as an error (Lambda stops a
    /// function at its timeout). Generous: debug builds.
    pub hang_after: Duration,
}

/// The processes to stop, by instance key (`{slot}-{generation}` of a function).
type Stops = Arc<std::sync::Mutex<HashMap<(String, String), Arc<Notify>>>>;

impl Front {
    /// Runs until watch exits (an error) or the process is stopped.
    pub async fn run(self) -> Result<(), String> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| format!("relay: {e}"))?;
        let relay_addr = listener.local_addr().map_err(|e| e.to_string())?;
        let relay = Arc::new(
            Relay::new(
                self.watch.clone(),
                self.timeouts.clone(),
                self.default_timeout,
            )
            .map_err(|e| e.to_string())?,
        );
        tokio::spawn(serve(listener, relay.clone()));
        let (program, args) = self.watch_command.split_first().ok_or("no watch command")?;
        // The run and test commands stop watch and every function process with the front, by
        // process group (scripts/lib.sh, stop_all).
        let mut watch = Command::new(program)
            .args(args)
            .spawn()
            .map_err(|e| format!("starting watch ({program}): {e}"))?;
        eprintln!(
            "local-front: relay on {relay_addr}, watch on {}",
            self.watch
        );
        tokio::spawn(relay.clone().answer_unrouted());
        let stops: Stops = Arc::default();
        for (function, count) in &self.functions {
            for slot in 0..*count {
                let process = Process {
                    function: function.clone(),
                    slot,
                    binary: self.bin_dir.join(function),
                    relay_addr,
                };
                tokio::spawn(process.supervise(relay.clone(), stops.clone()));
            }
        }
        tokio::spawn(stop_hung(relay, stops, self.hang_after));
        let status = watch.wait().await.map_err(|e| e.to_string())?;
        Err(format!("watch exited: {status}"))
    }
}

async fn serve(listener: TcpListener, relay: Arc<Relay>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("local-front: relay accept: {e}");
                continue;
            }
        };
        let relay = relay.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| relay.clone().serve(request));
            let io = hyper_util::rt::TokioIo::new(stream);
            // A function process that exits closes its connections: nothing to report.
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

/// Stops, once a second, every process that holds an invocation past `limit`.
async fn stop_hung(relay: Arc<Relay>, stops: Stops, limit: Duration) {
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        for key in relay.hung(limit) {
            let stop = stops
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .get(&key)
                .cloned();
            if let Some(stop) = stop {
                eprintln!(
                    "local-front: {} process {} hung past {limit:?}: stopping it",
                    key.0, key.1
                );
                stop.notify_one();
            }
        }
    }
}

/// One slot of a function: a process that is started again whenever it exits.
struct Process {
    function: String,
    slot: usize,
    binary: PathBuf,
    relay_addr: SocketAddr,
}

impl Process {
    async fn supervise(self, relay: Arc<Relay>, stops: Stops) {
        let mut backoff = Duration::from_millis(100);
        for generation in 0u64.. {
            let instance = format!("{}-{generation}", self.slot);
            let key = (self.function.clone(), instance.clone());
            let stop = Arc::new(Notify::new());
            stops
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(key.clone(), stop.clone());
            let started = Instant::now();
            let outcome = self.run_once(&instance, &stop, &relay).await;
            let lived = started.elapsed();
            stops.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
            relay.abandon(&self.function, &instance).await;
            eprintln!(
                "local-front: {} process {instance} ended after {lived:?}: {outcome}; starting it again",
                self.function,
            );
            // A process that keeps failing at start is not restarted in a tight loop.
            backoff = if lived > Duration::from_secs(10) {
                Duration::from_millis(100)
            } else {
                (backoff * 2).min(Duration::from_secs(5))
            };
            tokio::time::sleep(backoff).await;
        }
    }

    async fn run_once(&self, instance: &str, stop: &Notify, relay: &Relay) -> String {
        let runtime_api = format!(
            "http://{}/.rt/{}/{instance}",
            self.relay_addr, self.function
        );
        let child = Command::new(&self.binary)
            .env("AWS_LAMBDA_RUNTIME_API", runtime_api)
            .env("AWS_LAMBDA_FUNCTION_NAME", &self.function)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .stdin(Stdio::null())
            .spawn();
        let mut child = match child {
            Ok(child) => child,
            Err(e) => return format!("not started ({}): {e}", self.binary.display()),
        };
        match child.id() {
            Some(pid) => relay.started(&self.function, instance, pid),
            None => return "exited at once".to_owned(),
        }
        tokio::select! {
            status = child.wait() => match status {
                Ok(status) => status.to_string(),
                Err(e) => e.to_string(),
            },
            () = stop.notified() => {
                let _ = child.kill().await;
                "stopped: it held an invocation past the limit".to_owned()
            }
        }
    }
}

//! The relay between the function processes and `cargo lambda watch`'s Runtime API.
//!
//! watch 1.9.2 answers a function's `POST …/response` before it has read the body and hands
//! the unread body to the waiting client (`runtime/functions_router.rs`); a body that had not
//! fully arrived when the runtime's client moved on became the router's own text/plain 500.
//! Here the function's whole answer is read first, then written to watch in one piece on a
//! connection of its own that is read to its end (`post_whole`), so watch reads every byte
//! whatever it answers and whenever it reads. Each waiting `GET …/next` of a function has a
//! long poll of watch's queue; an invocation once claimed is never dropped: it goes to the
//! function's queue here, for whichever process of that function asks next (a process that
//! died while waiting loses nothing). An invocation whose process exits, or holds it past its
//! limit, or that cannot be handed on, is answered to watch as a function error, so no client
//! waits for an answer that will not come from a process that took its request.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

mod post;
use post::post_whole;

const RUNTIME: &str = "2018-06-01/runtime/";
const REQUEST_ID: &str = "lambda-runtime-aws-request-id";
const DEADLINE: &str = "lambda-runtime-deadline-ms";
const ERROR_TYPE: &str = "lambda-runtime-function-error-type";
/// watch sends unmatched routes to its default function (`_`); API Gateway answers them 404.
pub const UNROUTED: &str = "_";

/// One invocation claimed from watch, as its `GET …/next` answered it.
struct Invocation {
    id: String,
    headers: Vec<(String, String)>,
    body: Bytes,
}

struct Queue {
    tx: mpsc::UnboundedSender<Invocation>,
    rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>>,
    counts: Mutex<Counts>,
}

/// Calls waiting for an invocation of one function, and polls of watch running for them:
/// a poll is started only while there are fewer than calls, so calls that went away (their
/// process died) leave at most the polls they had.
#[derive(Default)]
struct Counts {
    waiting: usize,
    polls: usize,
}

impl Queue {
    fn counts(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// One call waiting on a queue, counted while it waits.
struct Waiting(Arc<Queue>);

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.counts().waiting -= 1;
    }
}

/// Who holds an invocation: the function, the process instance, since when.
struct Held {
    function: String,
    instance: String,
    since: Instant,
}

/// The invocations held by processes, and the processes alive, under one lock: an
/// invocation is never handed to a process already gone.
#[derive(Default)]
struct Holders {
    held: HashMap<String, Held>,
    /// Each process's id: a process killed a moment ago may still have a `GET …/next`
    /// waiting here, and is not handed anything.
    live: HashMap<(String, String), u32>,
}

pub struct Relay {
    watch: String,
    http: reqwest::Client,
    queues: Mutex<HashMap<String, Arc<Queue>>>,
    holders: Mutex<Holders>,
    timeouts: HashMap<String, Duration>,
    default_timeout: Duration,
}

type Answer = Response<Full<Bytes>>;

fn answer(status: StatusCode, body: &'static str) -> Answer {
    let mut response = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *response.status_mut() = status;
    response
}

impl Relay {
    /// `watch` is watch's address (`127.0.0.1:9000`); `timeouts` each function's configured
    /// timeout, sent as the invocation's deadline (watch itself always sends 600 000 ms after
    /// 1970, which a handler reads as long past).
    pub fn new(
        watch: String,
        timeouts: HashMap<String, Duration>,
        default_timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            watch,
            http: reqwest::Client::builder().no_proxy().build()?,
            queues: Mutex::new(HashMap::new()),
            holders: Mutex::new(Holders::default()),
            timeouts,
            default_timeout,
        })
    }

    fn queue(&self, function: &str) -> Arc<Queue> {
        let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
        queues
            .entry(function.to_owned())
            .or_insert_with(|| {
                let (tx, rx) = mpsc::unbounded_channel();
                Arc::new(Queue {
                    tx,
                    rx: Arc::new(tokio::sync::Mutex::new(rx)),
                    counts: Mutex::new(Counts::default()),
                })
            })
            .clone()
    }

    /// Serves one request of a function process: `/.rt/{function}/{instance}/2018-06-01/runtime/…`.
    pub async fn serve(
        self: Arc<Self>,
        request: Request<Incoming>,
    ) -> Result<Answer, hyper::Error> {
        let path = request.uri().path().to_owned();
        let Some((function, instance, call)) = split(&path) else {
            return Ok(answer(StatusCode::NOT_FOUND, "not a runtime API path"));
        };
        let (function, instance) = (function.to_owned(), instance.to_owned());
        if request.method() == Method::GET && call == "invocation/next" {
            return Ok(self.next(&function, &instance).await);
        }
        if request.method() != Method::POST {
            return Ok(answer(StatusCode::NOT_FOUND, "not a runtime API call"));
        }
        let error_type = request
            .headers()
            .get(ERROR_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = request.into_body().collect().await?.to_bytes();
        let Some(id) = call.strip_prefix("invocation/").and_then(|rest| {
            rest.strip_suffix("/response")
                .or(rest.strip_suffix("/error"))
        }) else {
            // `init/error`: watch 1.9.2 would answer the first queued invocation of whichever
            // function its map yields first with it; the process exits and is started again.
            eprintln!(
                "local-front: {function} failed to start: {}",
                String::from_utf8_lossy(&body)
            );
            return Ok(answer(StatusCode::ACCEPTED, r#"{"status":"OK"}"#));
        };
        let taken = self.holders().held.remove(id);
        if taken.is_none() {
            eprintln!("local-front: {function} answered {id}, which it no longer held");
        }
        let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
        headers.extend(error_type.map(|t| (ERROR_TYPE.to_owned(), t)));
        let upstream = format!("/.rt/{function}/{RUNTIME}{call}");
        match post_whole(&self.watch, &upstream, &headers, &body).await {
            Ok(status) if status < 300 => {}
            // watch answers 500 (or resets the connection) when nobody waits any more (the
            // client gave up): the answer has nowhere to go, and the function goes on.
            Ok(status) => eprintln!("local-front: watch answered {status} to {function}'s {call}"),
            Err(e) => {
                eprintln!("local-front: {function}'s {call} not handed to watch: {e}");
                self.fail(
                    &function,
                    id,
                    "Relay.Failed",
                    "the answer could not be handed on",
                )
                .await;
            }
        }
        Ok(answer(StatusCode::ACCEPTED, r#"{"status":"OK"}"#))
    }

    /// The next invocation of `function`, claimed from watch by a poll of this call's (or of
    /// an earlier call's that went away: nothing a poll claims is dropped).
    async fn take(self: &Arc<Self>, function: &str) -> (Arc<Queue>, Option<Invocation>) {
        let queue = self.queue(function);
        let spawn = {
            let mut counts = queue.counts();
            counts.waiting += 1;
            let spawn = counts.polls < counts.waiting;
            counts.polls += usize::from(spawn);
            spawn
        };
        let _waiting = Waiting(queue.clone());
        if spawn {
            tokio::spawn(self.clone().poll(function.to_owned(), queue.clone()));
        }
        let invocation = queue.rx.lock().await.recv().await;
        (queue, invocation)
    }

    async fn next(self: Arc<Self>, function: &str, instance: &str) -> Answer {
        let (queue, invocation) = self.take(function).await;
        let Some(invocation) = invocation else {
            return answer(StatusCode::INTERNAL_SERVER_ERROR, "relay stopped");
        };
        let timeout = self.timeout(function);
        let deadline = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            + timeout;
        {
            let mut holders = self.holders();
            let pid = holders
                .live
                .get(&(function.to_owned(), instance.to_owned()))
                .copied();
            if !pid.is_some_and(running) {
                // A call left behind by a process that has exited (or died and is not yet
                // reaped): the invocation goes to the next process that asks.
                drop(holders);
                let _ = queue.tx.send(invocation);
                return answer(StatusCode::GONE, "this process has exited");
            }
            holders.held.insert(
                invocation.id.clone(),
                Held {
                    function: function.to_owned(),
                    instance: instance.to_owned(),
                    since: Instant::now(),
                },
            );
        }
        let mut response = Response::new(Full::new(invocation.body));
        let headers = response.headers_mut();
        for (name, value) in invocation.headers {
            if name == DEADLINE {
                continue;
            }
            if let (Ok(n), Ok(v)) = (
                hyper::header::HeaderName::try_from(name),
                hyper::header::HeaderValue::try_from(value),
            ) {
                headers.insert(n, v);
            }
        }
        if let Ok(v) = hyper::header::HeaderValue::try_from(deadline.as_millis().to_string()) {
            headers.insert(DEADLINE, v);
        }
        response
    }

    fn timeout(&self, function: &str) -> Duration {
        self.timeouts
            .get(function)
            .copied()
            .unwrap_or(self.default_timeout)
    }

    /// Claims the next invocation of `function` from watch into its queue, retrying until it
    /// has one.
    async fn poll(self: Arc<Self>, function: String, queue: Arc<Queue>) {
        let url = format!(
            "http://{}/.rt/{function}/{RUNTIME}invocation/next",
            self.watch
        );
        loop {
            match self.claim(&function, &url).await {
                Ok(Some(invocation)) => {
                    queue.counts().polls -= 1;
                    if queue.tx.send(invocation).is_err() {
                        eprintln!("local-front: {function}'s queue is closed");
                    }
                    return;
                }
                Ok(None) => {}
                // Until watch listens, at start.
                Err(e) if e.is_connect() => {}
                Err(e) => eprintln!("local-front: polling watch for {function}: {e}"),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// One long poll. Once watch has named the invocation, a failure to take it is answered
    /// to watch as an error: watch may already have taken it off its queue.
    async fn claim(&self, function: &str, url: &str) -> Result<Option<Invocation>, reqwest::Error> {
        let response = self.http.get(url).send().await?;
        let id = response
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        if response.status() != reqwest::StatusCode::OK {
            if let Some(id) = id {
                let why = format!("watch answered {} to a poll", response.status());
                self.fail(function, &id, "Relay.Failed", &why).await;
            }
            return Ok(None);
        }
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .filter(|(name, _)| name.as_str().starts_with("lambda-runtime-"))
            .filter_map(|(name, value)| Some((name.to_string(), value.to_str().ok()?.to_owned())))
            .collect();
        let Some(id) = headers
            .iter()
            .find(|(name, _)| name == REQUEST_ID)
            .map(|(_, v)| v.clone())
        else {
            return Ok(None);
        };
        match response.bytes().await {
            Ok(body) => Ok(Some(Invocation { id, headers, body })),
            Err(e) => {
                let why = format!("the invocation could not be read: {e}");
                self.fail(function, &id, "Relay.Failed", &why).await;
                Ok(None)
            }
        }
    }

    fn holders(&self) -> std::sync::MutexGuard<'_, Holders> {
        self.holders.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The process `instance` of `function` has started as `pid`.
    pub fn started(&self, function: &str, instance: &str, pid: u32) {
        self.holders()
            .live
            .insert((function.to_owned(), instance.to_owned()), pid);
    }

    /// The process `instance` of `function` is gone: what it held is answered as an error.
    pub async fn abandon(&self, function: &str, instance: &str) {
        let ids: Vec<String> = {
            let mut holders = self.holders();
            holders
                .live
                .remove(&(function.to_owned(), instance.to_owned()));
            let held = &mut holders.held;
            let ids: Vec<String> = held
                .iter()
                .filter(|(_, h)| h.function == function && h.instance == instance)
                .map(|(id, _)| id.clone())
                .collect();
            for id in &ids {
                held.remove(id);
            }
            ids
        };
        for id in ids {
            eprintln!("local-front: {function} process {instance} exited holding {id}");
            self.fail(
                function,
                &id,
                "Runtime.ExitError",
                "the function's process exited",
            )
            .await;
        }
    }

    /// The processes holding an invocation for longer than their function's timeout and a
    /// minute, and at least `floor` (debug builds are slower than the deployed ones), to be
    /// stopped as Lambda stops a function at its timeout.
    pub fn hung(&self, floor: Duration) -> Vec<(String, String)> {
        self.holders()
            .held
            .values()
            .filter(|h| {
                h.since.elapsed() > floor.max(self.timeout(&h.function) + Duration::from_secs(60))
            })
            .map(|h| (h.function.clone(), h.instance.clone()))
            .collect()
    }

    async fn fail(&self, function: &str, id: &str, kind: &str, message: &str) {
        let body = serde_json::json!({"errorType": kind, "errorMessage": message}).to_string();
        let headers = [
            ("content-type".to_owned(), "application/json".to_owned()),
            (ERROR_TYPE.to_owned(), kind.to_owned()),
        ];
        let path = format!("/.rt/{function}/{RUNTIME}invocation/{id}/error");
        if let Err(e) = post_whole(&self.watch, &path, &headers, body.as_bytes()).await {
            eprintln!("local-front: the error for {id} not handed to watch: {e}");
        }
    }

    /// Answers every request watch routes to no function as API Gateway does: 404
    /// `{"message":"Not Found"}`.
    pub async fn answer_unrouted(self: Arc<Self>) {
        loop {
            let Some(invocation) = self.take(UNROUTED).await.1 else {
                return;
            };
            // Every field, as lambda_http writes them: watch reads the answer strictly.
            let body = serde_json::json!({
                "statusCode": 404,
                "headers": {"content-type": "application/json"},
                "multiValueHeaders": {},
                "body": r#"{"message":"Not Found"}"#,
                "isBase64Encoded": false,
                "cookies": [],
            })
            .to_string();
            let path = format!(
                "/.rt/{UNROUTED}/{RUNTIME}invocation/{}/response",
                invocation.id
            );
            let headers = [("content-type".to_owned(), "application/json".to_owned())];
            if let Err(e) = post_whole(&self.watch, &path, &headers, body.as_bytes()).await {
                eprintln!("local-front: a 404 not handed to watch: {e}");
            }
        }
    }
}

/// Whether process `pid` still runs: not gone, not a zombie waiting to be reaped. Where there
/// is no `/proc` to ask, it is taken to run.
fn running(pid: u32) -> bool {
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    // The state follows the command's closing parenthesis: "pid (comm) S …".
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next());
    !matches!(state, Some('Z' | 'X') | None)
}

/// `/.rt/{function}/{instance}/2018-06-01/runtime/{call}` → (function, instance, call).
fn split(path: &str) -> Option<(&str, &str, &str)> {
    let rest = path.strip_prefix("/.rt/")?;
    let (function, rest) = rest.split_once('/')?;
    let (instance, rest) = rest.split_once('/')?;
    Some((function, instance, rest.strip_prefix(RUNTIME)?))
}

#[cfg(test)]
mod tests {
    use super::split;

    #[test]
    fn this_process_runs_and_a_pid_that_is_not_used_does_not() {
        assert!(super::running(std::process::id()));
        assert!(!super::running(u32::MAX));
    }

    #[test]
    fn a_runtime_path_names_its_function_instance_and_call() {
        assert_eq!(
            split("/.rt/status/3-1/2018-06-01/runtime/invocation/next"),
            Some(("status", "3-1", "invocation/next"))
        );
        assert_eq!(
            split("/.rt/users/0-2/2018-06-01/runtime/invocation/abc/response"),
            Some(("users", "0-2", "invocation/abc/response"))
        );
        assert_eq!(
            split("/.rt/status/2018-06-01/runtime/invocation/next"),
            None
        );
        assert_eq!(split("/v1/account"), None);
    }
}

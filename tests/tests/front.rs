//! The local front answers every request with the function's own answer (docs/decisions/0007):
//! under load, under a burst on one function, and after clients that gave up. Each was a
//! failure of a bare `cargo lambda watch` 1.9.2 (BENCHMARKS.md, "The local front").

use futures::StreamExt;
use licensing_tests::http::{Api, require_api};
use licensing_tests::unique;
use reqwest::{Client, StatusCode};
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

/// The page's script, as the page loads it (the built `index.html` names it).
async fn script_path(http: &Client, url: &str) -> String {
    let html = http
        .get(format!("{url}/"))
        .send()
        .await
        .expect("GET /")
        .text()
        .await
        .expect("the page");
    let start = html.find("/assets/").expect("the page names its script");
    let end = start + html[start..].find(".js").expect("a .js asset") + 3;
    html[start..end].to_owned()
}

/// What the client got, and whether the function gave it: the router's own failures are
/// text/plain (watch's problem documents), every answer of ours is not.
async fn load(http: &Client, url: &str) -> Result<usize, String> {
    let response = http.get(url).send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = response.bytes().await.map_err(|e| e.to_string())?;
    if status != StatusCode::OK || content_type.starts_with("text/plain") {
        return Err(format!("{status} {content_type}"));
    }
    Ok(body.len())
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn the_pages_script_loads_5000_times_at_16_in_flight_each_answered_by_the_function() {
    let api: Api = require_api();
    let script = script_path(&api.http, &api.url).await;
    let url = format!("{}{script}", api.url);
    let outcomes: Vec<Result<usize, String>> = futures::stream::iter(0..5000)
        .map(|_| load(&api.http, &url))
        .buffer_unordered(16)
        .collect()
        .await;
    let failures: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert!(
        failures.is_empty(),
        "{} of 5000 loads failed, first {:?}",
        failures.len(),
        failures.first()
    );
    let sizes: std::collections::BTreeSet<usize> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok().copied())
        .collect();
    assert_eq!(sizes.len(), 1, "every load got the same script: {sizes:?}");
}

#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn forty_eight_concurrent_account_reads_all_answer_200_within_60_s() {
    let api: Api = require_api();
    let tenant = unique("burst");
    api.tenant(&tenant, 10).await;
    let bearer = api.user(&tenant, "ada");
    let started = Instant::now();
    let reads = (0..48).map(|_| {
        api.http
            .get(format!("{}/v1/account", api.url))
            .bearer_auth(&bearer)
            .timeout(Duration::from_secs(60))
            .send()
    });
    let answers = futures::future::join_all(reads).await;
    let statuses: Vec<String> = answers
        .iter()
        .map(|a| match a {
            Ok(r) => r.status().to_string(),
            Err(e) => e.to_string(),
        })
        .collect();
    assert!(
        statuses.iter().all(|s| s.starts_with("200")),
        "{statuses:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(60));
}

/// A method or path no route has is answered as API Gateway answers it, 404
/// `{"message":"Not Found"}`, by the front (watch hands such requests to its default
/// function), never by a 5xx.
#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn a_request_no_route_takes_is_404_as_on_api_gateway() {
    let api: Api = require_api();
    for (method, path) in [
        ("TRACE", "/v1/account"),
        ("DELETE", "/v1/account"),
        ("GET", "/v1/nowhere"),
    ] {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("a method");
        let answer = api
            .http
            .request(method.clone(), format!("{}{path}", api.url))
            .send()
            .await
            .expect("answered");
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{method} {path}");
        assert_eq!(answer.headers()["content-type"], "application/json");
        assert_eq!(
            answer.text().await.expect("body"),
            r#"{"message":"Not Found"}"#
        );
    }
}

/// Clients that give up while the function works (timeouts of 1 to 24 ms, shorter than a
/// users read takes here) leave the function able to answer the next requests, promptly: on a
/// bare watch each such answer met a 500 from watch on its way back.
#[tokio::test]
#[ignore = "needs the local API: ./scripts/test.sh runs it"]
async fn clients_that_give_up_mid_request_do_not_stop_the_next_ones_being_answered() {
    let api: Api = require_api();
    let tenant = unique("gives-up");
    api.tenant(&tenant, 10).await;
    let bearer = api.user(&tenant, "ada");
    let impatient = (1..=24).map(|ms| {
        api.http
            .get(format!("{}/v1/users", api.url))
            .bearer_auth(&bearer)
            .timeout(Duration::from_millis(ms))
            .send()
    });
    let gave_up = futures::future::join_all(impatient)
        .await
        .iter()
        .filter(|a| a.is_err())
        .count();
    assert!(gave_up > 0, "no client gave up before its answer");
    eight_users_reads_answer_within_a_minute(&api, &bearer).await;
}

/// Every process of one function killed at once (a crash, the OOM killer): the front starts
/// them again and the next requests are answered. Run on its own by the test command, after
/// the suites: requests in flight to that function when it dies are answered as errors.
#[tokio::test]
#[ignore = "kills the users function's processes: ./scripts/test.sh runs it on its own"]
async fn every_users_process_killed_at_once_is_started_again_and_answers() {
    let api: Api = require_api();
    let tenant = unique("killed");
    api.tenant(&tenant, 10).await;
    let bearer = api.user(&tenant, "ada");
    let killed = kill_processes_of("users");
    assert!(killed > 0, "no users process found to kill");
    eight_users_reads_answer_within_a_minute(&api, &bearer).await;
}

/// Eight concurrent `GET /v1/users`, each the function's 200, all within a minute.
async fn eight_users_reads_answer_within_a_minute(api: &Api, bearer: &str) {
    let started = Instant::now();
    let reads = (0..8).map(|_| {
        api.http
            .get(format!("{}/v1/users", api.url))
            .bearer_auth(bearer)
            .timeout(Duration::from_secs(60))
            .send()
    });
    for answer in futures::future::join_all(reads).await {
        let answer = answer.expect("answered within 60 s");
        assert_eq!(answer.status(), StatusCode::OK);
        assert_eq!(
            answer.headers()["content-type"],
            "application/json",
            "the function's answer"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
}

/// Kills (SIGKILL) every process whose program is this workspace's debug build of the
/// function `name` (not another checkout's); how many.
fn kill_processes_of(name: &str) -> usize {
    let binary = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/debug")
        .join(name)
        .canonicalize()
        .expect("the function's debug build");
    let mut killed = 0;
    for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let program = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        let program = std::path::Path::new(std::ffi::OsStr::from_bytes(program));
        if program.canonicalize().is_ok_and(|p| p == binary) {
            let status = std::process::Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status()
                .expect("kill");
            killed += usize::from(status.success());
            // A request handed to a process while it dies is lost with it (on Lambda too):
            // the reads start once it is gone (reaped, or a zombie).
            let stat = entry.path().join("stat");
            for _ in 0..500 {
                match std::fs::read_to_string(&stat) {
                    Ok(s)
                        if !s
                            .rsplit_once(')')
                            .is_some_and(|(_, r)| r.trim_start().starts_with(['Z', 'X'])) =>
                    {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    _ => break,
                }
            }
        }
    }
    killed
}

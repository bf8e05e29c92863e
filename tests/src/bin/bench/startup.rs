//! `bench startup`: process start to the first `invocation/next` request, under a stub
//! Lambda Runtime API.

use std::time::Instant;

/// A function's process under the stub Runtime API at `address`, with a Lambda environment
/// and the licensing settings, `extra` over them; its output dropped.
fn function_process(bootstrap: &str, address: &str, extra: &[(&str, &str)]) -> std::process::Child {
    use std::process::{Command, Stdio};
    let mut command = Command::new(bootstrap);
    command
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "bench")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/bench")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
        .env("AWS_REGION", "eu-west-1")
        .env("AWS_ACCESS_KEY_ID", "bench")
        .env("AWS_SECRET_ACCESS_KEY", "bench")
        .env("LICENSING_TABLE", "licensing")
        .env("LICENSING_EVENT_BUS", "licensing")
        .env("LICENSING_MAIL_FROM", "licensing@example.com")
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command.spawn().expect("spawn the bootstrap")
}

/// Starts `bootstrap` `runs` times against a stub Runtime API on loopback and measures the
/// time from spawning the process to its first `GET …/runtime/invocation/next`: all its
/// start-up work (runtime, SDK configuration, clients) is done by then.
pub(crate) fn startup(bootstrap: &str, runs: u64) {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    listener.set_nonblocking(true).expect("nonblocking");
    let mut micros = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = function_process(bootstrap, &address, &[]);
        let stream = loop {
            match listener.accept() {
                Ok((stream, _)) => break stream,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    assert!(
                        started.elapsed() < std::time::Duration::from_secs(5),
                        "the function never asked for an invocation"
                    );
                    if let Ok(Some(status)) = child.try_wait() {
                        panic!("the function exited before asking: {status}");
                    }
                    std::thread::sleep(std::time::Duration::from_micros(50));
                }
                Err(e) => panic!("accept: {e}"),
            }
        };
        stream.set_nonblocking(false).expect("blocking");
        let mut line = String::new();
        BufReader::new(&stream)
            .read_line(&mut line)
            .expect("request line");
        let elapsed = started.elapsed();
        assert!(
            line.starts_with("GET /2018-06-01/runtime/invocation/next"),
            "{line}"
        );
        micros.push(elapsed.as_micros() as u64);
        let _ = child.kill();
        let _ = child.wait();
    }
    micros.sort_unstable();
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    println!(
        "{bootstrap}: start to ready for the first request over {runs} runs: min {:.2} ms, p50 {:.2} ms, p95 {:.2} ms, max {:.2} ms",
        at(0.0),
        at(0.5),
        at(0.95),
        at(1.0)
    );
}

/// One HTTP/1.1 request read off `stream`: its request line and body (`None` at EOF).
fn read_request(stream: &mut std::net::TcpStream) -> Option<(String, Vec<u8>)> {
    use std::io::Read;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&head).into_owned();
    let length: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    Some((head.lines().next().unwrap_or_default().to_owned(), body))
}

/// The next request of the function, on its connection or, when it closed it, a new one.
fn next_request(
    listener: &std::net::TcpListener,
    stream: &mut Option<std::net::TcpStream>,
) -> (String, Vec<u8>) {
    loop {
        if let Some(request) = stream.as_mut().and_then(read_request) {
            return request;
        }
        let (accepted, _) = listener.accept().expect("accept");
        accepted
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .expect("a read timeout");
        // An event is written in one piece; without this, Nagle's algorithm against the
        // function's delayed ACK adds 40 ms to an answer that is not the function's.
        accepted.set_nodelay(true).expect("no delay");
        *stream = Some(accepted);
    }
}

/// `GET /v1/account` as API Gateway's HTTP API hands it to the function.
fn account_event(token: &str) -> String {
    serde_json::json!({
        "version": "2.0", "routeKey": "GET /v1/account", "rawPath": "/v1/account",
        "rawQueryString": "", "headers": {"authorization": format!("Bearer {token}")},
        "requestContext": {"accountId": "1", "apiId": "bench", "domainName": "localhost",
            "domainPrefix": "localhost", "requestId": "bench", "routeKey": "GET /v1/account",
            "stage": "$default", "time": "05/Dec/2026:18:00:00 +0000", "timeEpoch": 0,
            "http": {"method": "GET", "path": "/v1/account", "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1", "userAgent": "bench"}},
        "isBase64Encoded": false
    })
    .to_string()
}

/// `bench first-request <bootstrap> [runs]`: an HTTP function's init (start to its first
/// `invocation/next`), then its first and second answers, each from handing it the event to
/// its response, against the DynamoDB endpoint of `AWS_ENDPOINT_URL_DYNAMODB` and the table
/// of `LICENSING_TABLE`. The request reads the table (a tenant that does not exist): with the
/// connection opened during init, the first answer costs what the second does.
pub(crate) fn first_request(bootstrap: &str, runs: u64) {
    use std::io::Write;
    let endpoint = std::env::var("AWS_ENDPOINT_URL_DYNAMODB").expect("AWS_ENDPOINT_URL_DYNAMODB");
    let table = std::env::var("LICENSING_TABLE").unwrap_or_else(|_| "licensing".into());
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "eu-west-1".into());
    let key = std::env::var("AWS_ACCESS_KEY_ID").unwrap_or_else(|_| "local".into());
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let token = licensing_tests::token("bench-secret", "ada", Some("no-such-tenant"), None, 600);
    let event = account_event(&token);
    let (mut init, mut first, mut second) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let started = Instant::now();
        // DynamoDB Local keeps tables per access key and region: the table's own.
        let mut child = function_process(
            bootstrap,
            &address,
            &[
                ("AWS_REGION", &region),
                ("AWS_ACCESS_KEY_ID", &key),
                ("AWS_ENDPOINT_URL_DYNAMODB", &endpoint),
                ("LICENSING_TABLE", &table),
                ("LICENSING_JWT_SECRET", "bench-secret"),
            ],
        );
        let mut stream = None;
        let (line, _) = next_request(&listener, &mut stream);
        assert!(line.contains("/invocation/next"), "{line}");
        init.push(started.elapsed());
        for (n, took) in [(1, &mut first), (2, &mut second)] {
            let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
            let handed = Instant::now();
            let connection = stream.as_mut().expect("the function's connection");
            let handover = format!(
                "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: r{n}\r\nLambda-Runtime-Deadline-Ms: {deadline}\r\nLambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:eu-west-1:1:function:bench\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{event}",
                event.len()
            );
            connection
                .write_all(handover.as_bytes())
                .expect("hand the event over");
            let (line, body) = next_request(&listener, &mut stream);
            took.push(handed.elapsed());
            assert!(
                line.contains(&format!("/invocation/r{n}/response")),
                "{line}"
            );
            let answer: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            // A tenant that does not exist answers 401, after its read of the table.
            assert_eq!(answer["statusCode"], 401, "{answer}");
            let connection = stream.as_mut().expect("the function's connection");
            connection
                .write_all(b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")
                .expect("ack");
            if n == 1 {
                let (line, _) = next_request(&listener, &mut stream);
                assert!(line.contains("/invocation/next"), "{line}");
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    let at = |v: &mut Vec<std::time::Duration>, q: f64| {
        v.sort_unstable();
        v[((v.len() - 1) as f64 * q).round() as usize].as_secs_f64() * 1000.0
    };
    println!(
        "{bootstrap} over {runs} cold starts: init p50 {:.1} ms; first answer p50 {:.2} ms, p95 {:.2} ms; second answer p50 {:.2} ms, p95 {:.2} ms",
        at(&mut init, 0.5),
        at(&mut first, 0.5),
        at(&mut first, 0.95),
        at(&mut second, 0.5),
        at(&mut second, 0.95)
    );
}

//! `bench startup`: process start to the first `invocation/next` request, under a stub
//! Lambda Runtime API.

use std::time::Instant;

/// Starts `bootstrap` `runs` times against a stub Runtime API on loopback and measures the
/// time from spawning the process to its first `GET …/runtime/invocation/next`: all its
/// start-up work (runtime, SDK configuration, clients) is done by then.
pub(crate) fn startup(bootstrap: &str, runs: u64) {
    use std::io::{BufRead, BufReader};
    use std::net::TcpListener;
    use std::process::{Command, Stdio};
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    listener.set_nonblocking(true).expect("nonblocking");
    let mut micros = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let mut child = Command::new(bootstrap)
            .env_clear()
            .env("AWS_LAMBDA_RUNTIME_API", &address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "startup-bench")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/startup-bench")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ACCESS_KEY_ID", "bench")
            .env("AWS_SECRET_ACCESS_KEY", "bench")
            .env("LICENSING_TABLE", "licensing")
            .env("LICENSING_EVENT_BUS", "licensing")
            .env("LICENSING_MAIL_FROM", "licensing@example.com")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn the bootstrap");
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

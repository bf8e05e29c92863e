//! The local front (`licensing_tests::front`): the run and test commands start it in place of
//! a bare `cargo lambda watch`.
//!
//! `local-front --watch 127.0.0.1:9000 --bin-dir target/debug --function status=4 …
//!  [--timeout sweeper=900] [--default-timeout 10] [--hang-after 300] -- <watch command…>`

use licensing_tests::front::Front;
use std::collections::HashMap;
use std::time::Duration;

fn parse(args: &[String]) -> Result<Front, String> {
    let split = args
        .iter()
        .position(|a| a == "--")
        .ok_or("-- <watch command> missing")?;
    let (flags, watch_command) = (&args[..split], args[split + 1..].to_vec());
    let mut front = Front {
        watch: String::new(),
        watch_command,
        bin_dir: "target/debug".into(),
        functions: Vec::new(),
        timeouts: HashMap::new(),
        default_timeout: Duration::from_secs(10),
        hang_after: Duration::from_secs(300),
    };
    let mut it = flags.iter();
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let pair = || -> Result<(String, u64), String> {
            let (name, n) = value
                .split_once('=')
                .ok_or(format!("{flag} takes NAME=N"))?;
            Ok((
                name.to_owned(),
                n.parse().map_err(|e| format!("{flag} {value}: {e}"))?,
            ))
        };
        let secs = || -> Result<Duration, String> {
            Ok(Duration::from_secs(
                value.parse().map_err(|e| format!("{flag}: {e}"))?,
            ))
        };
        match flag.as_str() {
            "--watch" => front.watch = value.clone(),
            "--bin-dir" => front.bin_dir = value.into(),
            "--function" => {
                let (name, n) = pair()?;
                if n == 0 || front.functions.iter().any(|(f, _)| *f == name) {
                    return Err(format!("--function {value}: once per function, at least 1"));
                }
                front.functions.push((name, n as usize));
            }
            "--timeout" => {
                let (name, n) = pair()?;
                front.timeouts.insert(name, Duration::from_secs(n));
            }
            "--default-timeout" => front.default_timeout = secs()?,
            "--hang-after" => front.hang_after = secs()?,
            other => return Err(format!("unknown flag {other}")),
        }
    }
    if front.watch.is_empty() {
        return Err("--watch missing".into());
    }
    Ok(front)
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let outcome = match parse(&args) {
        Ok(front) => front.run().await,
        Err(e) => Err(e),
    };
    if let Err(e) = outcome {
        eprintln!("local-front: {e}");
        std::process::exit(1);
    }
}

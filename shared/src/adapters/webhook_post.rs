//! The webhook sender's one job (R38): POST a signed message to a tenant's endpoint, having
//! checked every address its name resolves to and connecting only to those, in
//! [`SEND_TIMEOUT_SECS`] at most, following no redirect, and keep the start of the answer.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::domain::webhooks::{
    Answer, Post, SEND_TIMEOUT_SECS, answer_start, check_url, refuse_address,
};

/// How the sender reaches endpoints: whether private addresses are allowed (a deployment
/// setting, `LICENSING_WEBHOOKS_ALLOW_PRIVATE=1`, which only a local run sets).
pub struct Poster {
    pub allow_private: bool,
    pub timeout: Duration,
}

impl Poster {
    pub fn new(allow_private: bool) -> Self {
        Self {
            allow_private,
            timeout: Duration::from_secs(SEND_TIMEOUT_SECS),
        }
    }
}

fn failed(started: Instant, error: String) -> Answer {
    Answer {
        status: None,
        latency_ms: started.elapsed().as_millis() as u64,
        answer: String::new(),
        error: Some(error),
    }
}

/// The addresses `host` resolves to, each one checked: one refused address refuses the name
/// (a name that resolves to a public and a private address is a rebinding attempt).
pub async fn resolve(
    host: &str,
    port: u16,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("{host} does not resolve: {e}"))?
        .collect();
    if addresses.is_empty() {
        return Err(format!("{host} resolves to no address"));
    }
    for address in &addresses {
        refuse_address(address.ip(), allow_private).map_err(|e| format!("{host}: {e}"))?;
    }
    Ok(addresses)
}

/// Sends `message` and says what came of it; never fails (a failure is an answer without a
/// status, with its error).
pub async fn post(poster: &Poster, message: &Post) -> Answer {
    let started = Instant::now();
    match tokio::time::timeout(poster.timeout, send(poster, message, started)).await {
        Ok(answer) => answer,
        Err(_) => failed(
            started,
            format!(
                "timed out: no answer within {} ms",
                poster.timeout.as_millis()
            ),
        ),
    }
}

async fn send(poster: &Poster, message: &Post, started: Instant) -> Answer {
    let target = match check_url(&message.url, poster.allow_private) {
        Ok(target) => target,
        Err(e) => return failed(started, e.to_string()),
    };
    let addresses = match target.literal {
        Some(ip) => vec![SocketAddr::new(ip, target.port)],
        None => match resolve(&target.host, target.port, poster.allow_private).await {
            Ok(addresses) => addresses,
            Err(e) => return failed(started, e),
        },
    };
    // The connection goes to the addresses checked, not to a second lookup's answer.
    let client = match reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // A proxy from the environment would connect to the name itself, not to the
        // addresses checked.
        .no_proxy()
        .timeout(poster.timeout)
        .resolve_to_addrs(&target.host, &addresses)
        .user_agent("licensing-webhooks/1")
        .build()
    {
        Ok(client) => client,
        Err(e) => return failed(started, format!("client: {e}")),
    };
    let sent = client
        .post(&target.url)
        .header("content-type", "application/json")
        .header("webhook-id", &message.webhook_id)
        .header("webhook-timestamp", message.timestamp.to_string())
        .header("webhook-signature", &message.signature)
        .body(message.body.clone())
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(e) => return failed(started, without_url(&e)),
    };
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_millis() as u64;
    let mut body = Vec::new();
    while body.len() < crate::domain::webhooks::ANSWER_KEPT_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    Answer {
        status: Some(status),
        latency_ms,
        answer: answer_start(&String::from_utf8_lossy(&body)),
        error: None,
    }
}

/// The error without the URL, which may carry a tenant's token in its query.
fn without_url(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_request() {
        "the request failed"
    } else {
        "failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(e) = source {
        detail = e.to_string();
        source = e.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

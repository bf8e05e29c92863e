//! Sent mail, read from whichever engine serves SES v2 (`AWS_ENDPOINT_URL_SESV2`, else
//! `AWS_ENDPOINT_URL`): moto keeps what it accepted in `/moto-api/data.json`; LocalStack keeps
//! what its SES accepted at `/_aws/ses`. The tests see one shape either way.

use serde_json::Value;

/// One sent mail: its first recipient, subject and body (the HTML part: moto keeps only that
/// when a mail has both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// Where SES v2 is served, as the SDK resolves it.
pub fn ses_endpoint() -> Option<String> {
    ["AWS_ENDPOINT_URL_SESV2", "AWS_ENDPOINT_URL"]
        .into_iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
}

/// Every mail the engine serving SES v2 accepted, oldest first. A failed read is tried again
/// for up to a minute, less and less often: moto serializes its whole state for each read,
/// and the requests changing that state meanwhile (a burst of events can last 20 s late in a
/// test run) can fail it.
pub async fn sent_mail(http: &reqwest::Client) -> Result<Vec<SentMail>, String> {
    let started = std::time::Instant::now();
    let mut pause = std::time::Duration::from_millis(250);
    let mut failed = Vec::new();
    loop {
        match read_sent_mail(http).await {
            Ok(sent) => return Ok(sent),
            Err(e) => failed.push(e),
        }
        if started.elapsed() > std::time::Duration::from_secs(60) {
            return Err(failed.join("; "));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_secs(2));
    }
}

async fn read_sent_mail(http: &reqwest::Client) -> Result<Vec<SentMail>, String> {
    let base = ses_endpoint().ok_or("no SES endpoint set")?;
    let get = |path: &str| {
        let url = format!("{base}{path}");
        async move {
            let answer = http.get(&url).send().await.map_err(|e| e.to_string())?;
            if answer.status() == reqwest::StatusCode::NOT_FOUND {
                return Ok(None);
            }
            if !answer.status().is_success() {
                return Err(format!("{url}: {}", answer.status()));
            }
            answer
                .json::<Value>()
                .await
                .map(Some)
                .map_err(|e| format!("{url}: {e}"))
        }
    };
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    if let Some(moto) = get("/moto-api/data.json").await? {
        return Ok(moto["ses"]["Message"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| SentMail {
                to: text(&m["destinations"]["ToAddresses"][0]),
                subject: text(&m["subject"]),
                body: text(&m["body"]),
            })
            .collect());
    }
    if let Some(localstack) = get("/_aws/ses").await? {
        return Ok(localstack["messages"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| SentMail {
                to: text(&m["Destination"]["ToAddresses"][0]),
                subject: text(&m["Subject"]),
                body: {
                    let html = text(&m["Body"]["html_part"]);
                    if html.is_empty() {
                        text(&m["Body"]["text_part"])
                    } else {
                        html
                    }
                },
            })
            .collect());
    }
    Err(format!(
        "{base} keeps no sent mail where moto or LocalStack do"
    ))
}

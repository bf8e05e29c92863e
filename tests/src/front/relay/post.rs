//! Posting an answer to watch whole, on a connection of its own.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// POSTs `body` to watch (`post_once`), trying a refused connection twice more.
pub(super) async fn post_whole(
    watch: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<u16> {
    let mut tries = 0;
    loop {
        match post_once(watch, path, headers, body).await {
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused && tries < 2 => {
                tries += 1;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            outcome => return outcome,
        }
    }
}

/// POSTs `body` to watch on a connection of its own: the whole request is written before
/// anything is read, and the connection is read to its end (watch closes it once it has read
/// the body and answered: `connection: close`), so watch can read the body at any time before
/// or after it answers, and no reset cuts it short. The write side stays open: watch's hyper
/// drops a request whose client half-closes before the answer. Returns watch's status.
async fn post_once(
    watch: &str,
    path: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> std::io::Result<u16> {
    let mut stream = TcpStream::connect(watch).await?;
    let mut head = format!(
        "POST {path} HTTP/1.1\r\nhost: {watch}\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(60), stream.read_to_end(&mut answer))
        .await
        .map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "watch kept the connection")
        })??;
    let status = std::str::from_utf8(answer.get(..12).unwrap_or_default())
        .ok()
        .and_then(|line| line.get(9..12))
        .and_then(|code| code.parse().ok());
    status.ok_or_else(|| {
        std::io::Error::new(std::io::ErrorKind::InvalidData, "no HTTP status from watch")
    })
}

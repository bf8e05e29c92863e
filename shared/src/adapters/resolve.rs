//! Names resolved by the system's resolver (R38's registration check), given a few seconds.

use std::net::IpAddr;
use std::time::Duration;

use crate::ports::Resolve;

/// A name that takes longer than this to resolve is refused: a registration must answer.
const RESOLVE_SECS: u64 = 3;

pub struct SystemResolver;

impl Resolve for SystemResolver {
    async fn resolve(&self, host: &str, port: u16) -> Result<Vec<IpAddr>, String> {
        match tokio::time::timeout(
            Duration::from_secs(RESOLVE_SECS),
            tokio::net::lookup_host((host, port)),
        )
        .await
        {
            Ok(Ok(addresses)) => Ok(addresses.map(|a| a.ip()).collect()),
            Ok(Err(e)) => Err(format!("{host} does not resolve: {e}")),
            Err(_) => Err(format!("{host} did not resolve within {RESOLVE_SECS} s")),
        }
    }
}

//! A pool of licences: the core user licences or one module (R1).

use serde::{Deserialize, Serialize};
use std::fmt;

use super::error::DomainError;
use super::money::Amount;

/// `licences` for the core user licences, otherwise a module id (`crm`, `planning`):
/// 1–32 characters of `a–z 0–9 -`, starting with a letter.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PoolId(String);

pub const LICENCES: &str = "licences";

impl PoolId {
    pub fn licences() -> Self {
        Self(LICENCES.to_owned())
    }

    pub fn parse(value: &str) -> Result<Self, DomainError> {
        let mut chars = value.chars();
        let ok = value.len() <= 32
            && chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(DomainError::invalid(
                "pool",
                "must be `licences` or a module id of 1-32 characters a-z 0-9 -",
            ))
        }
    }

    pub fn is_licences(&self) -> bool {
        self.0 == LICENCES
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PoolId {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<PoolId> for String {
    fn from(value: PoolId) -> Self {
        value.0
    }
}

impl fmt::Display for PoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Most licences one pool can hold; keeps every product of counts and prices far from overflow.
pub const MAX_POOL_SIZE: u32 = 1_000_000;

/// Pools per subscription, the core licences included (R24).
pub const MAX_POOLS: usize = 50;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pool {
    pub id: PoolId,
    pub name: String,
    pub unit_price: Amount,
    /// Licences in force this period.
    pub purchased: u32,
    /// Licences the next period will start with (R9, R11).
    pub next_period: u32,
    /// Seats in use: active users (core) or active users with the module enabled.
    pub in_use: u32,
    /// Seats that ever entered use licensed. A create that finds the pool full commits only if
    /// this did not move since it read the pool's newest seat, so its red seat is the newest
    /// (R3) without holding every other create back (R25).
    #[serde(default)]
    pub licensed_adds: u64,
}

impl Pool {
    /// R1: `max(0, purchased − in_use)`.
    pub fn available(&self) -> u32 {
        self.purchased.saturating_sub(self.in_use)
    }

    pub fn licensed(&self) -> u32 {
        self.purchased.min(self.in_use)
    }

    pub fn over_allocated(&self) -> u32 {
        self.in_use.saturating_sub(self.purchased)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(purchased: u32, in_use: u32) -> Pool {
        Pool {
            id: PoolId::licences(),
            name: "Licences".into(),
            unit_price: Amount::new(12_900).unwrap(),
            purchased,
            next_period: purchased,
            in_use,
            licensed_adds: 0,
        }
    }

    #[test]
    fn r1_available_never_goes_below_zero() {
        let p = pool(10, 11);
        assert_eq!(
            (p.available(), p.licensed(), p.over_allocated()),
            (0, 10, 1)
        );
        let p = pool(10, 7);
        assert_eq!((p.available(), p.licensed(), p.over_allocated()), (3, 7, 0));
    }

    #[test]
    fn pool_ids_are_lowercase_slugs() {
        assert!(PoolId::parse("crm").is_ok());
        assert!(PoolId::parse("licences").unwrap().is_licences());
        for bad in ["", "CRM", "1crm", "crm#x", &"a".repeat(33)] {
            assert!(PoolId::parse(bad).is_err(), "{bad}");
        }
    }
}

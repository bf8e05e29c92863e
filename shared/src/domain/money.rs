//! Money as integer minor units. The one rounding rule of the service lives here.

use serde::{Deserialize, Serialize};
use std::fmt;

use super::error::DomainError;

/// An ISO 4217 code: three ASCII capital letters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

impl Currency {
    pub fn parse(code: &str) -> Result<Self, DomainError> {
        let bytes = code.as_bytes();
        if bytes.len() == 3 && bytes.iter().all(u8::is_ascii_uppercase) {
            Ok(Self([bytes[0], bytes[1], bytes[2]]))
        } else {
            Err(DomainError::InvalidInput {
                field: "currency",
                reason: "must be an ISO 4217 code of three capital letters".into(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        // Constructed only from ASCII capitals.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }
}

impl TryFrom<String> for Currency {
    type Error = DomainError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.as_str().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A non-negative amount in minor units of the subscription's currency. Every document that
/// carries amounts states the currency once; amounts of different tenants are never mixed.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(try_from = "i64", into = "i64")]
pub struct Amount(i64);

/// The largest amount the service handles: far above any real invoice, far below `i64::MAX`,
/// so that sums of many lines are still checked rather than wrapped.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000_000;

impl Amount {
    pub const ZERO: Amount = Amount(0);

    pub fn new(minor: i64) -> Result<Self, DomainError> {
        if (0..=MAX_AMOUNT).contains(&minor) {
            Ok(Self(minor))
        } else {
            Err(DomainError::AmountOutOfRange)
        }
    }

    pub fn minor(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Amount) -> Result<Amount, DomainError> {
        self.0
            .checked_add(other.0)
            .ok_or(DomainError::AmountOutOfRange)
            .and_then(Amount::new)
    }

    /// `self × count`, e.g. a unit price for a number of licences.
    pub fn times(self, count: u32) -> Result<Amount, DomainError> {
        self.0
            .checked_mul(i64::from(count))
            .ok_or(DomainError::AmountOutOfRange)
            .and_then(Amount::new)
    }

    /// `round_half_up(self × numerator / denominator)`: the only place the service divides money.
    pub fn scaled(self, numerator: u64, denominator: u64) -> Result<Amount, DomainError> {
        if denominator == 0 {
            return Err(DomainError::AmountOutOfRange);
        }
        let product = i128::from(self.0) * i128::from(numerator);
        let rounded = round_half_up_div(product, i128::from(denominator));
        i64::try_from(rounded)
            .map_err(|_| DomainError::AmountOutOfRange)
            .and_then(Amount::new)
    }

    pub fn sum<I: IntoIterator<Item = Amount>>(amounts: I) -> Result<Amount, DomainError> {
        amounts
            .into_iter()
            .try_fold(Amount::ZERO, |acc, a| acc.checked_add(a))
    }
}

impl TryFrom<i64> for Amount {
    type Error = DomainError;
    fn try_from(value: i64) -> Result<Self, Self::Error> {
        Amount::new(value)
    }
}

impl From<Amount> for i64 {
    fn from(value: Amount) -> Self {
        value.0
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Round half up for a non-negative numerator and a positive denominator:
/// `floor(n / d + 1/2) = floor((2n + d) / 2d)`.
pub fn round_half_up_div(numerator: i128, denominator: i128) -> i128 {
    debug_assert!(numerator >= 0 && denominator > 0);
    (2 * numerator + denominator) / (2 * denominator)
}

/// Formats minor units for people: `15480` DKK → `154.80`. Every currency we sell in has two
/// decimals; the code keeps the exponent in one place should that change.
pub fn format_major(amount: Amount, currency: Currency) -> String {
    let exponent = minor_unit_exponent(currency);
    if exponent == 0 {
        return amount.minor().to_string();
    }
    let base = 10_i64.pow(exponent);
    format!(
        "{}.{:0width$}",
        amount.minor() / base,
        amount.minor() % base,
        width = exponent as usize
    )
}

/// ISO 4217 minor-unit exponent for the codes that have no two-decimal minor unit.
pub fn minor_unit_exponent(currency: Currency) -> u32 {
    match currency.as_str() {
        "JPY" | "KRW" | "ISK" | "CLP" | "VND" | "XAF" | "XOF" | "UGX" | "PYG" => 0,
        "BHD" | "KWD" | "OMR" | "JOD" | "TND" | "LYD" | "IQD" => 3,
        _ => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_half_up_rounds_halves_up_and_the_rest_to_nearest() {
        assert_eq!(round_half_up_div(5, 2), 3); // 2.5 → 3
        assert_eq!(round_half_up_div(7, 3), 2); // 2.33 → 2
        assert_eq!(round_half_up_div(8, 3), 3); // 2.67 → 3
        assert_eq!(round_half_up_div(0, 7), 0);
        assert_eq!(round_half_up_div(15, 10), 2); // 1.5 → 2
        assert_eq!(round_half_up_div(14, 10), 1); // 1.4 → 1
    }

    #[test]
    fn scaled_is_exact_on_the_worked_example() {
        // 12 900 × 3 × 12 / 30 = 15 480 (R7's worked example in docs/rules.md).
        let line = Amount::new(12_900).unwrap().times(3).unwrap();
        assert_eq!(line.scaled(12, 30).unwrap().minor(), 15_480);
    }

    #[test]
    fn amounts_refuse_overflow_and_negatives() {
        assert!(Amount::new(-1).is_err());
        assert!(Amount::new(MAX_AMOUNT + 1).is_err());
        let big = Amount::new(MAX_AMOUNT).unwrap();
        assert!(big.checked_add(Amount::new(1).unwrap()).is_err());
        assert!(big.times(2).is_err());
        assert!(Amount::new(1).unwrap().scaled(1, 0).is_err());
    }

    #[test]
    fn currency_is_three_capitals() {
        assert_eq!(Currency::parse("DKK").unwrap().as_str(), "DKK");
        for bad in ["dkk", "DK", "DKKK", "D1K", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn major_units_are_formatted_per_currency_exponent() {
        let dkk = Currency::parse("DKK").unwrap();
        assert_eq!(format_major(Amount::new(15_480).unwrap(), dkk), "154.80");
        assert_eq!(format_major(Amount::new(5).unwrap(), dkk), "0.05");
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(format_major(Amount::new(1500).unwrap(), jpy), "1500");
    }
}

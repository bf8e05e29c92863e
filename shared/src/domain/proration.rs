//! R7: a licence bought during a period is charged for the days that remain of it.

use super::error::DomainError;
use super::money::Amount;

/// `round_half_up(unit_price × quantity × days_remaining / days_in_period)`, in minor units.
pub fn prorate(
    unit_price: Amount,
    quantity: u32,
    days_remaining: u32,
    days_in_period: u32,
) -> Result<Amount, DomainError> {
    unit_price
        .times(quantity)?
        .scaled(u64::from(days_remaining), u64::from(days_in_period))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn price(minor: i64) -> Amount {
        Amount::new(minor).unwrap()
    }

    #[test]
    fn r7_worked_example_19_november() {
        // 1 Nov – 1 Dec, 30 days; 19 Nov inclusive to 1 Dec exclusive = 12 days.
        assert_eq!(prorate(price(12_900), 3, 12, 30).unwrap().minor(), 15_480);
    }

    #[test]
    fn r7_rounds_half_up_once_on_the_line() {
        // 4 900 × 1 × 1 / 30 = 163.33… → 163; 4 950 × 1 × 1 / 30 = 165 exactly; 45 × 1/2 = 22.5 → 23
        assert_eq!(prorate(price(4_900), 1, 1, 30).unwrap().minor(), 163);
        assert_eq!(prorate(price(45), 1, 1, 2).unwrap().minor(), 23);
        assert_eq!(prorate(price(12_900), 1, 30, 30).unwrap().minor(), 12_900);
    }
}

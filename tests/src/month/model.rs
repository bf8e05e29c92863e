//! What a tenant's invoices must be, worked out apart from the domain: the production month
//! compares the store's invoices with these. Only R7, R9, R11 and R14 as docs/rules.md words
//! them go in (monthly periods from the 1st, whole days in the tenant's zone, half up), so a
//! slip in the domain's period, proration or rollover shows as a difference, not as the same
//! slip twice.

use chrono::{DateTime, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

/// The two pools every tenant of the month has, with their prices in minor units.
pub const POOLS: [(&str, i64); 2] = [("licences", 12_900), ("crm", 4_900)];

/// One invoice as the month compares it: what was charged, not ids or instants.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Billed {
    pub period_start: NaiveDate,
    pub purchase: bool,
    /// (pool, quantity, amount), pools in [`POOLS`] order, only those charged for.
    pub lines: Vec<(String, u32, i64)>,
    pub total: i64,
}

/// A tenant as its customer's own books would track it.
#[derive(Clone, Debug)]
pub struct Books {
    pub zone: Tz,
    pub period_start: NaiveDate,
    pub purchased: [u32; 2],
    pub next: [u32; 2],
    pub billed: Vec<Billed>,
    pub purchases: u64,
    pub downscales: u64,
    pub rollovers: u64,
}

impl Books {
    pub fn new(zone: Tz, period_start: NaiveDate, purchased: [u32; 2]) -> Self {
        Self {
            zone,
            period_start,
            purchased,
            next: purchased,
            billed: Vec::new(),
            purchases: 0,
            downscales: 0,
            rollovers: 0,
        }
    }

    fn period_end(&self) -> NaiveDate {
        self.period_start
            .checked_add_months(Months::new(1))
            .unwrap_or(NaiveDate::MAX)
    }

    /// The instant the running period ends: midnight, in the tenant's zone, of its last day.
    pub fn ends_at(&self) -> DateTime<Utc> {
        let midnight = self.period_end().and_hms_opt(0, 0, 0).unwrap_or_default();
        self.zone
            .from_local_datetime(&midnight)
            .earliest()
            .map_or(DateTime::<Utc>::MAX_UTC, |t| t.with_timezone(&Utc))
    }

    /// Every period that ended by `now`, rolled one by one (R14): next becomes purchased and
    /// the new period is billed whole.
    pub fn roll_to(&mut self, now: DateTime<Utc>) {
        while now >= self.ends_at() {
            self.period_start = self.period_end();
            self.purchased = self.next;
            self.rollovers += 1;
            let lines: Vec<(String, u32, i64)> = POOLS
                .iter()
                .zip(self.purchased)
                .filter(|(_, n)| *n > 0)
                .map(|((pool, price), n)| (pool.to_string(), n, price * i64::from(n)))
                .collect();
            self.billed.push(Billed {
                period_start: self.period_start,
                purchase: false,
                total: lines.iter().map(|l| l.2).sum(),
                lines,
            });
        }
    }

    /// R7, R8, R9: `quantity` more of pool `pool` approved at `now`.
    pub fn bought(&mut self, now: DateTime<Utc>, pool: usize, quantity: u32) {
        self.roll_to(now);
        let day = now.with_timezone(&self.zone).date_naive();
        let remaining = (self.period_end() - day).num_days();
        let days = (self.period_end() - self.period_start).num_days();
        let (name, price) = POOLS[pool];
        let amount = half_up(price * i64::from(quantity) * remaining, days);
        self.purchased[pool] += quantity;
        self.next[pool] = self.purchased[pool];
        self.purchases += 1;
        self.billed.push(Billed {
            period_start: self.period_start,
            purchase: true,
            lines: vec![(name.to_string(), quantity, amount)],
            total: amount,
        });
    }

    /// R11: the next period of pool `pool` set to `n` at `now`.
    pub fn downscaled(&mut self, now: DateTime<Utc>, pool: usize, n: u32) {
        self.roll_to(now);
        self.next[pool] = n;
        self.downscales += 1;
    }
}

/// `numerator / denominator` rounded half up, for the non-negative amounts of an invoice.
fn half_up(numerator: i64, denominator: i64) -> i64 {
    (2 * numerator + denominator) / (2 * denominator)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rules_example_is_billed_as_docs_rules_says() {
        // R7: 12 900 × 3 × 12 / 30 = 15 480, bought on 19 November of a November period.
        let mut books = Books::new(
            chrono_tz::Europe::Copenhagen,
            NaiveDate::from_ymd_opt(2026, 11, 1).unwrap_or_default(),
            [10, 2],
        );
        books.bought("2026-11-19T10:00:00Z".parse().unwrap_or_default(), 0, 3);
        assert_eq!(books.billed[0].total, 15_480);
        assert_eq!(books.next, [13, 2]);
        books.downscaled("2026-11-20T10:00:00Z".parse().unwrap_or_default(), 0, 5);
        // Copenhagen's midnight of 1 December is 23:00 UTC on 30 November.
        books.roll_to("2026-11-30T22:59:59Z".parse().unwrap_or_default());
        assert_eq!(books.rollovers, 0);
        books.roll_to("2026-11-30T23:00:00Z".parse().unwrap_or_default());
        assert_eq!(books.purchased, [5, 2]);
        assert_eq!(books.billed[1].total, 5 * 12_900 + 2 * 4_900);
    }

    #[test]
    fn half_up_rounds_a_half_away_from_zero() {
        assert_eq!(half_up(5, 10), 1);
        assert_eq!(half_up(4, 10), 0);
        assert_eq!(half_up(15, 10), 2);
    }
}

//! Payment periods as local dates in the tenant's time zone, `[start, end)`.
//!
//! A subscription keeps the day of month it started on (its anchor) and every period end is
//! that day clamped to the month's length, so month ends never drift: anchor 31 gives
//! 31 Jan → 29 Feb 2028 → 31 Mar → 30 Apr.

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::error::DomainError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodLength {
    Monthly,
    Quarterly,
    Annual,
}

impl PeriodLength {
    pub fn months(self) -> u32 {
        match self {
            Self::Monthly => 1,
            Self::Quarterly => 3,
            Self::Annual => 12,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Monthly => "monthly",
            Self::Quarterly => "quarterly",
            Self::Annual => "annual",
        }
    }
}

/// One payment period. `anchor_day` is the subscription's day of month (1–31).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub length: PeriodLength,
    pub anchor_day: u32,
}

impl Period {
    /// The first period of a subscription that starts on `start`; its day is the anchor.
    pub fn first(start: NaiveDate, length: PeriodLength) -> Result<Self, DomainError> {
        let anchor_day = start.day();
        let end = anchored_date(start, length.months(), anchor_day)?;
        Ok(Self {
            start,
            end,
            length,
            anchor_day,
        })
    }

    pub fn next(&self) -> Result<Self, DomainError> {
        let end = anchored_date(self.end, self.length.months(), self.anchor_day)?;
        Ok(Self {
            start: self.end,
            end,
            length: self.length,
            anchor_day: self.anchor_day,
        })
    }

    pub fn days_in_period(&self) -> u32 {
        days_between(self.start, self.end)
    }

    pub fn contains(&self, day: NaiveDate) -> bool {
        self.start <= day && day < self.end
    }

    /// Days from `day` (inclusive) to the end (exclusive); `None` outside the period.
    pub fn days_remaining(&self, day: NaiveDate) -> Option<u32> {
        self.contains(day).then(|| days_between(day, self.end))
    }

    /// The instant the period ends: local midnight at `end` in the tenant's zone.
    pub fn end_instant(&self, tz: Tz) -> DateTime<Utc> {
        local_midnight(self.end, tz)
    }

    pub fn start_instant(&self, tz: Tz) -> DateTime<Utc> {
        local_midnight(self.start, tz)
    }
}

fn days_between(from: NaiveDate, to: NaiveDate) -> u32 {
    u32::try_from((to - from).num_days()).unwrap_or(0)
}

/// The date `months` after `from`'s month, on `anchor_day` clamped to that month's length.
fn anchored_date(from: NaiveDate, months: u32, anchor_day: u32) -> Result<NaiveDate, DomainError> {
    let month0 = from.month0() + months;
    let year = from.year() + i32::try_from(month0 / 12).map_err(|_| DomainError::InvalidPeriod)?;
    let month = month0 % 12 + 1;
    let day = anchor_day.min(days_in_month(year, month));
    NaiveDate::from_ymd_opt(year, month, day).ok_or(DomainError::InvalidPeriod)
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    match (
        NaiveDate::from_ymd_opt(year, month, 1),
        NaiveDate::from_ymd_opt(next_year, next_month, 1),
    ) {
        (Some(first), Some(next)) => days_between(first, next),
        _ => 30,
    }
}

/// The tenant's calendar day at an instant.
pub fn local_date(instant: DateTime<Utc>, tz: Tz) -> NaiveDate {
    instant.with_timezone(&tz).date_naive()
}

/// Local midnight as an instant. Where a zone skips midnight (a DST change at 00:00), the day
/// starts at the first local instant that exists.
pub fn local_midnight(day: NaiveDate, tz: Tz) -> DateTime<Utc> {
    let mut local = day.and_time(chrono::NaiveTime::MIN);
    for _ in 0..4 {
        if let Some(instant) = tz.from_local_datetime(&local).earliest() {
            return instant.with_timezone(&Utc);
        }
        local += chrono::Duration::minutes(30);
    }
    // No zone has a gap longer than two hours at midnight; UTC midnight is the safe fallback.
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

pub fn parse_time_zone(name: &str) -> Result<Tz, DomainError> {
    name.parse::<Tz>()
        .map_err(|_| DomainError::invalid("time_zone", "must be an IANA time zone name"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn monthly_anchor_31_clamps_without_drifting() {
        let mut p = Period::first(d(2028, 1, 31), PeriodLength::Monthly).unwrap();
        let mut ends = vec![p.end];
        for _ in 0..5 {
            p = p.next().unwrap();
            ends.push(p.end);
        }
        assert_eq!(
            ends,
            vec![
                d(2028, 2, 29),
                d(2028, 3, 31),
                d(2028, 4, 30),
                d(2028, 5, 31),
                d(2028, 6, 30),
                d(2028, 7, 31)
            ]
        );
    }

    #[test]
    fn anchor_30_and_29_in_february_of_leap_and_common_years() {
        let p = Period::first(d(2027, 1, 30), PeriodLength::Monthly).unwrap();
        assert_eq!(p.end, d(2027, 2, 28));
        assert_eq!(p.next().unwrap().end, d(2027, 3, 30));
        let p = Period::first(d(2028, 1, 29), PeriodLength::Monthly).unwrap();
        assert_eq!(p.end, d(2028, 2, 29));
        assert_eq!(p.days_in_period(), 31);
    }

    #[test]
    fn every_month_length_is_counted() {
        let expected = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
        let mut p = Period::first(d(2027, 1, 1), PeriodLength::Monthly).unwrap();
        for days in expected {
            assert_eq!(p.days_in_period(), days, "{p:?}");
            p = p.next().unwrap();
        }
        assert_eq!(days_in_month(2028, 2), 29);
        assert_eq!(days_in_month(2100, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
    }

    #[test]
    fn quarterly_and_annual_periods_across_29_february_2028() {
        let q = Period::first(d(2027, 12, 15), PeriodLength::Quarterly).unwrap();
        assert_eq!(q.end, d(2028, 3, 15));
        assert_eq!(q.days_in_period(), 16 + 31 + 29 + 15);
        let q = Period::first(d(2027, 11, 30), PeriodLength::Quarterly).unwrap();
        assert_eq!(q.end, d(2028, 2, 29));
        assert_eq!(q.next().unwrap().end, d(2028, 5, 30));
        let a = Period::first(d(2027, 6, 1), PeriodLength::Annual).unwrap();
        assert_eq!(a.end, d(2028, 6, 1));
        assert_eq!(a.days_in_period(), 366);
        let a = Period::first(d(2028, 2, 29), PeriodLength::Annual).unwrap();
        assert_eq!(a.end, d(2029, 2, 28));
        assert_eq!(a.next().unwrap().end, d(2030, 2, 28));
        assert_eq!(a.days_in_period(), 365);
    }

    #[test]
    fn days_remaining_counts_the_day_itself() {
        let p = Period::first(d(2026, 11, 1), PeriodLength::Monthly).unwrap();
        assert_eq!(p.days_in_period(), 30);
        assert_eq!(p.days_remaining(d(2026, 11, 19)), Some(12));
        assert_eq!(p.days_remaining(d(2026, 11, 30)), Some(1));
        assert_eq!(p.days_remaining(d(2026, 11, 1)), Some(30));
        assert_eq!(p.days_remaining(d(2026, 12, 1)), None);
        assert_eq!(p.days_remaining(d(2026, 10, 31)), None);
    }

    #[test]
    fn local_dates_follow_the_tenant_zone() {
        let tz: Tz = "Europe/Copenhagen".parse().unwrap();
        let late = "2026-11-30T23:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(local_date(late, tz), d(2026, 12, 1));
        let p = Period::first(d(2026, 11, 1), PeriodLength::Monthly).unwrap();
        assert_eq!(
            p.end_instant(tz),
            "2026-11-30T23:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        // Summer time: midnight is 22:00 UTC.
        assert_eq!(
            local_midnight(d(2026, 7, 1), tz),
            "2026-06-30T22:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn a_zone_that_skips_midnight_starts_the_day_at_the_first_existing_instant() {
        // America/Santiago moved clocks from 00:00 to 01:00 on 2022-09-11.
        let tz: Tz = "America/Santiago".parse().unwrap();
        let start = local_midnight(d(2022, 9, 11), tz);
        assert_eq!(local_date(start, tz), d(2022, 9, 11));
    }
}

//! R37: each pool's licences bought and in use, read once a day, and the history a chart of
//! them is drawn from. A day's reading is the state the sweep finds in the first hour of the
//! tenant's day; a day the sweep did not reach in that hour has no reading and is shown as
//! missing, never filled in from its neighbours.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::error::DomainError;
use super::period::{local_date, local_midnight};
use super::pool::PoolId;
use super::subscription::Subscription;

/// How long into a day a reading still stands for it. The sweep runs every minute, so a
/// reading is normally taken a minute after midnight; one taken later would count the day's
/// own changes as its start.
pub const READING_WINDOW: Duration = Duration::hours(1);

/// How far past `at` the sweep's own changes of this run (a rollover just before the reading)
/// move the tenant's clock: a microsecond each. A clock further on is a request's change.
const OWN_CHANGES: Duration = Duration::seconds(1);

/// The longest span one request may ask for.
pub const MAX_DAYS: i64 = 400;

/// One pool at a reading.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PoolUsage {
    pub pool: PoolId,
    pub purchased: u32,
    pub in_use: u32,
}

/// A day's reading: every pool as the sweep found it at `at`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsageReading {
    pub date: NaiveDate,
    pub at: DateTime<Utc>,
    pub pools: Vec<PoolUsage>,
}

/// What the sweep does for the usage history at an instant: the days up to `through` are
/// done, with a reading of the last one when it was taken in time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageStep {
    pub through: NaiveDate,
    pub reading: Option<UsageReading>,
}

impl Subscription {
    /// When the next day's reading is due: that day's local midnight. None once terminated.
    pub fn usage_due(&self) -> Option<DateTime<Utc>> {
        if self.is_terminated() {
            return None;
        }
        let last = self
            .usage_through
            .unwrap_or_else(|| local_date(self.created_at, self.time_zone));
        Some(local_midnight(last.succ_opt()?, self.time_zone))
    }
}

/// The usage step due at `at`, if any. The state read must be the state at `at`: a
/// subscription changed after it (a request committed between the event's time and this
/// read) waits for the next run, which is at most a minute later. Past the window the day is
/// passed over without a reading, whatever the state, so a tenant never stays due.
pub fn usage_step(sub: &Subscription, at: DateTime<Utc>) -> Option<UsageStep> {
    let due = sub.usage_due()?;
    if due > at {
        return None;
    }
    let today = local_date(at, sub.time_zone);
    let in_time = at < local_midnight(today, sub.time_zone) + READING_WINDOW;
    let as_at = sub.clock <= at + OWN_CHANGES;
    if in_time && !as_at {
        return None;
    }
    Some(UsageStep {
        through: today,
        reading: (in_time && as_at).then(|| UsageReading {
            date: today,
            at,
            pools: sub
                .pools
                .iter()
                .map(|p| PoolUsage {
                    pool: p.id.clone(),
                    purchased: p.purchased,
                    in_use: p.in_use,
                })
                .collect(),
        }),
    })
}

/// The days a request covers, both included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UsageSpan {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl UsageSpan {
    /// The span asked for: `to` defaults to `today`, `from` to 89 days before `to` (the
    /// page's 90 days); at most [`MAX_DAYS`], `from` not after `to`.
    pub fn asked(
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        today: NaiveDate,
    ) -> Result<Self, DomainError> {
        let to = to.unwrap_or(today);
        let from = match from {
            Some(from) => from,
            None => to
                .checked_sub_signed(Duration::days(89))
                .unwrap_or(NaiveDate::MIN),
        };
        if from > to {
            return Err(DomainError::invalid("from", "must not be after `to`"));
        }
        if (to - from).num_days() >= MAX_DAYS {
            return Err(DomainError::invalid(
                "to",
                format!("a request covers at most {MAX_DAYS} days"),
            ));
        }
        Ok(Self { from, to })
    }
}

/// One day of a pool's history: its reading, or none (missing).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DayUsage {
    pub date: NaiveDate,
    pub purchased: Option<u32>,
    pub in_use: Option<u32>,
}

/// One pool's history over a span.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolHistory {
    pub pool: PoolId,
    pub days: Vec<DayUsage>,
    /// The most in use on one day of the span, and the first day it was reached.
    pub peak: Option<Peak>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Peak {
    pub date: NaiveDate,
    pub in_use: u32,
}

/// Each pool's days in `span`, from the first day the sweep read or passed over
/// (`usage_since`), or an earlier reading's day (a history brought along), to today. A past
/// day with no reading is missing; today without one is left out (its reading may still
/// come). Pools are the subscription's, then any that only the readings know.
pub fn history(
    sub: &Subscription,
    span: UsageSpan,
    readings: &[UsageReading],
    now: DateTime<Utc>,
) -> Vec<PoolHistory> {
    let first = match (sub.usage_since, readings.iter().map(|r| r.date).min()) {
        (Some(since), Some(read)) => Some(since.min(read)),
        (since, read) => since.or(read),
    };
    let today = local_date(now, sub.time_zone);
    let by_date: BTreeMap<NaiveDate, &UsageReading> =
        readings.iter().map(|r| (r.date, r)).collect();
    let mut pools: Vec<PoolId> = sub.pools.iter().map(|p| p.id.clone()).collect();
    for reading in readings {
        for p in &reading.pools {
            if !pools.contains(&p.pool) {
                pools.push(p.pool.clone());
            }
        }
    }
    let start = first.map(|first| span.from.max(first));
    let days: Vec<NaiveDate> = start
        .into_iter()
        .flat_map(|start| start.iter_days())
        .take_while(|d| *d <= span.to.min(today))
        .filter(|d| *d < today || by_date.contains_key(d))
        .collect();
    pools
        .into_iter()
        .map(|pool| {
            let days: Vec<DayUsage> = days
                .iter()
                .map(|date| {
                    let found = by_date
                        .get(date)
                        .and_then(|r| r.pools.iter().find(|p| p.pool == pool));
                    DayUsage {
                        date: *date,
                        purchased: found.map(|p| p.purchased),
                        in_use: found.map(|p| p.in_use),
                    }
                })
                .collect();
            let peak = days
                .iter()
                .filter_map(|d| d.in_use.map(|n| (n, d.date)))
                .fold(None, |best: Option<Peak>, (in_use, date)| match best {
                    Some(b) if b.in_use >= in_use => Some(b),
                    _ => Some(Peak { date, in_use }),
                });
            PoolHistory { pool, days, peak }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::identity::{DisplayName, EmailAddress, Language, TenantId, UserId};
    use crate::domain::money::{Amount, Currency};
    use crate::domain::period::PeriodLength;
    use crate::domain::rights::administrator;
    use crate::domain::tenant::{NewPool, NewTenant, create_tenant};
    use crate::domain::user::NewUser;

    /// A Copenhagen tenant of 10 licences created at `now`, its administrator in use.
    fn subscription_created(now: DateTime<Utc>) -> Subscription {
        let new = NewTenant {
            tenant_id: TenantId::parse("acme").unwrap(),
            name: DisplayName::parse("Acme").unwrap(),
            currency: Currency::parse("DKK").unwrap(),
            time_zone: chrono_tz::Europe::Copenhagen,
            period_length: PeriodLength::Monthly,
            period_start: d(12, 1),
            pools: vec![NewPool {
                pool: PoolId::licences(),
                name: "Licences".into(),
                unit_price: Amount::new(100).unwrap(),
                purchased: 10,
            }],
            administrator: NewUser {
                user_id: UserId::parse("ada").unwrap(),
                name: DisplayName::parse("Ada").unwrap(),
                email: EmailAddress::parse("ada@example.com").unwrap(),
                language: Language::En,
                role: administrator(),
                modules: Default::default(),
                active: true,
            },
        };
        create_tenant(new, now).unwrap().0.subscription
    }

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_first_reading_is_due_at_the_midnight_after_the_tenant_was_created() {
        // Copenhagen is UTC+1 in December: its midnight is 23:00 UTC the day before.
        let sub = subscription_created(at("2026-12-01T10:00:00Z"));
        assert_eq!(sub.usage_due(), Some(at("2026-12-01T23:00:00Z")));
        assert_eq!(usage_step(&sub, at("2026-12-01T22:59:59Z")), None);

        let step = usage_step(&sub, at("2026-12-01T23:01:00Z")).unwrap();
        assert_eq!(step.through, d(12, 2));
        let reading = step.reading.unwrap();
        assert_eq!(reading.date, d(12, 2));
        assert_eq!(
            reading.pools[0],
            PoolUsage {
                pool: PoolId::licences(),
                purchased: sub.pools[0].purchased,
                in_use: sub.pools[0].in_use,
            }
        );
    }

    #[test]
    fn a_day_reached_after_its_first_hour_is_passed_over_without_a_reading() {
        let mut sub = subscription_created(at("2026-12-01T10:00:00Z"));
        sub.usage_through = Some(d(12, 2));
        // Due at the 3rd's midnight; the sweep is back only at 05:00 on the 5th.
        let step = usage_step(&sub, at("2026-12-05T04:00:00Z")).unwrap();
        assert_eq!(step.through, d(12, 5));
        assert_eq!(step.reading, None);
        sub.usage_through = Some(step.through);
        assert_eq!(sub.usage_due(), Some(at("2026-12-05T23:00:00Z")));
    }

    #[test]
    fn a_state_changed_after_the_instant_waits_for_the_next_run() {
        let mut sub = subscription_created(at("2026-12-01T10:00:00Z"));
        sub.clock = at("2026-12-01T23:00:30Z");
        assert_eq!(usage_step(&sub, at("2026-12-01T23:00:10Z")), None);
        // The sweep's own rollover at the instant moved it by a microsecond: not a request's.
        sub.clock = at("2026-12-01T23:00:10.000001Z");
        assert!(usage_step(&sub, at("2026-12-01T23:00:10Z")).is_some());
        sub.clock = at("2026-12-01T23:00:30Z");
        assert!(usage_step(&sub, at("2026-12-01T23:01:00Z")).is_some());
        // A state newer than a sweep that comes after the window: the day is passed over.
        sub.clock = at("2026-12-02T05:00:00Z");
        let late = usage_step(&sub, at("2026-12-02T04:00:00Z")).unwrap();
        assert_eq!((late.through, late.reading), (d(12, 2), None));
    }

    #[test]
    fn a_terminated_subscription_is_read_no_more() {
        let mut sub = subscription_created(at("2026-12-01T10:00:00Z"));
        sub.terminated_at = Some(at("2026-12-01T12:00:00Z"));
        assert_eq!(sub.usage_due(), None);
    }

    #[test]
    fn the_span_defaults_to_ninety_days_and_holds_at_most_four_hundred() {
        let today = d(12, 5);
        let span = UsageSpan::asked(None, None, today).unwrap();
        assert_eq!((span.to - span.from).num_days(), 89);
        assert_eq!(span.to, today);
        assert!(UsageSpan::asked(Some(d(12, 6)), Some(today), today).is_err());
        let first = NaiveDate::from_ymd_opt(2025, 11, 1).unwrap();
        let most = UsageSpan::asked(Some(first), Some(first + Duration::days(399)), today);
        assert!(most.is_ok(), "400 days, both ends included");
        let long = UsageSpan::asked(Some(first), Some(first + Duration::days(400)), today);
        assert!(long.is_err(), "{long:?}");
        let year = UsageSpan::asked(Some(d(1, 1)), Some(d(12, 31)), today).unwrap();
        assert_eq!((year.to - year.from).num_days(), 364);
    }

    fn reading(date: NaiveDate, purchased: u32, in_use: u32) -> UsageReading {
        UsageReading {
            date,
            at: local_midnight(date, chrono_tz::Europe::Copenhagen),
            pools: vec![PoolUsage {
                pool: PoolId::licences(),
                purchased,
                in_use,
            }],
        }
    }

    #[test]
    fn a_day_without_a_reading_is_missing_and_never_filled_in() {
        let sub = subscription_created(at("2026-12-01T10:00:00Z"));
        let readings = [
            reading(d(12, 2), 10, 8),
            reading(d(12, 4), 10, 11),
            reading(d(12, 5), 12, 11),
        ];
        let span = UsageSpan::asked(Some(d(11, 1)), Some(d(12, 31)), d(12, 6)).unwrap();
        let history = history(&sub, span, &readings, at("2026-12-06T12:00:00Z"));
        let licences = &history[0];
        let days: Vec<(NaiveDate, Option<u32>)> =
            licences.days.iter().map(|d| (d.date, d.in_use)).collect();
        assert_eq!(
            days,
            [
                (d(12, 2), Some(8)),
                (d(12, 3), None),
                (d(12, 4), Some(11)),
                (d(12, 5), Some(11)),
            ],
            "from the first reading; today (the 6th) has no reading yet"
        );
        // Swept first on the 1st (passed over): the history starts there, the 1st missing.
        let mut swept = sub.clone();
        swept.usage_since = Some(d(12, 1));
        let from_first = super::history(&swept, span, &readings, at("2026-12-06T12:00:00Z"));
        assert_eq!(from_first[0].days[0].date, d(12, 1));
        assert_eq!(from_first[0].days[0].in_use, None);
        let never = super::history(
            &subscription_created(at("2026-12-01T10:00:00Z")),
            span,
            &[],
            at("2026-12-06T12:00:00Z"),
        );
        assert!(
            never[0].days.is_empty(),
            "never swept: no days, not missing ones"
        );
        assert_eq!(
            licences.peak,
            Some(Peak {
                date: d(12, 4),
                in_use: 11
            }),
            "the first day of the peak"
        );
    }
}

//! A usage history for a tenant that has none yet (R37): the demo's, and the page test's.
//! Written as the sweep writes it (each day's reading with the subscription's mark, through
//! the adapter's `record_usage`), so the API and the page read it as they read the sweep's.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use licensing::domain::period::{local_date, local_midnight};
use licensing::domain::usage::{PoolUsage, UsageReading};
use licensing::ports::{AccountReads, StoreError, UsageHistory};

/// The readings of `days` days to today, today's the tenant's counts now. The days before climb
/// towards them (fewer at weekends), the licences bought a month ago, with a day every
/// fortnight missing (a sweep that came too late), so the chart shows a peak, a step and gaps.
pub fn made_up_history(
    pools: &[PoolUsage],
    zone: chrono_tz::Tz,
    days: u32,
    now: DateTime<Utc>,
) -> Vec<UsageReading> {
    let today = local_date(now, zone);
    (0..days)
        .rev()
        .filter(|back| *back == 0 || back % 14 != 5)
        .map(|back| {
            let date: NaiveDate = today - Duration::days(i64::from(back));
            let pools = pools
                .iter()
                .map(|p| {
                    if back == 0 {
                        return p.clone();
                    }
                    let bought_then = if back > 30 {
                        p.purchased.saturating_sub(2).max(1)
                    } else {
                        p.purchased
                    };
                    // Fewer at weekends, a slow climb, and the peak a fortnight ago.
                    let weekend = matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
                    let climb = p.in_use.saturating_sub(back / 15);
                    let in_use = if back == 14 {
                        climb + 2
                    } else {
                        climb.saturating_sub(u32::from(weekend))
                    };
                    PoolUsage {
                        pool: p.pool.clone(),
                        purchased: bought_then,
                        in_use,
                    }
                })
                .collect();
            UsageReading {
                date,
                at: local_midnight(date, zone) + Duration::minutes(1),
                pools,
            }
        })
        .collect()
}

/// Writes [`made_up_history`] for `tenant`, if it has no history yet; how many readings.
pub async fn seed_usage<S: AccountReads + UsageHistory>(
    store: &S,
    tenant: &licensing::domain::identity::TenantId,
    days: u32,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let Some(loaded) = store.load_account(tenant).await? else {
        return Ok(0);
    };
    // Never over a history the sweep has begun: only a tenant with no reading gets one.
    let zone = loaded.account.subscription.time_zone;
    let today = local_date(now, zone);
    let since = today - Duration::days(i64::from(days));
    if loaded.account.subscription.usage_since.is_some()
        || !store.usage_readings(tenant, since, today).await?.is_empty()
    {
        return Ok(0);
    }
    let sub = &loaded.account.subscription;
    let now_counts: Vec<PoolUsage> = sub
        .pools
        .iter()
        .map(|p| PoolUsage {
            pool: p.id.clone(),
            purchased: p.purchased,
            in_use: p.in_use,
        })
        .collect();
    let readings = made_up_history(&now_counts, sub.time_zone, days, now);
    let mut account = loaded.account;
    for reading in &readings {
        account.subscription.usage_through = Some(reading.date);
        store.record_usage(&account, Some(reading)).await?;
        account.subscription.version += 1;
    }
    Ok(readings.len())
}

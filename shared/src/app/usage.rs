//! Usage over time (R37): each pool's daily readings over a span, with its peak, for the
//! chart that helps decide the next period.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::app::error::AppError;
use crate::app::{Caller, authorize};
use crate::domain::period::local_date;
use crate::domain::rights::Right;
use crate::domain::usage::{DayUsage, Peak, UsageSpan, history};
use crate::ports::{AccountReads, Commits, UsageHistory};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UsageView {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The zone the days are the tenant's calendar days in.
    pub time_zone: String,
    pub pools: Vec<PoolUsageView>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PoolUsageView {
    pub pool: String,
    pub name: String,
    /// Licences now, in use now, and what the next period will start with; none for a pool
    /// only the readings know.
    pub purchased: Option<u32>,
    pub in_use: Option<u32>,
    pub next_period: Option<u32>,
    pub peak: Option<Peak>,
    /// Every day of the span the history covers, oldest first; `null` counts where no
    /// reading was taken.
    pub days: Vec<DayUsage>,
}

pub async fn usage_history<S: AccountReads + Commits + UsageHistory>(
    store: &S,
    caller: &Caller,
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> Result<UsageView, AppError> {
    let auth = authorize(store, caller, Right::AccountView, now).await?;
    let sub = &auth.loaded.account.subscription;
    let span = UsageSpan::asked(from, to, local_date(now, sub.time_zone))?;
    let readings = store
        .usage_readings(&caller.tenant, span.from, span.to)
        .await?;
    let pools = history(sub, span, &readings, now)
        .into_iter()
        .map(|h| {
            let pool = sub.pool(&h.pool);
            PoolUsageView {
                pool: h.pool.to_string(),
                name: pool.map_or_else(|| h.pool.to_string(), |p| p.name.clone()),
                purchased: pool.map(|p| p.purchased),
                in_use: pool.map(|p| p.in_use),
                next_period: pool.map(|p| p.next_period),
                peak: h.peak,
                days: h.days,
            }
        })
        .collect();
    Ok(UsageView {
        from: span.from,
        to: span.to,
        time_zone: sub.time_zone.name().to_owned(),
        pools,
    })
}

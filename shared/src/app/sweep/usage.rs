//! The day's usage reading (R37): the pools as they stand, recorded with the subscription's
//! mark of the day in one version-checked write.

use chrono::{DateTime, Utc};

use crate::app::error::AppError;
use crate::domain::account::Account;
use crate::domain::usage::usage_step;
use crate::ports::{Loaded, UsageHistory};

/// Records the usage step due at `at`: the account it committed, or `None` when nothing was
/// due (or the state is newer than `at`, for the next run). Whether a reading was taken is the
/// second value.
pub(super) async fn record_usage<S: UsageHistory>(
    store: &S,
    loaded: &Loaded,
    at: DateTime<Utc>,
) -> Result<Option<(Account, bool)>, AppError> {
    let Some(step) = usage_step(&loaded.account.subscription, at) else {
        return Ok(None);
    };
    let mut account = loaded.account.clone();
    account.subscription.usage_through = Some(step.through);
    account.subscription.usage_since.get_or_insert(step.through);
    store.record_usage(&account, step.reading.as_ref()).await?;
    Ok(Some((account, step.reading.is_some())))
}

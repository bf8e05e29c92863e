//! A tenant's settings (R30's renewal notice): set by the tenant's administrator, or by an
//! operator through the tenants routes; served with the next period's routes by `downscale`.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeSet;

use crate::app::error::AppError;
use crate::app::views::AccountView;
use crate::app::{Caller, UnitOfWork, authorize, log_entry, retrying};
use crate::domain::identity::Actor;
use crate::domain::rights::Right;
use crate::ports::{AccountReads, Commits, Loaded};

/// A tenant's settings, as an administrator or an operator changes them.
#[derive(Clone, Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// R30: days before a period ends that the managers are reminded (0: never).
    pub renewal_reminder_days: u32,
}

/// R30: the tenant's own administrator (licences.manage) sets the renewal reminder notice.
pub async fn set_settings<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<AccountView, AppError> {
    retrying(|_| async move {
        let auth = authorize(store, caller, Right::LicencesManage, now).await?;
        let actor = Actor::User(caller.user.clone());
        change_settings(store, &auth.loaded, actor, settings, &auth.rights, now).await
    })
    .await
}

pub(crate) async fn change_settings<S: AccountReads + Commits>(
    store: &S,
    loaded: &Loaded,
    actor: Actor,
    settings: &Settings,
    rights: &BTreeSet<Right>,
    now: DateTime<Utc>,
) -> Result<AccountView, AppError> {
    let mut account = loaded.account.clone();
    let from = account.subscription.renewal_reminder_days;
    account
        .subscription
        .set_renewal_reminder_days(settings.renewal_reminder_days)?;
    let at = account.subscription.tick(now);
    let log = log_entry(
        actor,
        "settings.changed",
        json!({ "renewal_reminder_days": { "from": from, "to": settings.renewal_reminder_days } }),
        at,
    );
    let view = AccountView::committing(&account, rights);
    store
        .commit(UnitOfWork::new(loaded, account, log, &[], now).into_change())
        .await?;
    Ok(view)
}

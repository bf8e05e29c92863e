//! A tenant's settings: R30's renewal notice and R35's approval threshold, set by the tenant's
//! administrator, or by an operator through the tenants routes; served with the next period's
//! routes by `downscale`. A setting left out keeps its value.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};
use serde_json::json;
use std::collections::BTreeSet;

use crate::app::error::AppError;
use crate::app::views::AccountView;
use crate::app::{Caller, UnitOfWork, authorize, log_entry, retrying};
use crate::domain::DomainError;
use crate::domain::events::DomainEvent;
use crate::domain::identity::Actor;
use crate::domain::money::Amount;
use crate::domain::rights::Right;
use crate::outbox::{MailKind, Payload, Recipient};
use crate::ports::{AccountReads, Commits, Loaded};

/// A tenant's settings, as an administrator or an operator changes them.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// R30: days before a period ends that the managers are reminded (0: never).
    #[serde(default, deserialize_with = "given")]
    pub renewal_reminder_days: Option<u32>,
    /// R35: the total (minor units) above which a purchase waits for a second approver;
    /// `null` removes the limit, leaving it out keeps it.
    #[serde(default, deserialize_with = "present")]
    pub approval_threshold: Option<Option<i64>>,
}

/// A field that, when there, must hold a value (`null` is refused): `None` when left out.
fn given<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    u32::deserialize(d).map(Some)
}

/// A field that is there, `null` included: `Some(None)` for `null`, `None` when left out.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<i64>>, D::Error> {
    Option::<i64>::deserialize(d).map(Some)
}

/// The tenant's own administrator sets the renewal notice (licences.manage) and, holding
/// every right, the approval threshold (R35).
pub async fn set_settings<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<AccountView, AppError> {
    retrying(|_| async move {
        let auth = authorize(store, caller, Right::LicencesManage, now).await?;
        if settings.approval_threshold.is_some() && auth.rights.len() != Right::ALL.len() {
            return Err(DomainError::AdministratorOnly.into());
        }
        let by = Changer {
            actor: Actor::User(caller.user.clone()),
            name: auth.user.name.to_string(),
        };
        change_settings(store, &auth.loaded, by, settings, &auth.rights, now).await
    })
    .await
}

/// Who changes the settings, as the log and the mail name them.
pub(crate) struct Changer {
    pub actor: Actor,
    pub name: String,
}

pub(crate) async fn change_settings<S: AccountReads + Commits>(
    store: &S,
    loaded: &Loaded,
    by: Changer,
    settings: &Settings,
    rights: &BTreeSet<Right>,
    now: DateTime<Utc>,
) -> Result<AccountView, AppError> {
    let mut account = loaded.account.clone();
    let sub = &mut account.subscription;
    let mut changed = serde_json::Map::new();
    let mut mail = Vec::new();
    let mut events = Vec::new();
    if let Some(days) = settings.renewal_reminder_days {
        let from = sub.renewal_reminder_days;
        sub.set_renewal_reminder_days(days)?;
        changed.insert(
            "renewal_reminder_days".into(),
            json!({ "from": from, "to": days }),
        );
    }
    if let Some(threshold) = settings.approval_threshold {
        sub.ensure_active()?;
        let to = threshold.map(Amount::new).transpose()?;
        let from = sub.approval_threshold;
        if from != to {
            sub.approval_threshold = to;
            events.push(DomainEvent::ApprovalThresholdChanged { from, to });
            changed.insert(
                "approval_threshold".into(),
                json!({ "from": from, "to": to }),
            );
            // The other administrators hear of it: a buyer cannot lift the limit unseen.
            let except = match &by.actor {
                Actor::User(user) => Some(user.clone()),
                _ => None,
            };
            mail.push(Payload::Mail {
                kind: MailKind::ApprovalThresholdChanged,
                to: Recipient::Administrators { except },
                language: None,
                addressed: None,
                data: json!({ "from": from, "to": to, "currency": sub.currency, "by": by.name }),
            });
        }
    }
    if changed.is_empty() {
        return Ok(AccountView::new(&loaded.account, rights));
    }
    let at = account.subscription.tick(now);
    let log = log_entry(by.actor, "settings.changed", changed.into(), at);
    let view = AccountView::committing(&account, rights);
    crate::app::commit(
        store,
        UnitOfWork::new(loaded, account, log, &events, now)
            .mail(mail)
            .into_change(),
    )
    .await?;
    Ok(view)
}

//! The renewal reminder (R30): one mail to the managers before a period ends.

use chrono::{DateTime, Utc};
use serde_json::json;

use crate::app::error::AppError;
use crate::app::{UnitOfWork, log_entry};
use crate::domain::account::Account;
use crate::domain::identity::Actor;
use crate::domain::next_period::{self, NextPeriodRequest};
use crate::outbox::{MailKind, Payload, Recipient};
use crate::ports::{AccountReads, Commits, Loaded};

/// R30: when a period's renewal reminder is due, one mail to the managers with the next
/// period's counts and total and the seats that will be without a licence then, and the
/// period marked as reminded, in one change. The account it committed, or `None` when no
/// reminder was due.
pub(super) async fn remind_renewal<S: AccountReads + Commits>(
    store: &S,
    loaded: &Loaded,
    at: DateTime<Utc>,
) -> Result<Option<Account>, AppError> {
    let sub = &loaded.account.subscription;
    if sub.renewal_reminder_due().is_none_or(|due| due > at) {
        return Ok(None);
    }
    let tenant = sub.tenant_id.clone();
    let request = NextPeriodRequest {
        items: sub
            .pools
            .iter()
            .map(|p| (p.id.clone(), p.next_period))
            .collect(),
    };
    let plan = next_period::plan(&loaded.account, &request)?;
    let newest = crate::app::next_period::newest_for(store, &tenant, &plan).await?;
    let seats = next_period::seats_over(&plan, &newest);
    let (_, next_total) = next_period::totals(sub, &request)?;
    let listed = &seats[..seats.len().min(crate::outbox::MAIL_SEATS)];
    let pools: Vec<_> = sub
        .pools
        .iter()
        .map(|p| json!({"pool": p.id, "name": p.name, "purchased": p.purchased, "next_period": p.next_period, "unit_price": p.unit_price}))
        .collect();
    let mail = Payload::Mail {
        kind: MailKind::RenewalReminder,
        to: Recipient::Managers,
        language: None,
        addressed: None,
        data: json!({
            "effective_from": sub.period.end,
            "currency": sub.currency,
            "pools": pools,
            "next_period_total": next_total,
            "seats_to_remove": listed,
            "seats_more": seats.len() - listed.len(),
        }),
    };
    let log = log_entry(
        Actor::System,
        "renewal.reminded",
        json!({
            "effective_from": sub.period.end,
            "next_period_total": next_total,
            "seats_to_remove_count": seats.len(),
        }),
        at,
    );
    let version = sub.version;
    let mut account = loaded.account.clone();
    account.subscription.renewal_reminded = Some(account.subscription.period.start);
    crate::app::commit(
        store,
        UnitOfWork::on(version, account.clone(), log, &[], at)
            .mail(vec![mail])
            .into_change(),
    )
    .await?;
    Ok(Some(account))
}

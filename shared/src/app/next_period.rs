//! The next period's counts (R11–R13): a downscale takes effect at the period change; the
//! seats it would over-allocate are listed now.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeMap;

use crate::app::error::AppError;
use crate::app::views::{
    AccountView, NextPeriodPreview, NextPeriodView, OVER_ALLOCATED_SHOWN, SeatToRemoveView,
};
use crate::app::{Caller, UnitOfWork, authorize, log_entry, retrying};
use crate::domain::account::SeatInfo;
use crate::domain::identity::{Actor, TenantId};
use crate::domain::next_period::{self, NextPeriodRequest};
use crate::domain::pool::PoolId;
use crate::domain::rights::Right;
use crate::outbox::{MailKind, Payload, Recipient};
use crate::ports::{AccountReads, Commits};

/// Seats a log entry or a mail names; the rest are counted.
pub const SEATS_LISTED: usize = 50;

pub async fn set_next_period<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    licences: Option<u32>,
    modules: &BTreeMap<String, u32>,
    now: DateTime<Utc>,
) -> Result<NextPeriodView, AppError> {
    let request = NextPeriodRequest::parse(licences, modules)?;
    retrying(|_| {
        let request = request.clone();
        async move {
            let auth = authorize(store, caller, Right::LicencesManage, now).await?;
            let loaded = auth.loaded;
            let mut account = loaded.account.clone();
            let plan = next_period::plan(&account, &request)?;
            let newest = newest_for(store, &caller.tenant, &plan).await?;
            let (events, seats) = next_period::apply(&mut account, &plan, &newest)?;
            let at = account.subscription.tick(now);
            let seats_view = first_seats(&seats);
            // The log entry and the mail name the first seats and count the rest, so their
            // size is bounded however many seats a downscale touches (R27).
            let listed = &seats[..seats.len().min(SEATS_LISTED)];
            let more = seats.len() - listed.len();
            let log = log_entry(
                Actor::User(caller.user.clone()),
                "next_period.changed",
                json!({ "changes": plan.changes, "seats_to_remove": listed, "seats_to_remove_count": seats.len() }),
                at,
            );
            let confirmation = Payload::Mail {
                kind: MailKind::NextPeriodConfirmation,
                to: Recipient::User {
                    user_id: caller.user.clone(),
                },
                language: Some(auth.user.language),
                addressed: None,
                data: json!({
                    "changes": plan.changes,
                    "effective_from": account.subscription.period.end,
                    "seats_to_remove": listed,
                    "seats_more": more,
                }),
            };
            let view = NextPeriodView {
                effective_from: account.subscription.period.end,
                licences: account.subscription.licences().map_or(0, |p| p.next_period),
                modules: account
                    .subscription
                    .modules()
                    .map(|p| (p.id.to_string(), p.next_period))
                    .collect(),
                seats_to_remove: seats_view,
                seats_to_remove_count: seats.len(),
                account: AccountView::committing(&account, &auth.rights),
            };
            crate::app::commit(
                store,
                    UnitOfWork::new(&loaded, account, log, &events, now)
                        .mail(vec![confirmation])
                        .into_change(),
                )
                .await?;
            Ok(view)
        }
    })
    .await
}

/// The first [`OVER_ALLOCATED_SHOWN`] seats an answer lists (R26); the rest are counted.
fn first_seats(seats: &[next_period::SeatToRemove]) -> Vec<SeatToRemoveView> {
    seats
        .iter()
        .take(OVER_ALLOCATED_SHOWN)
        .map(|s| SeatToRemoveView {
            pool: s.pool.to_string(),
            user_id: s.user_id.to_string(),
            name: s.name.clone(),
        })
        .collect()
}

/// R28: what `set_next_period` with the same body would do, committing nothing: the seats
/// that would lose their licence at the period change, and what the next period costs.
pub async fn preview_next_period<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    licences: Option<u32>,
    modules: &BTreeMap<String, u32>,
    now: DateTime<Utc>,
) -> Result<NextPeriodPreview, AppError> {
    let request = NextPeriodRequest::parse(licences, modules)?;
    let auth = authorize(store, caller, Right::LicencesManage, now).await?;
    let account = &auth.loaded.account;
    let plan = next_period::plan(account, &request)?;
    let newest = newest_for(store, &caller.tenant, &plan).await?;
    let seats = next_period::seats_over(&plan, &newest);
    let (current, next) = next_period::totals(&account.subscription, &request)?;
    let sub = &account.subscription;
    Ok(NextPeriodPreview {
        effective_from: sub.period.end,
        currency: sub.currency.to_string(),
        licences: request
            .items
            .get(&PoolId::licences())
            .copied()
            .or_else(|| sub.licences().map(|p| p.next_period))
            .unwrap_or(0),
        modules: sub
            .modules()
            .map(|p| {
                let n = request.items.get(&p.id).copied().unwrap_or(p.next_period);
                (p.id.to_string(), n)
            })
            .collect(),
        seats_to_remove: first_seats(&seats),
        seats_to_remove_count: seats.len(),
        period_total: current.minor(),
        next_period_total: next.minor(),
        saving: current.minor() - next.minor(),
        version: sub.version,
    })
}

/// The newest seats a plan's list is taken from: per pool, its seats over plus those already
/// red (the newest, skipped).
pub(crate) async fn newest_for<S: AccountReads>(
    store: &S,
    tenant: &TenantId,
    plan: &next_period::NextPeriodPlan,
) -> Result<BTreeMap<PoolId, Vec<SeatInfo>>, AppError> {
    let mut newest: BTreeMap<PoolId, Vec<SeatInfo>> = BTreeMap::new();
    for (pool, over) in &plan.seats_over {
        let red = plan.already_red.get(pool).map_or(0, |g| g.len() as u32);
        newest.insert(
            pool.clone(),
            store.newest_seats(tenant, pool, over + red).await?,
        );
    }
    Ok(newest)
}

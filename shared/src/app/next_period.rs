//! The next period's counts (R11–R13): a downscale takes effect at the period change; the
//! seats it would over-allocate are listed now.

use super::*;
use crate::domain::next_period::{self, NextPeriodRequest};

/// Seats a log entry or a mail names; the rest are counted.
pub const SEATS_LISTED: usize = 50;

pub async fn set_next_period<S: Store>(
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
            let plan = next_period::plan(&account.subscription, &request)?;
            let mut newest: BTreeMap<PoolId, Vec<SeatInfo>> = BTreeMap::new();
            for (pool, over) in &plan.seats_over {
                newest.insert(
                    pool.clone(),
                    store.newest_seats(&caller.tenant, pool, *over).await?,
                );
            }
            let (events, seats) = next_period::apply(&mut account, &plan, &newest)?;
            let at = account.subscription.tick(now);
            let seats_view: Vec<SeatToRemoveView> = seats
                .iter()
                .take(OVER_ALLOCATED_SHOWN)
                .map(|s| SeatToRemoveView {
                    pool: s.pool.to_string(),
                    user_id: s.user_id.to_string(),
                    name: s.name.clone(),
                })
                .collect();
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
                account: AccountView::new(&account, &auth.rights),
            };
            store
                .commit(
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

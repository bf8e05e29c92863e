//! Operators' routes (R18, R23): create a tenant, terminate its subscription, and restore an
//! administrator to a tenant that has lost its own.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeSet;

use super::views::{AccountView, UserView};
use super::{AppError, UnitOfWork, log_entry, outbox, retrying, sweep};
use crate::domain::identity::{Actor, TenantId};
use crate::domain::rights::administrator;
use crate::domain::tenant::{self, NewTenant};
use crate::domain::user::{self, NewUser};
use crate::ports::{AccountReads, Change, Commits, Loaded, UserWrite};

#[derive(serde::Serialize, Debug, Clone)]
pub struct TenantCreatedView {
    pub account: AccountView,
    pub administrator: UserView,
}

pub async fn create_tenant<S: AccountReads + Commits>(
    store: &S,
    operator: &str,
    new: NewTenant,
    now: DateTime<Utc>,
) -> Result<TenantCreatedView, AppError> {
    let (account, admin, events) = tenant::create_tenant(new, now)?;
    let tenant_id = account.subscription.tenant_id.clone();
    let rights = account.subscription.roles.rights_of(&admin.role);
    let view = TenantCreatedView {
        account: AccountView::new(&account, &rights),
        administrator: UserView::new(&admin, &account),
    };
    let log = log_entry(
        Actor::Operator(operator.to_owned()),
        "tenant.created",
        json!({ "tenant_id": tenant_id, "pools": account.subscription.pools, "period": account.subscription.period, "administrator": admin.user_id }),
        now,
    );
    let outbox = outbox(&tenant_id, &log.entry_id, now, &events, Vec::new());
    let mut view = view;
    view.account.version = 1;
    crate::app::commit(
        store,
        Change {
            delta: None,
            expected_version: None,
            account,
            users: vec![UserWrite {
                before: None,
                after: admin,
            }],
            log,
            invoices: Vec::new(),
            outbox,
            approve_quote: None,
            idempotency: None,
            requests: Vec::new(),
            now,
        },
    )
    .await?;
    Ok(view)
}

/// The tenant an operator acts on, in its running period (R22).
async fn operated<S: AccountReads + Commits>(
    store: &S,
    loaded: Option<Loaded>,
    now: DateTime<Utc>,
) -> Result<Loaded, AppError> {
    let loaded = loaded.ok_or(AppError::NotFound("tenant"))?;
    sweep::in_current_period(store, loaded, now).await
}

pub async fn terminate_tenant<S: AccountReads + Commits>(
    store: &S,
    operator: &str,
    tenant_id: &TenantId,
    now: DateTime<Utc>,
) -> Result<AccountView, AppError> {
    retrying(|_| async move {
        let loaded = operated(store, store.load_account(tenant_id).await?, now).await?;
        // A terminated subscription is what the operator asked for: a repeated call (a retry
        // after a lost answer) gets the account again, with no second log entry.
        if loaded.account.subscription.is_terminated() {
            return Ok(AccountView::new(&loaded.account, &BTreeSet::new()));
        }
        let mut account = loaded.account.clone();
        tenant::terminate(&mut account, now)?;
        let log = log_entry(
            Actor::Operator(operator.to_owned()),
            "tenant.terminated",
            json!({ "tenant_id": tenant_id }),
            account.subscription.clock,
        );
        let view = AccountView::committing(&account, &BTreeSet::new());
        crate::app::commit(
            store,
            UnitOfWork::new(&loaded, account, log, &[], now).into_change(),
        )
        .await?;
        Ok(view)
    })
    .await
}

/// R30, R35: an operator sets a tenant's renewal reminder notice or approval threshold.
pub async fn set_tenant_settings<S: AccountReads + Commits>(
    store: &S,
    operator: &str,
    tenant_id: &TenantId,
    settings: &super::settings::Settings,
    now: DateTime<Utc>,
) -> Result<AccountView, AppError> {
    retrying(|_| async move {
        let loaded = operated(store, store.load_account(tenant_id).await?, now).await?;
        let by = super::settings::Changer {
            actor: Actor::Operator(operator.to_owned()),
            name: format!("The service's operator ({operator})"),
        };
        super::settings::change_settings(store, &loaded, by, settings, &BTreeSet::new(), now).await
    })
    .await
}

/// R23: an operator gives a tenant an active administrator again: the named user, created if
/// it does not exist, gets the built-in `administrator` role and is activated if inactive.
pub async fn restore_administrator<S: AccountReads + Commits>(
    store: &S,
    operator: &str,
    tenant_id: &TenantId,
    wanted: NewUser,
    now: DateTime<Utc>,
) -> Result<UserView, AppError> {
    retrying(|_| {
        let wanted = wanted.clone();
        async move {
            let (loaded, before) = futures::join!(
                store.load_account(tenant_id),
                store.load_user(tenant_id, &wanted.user_id)
            );
            let loaded = operated(store, loaded?, now).await?;
            let before = before?;
            let mut account = loaded.account.clone();
            account.subscription.ensure_active()?;
            let pools = std::iter::once(crate::domain::pool::PoolId::licences())
                .chain(before.iter().flat_map(|u| u.modules.keys().cloned()));
            account
                .subscription
                .observe(super::newest_seat(store, tenant_id, pools).await?);
            let (after, events) = match &before {
                Some(existing) => {
                    let mut after = existing.clone();
                    user::set_role(&mut account, &mut after, administrator())?;
                    let events = if after.active {
                        Vec::new()
                    } else {
                        user::activate(&mut account, &mut after, now)?
                    };
                    (after, events)
                }
                None => user::create_user(
                    &mut account,
                    NewUser {
                        role: administrator(),
                        active: true,
                        ..wanted
                    },
                    now,
                )?,
            };
            let at = account.subscription.tick(now);
            let view = UserView::new(&after, &account);
            let log = log_entry(
                Actor::Operator(operator.to_owned()),
                "administrator.restored",
                json!({ "user_id": after.user_id, "created": before.is_none() }),
                at,
            );
            let write = UserWrite { before, after };
            crate::app::commit(
                store,
                UnitOfWork::new(&loaded, account, log, &events, now)
                    .users(vec![write])
                    .into_change(),
            )
            .await?;
            Ok(view)
        }
    })
    .await
}

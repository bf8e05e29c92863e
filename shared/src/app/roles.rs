//! Roles and their rights (R17, R23): read, list, and set a role's rights; only rights the
//! caller holds, never its own role, and one active administrator kept.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeSet;

use super::users::ensure_within_rights;
use super::views::RoleView;
use super::{AppError, Caller, UnitOfWork, authorize, log_entry, retrying};
use crate::domain::DomainError;
use crate::domain::identity::{Actor, RoleName};
use crate::domain::rights::{self, ADMINISTRATOR, Right};
use crate::ports::{AccountReads, Commits};

fn role_view(role: &RoleName, rights: &BTreeSet<Right>) -> RoleView {
    RoleView {
        role: role.to_string(),
        rights: rights.iter().map(|r| r.as_str()).collect(),
        built_in: role.as_str() == ADMINISTRATOR,
    }
}

pub async fn get_role<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    role: &RoleName,
    now: DateTime<Utc>,
) -> Result<RoleView, AppError> {
    let auth = authorize(store, caller, Right::UsersManage, now).await?;
    let roles = &auth.loaded.account.subscription.roles;
    if !roles.exists(role) {
        return Err(AppError::NotFound("role"));
    }
    Ok(role_view(role, &roles.rights_of(role)))
}

/// The tenant's roles (at most R24's 50, so one answer), for choosing a user's role.
pub async fn list_roles<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<Vec<RoleView>, AppError> {
    let auth = authorize(store, caller, Right::UsersManage, now).await?;
    let roles = &auth.loaded.account.subscription.roles;
    Ok(roles
        .iter()
        .map(|(role, _)| role_view(role, &roles.rights_of(role)))
        .collect())
}

pub async fn put_role<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    role: &RoleName,
    rights: BTreeSet<Right>,
    now: DateTime<Utc>,
) -> Result<RoleView, AppError> {
    retrying(|_| {
        let rights = rights.clone();
        async move {
            let auth = authorize(store, caller, Right::UsersManage, now).await?;
            // R23: not one's own role, and only rights one holds (also those taken away:
            // a role may hold rights its editor lacks, and only a holder may remove them).
            if &auth.user.role == role {
                return Err(DomainError::Escalation.into());
            }
            rights::ensure_grantable(&auth.rights, &rights)?;
            ensure_within_rights(&auth, role)?;
            let loaded = auth.loaded;
            let mut account = loaded.account.clone();
            account.subscription.ensure_active()?;
            account
                .subscription
                .roles
                .set(role.clone(), rights.clone())?;
            account
                .subscription
                .ensure_administrator_kept(&loaded.account.subscription)?;
            let at = account.subscription.tick(now);
            let log = log_entry(
                Actor::User(caller.user.clone()),
                "role.updated",
                json!({ "role": role, "rights": rights }),
                at,
            );
            crate::app::commit(
                store,
                UnitOfWork::new(&loaded, account, log, &[], now).into_change(),
            )
            .await?;
            Ok(role_view(role, &rights))
        }
    })
    .await
}

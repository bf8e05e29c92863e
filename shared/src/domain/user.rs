//! Users and the seats they hold: activation, deactivation, modules (R2, R3).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::account::Account;
use super::allocation::SeatKey;
use super::directory::Directory;
use super::error::DomainError;
use super::events::DomainEvent;
use super::identity::{DisplayName, EmailAddress, Language, RoleName, UserId};
use super::pool::PoolId;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub user_id: UserId,
    pub name: DisplayName,
    pub email: EmailAddress,
    pub language: Language,
    pub role: RoleName,
    pub active: bool,
    /// The last activation: the user's place in the R3 order.
    pub activated_at: Option<DateTime<Utc>>,
    /// Modules enabled for the user, with the instant each was enabled.
    pub modules: BTreeMap<PoolId, DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// Set while a tenant's identity provider manages the user over SCIM (R34).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<Directory>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LicenceState {
    Licensed,
    OverAllocated,
    Inactive,
}

impl User {
    /// The user's seat in a pool, if they hold one. A module's seat counts from when it was
    /// enabled or, if later, from when the user was last activated.
    pub fn seat_key(&self, pool: &PoolId) -> Option<SeatKey> {
        let activated = self.activated_at.filter(|_| self.active)?;
        let since = if pool.is_licences() {
            activated
        } else {
            (*self.modules.get(pool)?).max(activated)
        };
        Some(SeatKey {
            since,
            user_id: self.user_id.clone(),
        })
    }

    /// Every seat the user holds: the core licence first, then each enabled module.
    pub fn seats(&self) -> Vec<(PoolId, SeatKey)> {
        std::iter::once(PoolId::licences())
            .chain(self.modules.keys().cloned())
            .filter_map(|pool| self.seat_key(&pool).map(|key| (pool, key)))
            .collect()
    }

    /// R1/R3 for the users list: red if any of the user's seats is red; the earliest deadline.
    pub fn licence_state(&self, account: &Account) -> (LicenceState, Option<DateTime<Utc>>) {
        if !self.active {
            return (LicenceState::Inactive, None);
        }
        let deadline = self
            .seats()
            .iter()
            .filter_map(|(pool, key)| account.red(pool, key))
            .map(|red| red.flag.deadline)
            .min();
        match deadline {
            Some(d) => (LicenceState::OverAllocated, Some(d)),
            None => (LicenceState::Licensed, None),
        }
    }
}

/// What a new user is created with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewUser {
    pub user_id: UserId,
    pub name: DisplayName,
    pub email: EmailAddress,
    pub language: Language,
    pub role: RoleName,
    pub modules: BTreeSet<PoolId>,
    pub active: bool,
}

fn check_modules(account: &Account, modules: &BTreeSet<PoolId>) -> Result<(), DomainError> {
    for module in modules {
        if module.is_licences() || account.subscription.pool(module).is_none() {
            return Err(DomainError::UnknownModule(module.to_string()));
        }
    }
    Ok(())
}

fn check_role(account: &Account, role: &RoleName) -> Result<(), DomainError> {
    if account.subscription.roles.exists(role) {
        Ok(())
    } else {
        Err(DomainError::UnknownRole(role.to_string()))
    }
}

/// Users per tenant (R24): far above any customer's staff, and what one tenant's partition,
/// its listings and its status read are measured for.
pub const MAX_USERS: u32 = 100_000;

pub fn create_user(
    account: &mut Account,
    new: NewUser,
    now: DateTime<Utc>,
) -> Result<(User, Vec<DomainEvent>), DomainError> {
    account.subscription.ensure_active()?;
    if account.subscription.users >= MAX_USERS {
        return Err(DomainError::LimitReached {
            what: "users",
            max: MAX_USERS,
        });
    }
    check_modules(account, &new.modules)?;
    check_role(account, &new.role)?;
    account.subscription.users += 1;
    let at = account.subscription.tick(now);
    let mut user = User {
        user_id: new.user_id,
        name: new.name,
        email: new.email,
        language: new.language,
        role: new.role,
        active: false,
        activated_at: None,
        modules: new.modules.into_iter().map(|m| (m, at)).collect(),
        created_at: at,
        directory: None,
    };
    let mut events = Vec::new();
    if new.active {
        enter(account, &mut user, at, &mut events)?;
    }
    Ok((user, events))
}

fn enter(
    account: &mut Account,
    user: &mut User,
    at: DateTime<Utc>,
    events: &mut Vec<DomainEvent>,
) -> Result<(), DomainError> {
    user.active = true;
    user.activated_at = Some(at);
    account.subscription.count_active(&user.role, true);
    events.push(DomainEvent::UserActivated {
        user_id: user.user_id.clone(),
    });
    for (pool, key) in user.seats() {
        account.add_seat(&pool, key, user.name.as_str(), at, events)?;
    }
    Ok(())
}

/// R2: activation is allowed without an available licence; the seat is then red.
pub fn activate(
    account: &mut Account,
    user: &mut User,
    now: DateTime<Utc>,
) -> Result<Vec<DomainEvent>, DomainError> {
    account.subscription.ensure_active()?;
    if user.active {
        return Err(DomainError::UserAlreadyActive);
    }
    let at = account.subscription.tick(now);
    let mut events = Vec::new();
    enter(account, user, at, &mut events)?;
    Ok(events)
}

pub fn deactivate(
    account: &mut Account,
    user: &mut User,
    now: DateTime<Utc>,
    reason: &str,
) -> Result<Vec<DomainEvent>, DomainError> {
    if !user.active {
        return Err(DomainError::UserAlreadyInactive);
    }
    account.subscription.tick(now);
    let mut events = Vec::new();
    for (pool, key) in user.seats() {
        account.remove_seat(&pool, &key, &mut events)?;
    }
    user.active = false;
    account.subscription.count_active(&user.role, false);
    events.push(DomainEvent::UserDeactivated {
        user_id: user.user_id.clone(),
        reason: reason.to_owned(),
    });
    Ok(events)
}

/// Replaces the user's modules: seats leave for modules disabled and enter for modules enabled.
pub fn set_modules(
    account: &mut Account,
    user: &mut User,
    modules: BTreeSet<PoolId>,
    now: DateTime<Utc>,
) -> Result<Vec<DomainEvent>, DomainError> {
    account.subscription.ensure_active()?;
    check_modules(account, &modules)?;
    let at = account.subscription.tick(now);
    let mut events = Vec::new();
    let current: BTreeSet<PoolId> = user.modules.keys().cloned().collect();
    for module in current.difference(&modules) {
        if let Some(key) = user.seat_key(module) {
            account.remove_seat(module, &key, &mut events)?;
        }
        user.modules.remove(module);
    }
    for module in modules.difference(&current) {
        user.modules.insert(module.clone(), at);
        if let Some(key) = user.seat_key(module) {
            account.add_seat(module, key, user.name.as_str(), at, &mut events)?;
        }
    }
    Ok(events)
}

pub fn set_role(account: &mut Account, user: &mut User, role: RoleName) -> Result<(), DomainError> {
    account.subscription.ensure_active()?;
    check_role(account, &role)?;
    if user.active {
        account.subscription.count_active(&user.role, false);
        account.subscription.count_active(&role, true);
    }
    user.role = role;
    Ok(())
}

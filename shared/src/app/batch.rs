//! Onboarding (R25): `POST /v1/users/batch` creates up to [`BATCH_USERS`] users in one request,
//! each exactly as a single create would, in order: its own checks, its own answer, and the
//! same seats, red seats and events. The users are committed a group at a time, each group
//! one version-checked transaction well inside DynamoDB's 100 items, so a batch of 500 costs
//! about twenty transactions instead of five hundred racing ones.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use std::collections::BTreeSet;

use super::views::UserView;
use crate::app::error::AppError;
use crate::app::next_period::SEATS_LISTED;
use crate::app::{
    Authorized, Caller, UnitOfWork, authorize, log_entry, newest_seat, retrying, users,
};
use crate::domain::error::DomainError;
use crate::domain::events::DomainEvent;
use crate::domain::identity::{Actor, UserId};
use crate::domain::pool::PoolId;
use crate::domain::rights::Right;
use crate::domain::user::{self, NewUser, User};
use crate::ports::{AccountReads, Commits, UserWrite};

/// Users one request may create.
pub const BATCH_USERS: usize = 500;

/// Items one group's transaction may hold: the subscription, the log entry and the outbox
/// take the rest of the 100.
const GROUP_ITEMS: usize = 90;

/// The answer for one item, in the batch's order: the user created, or the problem a single
/// create would have answered.
#[derive(Clone, Debug, Serialize)]
pub struct BatchResult {
    pub index: usize,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<UserView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl BatchResult {
    fn failed(index: usize, error: &AppError) -> Self {
        Self {
            index,
            status: error.status(),
            user: None,
            code: Some(error.code()),
            detail: Some(error.public_detail()),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct BatchView {
    pub created: usize,
    pub failed: usize,
    pub results: Vec<BatchResult>,
}

/// The items a single transaction of the batch can take from `items[start..]`: each user
/// writes its record and one seat per pool it holds (and a red record when over-allocated).
fn group_end(items: &[(usize, users::CreateUser)], start: usize) -> usize {
    let mut cost = 0;
    let mut end = start;
    while end < items.len() {
        let weight = 1 + 2 * (1 + items[end].1.modules.len());
        if end > start && cost + weight > GROUP_ITEMS {
            break;
        }
        cost += weight;
        end += 1;
    }
    end
}

pub async fn create_users<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    items: Vec<users::CreateUser>,
    now: DateTime<Utc>,
) -> Result<BatchView, AppError> {
    if items.is_empty() || items.len() > BATCH_USERS {
        return Err(AppError::BadRequest(format!(
            "users: from 1 to {BATCH_USERS} per request"
        )));
    }
    // Minted once, so a retried group creates the same users.
    let mut minted = Vec::with_capacity(items.len());
    for (index, mut new) in items.into_iter().enumerate() {
        if new.user_id.is_none() {
            new.user_id = Some(users::mint_user_id()?);
        }
        minted.push((index, new));
    }
    let items = minted;
    let mut results = Vec::with_capacity(items.len());
    let mut start = 0;
    while start < items.len() {
        let end = group_end(&items, start);
        let group = &items[start..end];
        results.extend(retrying(|_| create_group(store, caller, group, now)).await?);
        start = end;
    }
    let created = results.iter().filter(|r| r.status == 201).count();
    Ok(BatchView {
        created,
        failed: results.len() - created,
        results,
    })
}

/// One group in one change, on a fresh read: each item checked as a single create checks it
/// (rights, an existing user, the domain's rules), in order.
async fn create_group<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    group: &[(usize, users::CreateUser)],
    now: DateTime<Utc>,
) -> Result<Vec<BatchResult>, AppError> {
    let auth = authorize(store, caller, Right::UsersManage, now).await?;
    let ids: Vec<UserId> = group
        .iter()
        .filter_map(|(_, new)| new.user_id.clone())
        .collect();
    let pools = std::iter::once(PoolId::licences()).chain(
        group
            .iter()
            .flat_map(|(_, new)| new.modules.iter().cloned()),
    );
    let (existing, newest) = futures::join!(
        store.existing_users(&caller.tenant, &ids),
        newest_seat(store, &caller.tenant, pools)
    );
    let existing = existing?;
    let loaded = &auth.loaded;
    let mut account = loaded.account.clone();
    account.subscription.observe(newest?);
    let mut results = Vec::with_capacity(group.len());
    let mut writes: Vec<UserWrite> = Vec::new();
    let mut events = Vec::new();
    for (index, new) in group {
        match create_one(&auth, &mut account, new, &existing, &writes, now) {
            Ok((created, mut caused)) => {
                results.push(BatchResult {
                    index: *index,
                    status: 201,
                    user: None,
                    code: None,
                    detail: None,
                });
                events.append(&mut caused);
                writes.push(UserWrite {
                    before: None,
                    after: created,
                });
            }
            Err(error) => results.push(BatchResult::failed(*index, &error)),
        }
    }
    // The views after the whole group: a user's licence state is what the commit leaves.
    let mut created = writes.iter();
    for result in results.iter_mut().filter(|r| r.status == 201) {
        result.user = created.next().map(|w| UserView::new(&w.after, &account));
    }
    if writes.is_empty() {
        return Ok(results);
    }
    let listed: Vec<&UserId> = writes
        .iter()
        .take(SEATS_LISTED)
        .map(|w| &w.after.user_id)
        .collect();
    let log = log_entry(
        Actor::User(caller.user.clone()),
        "users.created",
        json!({ "user_ids": listed, "count": writes.len() }),
        account.subscription.clock,
    );
    let change = UnitOfWork::new(loaded, account, log, &events, now)
        .users(writes)
        .into_change();
    crate::app::commit(store, change).await?;
    Ok(results)
}

fn create_one(
    auth: &Authorized,
    account: &mut crate::domain::account::Account,
    new: &users::CreateUser,
    existing: &BTreeSet<UserId>,
    writes: &[UserWrite],
    now: DateTime<Utc>,
) -> Result<(User, Vec<DomainEvent>), AppError> {
    let role = new
        .role
        .clone()
        .unwrap_or_else(crate::domain::rights::plain_user);
    let roles = &auth.loaded.account.subscription.roles;
    crate::domain::rights::ensure_grantable(&auth.rights, &roles.rights_of(&role))?;
    let user_id = new
        .user_id
        .clone()
        .ok_or_else(|| AppError::Internal("a batch item without an id".into()))?;
    if existing.contains(&user_id) || writes.iter().any(|w| w.after.user_id == user_id) {
        return Err(DomainError::UserExists.into());
    }
    let to_create = NewUser {
        user_id,
        name: new.name.clone(),
        email: new.email.clone(),
        language: new.language,
        role,
        modules: new.modules.clone(),
        active: new.active,
    };
    Ok(user::create_user(account, to_create, now)?)
}

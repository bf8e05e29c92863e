//! Users (R2, R3, R17, R23): list, create, activate, deactivate, re-role. Every change keeps
//! one active administrator and grants only rights the caller holds.

use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::BTreeSet;

use super::views::{PageView, UserView};
use super::{
    AppError, Authorized, Caller, Replayable, UnitOfWork, authorize, idempotency_window, log_entry,
    newest_seat, retrying,
};
use crate::domain::DomainError;
use crate::domain::idempotency::{IdempotencyKey, fingerprint};
use crate::domain::identity::{Actor, DisplayName, EmailAddress, Language, RoleName, UserId};
use crate::domain::pool::PoolId;
use crate::domain::rights::{self, Right, plain_user};
use crate::domain::user::{self, NewUser, User};
use crate::ports::{
    AccountReads, Commits, IdempotencyRecord, Listings, MailSuppressions, Page, PageRequest,
    Quotes, StoreError, UserWrite,
};

/// R23: a caller acts on a user only within its own rights: it may not create, activate,
/// deactivate or re-role a user whose role holds a right the caller lacks.
pub(super) fn ensure_within_rights(auth: &Authorized, role: &RoleName) -> Result<(), AppError> {
    let roles = &auth.loaded.account.subscription.roles;
    rights::ensure_grantable(&auth.rights, &roles.rights_of(role))?;
    Ok(())
}

/// Users one filtered listing reads at most before it answers (R26): a page may then hold
/// fewer than asked, with a cursor to go on, but no request reads the whole tenant.
pub const FILTER_READS: u32 = 1_000;

/// `GET /v1/users`, optionally only the users in one licence state (R26: the red users of a
/// tenant of thousands, paged).
pub async fn list_users<S: AccountReads + Listings + Commits + MailSuppressions>(
    store: &S,
    caller: &Caller,
    page: &PageRequest,
    state: Option<user::LicenceState>,
    now: DateTime<Utc>,
) -> Result<PageView<UserView>, AppError> {
    let auth = authorize(store, caller, Right::UsersManage, now).await?;
    let account = &auth.loaded.account;
    let suppressed = store.suppressions(&caller.tenant).await?;
    let view = |u: &User| UserView::new(u, account).suppressed_by(u, &suppressed);
    let Some(state) = state else {
        let Page { items, next_cursor } = store.list_users(&caller.tenant, page).await?;
        return Ok(PageView {
            items: items.iter().map(view).collect(),
            next_cursor,
        });
    };
    let mut items = Vec::new();
    let mut cursor = page.cursor.clone();
    let mut read = 0;
    // Each read asks for no more than the page still lacks, so its cursor is exactly where
    // the answer stops.
    while (items.len() as u32) < page.limit && read < FILTER_READS {
        let want = page.limit - items.len() as u32;
        let got = store
            .list_users(
                &caller.tenant,
                &PageRequest {
                    cursor: cursor.clone(),
                    limit: want,
                },
            )
            .await?;
        read += got.items.len() as u32;
        items.extend(
            got.items
                .iter()
                .filter(|u| u.licence_state(account).0 == state)
                .map(view),
        );
        cursor = got.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(PageView {
        items,
        next_cursor: cursor,
    })
}

/// What `PUT /v1/users/{id}` may set.
#[derive(Clone, Debug, Default)]
pub struct UserPatch {
    pub role: Option<RoleName>,
    pub modules: Option<BTreeSet<PoolId>>,
    pub language: Option<Language>,
}

/// `POST /v1/users`: a user id is minted when none is given; the role defaults to `user`.
#[derive(Clone, Debug)]
pub struct CreateUser {
    pub user_id: Option<UserId>,
    pub name: DisplayName,
    pub email: EmailAddress,
    pub language: Language,
    pub role: Option<RoleName>,
    pub modules: BTreeSet<PoolId>,
    pub active: bool,
}

impl From<NewUser> for CreateUser {
    fn from(user: NewUser) -> Self {
        Self {
            user_id: Some(user.user_id),
            name: user.name,
            email: user.email,
            language: user.language,
            role: Some(user.role),
            modules: user.modules,
            active: user.active,
        }
    }
}

pub(crate) fn mint_user_id() -> Result<UserId, DomainError> {
    UserId::parse(&format!(
        "u-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    ))
}

/// Creates (and by default activates) a user (R2). With an `Idempotency-Key`, a retry of the
/// same request answers the first result, the same user, instead of creating a second one
/// (the minted id is in the first answer); `request` is the body as sent, its fingerprint.
pub async fn create_user<S: AccountReads + Quotes + Commits>(
    store: &S,
    caller: &Caller,
    new: CreateUser,
    idempotency_key: Option<&str>,
    request: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Replayable, AppError> {
    let digest = idempotency_key
        .map(|k| IdempotencyKey::parse(k).map(|k| k.digest()))
        .transpose()?;
    let print = fingerprint(request);
    // Minted once, so every retry of a lost race creates the same user.
    let user_id = match new.user_id.clone() {
        Some(id) => id,
        None => mint_user_id()?,
    };
    retrying(|_| {
        let new = new.clone();
        let (digest, print, user_id) = (digest.clone(), print.clone(), user_id.clone());
        async move {
            let auth = authorize(store, caller, Right::UsersManage, now).await?;
            // An earlier answer under this key, and whether the user exists, read at once.
            let earlier = async {
                match &digest {
                    Some(d) => store.get_idempotency(&caller.tenant, d, now).await,
                    None => Ok(None),
                }
            };
            // Only a seat that will be over-allocated must come after the pool's newest (a
            // licensed one commits only while the pool has room, see `CounterDelta`).
            let sub = &auth.loaded.account.subscription;
            let seat_pools: Vec<PoolId> = std::iter::once(PoolId::licences())
                .chain(new.modules.iter().cloned())
                .filter(|p| new.active && sub.pool(p).is_some_and(|p| p.available() == 0))
                .collect();
            let (earlier, existing, newest) = futures::join!(
                earlier,
                store.load_user(&caller.tenant, &user_id),
                newest_seat(store, &caller.tenant, seat_pools)
            );
            if let Some(record) = earlier? {
                return Replayable::replay(record, &print);
            }
            let role = new.role.clone().unwrap_or_else(plain_user);
            ensure_within_rights(&auth, &role)?;
            if existing?.is_some() {
                return Err(DomainError::UserExists.into());
            }
            let loaded = auth.loaded;
            let mut account = loaded.account.clone();
            account.subscription.observe(newest?);
            let to_create = NewUser {
                user_id,
                name: new.name,
                email: new.email,
                language: new.language,
                role,
                modules: new.modules,
                active: new.active,
            };
            let (created, events) = user::create_user(&mut account, to_create, now)?;
            let view = UserView::new(&created, &account);
            let body =
                serde_json::to_string(&view).map_err(|e| AppError::Internal(e.to_string()))?;
            let log = log_entry(
                Actor::User(caller.user.clone()),
                "user.created",
                json!({ "user_id": created.user_id, "active": created.active, "role": created.role, "modules": view.modules, "licence_state": view.licence_state }),
                account.subscription.clock,
            );
            let write = UserWrite { before: None, after: created };
            let relied_on = vec![auth.user.role.clone(), write.after.role.clone()];
            let mut change = UnitOfWork::new(&loaded, account, log, &events, now)
                .users(vec![write])
                .counters_only(&loaded.account.subscription, relied_on)
                .into_change();
            change.idempotency = digest.map(|key_digest| IdempotencyRecord {
                key_digest,
                fingerprint: print.clone(),
                status: 201,
                body: body.clone(),
                created_at: now,
                expires_at: now + idempotency_window(),
            });
            match crate::app::commit(store, change).await {
                Ok(()) => Ok(Replayable {
                    status: 201,
                    body,
                    replayed: false,
                }),
                // The same key committed first: the next attempt replays its answer.
                Err(StoreError::IdempotencyRace) => Err(AppError::Contention),
                Err(e) => Err(e.into()),
            }
        }
    })
    .await
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Activate,
    Deactivate,
}

pub async fn set_active<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    user_id: &UserId,
    what: Activation,
    now: DateTime<Utc>,
) -> Result<UserView, AppError> {
    retrying(|_| async move {
        let auth = authorize(store, caller, Right::UsersManage, now).await?;
        let before = store
            .load_user(&caller.tenant, user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        ensure_within_rights(&auth, &before.role)?;
        let loaded = auth.loaded;
        let mut account = loaded.account.clone();
        if what == Activation::Activate && !before.active {
            let pools = std::iter::once(PoolId::licences()).chain(before.modules.keys().cloned());
            account.subscription.observe(newest_seat(store, &caller.tenant, pools).await?);
        }
        let mut after = before.clone();
        let (events, action) = match what {
            Activation::Activate => (user::activate(&mut account, &mut after, now)?, "user.activated"),
            Activation::Deactivate => {
                account.subscription.ensure_active()?;
                (user::deactivate(&mut account, &mut after, now, "manual")?, "user.deactivated")
            }
        };
        account
            .subscription
            .ensure_administrator_kept(&loaded.account.subscription)?;
        let view = UserView::new(&after, &account);
        let log = log_entry(
            Actor::User(caller.user.clone()),
            action,
            json!({ "user_id": user_id, "licence_state": view.licence_state, "deadline": view.deadline }),
            account.subscription.clock,
        );
        let write = UserWrite { before: Some(before), after };
        crate::app::commit(store, UnitOfWork::new(&loaded, account, log, &events, now).users(vec![write]).into_change()).await?;
        Ok(view)
    })
    .await
}

pub async fn update_user<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    user_id: &UserId,
    patch: UserPatch,
    now: DateTime<Utc>,
) -> Result<UserView, AppError> {
    retrying(|_| {
        let patch = patch.clone();
        async move {
            let auth = authorize(store, caller, Right::UsersManage, now).await?;
            let before = store
                .load_user(&caller.tenant, user_id)
                .await?
                .ok_or(AppError::NotFound("user"))?;
            if let Some(role) = &patch.role
                && role != &before.role
            {
                // R23: nobody changes their own role, nor gives or takes rights they lack.
                if user_id == &caller.user {
                    return Err(DomainError::Escalation.into());
                }
                ensure_within_rights(&auth, &before.role)?;
                ensure_within_rights(&auth, role)?;
            }
            let loaded = auth.loaded;
            let mut account = loaded.account.clone();
            account.subscription.ensure_active()?;
            let mut after = before.clone();
            let mut events = Vec::new();
            if let Some(role) = patch.role.clone() {
                user::set_role(&mut account, &mut after, role)?;
            }
            if let Some(modules) = patch.modules.clone() {
                let added = modules.iter().filter(|m| !before.modules.contains_key(*m)).cloned();
                account.subscription.observe(newest_seat(store, &caller.tenant, added).await?);
                events = user::set_modules(&mut account, &mut after, modules, now)?;
            }
            if let Some(language) = patch.language {
                after.language = language;
            }
            account
                .subscription
                .ensure_administrator_kept(&loaded.account.subscription)?;
            let at = account.subscription.tick(now);
            let view = UserView::new(&after, &account);
            let log = log_entry(
                Actor::User(caller.user.clone()),
                "user.updated",
                json!({ "user_id": user_id, "role": after.role, "modules": view.modules, "language": after.language }),
                at,
            );
            let write = UserWrite { before: Some(before), after };
            crate::app::commit(store, UnitOfWork::new(&loaded, account, log, &events, now).users(vec![write]).into_change()).await?;
            Ok(view)
        }
    })
    .await
}

//! R34: a tenant's identity provider manages its users over SCIM with a provisioning token.
//! Every write goes through the users' own rules (R2–R5 seats and grace, R23's last
//! administrator, R24's limit), commits one change with its log entry (the token's name as
//! actor) and its mail, and holds the user's `userName` and `externalId` as keys, so a create
//! retried after a lost answer finds the first user (409 `uniqueness`) instead of making a
//! second.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use std::collections::BTreeSet;

use super::views::UserView;
use super::{AppError, UnitOfWork, found_in_current_period, log_entry, newest_seat, retrying};
use crate::domain::DomainError;
use crate::domain::directory::{Directory, DirectoryKey};
use crate::domain::identity::{Actor, DisplayName, EmailAddress, Language, UserId};
use crate::domain::pool::PoolId;
use crate::domain::rights::{Right, plain_user};
use crate::domain::user::{self, NewUser, User};
use crate::ports::{
    AccountReads, Commits, Directories, Listings, PageRequest, StoreError, UserWrite,
};
use crate::scim::filter::Filter;
use crate::scim::resource::{Desired, etag, render};
use crate::scim::{MAX_RESULTS, ScimError};

mod tokens;
pub use tokens::{
    CreatedTokenView, DirectoryCaller, TOKEN_PREFIX, TokenView, authenticate, create_token,
    list_tokens, revoke_token,
};

/// A SCIM-managed user, as SCIM sees it.
fn live(user: Option<User>) -> Result<(User, Directory), AppError> {
    let user = user.ok_or(AppError::NotFound("user"))?;
    let directory = user
        .directory
        .clone()
        .filter(Directory::is_live)
        .ok_or(AppError::NotFound("user"))?;
    Ok((user, directory))
}

pub async fn get_user<S: AccountReads>(
    store: &S,
    caller: &DirectoryCaller,
    id: &str,
    base: &str,
) -> Result<Value, AppError> {
    let Ok(id) = UserId::parse(id) else {
        return Err(AppError::NotFound("user"));
    };
    let (user, directory) = live(store.load_user(&caller.tenant, &id).await?)?;
    Ok(render(&user, &directory, base))
}

/// One page of a list answer: the matches, and how many there are in all.
pub struct Listed {
    pub total: usize,
    pub resources: Vec<Value>,
}

/// Users a filter without a key reads at most: a whole tenant of R24's size.
const SCAN_USERS: usize = 100_000;

/// `GET /Users`: a filter naming `id`, `userName` or `externalId` with `eq` reads one key;
/// any other (or none) reads the tenant's users a page at a time and filters them here.
/// `start_index` is 1-based (RFC 7644 §3.4.2.4).
pub async fn list_users<S: AccountReads + Listings + Directories>(
    store: &S,
    caller: &DirectoryCaller,
    filter: Option<&Filter>,
    start_index: usize,
    count: usize,
    base: &str,
) -> Result<Listed, AppError> {
    let count = count.min(MAX_RESULTS);
    let keyed = filter.and_then(|f| {
        f.required_eq("id")
            .map(|id| Lookup::Id(id.to_owned()))
            .or_else(|| {
                f.required_eq("userName")
                    .map(|n| Lookup::Key(DirectoryKey::user_name(n)))
            })
            .or_else(|| {
                f.required_eq("externalId")
                    .map(|x| Lookup::Key(DirectoryKey::ExternalId(x.to_owned())))
            })
    });
    let mut matches = Vec::new();
    let mut total = 0;
    let mut take = |user: &User| {
        let Some(directory) = user.directory.as_ref().filter(|d| d.is_live()) else {
            return;
        };
        let resource = render(user, directory, base);
        if filter.is_none_or(|f| f.matches(&resource)) {
            total += 1;
            if total >= start_index && matches.len() < count {
                matches.push(resource);
            }
        }
    };
    if let Some(lookup) = keyed {
        let id = match lookup {
            Lookup::Id(id) => UserId::parse(&id).ok(),
            Lookup::Key(key) => store.directory_user(&caller.tenant, &key).await?,
        };
        if let Some(id) = id
            && let Some(user) = store.load_user(&caller.tenant, &id).await?
        {
            take(&user);
        }
    } else {
        let mut cursor = None;
        let mut read = 0;
        loop {
            let page = store
                .list_users(
                    &caller.tenant,
                    &PageRequest {
                        cursor,
                        limit: 1000,
                    },
                )
                .await?;
            read += page.items.len();
            page.items.iter().for_each(&mut take);
            cursor = page.next_cursor;
            if cursor.is_none() || read >= SCAN_USERS {
                break;
            }
        }
    }
    Ok(Listed {
        total,
        resources: matches,
    })
}

enum Lookup {
    Id(String),
    Key(DirectoryKey),
}

/// What a SCIM write does to a user.
enum Write {
    Create(UserId),
    /// PUT or PATCH: the user, and the ETag the request requires (`If-Match`).
    Replace(UserId, Option<String>),
    Delete(UserId),
}

pub async fn create_user<S: AccountReads + Commits>(
    store: &S,
    caller: &DirectoryCaller,
    desired: Desired,
    base: &str,
    now: DateTime<Utc>,
) -> Result<Value, AppError> {
    // Minted once, so every retry of a lost race creates the same user.
    let id = super::users::mint_user_id()?;
    write(store, caller, Write::Create(id), Some(desired), base, now).await
}

pub async fn replace_user<S: AccountReads + Commits>(
    store: &S,
    caller: &DirectoryCaller,
    id: &str,
    desired: Desired,
    if_match: Option<String>,
    base: &str,
    now: DateTime<Utc>,
) -> Result<Value, AppError> {
    let id = UserId::parse(id).map_err(|_| AppError::NotFound("user"))?;
    write(
        store,
        caller,
        Write::Replace(id, if_match),
        Some(desired),
        base,
        now,
    )
    .await
}

/// PATCH: the operations applied to the user as rendered, and the result written as a PUT.
pub async fn patch_user<S: AccountReads + Commits>(
    store: &S,
    caller: &DirectoryCaller,
    id: &str,
    body: &Value,
    if_match: Option<String>,
    base: &str,
    now: DateTime<Utc>,
) -> Result<Value, AppError> {
    let id = UserId::parse(id).map_err(|_| AppError::NotFound("user"))?;
    retrying(|_| async {
        let (user, directory) = live(store.load_user(&caller.tenant, &id).await?)?;
        let mut resource = render(&user, &directory, base);
        // The operations apply to what the provider last set: `active` as it sent it, so a
        // PATCH that does not name `active` does not turn into a change of it (GET shows the
        // user's own state, which an administrator or the sweep may have changed).
        if let Some(active) = directory.active {
            resource["active"] = active.into();
        }
        crate::scim::patch::apply(&mut resource, body).map_err(AppError::Scim)?;
        let mut desired = Desired::parse(&resource).map_err(AppError::Scim)?;
        // The rendered user carries the extension whenever it holds modules: after the
        // operations, its absence is no modules (a PUT that omits it keeps them instead).
        desired.modules.get_or_insert_with(BTreeSet::new);
        // The version read is the one the write must find: a change in between retries the
        // whole PATCH on the newer user, never applies it to a stale copy.
        // `If-Match: *` asks only that the user exists: the version read still guards the write.
        let named = if_match.clone().filter(|m| m != "*");
        let expected = named.clone().or_else(|| Some(etag(&user, &directory)));
        match write(
            store,
            caller,
            Write::Replace(id.clone(), expected),
            Some(desired),
            base,
            now,
        )
        .await
        {
            Err(AppError::Scim(e)) if e.status == 412 && named.is_none() => {
                Err(AppError::Contention)
            }
            other => other,
        }
    })
    .await
}

/// DELETE: the user is deactivated (its seats freed, the red seats re-ranked) and leaves
/// SCIM; it stays in the users list, marked deprovisioned, for the log and invoices.
pub async fn delete_user<S: AccountReads + Commits>(
    store: &S,
    caller: &DirectoryCaller,
    id: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let id = UserId::parse(id).map_err(|_| AppError::NotFound("user"))?;
    write(store, caller, Write::Delete(id), None, "", now)
        .await
        .map(|_| ())
}

fn shown(desired: &Desired) -> Result<DisplayName, AppError> {
    let probe = directory_of(desired, "", "", 0, DateTime::<Utc>::MIN_UTC);
    let name: String = probe.shown_name().chars().take(200).collect();
    DisplayName::parse(&name).map_err(|e| AppError::Scim(ScimError::invalid_value(e.to_string())))
}

fn address(desired: &Desired) -> Result<Option<EmailAddress>, AppError> {
    let probe = directory_of(desired, "", "", 0, DateTime::<Utc>::MIN_UTC);
    probe
        .mail_address()
        .map(|a| {
            EmailAddress::parse(a)
                .map_err(|e| AppError::Scim(ScimError::invalid_value(e.to_string())))
        })
        .transpose()
}

fn directory_of(
    desired: &Desired,
    token_id: &str,
    token_name: &str,
    version: u64,
    at: DateTime<Utc>,
) -> Directory {
    Directory {
        user_name: desired.user_name.clone(),
        external_id: desired.external_id.clone(),
        name: desired.name.clone(),
        display_name: desired.display_name.clone(),
        emails: desired.emails.clone(),
        active: desired.active,
        token_id: token_id.to_owned(),
        token_name: token_name.to_owned(),
        version,
        last_modified: at,
        deprovisioned_at: None,
    }
}

/// The directory record with the fields a request sets, to tell whether anything changed.
fn same_record(a: &Directory, b: &Directory) -> bool {
    let strip = |d: &Directory| Directory {
        token_id: String::new(),
        token_name: String::new(),
        version: 0,
        last_modified: DateTime::<Utc>::MIN_UTC,
        ..d.clone()
    };
    strip(a) == strip(b)
}

async fn write<S: AccountReads + Commits>(
    store: &S,
    caller: &DirectoryCaller,
    what: Write,
    desired: Option<Desired>,
    base: &str,
    now: DateTime<Utc>,
) -> Result<Value, AppError> {
    let what = &what;
    retrying(|_| {
        let desired = desired.clone();
        async move {
            let (loaded, maker) = futures::join!(
                store.load_account(&caller.tenant),
                store.load_user(&caller.tenant, &caller.maker)
            );
            let loaded = found_in_current_period(store, loaded?, now)
                .await?
                .ok_or(AppError::Unauthenticated)?;
            let roles = &loaded.account.subscription.roles;
            let maker = maker?.filter(|m| m.active);
            let maker_role = maker.as_ref().map(|m| m.role.clone());
            let maker_rights = maker
                .map(|m| roles.rights_of(&m.role))
                .filter(|r| r.contains(&Right::UsersManage))
                .ok_or_else(|| {
                    AppError::Scim(ScimError::new(
                        401,
                        None,
                        "the token's maker no longer manages users: make a new token",
                    ))
                })?;
            // R23: the token changes no user whose role holds a right its maker lacks.
            let within = |role: &crate::domain::identity::RoleName| {
                crate::domain::rights::ensure_grantable(&maker_rights, &roles.rights_of(role)).map_err(|_| {
                    AppError::Scim(ScimError::new(
                        403,
                        None,
                        "the user's role holds a right the token's maker lacks",
                    ))
                })
            };
            let actor = Actor::Directory(caller.token_name.clone());
            let mut account = loaded.account.clone();
            account.subscription.ensure_active()?;
            match what {
                Write::Create(id) => {
                    let Some(desired) = desired else {
                        return Err(AppError::Internal("a create without a body".into()));
                    };
                    let email = address(&desired)?.ok_or_else(|| {
                        AppError::Scim(ScimError::invalid_value(
                            "emails is required: the user is mailed about its seat (or a userName that is an address)",
                        ))
                    })?;
                    let modules = desired.modules.clone().unwrap_or_default();
                    // As the users API: a seat that will be red comes after the pool's newest.
                    let sub = &account.subscription;
                    let red_pools: Vec<PoolId> = std::iter::once(PoolId::licences())
                        .chain(modules.iter().cloned())
                        .filter(|p| desired.is_active() && sub.pool(p).is_some_and(|p| p.available() == 0))
                        .collect();
                    account.subscription.observe(newest_seat(store, &caller.tenant, red_pools).await?);
                    let (mut created, events) = user::create_user(
                        &mut account,
                        NewUser {
                            user_id: id.clone(),
                            name: shown(&desired)?,
                            email,
                            language: Language::default(),
                            role: plain_user(),
                            modules,
                            active: desired.is_active(),
                        },
                        now,
                    )
                    .map_err(scim_refusal)?;
                    created.directory = Some(directory_of(&desired, &caller.token_id, &caller.token_name, 1, created.created_at));
                    let view = UserView::new(&created, &account);
                    let log = log_entry(
                        actor,
                        "user.created",
                        json!({ "user_id": created.user_id, "via": "scim", "user_name": desired.user_name, "active": created.active, "modules": view.modules, "licence_state": view.licence_state }),
                        account.subscription.clock,
                    );
                    let rendered = render(&created, created.directory.as_ref().ok_or_else(|| AppError::Internal("no record".into()))?, base);
                    let role = created.role.clone();
                    let write = UserWrite { before: None, after: created };
                    let change = UnitOfWork::new(&loaded, account, log, &events, now)
                        .users(vec![write])
                        .counters_only(
                            &loaded.account.subscription,
                            // As the users API's create: the rights it relied on, the maker's
                            // and the new user's role's, still held when it commits.
                            maker_role.clone().into_iter().chain([role]).collect(),
                        )
                        .into_change();
                    committed(super::commit(store, change).await)?;
                    Ok(rendered)
                }
                Write::Replace(id, _) | Write::Delete(id) => {
                    let (before, record) = live(store.load_user(&caller.tenant, id).await?)?;
                    within(&before.role)?;
                    if let Write::Replace(_, Some(wanted)) = what
                        && *wanted != etag(&before, &record)
                        && wanted != "*"
                    {
                        return Err(AppError::Scim(ScimError::new(412, None, "the user changed since the version named in If-Match")));
                    }
                    let deleting = matches!(what, Write::Delete(_));
                    let desired = match desired {
                        Some(d) => d,
                        None => Desired {
                            user_name: record.user_name.clone(),
                            external_id: record.external_id.clone(),
                            name: record.name.clone(),
                            display_name: record.display_name.clone(),
                            emails: record.emails.clone(),
                            active: Some(false),
                            modules: None,
                        },
                    };
                    let mut after = before.clone();
                    let mut events = Vec::new();
                    after.name = shown(&desired)?;
                    if let Some(email) = address(&desired)? {
                        after.email = email;
                    }
                    if let Some(modules) = desired.modules.clone()
                        && modules != before.modules.keys().cloned().collect::<BTreeSet<_>>()
                    {
                        let added = modules.iter().filter(|m| !before.modules.contains_key(*m)).cloned();
                        account.subscription.observe(newest_seat(store, &caller.tenant, added).await?);
                        events.extend(user::set_modules(&mut account, &mut after, modules, now).map_err(scim_refusal)?);
                    }
                    // The user's activation follows the provider's `active` only when the
                    // provider changes it: an administrator's or the sweep's deactivation is
                    // not undone by a later PATCH of a name, nor by a PUT that resends it.
                    let active = if deleting {
                        false
                    } else if desired.active != record.active {
                        desired.is_active()
                    } else {
                        before.active
                    };
                    let action = if deleting {
                        "user.deprovisioned"
                    } else if active && !before.active {
                        "user.activated"
                    } else if !active && before.active {
                        "user.deactivated"
                    } else {
                        "user.updated"
                    };
                    if active && !after.active {
                        let pools = std::iter::once(PoolId::licences()).chain(after.modules.keys().cloned());
                        account.subscription.observe(newest_seat(store, &caller.tenant, pools).await?);
                        events.extend(user::activate(&mut account, &mut after, now).map_err(scim_refusal)?);
                    } else if !active && after.active {
                        let reason = if deleting { "deprovisioned" } else { "directory" };
                        events.extend(user::deactivate(&mut account, &mut after, now, reason)?);
                    }
                    if let Err(e) = account.subscription.ensure_administrator_kept(&loaded.account.subscription) {
                        tracing::warn!(tenant = %caller.tenant, user = %id, token = %caller.token_name, "SCIM refused: the last active administrator");
                        return Err(scim_refusal(e));
                    }
                    let next = directory_of(&desired, &caller.token_id, &caller.token_name, record.version, record.last_modified);
                    if !deleting && after == before && same_record(&next, &record) {
                        // Nothing changes: no write, the same version.
                        return Ok(render(&before, &record, base));
                    }
                    let at = account.subscription.tick(now);
                    let mut next = Directory { version: record.version + 1, last_modified: at, ..next };
                    if deleting {
                        next = Directory { deprovisioned_at: Some(at), ..record.clone() };
                        next.version = record.version + 1;
                        next.last_modified = at;
                    }
                    after.directory = Some(next.clone());
                    let view = UserView::new(&after, &account);
                    let log = log_entry(
                        actor,
                        action,
                        json!({ "user_id": id, "via": "scim", "user_name": next.user_name, "licence_state": view.licence_state, "deadline": view.deadline, "modules": view.modules }),
                        at,
                    );
                    let rendered = render(&after, &next, base);
                    let write = UserWrite { before: Some(before), after };
                    committed(super::commit(store, UnitOfWork::new(&loaded, account, log, &events, now).users(vec![write]).into_change()).await)?;
                    Ok(rendered)
                }
            }
        }
    })
    .await
}

/// A domain refusal as SCIM says it: the last administrator and a module the tenant lacks
/// are the request's values; the user limit is the tenant's.
fn scim_refusal(err: DomainError) -> AppError {
    let detail = err.to_string();
    match err {
        DomainError::LastAdministrator => AppError::Scim(ScimError::mutability(format!(
            "{detail}: the tenant's last active administrator cannot be deactivated or deleted"
        ))),
        DomainError::UnknownModule(_) | DomainError::InvalidInput { .. } => {
            AppError::Scim(ScimError::invalid_value(detail))
        }
        DomainError::LimitReached { .. } => AppError::Scim(ScimError::new(403, None, detail)),
        other => other.into(),
    }
}

/// A key another user holds is SCIM's `uniqueness`; the rest as any commit.
fn committed(result: Result<(), StoreError>) -> Result<(), AppError> {
    match result {
        Err(StoreError::AlreadyExists("directory key")) => Err(AppError::Scim(
            ScimError::uniqueness("another user has this userName or externalId"),
        )),
        other => other.map_err(AppError::from),
    }
}

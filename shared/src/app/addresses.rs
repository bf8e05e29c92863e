//! A change's mail addressed before it commits (decision 0014): each mail carries its
//! recipients as they are at the change, and the tenant's name, time zone and contacts, so that
//! delivering a batch is claim, send and settle, and reads nothing else.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::identity::{RoleName, UserId};
use crate::domain::suppression::suppression_key;
use crate::domain::user::User;
use crate::outbox::{Addressed, MailKind, Payload, Recipient};
use crate::ports::{AccountReads, Change, MailSuppressions, RoleMembers, StoreError};

/// What a command read already that its mail needs: the users it may name (the approver).
#[derive(Default)]
pub(crate) struct Known {
    pub users: Vec<User>,
}

/// Fills in every mail of `change` that has no recipients yet. Reads at once what they need
/// and `known` does not hold: the tenant's suppressed addresses (when it has any), the
/// managers (through the `role` index) when a mail goes to them or names them, and the users
/// a mail names that the change does not write. Nothing when the change sends no mail.
pub(crate) async fn address<S: AccountReads + MailSuppressions + RoleMembers>(
    store: &S,
    change: &mut Change,
    known: Known,
) -> Result<(), StoreError> {
    let sub = &change.account.subscription;
    let tenant = &sub.tenant_id;
    // The change's own writes are newer than what was read (and than the index, which lags).
    let written: BTreeMap<&UserId, &User> = known
        .users
        .iter()
        .chain(change.users.iter().map(|w| &w.after))
        .map(|u| (&u.user_id, u))
        .collect();
    let mut mails = false;
    let mut wants_managers = false;
    let mut unknown: BTreeSet<UserId> = BTreeSet::new();
    for message in &change.outbox {
        if let Payload::Mail {
            to,
            kind,
            addressed: None,
            ..
        } = &message.payload
        {
            mails = true;
            match to {
                Recipient::User { user_id } => {
                    wants_managers |= *kind == MailKind::SeatAtRisk;
                    if !written.contains_key(user_id) {
                        unknown.insert(user_id.clone());
                    }
                }
                Recipient::Managers
                | Recipient::OtherManagers { .. }
                | Recipient::Administrators { .. } => wants_managers = true,
            }
        }
    }
    if !mails {
        return Ok(());
    }
    let manager_roles: Vec<RoleName> = sub
        .roles
        .iter()
        .map(|(role, _)| role)
        .filter(|role| sub.roles.manages(role))
        .cloned()
        .collect();
    let unknown: Vec<UserId> = unknown.into_iter().collect();
    let (suppressed, managers, users) = futures::join!(
        async {
            if sub.suppressed_addresses == 0 {
                Ok(Vec::new())
            } else {
                store.suppressions(tenant).await
            }
        },
        async {
            if wants_managers {
                store.active_in_roles(tenant, &manager_roles).await
            } else {
                Ok(Vec::new())
            }
        },
        async {
            if unknown.is_empty() {
                Ok(BTreeMap::new())
            } else {
                store.load_users(tenant, &unknown).await
            }
        },
    );
    let suppressed: BTreeSet<String> = suppressed?.into_iter().map(|s| s.address).collect();
    let users = users?;
    let mut by_id: BTreeMap<UserId, User> = managers?
        .into_iter()
        .map(|u| (u.user_id.clone(), u))
        .collect();
    for user in change.users.iter().map(|w| &w.after) {
        by_id.remove(&user.user_id);
        if user.active && sub.roles.manages(&user.role) {
            by_id.insert(user.user_id.clone(), user.clone());
        }
    }
    let managers: Vec<User> = by_id.into_values().collect();
    let is_admin = |u: &User| sub.roles.holds_all(&u.role);
    let is_suppressed = |u: &User| suppressed.contains(&suppression_key(u.email.as_str()));
    let contacts = Addressed::contacts(&managers);
    for message in &mut change.outbox {
        if let Payload::Mail {
            to,
            kind,
            language,
            addressed: addressed @ None,
            ..
        } = &mut message.payload
        {
            let user = match &*to {
                Recipient::User { user_id } => {
                    written.get(user_id).copied().or_else(|| users.get(user_id))
                }
                _ => None,
            };
            *addressed = Some(Addressed {
                to: Addressed::resolve(to, *language, user, &managers, is_admin, is_suppressed),
                tenant_name: sub.name.to_string(),
                time_zone: sub.time_zone,
                contacts: if *kind == MailKind::SeatAtRisk {
                    contacts.clone()
                } else {
                    Vec::new()
                },
            });
        }
    }
    Ok(())
}

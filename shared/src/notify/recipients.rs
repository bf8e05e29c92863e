//! Who the mail of a message written before decision 0014 goes to, read when it is sent: the
//! users it names and, when some of it goes to the managers, the tenant's users with the
//! right to manage licences, read once per delivery. A message written since carries its
//! recipients (`Addressed`), and none of this is read.

use std::collections::{BTreeMap, BTreeSet};

use super::mail::MailContext;
use crate::domain::identity::{Language, TenantId};
use crate::domain::rights::Roles;
use crate::domain::suppression::suppression_key;
use crate::domain::user::User;
use crate::outbox::{Addressed, MailKind, OutboxBatch, Payload, Recipient};
use crate::ports::{AccountReads, MailSuppressions, OutboxStore, StoreError};

pub(super) struct Recipients {
    pub users: BTreeMap<String, User>,
    pub managers: Vec<User>,
    /// The tenant's roles, which tell the administrators among the managers.
    pub roles: Option<Roles>,
    pub about: MailContext,
    /// Addresses that bounced for good or complained (`feedback`): mail to them is skipped.
    pub suppressed: BTreeSet<String>,
}

impl Recipients {
    fn suppressed(&self, user: &User) -> bool {
        self.suppressed
            .contains(&suppression_key(user.email.as_str()))
    }

    /// `to` resolved among what was read, as the change would have.
    pub fn addressed(&self, to: &Recipient, language: Option<Language>) -> Addressed {
        let user = match to {
            Recipient::User { user_id } => self.users.get(user_id.as_str()),
            _ => None,
        };
        Addressed {
            to: Addressed::resolve(
                to,
                language,
                user,
                &self.managers,
                |u| self.roles.as_ref().is_some_and(|r| r.holds_all(&u.role)),
                |u| self.suppressed(u),
            ),
            tenant_name: self.about.tenant_name.clone(),
            time_zone: self.about.time_zone,
            contacts: self.about.contacts.clone(),
        }
    }
}

/// Reads only what the batches' mail needs: nothing for events alone, the named users for
/// personal mail, and the tenant's users only when some mail goes to the managers. (Every
/// change has events; reading all users after each commit would cost a tenant-sized Query.)
/// With mail to send, the tenant's suppressed addresses too (one Query, empty for most).
pub(super) async fn recipients<S: AccountReads + OutboxStore + MailSuppressions>(
    store: &S,
    tenant: &TenantId,
    batches: &[OutboxBatch],
    support: Option<&str>,
) -> Result<Recipients, StoreError> {
    let mut about = MailContext::new(tenant.to_string());
    about.support = support.map(str::to_owned);
    let mut people = Recipients {
        users: BTreeMap::new(),
        managers: Vec::new(),
        roles: None,
        about,
        suppressed: BTreeSet::new(),
    };
    let mut names_contacts = false;
    let mails: Vec<&Recipient> = batches
        .iter()
        .flat_map(|b| &b.messages)
        .filter_map(|m| match &m.payload {
            Payload::Mail {
                to,
                kind,
                addressed: None,
                ..
            } => {
                names_contacts |= *kind == MailKind::SeatAtRisk;
                Some(to)
            }
            Payload::Mail { .. } | Payload::Event { .. } | Payload::Webhook { .. } => None,
        })
        .collect();
    if mails.is_empty() {
        return Ok(people);
    }
    people.suppressed = store
        .suppressions(tenant)
        .await?
        .into_iter()
        .map(|s| s.address)
        .collect();
    let roles = match store.load_account(tenant).await? {
        Some(loaded) => {
            let sub = loaded.account.subscription;
            people.about.tenant_name = sub.name.to_string();
            people.about.time_zone = sub.time_zone;
            Some(sub.roles)
        }
        None => None,
    };
    people.roles = roles;
    if names_contacts || mails.iter().any(|to| !matches!(to, Recipient::User { .. })) {
        let users = store.all_users(tenant).await?;
        let roles = people.roles.as_ref();
        let manages = |u: &User| u.active && roles.is_some_and(|r| r.manages(&u.role));
        people.managers = users.iter().filter(|u| manages(u)).cloned().collect();
        people.about.contacts = Addressed::contacts(&people.managers);
        people.users = users
            .into_iter()
            .map(|u| (u.user_id.to_string(), u))
            .collect();
    } else {
        for to in mails {
            if let Recipient::User { user_id } = to
                && !people.users.contains_key(user_id.as_str())
                && let Some(user) = store.load_user(tenant, user_id).await?
            {
                people.users.insert(user_id.to_string(), user);
            }
        }
    }
    Ok(people)
}

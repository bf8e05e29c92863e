//! A mail's recipients as its change resolved them (decision 0014).

use serde::{Deserialize, Serialize};

use super::Recipient;
use crate::domain::identity::{Language, UserId};
use crate::domain::user::User;

/// What sending a mail needs, as it was at the change: its recipients and the tenant's name,
/// time zone and contacts. Delivery then reads nothing but its batch (R20).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addressed {
    pub to: Vec<Addressee>,
    pub tenant_name: String,
    pub time_zone: chrono_tz::Tz,
    /// The managers a user's own mail names as whom to ask.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contacts: Vec<String>,
}

/// Managers a user's own mail names as whom to ask.
pub const CONTACTS_NAMED: usize = 3;

impl Addressed {
    /// `to` resolved among the tenant's `managers` (active users whose role holds
    /// `licences.manage`, by user id) or to `user`; `is_admin` tells the managers whose role
    /// holds every right. `suppressed` tells an address that must not be mailed.
    pub fn resolve(
        to: &Recipient,
        language: Option<Language>,
        user: Option<&User>,
        managers: &[User],
        is_admin: impl Fn(&User) -> bool,
        suppressed: impl Fn(&User) -> bool,
    ) -> Vec<Addressee> {
        let people: Vec<&User> = match to {
            Recipient::User { .. } => user.into_iter().collect(),
            Recipient::Managers => managers.iter().collect(),
            Recipient::OtherManagers { except } => {
                managers.iter().filter(|u| &u.user_id != except).collect()
            }
            Recipient::Administrators { except } => managers
                .iter()
                .filter(|u| is_admin(u) && Some(&u.user_id) != except.as_ref())
                .collect(),
        };
        people
            .into_iter()
            .map(|u| Addressee {
                user_id: u.user_id.clone(),
                address: u.email.to_string(),
                name: u.name.to_string(),
                // A mail to one user may be in the language of the request that caused it.
                language: match to {
                    Recipient::User { .. } => language.unwrap_or(u.language),
                    _ => u.language,
                },
                suppressed: suppressed(u),
            })
            .collect()
    }

    /// The managers a user's mail names, as "Name <address>".
    pub fn contacts(managers: &[User]) -> Vec<String> {
        managers
            .iter()
            .take(CONTACTS_NAMED)
            .map(|m| format!("{} <{}>", m.name, m.email))
            .collect()
    }
}

/// One recipient of a mail: the address it goes to, the name and language it is written for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Addressee {
    pub user_id: UserId,
    pub address: String,
    pub name: String,
    pub language: Language,
    /// The address had bounced for good or complained at the change: skipped, and counted.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub suppressed: bool,
}

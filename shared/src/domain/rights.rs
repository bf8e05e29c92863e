//! Rights granted to roles, roles granted to users (R17).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::error::DomainError;
use super::identity::RoleName;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Right {
    #[serde(rename = "account.view")]
    AccountView,
    #[serde(rename = "licences.manage")]
    LicencesManage,
    #[serde(rename = "users.manage")]
    UsersManage,
}

impl Right {
    pub const ALL: [Right; 3] = [
        Right::AccountView,
        Right::LicencesManage,
        Right::UsersManage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountView => "account.view",
            Self::LicencesManage => "licences.manage",
            Self::UsersManage => "users.manage",
        }
    }
}

pub const ADMINISTRATOR: &str = "administrator";
pub const USER: &str = "user";

/// Roles per tenant, the two built-in ones included (R24).
pub const MAX_ROLES: usize = 50;

/// The tenant's roles. `administrator` is built in, holds every right and cannot be changed,
/// so a tenant can never lock itself out by editing roles.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Roles(BTreeMap<RoleName, BTreeSet<Right>>);

impl Default for Roles {
    fn default() -> Self {
        let mut roles = BTreeMap::new();
        roles.insert(administrator(), Right::ALL.into_iter().collect());
        roles.insert(RoleName::trusted(USER), BTreeSet::new());
        Self(roles)
    }
}

pub fn administrator() -> RoleName {
    RoleName::trusted(ADMINISTRATOR)
}

pub fn plain_user() -> RoleName {
    RoleName::trusted(USER)
}

impl Roles {
    pub fn rights_of(&self, role: &RoleName) -> BTreeSet<Right> {
        if role.as_str() == ADMINISTRATOR {
            return Right::ALL.into_iter().collect();
        }
        self.0.get(role).cloned().unwrap_or_default()
    }

    /// Whether `role` holds every right: an administrator's (R23, R35).
    pub fn holds_all(&self, role: &RoleName) -> bool {
        self.rights_of(role).len() == Right::ALL.len()
    }

    /// Whether `role` may buy and downscale: whom the managers' mail reaches.
    pub fn manages(&self, role: &RoleName) -> bool {
        self.rights_of(role).contains(&Right::LicencesManage)
    }

    pub fn exists(&self, role: &RoleName) -> bool {
        self.0.contains_key(role)
    }

    pub fn get(&self, role: &RoleName) -> Option<&BTreeSet<Right>> {
        self.0.get(role)
    }

    /// Creates or replaces a role's rights; takes effect on the next request (R17).
    pub fn set(&mut self, role: RoleName, rights: BTreeSet<Right>) -> Result<(), DomainError> {
        if role.as_str() == ADMINISTRATOR {
            return Err(DomainError::AdministratorRoleFixed);
        }
        if !self.0.contains_key(&role) && self.0.len() >= MAX_ROLES {
            return Err(DomainError::LimitReached {
                what: "roles",
                max: MAX_ROLES as u32,
            });
        }
        self.0.insert(role, rights);
        Ok(())
    }

    pub fn iter(&self) -> impl Iterator<Item = (&RoleName, &BTreeSet<Right>)> {
        self.0.iter()
    }
}

/// R23: a caller grants only rights it holds: `granted` must be among `held`.
pub fn ensure_grantable(
    held: &BTreeSet<Right>,
    granted: &BTreeSet<Right>,
) -> Result<(), DomainError> {
    if granted.is_subset(held) {
        Ok(())
    } else {
        Err(DomainError::Escalation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r17_administrator_holds_every_right_and_cannot_be_changed() {
        let mut roles = Roles::default();
        let admin = RoleName::parse("administrator").unwrap();
        assert_eq!(roles.rights_of(&admin).len(), 3);
        assert_eq!(
            roles.set(admin.clone(), BTreeSet::new()),
            Err(DomainError::AdministratorRoleFixed)
        );
        let viewer = RoleName::parse("viewer").unwrap();
        assert!(roles.rights_of(&viewer).is_empty());
        roles
            .set(viewer.clone(), [Right::AccountView].into_iter().collect())
            .unwrap();
        assert_eq!(
            roles.rights_of(&viewer),
            [Right::AccountView].into_iter().collect()
        );
        // Revoking is a replacement with fewer rights.
        roles.set(viewer.clone(), BTreeSet::new()).unwrap();
        assert!(roles.rights_of(&viewer).is_empty());
    }

    #[test]
    fn rights_serialise_as_their_spec_names() {
        let json = serde_json::to_string(&Right::LicencesManage).unwrap();
        assert_eq!(json, "\"licences.manage\"");
    }
}

//! The tenant's subscription: its pools, period, roles, settings and clock, as one item under
//! one version. What the red seats add to it is `account::Account`.

use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::error::DomainError;
use super::identity::{DisplayName, RoleName, TenantId};
use super::money::Currency;
use super::period::Period;
use super::pool::{Pool, PoolId};
use super::rights::Roles;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscription {
    pub tenant_id: TenantId,
    pub name: DisplayName,
    pub currency: Currency,
    pub time_zone: Tz,
    pub period: Period,
    /// The core licences first, then the modules in the order they were added.
    pub pools: Vec<Pool>,
    pub roles: Roles,
    pub created_at: DateTime<Utc>,
    pub terminated_at: Option<DateTime<Utc>>,
    /// Incremented by every committed change; the store's optimistic lock.
    pub version: u64,
    /// The instant of the last change. The tenant's clock never goes back, so R3's order is
    /// the order changes were committed in, whatever the callers' clocks say.
    pub clock: DateTime<Utc>,
    /// Active users per role, kept by every activation, deactivation and role change, so that
    /// R23 ("always one active administrator") is checked without reading the users.
    #[serde(default)]
    pub active_by_role: BTreeMap<RoleName, u32>,
    /// Users ever created in the tenant (users are deactivated, never deleted), so that R24's
    /// limit is checked without reading them.
    #[serde(default)]
    pub users: u32,
    /// R30: days before a period ends that the managers are reminded of the renewal (0: never).
    #[serde(default = "default_renewal_reminder_days")]
    pub renewal_reminder_days: u32,
    /// The start of the period whose renewal reminder was sent: once per period, however
    /// often the sweep runs.
    #[serde(default)]
    pub renewal_reminded: Option<chrono::NaiveDate>,
    /// R37: the last day the usage history is done with (read, or passed over as missing).
    #[serde(default)]
    pub usage_through: Option<chrono::NaiveDate>,
    /// R37: the first day the sweep read or passed over: the history starts there (a tenant
    /// created before the history existed starts at the sweep's first visit, not as missing
    /// days since its creation).
    #[serde(default)]
    pub usage_since: Option<chrono::NaiveDate>,
    /// R35: a purchase whose total is above this (minor units) waits for a second approver;
    /// none by default.
    #[serde(default)]
    pub approval_threshold: Option<super::money::Amount>,
    /// R35: the requests waiting for a second approver, for the sweep to expire.
    #[serde(default)]
    pub pending_requests: Vec<super::purchase_request::PendingRequest>,
    /// How many addresses of the tenant SES said bounce or complain (R32), counted by the
    /// store as it records each: a change of a tenant with none reads no suppression list
    /// before it mails (decision 0014).
    #[serde(default)]
    pub suppressed_addresses: u32,
}

/// R30's default: a week's notice before the next period is invoiced.
pub const DEFAULT_RENEWAL_REMINDER_DAYS: u32 = 7;
/// The most notice a tenant may ask for: longer than a month's period would remind at its
/// start.
pub const MAX_RENEWAL_REMINDER_DAYS: u32 = 60;

fn default_renewal_reminder_days() -> u32 {
    DEFAULT_RENEWAL_REMINDER_DAYS
}

impl Subscription {
    pub fn pool(&self, id: &PoolId) -> Option<&Pool> {
        self.pools.iter().find(|p| &p.id == id)
    }

    pub fn pool_mut(&mut self, id: &PoolId) -> Option<&mut Pool> {
        self.pools.iter_mut().find(|p| &p.id == id)
    }

    pub fn licences(&self) -> Option<&Pool> {
        self.pools.iter().find(|p| p.id.is_licences())
    }

    pub fn modules(&self) -> impl Iterator<Item = &Pool> {
        self.pools.iter().filter(|p| !p.id.is_licences())
    }

    pub fn is_terminated(&self) -> bool {
        self.terminated_at.is_some()
    }

    /// R18: a terminated subscription refuses every change.
    pub fn ensure_active(&self) -> Result<(), DomainError> {
        if self.is_terminated() {
            Err(DomainError::SubscriptionTerminated)
        } else {
            Ok(())
        }
    }

    /// Raises the clock to `newest`, the newest seat's instant in the pools a command adds
    /// seats to: single creates commit without moving the clock (see `Pool::licensed_adds`),
    /// so a command that adds a seat reads the newest one, and its seat comes after it (R3).
    pub fn observe(&mut self, newest: Option<DateTime<Utc>>) {
        if let Some(newest) = newest {
            self.clock = self.clock.max(newest);
        }
    }

    /// The instant a change made at `now` is recorded at: never before the previous change.
    pub fn tick(&mut self, now: DateTime<Utc>) -> DateTime<Utc> {
        let at = now.max(self.clock + Duration::microseconds(1));
        self.clock = at;
        at
    }

    /// Active users whose role holds every right (R23).
    pub fn administrators(&self) -> u32 {
        self.active_by_role
            .iter()
            .filter(|(role, _)| self.roles.holds_all(role))
            .map(|(_, n)| *n)
            .sum()
    }

    /// R23: a change may not take the last active administrator away. `before` is the
    /// subscription as read; a tenant that had none (an operator restores one) is not held.
    pub fn ensure_administrator_kept(&self, before: &Subscription) -> Result<(), DomainError> {
        if before.administrators() > 0 && self.administrators() == 0 {
            Err(DomainError::LastAdministrator)
        } else {
            Ok(())
        }
    }

    /// R23 before the fact: deactivating `user` would leave no active administrator.
    pub fn is_last_administrator(&self, user: &super::user::User) -> bool {
        user.active && self.roles.holds_all(&user.role) && self.administrators() <= 1
    }

    /// Counts a user entering (`+1`) or leaving (`-1`) active use in a role.
    pub fn count_active(&mut self, role: &RoleName, entering: bool) {
        let n = self.active_by_role.entry(role.clone()).or_insert(0);
        *n = if entering {
            n.saturating_add(1)
        } else {
            n.saturating_sub(1)
        };
        if *n == 0 {
            self.active_by_role.remove(role);
        }
    }

    /// When the sweep must roll this subscription over (R14); none once terminated.
    pub fn rollover_due(&self) -> Option<DateTime<Utc>> {
        (!self.is_terminated()).then(|| self.period.end_instant(self.time_zone))
    }

    /// When this period's renewal reminder is due (R30): `renewal_reminder_days` before the
    /// period ends, never before it starts; none once sent for this period, when the tenant
    /// asked for none, or once terminated.
    pub fn renewal_reminder_due(&self) -> Option<DateTime<Utc>> {
        if self.is_terminated()
            || self.renewal_reminder_days == 0
            || self.renewal_reminded == Some(self.period.start)
        {
            return None;
        }
        let end = self.period.end_instant(self.time_zone);
        let start = self.period.start_instant(self.time_zone);
        Some((end - chrono::Duration::days(i64::from(self.renewal_reminder_days))).max(start))
    }

    /// The next instant the sweep has work on the subscription itself: a renewal reminder, a
    /// rollover, the day's usage reading (R37) or a purchase request's expiry (R35), whichever
    /// comes first.
    pub fn sweep_due(&self) -> Option<DateTime<Utc>> {
        [
            self.renewal_reminder_due(),
            self.rollover_due(),
            self.usage_due(),
            self.requests_due(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// R30: sets the renewal reminder's notice in days.
    pub fn set_renewal_reminder_days(&mut self, days: u32) -> Result<(), DomainError> {
        self.ensure_active()?;
        if days > MAX_RENEWAL_REMINDER_DAYS {
            return Err(DomainError::invalid(
                "renewal_reminder_days",
                format!("must be 0 to {MAX_RENEWAL_REMINDER_DAYS}"),
            ));
        }
        self.renewal_reminder_days = days;
        Ok(())
    }
}

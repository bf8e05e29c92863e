//! The tenant's other records: suppressed addresses, usage readings (R37) and purchase
//! requests (R35).

use super::{MemoryStore, newest_first, page_of};
use crate::domain::account::Account;
use crate::domain::identity::{RoleName, TenantId};
use crate::domain::purchase_request::PurchaseRequest;
use crate::domain::suppression::MailSuppression;
use crate::domain::usage::UsageReading;
use crate::domain::user::User;
use crate::ports::{
    MailSuppressions, Page, PageRequest, PurchaseRequests, RoleMembers, StoreError, UsageHistory,
};

impl MailSuppressions for MemoryStore {
    async fn suppressions(&self, tenant: &TenantId) -> Result<Vec<MailSuppression>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant)
                .map(|d| d.suppressions.values().cloned().collect())
                .unwrap_or_default())
        })
    }

    async fn suppress(
        &self,
        tenant: &TenantId,
        suppression: &MailSuppression,
    ) -> Result<(), StoreError> {
        self.with(|t| {
            let data = t.entry(tenant.clone()).or_default();
            let new = data
                .suppressions
                .insert(suppression.address.clone(), suppression.clone())
                .is_none();
            if let Some(account) = data.account.as_mut().filter(|_| new) {
                account.subscription.suppressed_addresses += 1;
                account.subscription.version += 1;
            }
            Ok(())
        })
    }
}

impl UsageHistory for MemoryStore {
    async fn record_usage(
        &self,
        account: &Account,
        reading: Option<&UsageReading>,
    ) -> Result<(), StoreError> {
        self.with(|t| {
            let data = t
                .get_mut(&account.subscription.tenant_id)
                .ok_or(StoreError::Conflict)?;
            let stored = data.account.as_mut().ok_or(StoreError::Conflict)?;
            if stored.subscription.version != account.subscription.version {
                return Err(StoreError::Conflict);
            }
            // Only the subscription's item is written, as in the table: the red seats stay.
            let mut sub = account.subscription.clone();
            sub.version += 1;
            let reds = stored.all_reds().cloned().collect();
            *stored = Account::from_parts(sub, reds).0;
            if let Some(reading) = reading {
                data.usage.insert(reading.date, reading.clone());
            }
            Ok(())
        })
    }

    async fn usage_readings(
        &self,
        tenant: &TenantId,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<UsageReading>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant)
                .map(|d| d.usage.range(from..=to).map(|(_, r)| r.clone()).collect())
                .unwrap_or_default())
        })
    }
}

impl PurchaseRequests for MemoryStore {
    async fn get_request(
        &self,
        tenant: &TenantId,
        request_id: &str,
    ) -> Result<Option<PurchaseRequest>, StoreError> {
        self.with(|t| {
            Ok(t.get(tenant)
                .and_then(|d| d.requests.get(request_id).cloned()))
        })
    }

    async fn list_requests(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<PurchaseRequest>, StoreError> {
        self.with(|t| {
            let requests = t
                .get(tenant)
                .map(|d| d.requests.values().cloned().collect())
                .unwrap_or_default();
            page_of(
                &newest_first(requests, |r: &PurchaseRequest| r.request_id.clone()),
                page,
            )
        })
    }
}

impl RoleMembers for MemoryStore {
    async fn active_in_roles(
        &self,
        tenant: &TenantId,
        roles: &[RoleName],
    ) -> Result<Vec<User>, StoreError> {
        self.with(|t| {
            let users = t.get(tenant).map(|d| &d.users);
            Ok(roles
                .iter()
                .flat_map(|role| {
                    users
                        .into_iter()
                        .flat_map(|u| u.values())
                        .filter(move |u| u.active && &u.role == role)
                        .cloned()
                })
                .collect())
        })
    }
}

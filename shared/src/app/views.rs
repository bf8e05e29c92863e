//! The HTTP contract's shapes (docs/rules.md and openapi.yaml), built from domain values.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use std::collections::BTreeSet;

use crate::domain::account::Account;
use crate::domain::allocation::RedSeat;
use crate::domain::identity::{Language, QuoteId};
use crate::domain::pool::Pool;
use crate::domain::quote::Quote;
use crate::domain::rights::Right;
use crate::domain::suppression::{MailSuppression, SuppressionReason};
use crate::domain::user::{LicenceState, User};
use crate::time::serde_rfc3339;

#[derive(Serialize, Debug, Clone)]
pub struct PeriodView {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub length: &'static str,
}

#[derive(Serialize, Debug, Clone)]
pub struct RedView {
    pub user_id: String,
    pub name: String,
    #[serde(with = "serde_rfc3339")]
    pub since: DateTime<Utc>,
    #[serde(with = "serde_rfc3339")]
    pub deadline: DateTime<Utc>,
}

#[derive(Serialize, Debug, Clone)]
pub struct PoolView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub module_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub purchased: u32,
    pub in_use: u32,
    pub available: u32,
    pub next_period: u32,
    pub unit_price: i64,
    /// The first [`OVER_ALLOCATED_SHOWN`] red seats in R3 order (the nearest deadlines first);
    /// a view's size stays bounded however many there are (R26).
    pub over_allocated: Vec<RedView>,
    /// How many red seats the pool has in all.
    pub over_allocated_count: usize,
    /// How many seats that hold a licence now lose it at the period change if nothing else
    /// changes: the licensed seats beyond `next_period` (R28; seats already red are counted
    /// in `over_allocated_count`, not here).
    pub over_allocated_at_change: u32,
}

/// Red seats listed per pool in an account view.
pub const OVER_ALLOCATED_SHOWN: usize = 100;

#[derive(Serialize, Debug, Clone)]
pub struct AccountView {
    pub tenant_id: String,
    pub name: String,
    pub currency: String,
    pub time_zone: String,
    pub period: PeriodView,
    pub status: &'static str,
    pub licences: PoolView,
    pub modules: Vec<PoolView>,
    pub rights: Vec<&'static str>,
    /// R30: days before the period ends that the managers are reminded (0: never).
    pub renewal_reminder_days: u32,
    /// R35: purchases above this total (minor units) wait for a second approver.
    pub approval_threshold: Option<i64>,
    /// R35: purchase requests waiting for a second approver.
    pub pending_requests: usize,
    pub version: u64,
}

fn red_view(red: &RedSeat) -> RedView {
    RedView {
        user_id: red.seat.user_id.to_string(),
        name: red.name.clone(),
        since: red.flag.flagged_at,
        deadline: red.flag.deadline,
    }
}

fn pool_view(account: &Account, pool: &Pool, module: bool) -> PoolView {
    let reds = account.reds(&pool.id);
    PoolView {
        module_id: module.then(|| pool.id.to_string()),
        name: module.then(|| pool.name.clone()),
        purchased: pool.purchased,
        in_use: pool.in_use,
        available: pool.available(),
        next_period: pool.next_period,
        unit_price: pool.unit_price.minor(),
        over_allocated: reds
            .iter()
            .take(OVER_ALLOCATED_SHOWN)
            .map(red_view)
            .collect(),
        over_allocated_count: reds.len(),
        over_allocated_at_change: crate::domain::next_period::over_at_change(
            pool,
            pool.next_period,
        ),
    }
}

impl AccountView {
    pub fn new(account: &Account, rights: &BTreeSet<Right>) -> Self {
        let sub = &account.subscription;
        let empty = Pool {
            id: crate::domain::pool::PoolId::licences(),
            name: "Licences".into(),
            unit_price: crate::domain::money::Amount::ZERO,
            purchased: 0,
            next_period: 0,
            in_use: 0,
            licensed_adds: 0,
        };
        Self {
            tenant_id: sub.tenant_id.to_string(),
            name: sub.name.to_string(),
            currency: sub.currency.to_string(),
            time_zone: sub.time_zone.name().to_owned(),
            period: PeriodView {
                start: sub.period.start,
                end: sub.period.end,
                length: sub.period.length.as_str(),
            },
            status: if sub.is_terminated() {
                "terminated"
            } else {
                "active"
            },
            licences: pool_view(account, sub.licences().unwrap_or(&empty), false),
            modules: sub.modules().map(|p| pool_view(account, p, true)).collect(),
            rights: rights.iter().map(|r| r.as_str()).collect(),
            renewal_reminder_days: sub.renewal_reminder_days,
            approval_threshold: sub.approval_threshold.map(|a| a.minor()),
            pending_requests: sub.pending_requests.len(),
            version: sub.version,
        }
    }

    /// The account as the change about to commit leaves it: a client that sends the version
    /// back must get the one stored, not the one the command read.
    pub fn committing(account: &Account, rights: &BTreeSet<Right>) -> Self {
        let mut view = Self::new(account, rights);
        view.version += 1;
        view
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct UserView {
    pub user_id: String,
    pub name: String,
    pub email: String,
    pub language: Language,
    pub role: String,
    pub modules: Vec<String>,
    pub active: bool,
    #[serde(serialize_with = "opt_instant")]
    pub activated_at: Option<DateTime<Utc>>,
    pub licence_state: LicenceState,
    #[serde(serialize_with = "opt_instant")]
    pub deadline: Option<DateTime<Utc>>,
    /// Present when the user's address bounced for good or complained: no mail goes to it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_suppressed: Option<SuppressionView>,
    /// Present when the tenant's identity provider manages the user over SCIM (R34).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectoryView>,
}

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct DirectoryView {
    pub user_name: String,
    /// The provisioning token that last wrote the user.
    pub token_name: String,
    /// The identity provider deleted the user: it stays here, deactivated.
    pub deprovisioned: bool,
}

#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub struct SuppressionView {
    pub reason: SuppressionReason,
    #[serde(with = "serde_rfc3339")]
    pub at: DateTime<Utc>,
    pub detail: String,
}

pub(crate) fn opt_instant<S: serde::Serializer>(
    at: &Option<DateTime<Utc>>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match at {
        Some(at) => s.serialize_str(&crate::time::rfc3339(*at)),
        None => s.serialize_none(),
    }
}

impl UserView {
    pub fn new(user: &User, account: &Account) -> Self {
        let (licence_state, deadline) = user.licence_state(account);
        Self {
            user_id: user.user_id.to_string(),
            name: user.name.to_string(),
            email: user.email.to_string(),
            language: user.language,
            role: user.role.to_string(),
            modules: user.modules.keys().map(|m| m.to_string()).collect(),
            active: user.active,
            activated_at: user.activated_at,
            licence_state,
            deadline,
            mail_suppressed: None,
            directory: user.directory.as_ref().map(|d| DirectoryView {
                user_name: d.user_name.clone(),
                token_name: d.token_name.clone(),
                deprovisioned: !d.is_live(),
            }),
        }
    }

    /// The view with the suppression of the user's address, if there is one.
    pub fn suppressed_by(mut self, user: &User, suppressions: &[MailSuppression]) -> Self {
        self.mail_suppressed = suppressions
            .iter()
            .find(|s| s.applies_to(&user.email))
            .map(|s| SuppressionView {
                reason: s.reason,
                at: s.at,
                detail: s.detail.clone(),
            });
        self
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct QuoteLineView {
    pub pool: String,
    pub name: String,
    pub quantity: u32,
    pub unit_price: i64,
    pub days_remaining: u32,
    pub days_in_period: u32,
    pub amount: i64,
}

#[derive(Serialize, Debug, Clone)]
pub struct QuoteView {
    pub quote_id: QuoteId,
    pub currency: String,
    #[serde(with = "serde_rfc3339")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "serde_rfc3339")]
    pub expires_at: DateTime<Utc>,
    pub period: PeriodView,
    pub lines: Vec<QuoteLineView>,
    pub total: i64,
    pub next_period_total: i64,
}

impl QuoteView {
    pub fn new(quote: &Quote) -> Self {
        Self {
            quote_id: quote.quote_id.clone(),
            currency: quote.currency.to_string(),
            created_at: quote.created_at,
            expires_at: quote.expires_at,
            period: PeriodView {
                start: quote.period.start,
                end: quote.period.end,
                length: quote.period.length.as_str(),
            },
            lines: quote
                .lines
                .iter()
                .map(|l| QuoteLineView {
                    pool: l.pool.to_string(),
                    name: l.name.clone(),
                    quantity: l.quantity.get(),
                    unit_price: l.unit_price.minor(),
                    days_remaining: l.days_remaining,
                    days_in_period: l.days_in_period,
                    amount: l.amount.minor(),
                })
                .collect(),
            total: quote.total.minor(),
            next_period_total: quote.next_period_total.minor(),
        }
    }
}

#[derive(Serialize, Debug, Clone)]
pub struct PurchaseView {
    pub purchase_id: String,
    pub invoice_id: String,
    pub quote_id: QuoteId,
    pub currency: String,
    pub total: i64,
    pub account: AccountView,
}

#[derive(Serialize, Debug, Clone)]
pub struct SeatToRemoveView {
    pub pool: String,
    pub user_id: String,
    pub name: String,
}

#[derive(Serialize, Debug, Clone)]
pub struct NextPeriodView {
    pub effective_from: NaiveDate,
    pub licences: u32,
    pub modules: std::collections::BTreeMap<String, u32>,
    /// The first [`OVER_ALLOCATED_SHOWN`] seats the change would over-allocate, oldest first
    /// (R26: an answer's size does not grow with the tenant).
    pub seats_to_remove: Vec<SeatToRemoveView>,
    pub seats_to_remove_count: usize,
    pub account: AccountView,
}

/// R28: a next-period change as it would be, before it is made.
#[derive(Serialize, Debug, Clone)]
pub struct NextPeriodPreview {
    pub effective_from: NaiveDate,
    pub currency: String,
    pub licences: u32,
    pub modules: std::collections::BTreeMap<String, u32>,
    /// The first [`OVER_ALLOCATED_SHOWN`] seats that would lose their licence at the period
    /// change, oldest first (seats already red are not among them).
    pub seats_to_remove: Vec<SeatToRemoveView>,
    pub seats_to_remove_count: usize,
    /// This period at its counts, and the next with the change, in minor units.
    pub period_total: i64,
    pub next_period_total: i64,
    /// `period_total − next_period_total`: negative when the next period costs more.
    pub saving: i64,
    /// The account version the preview was made from.
    pub version: u64,
}

#[derive(Serialize, Debug, Clone)]
pub struct RoleView {
    pub role: String,
    pub rights: Vec<&'static str>,
    pub built_in: bool,
}

#[derive(Serialize, Debug, Clone)]
pub struct PageView<T: Serialize> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

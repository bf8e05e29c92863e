//! Reading a tenant: its account (R1), invoices and action log (R19), each in the running
//! period (R22).

use chrono::{DateTime, Utc};

use crate::app::error::AppError;
use crate::app::views::{AccountView, PageView};
use crate::app::{Caller, authorize};
use crate::domain::invoice::Invoice;
use crate::domain::rights::Right;
use crate::ports::{AccountReads, Commits, Listings, LogEntry, Page, PageRequest};

pub async fn account_status<S: AccountReads + Commits>(
    store: &S,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<AccountView, AppError> {
    let auth = authorize(store, caller, Right::AccountView, now).await?;
    Ok(AccountView::new(&auth.loaded.account, &auth.rights))
}

pub async fn list_invoices<S: AccountReads + Listings + Commits>(
    store: &S,
    caller: &Caller,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<PageView<Invoice>, AppError> {
    authorize(store, caller, Right::AccountView, now).await?;
    let Page { items, next_cursor } = store.list_invoices(&caller.tenant, page).await?;
    Ok(PageView { items, next_cursor })
}

/// Invoices read per page while looking one up by id.
const INVOICE_PAGE: u32 = 100;

/// R31: one invoice, for its printable view. Invoices are keyed by when they were issued, so
/// this reads the tenant's invoices newest first until it meets the id: a tenant issues one a
/// period plus one per purchase, a few hundred in years, and the newest are opened most.
pub async fn get_invoice<S: AccountReads + Listings + Commits>(
    store: &S,
    caller: &Caller,
    invoice_id: &str,
    now: DateTime<Utc>,
) -> Result<Invoice, AppError> {
    authorize(store, caller, Right::AccountView, now).await?;
    let mut page = PageRequest {
        cursor: None,
        limit: INVOICE_PAGE,
    };
    loop {
        let Page { items, next_cursor } = store.list_invoices(&caller.tenant, &page).await?;
        if let Some(found) = items.into_iter().find(|i| i.invoice_id == invoice_id) {
            return Ok(found);
        }
        match next_cursor {
            Some(cursor) => page.cursor = Some(cursor),
            None => return Err(AppError::NotFound("invoice")),
        }
    }
}

pub async fn list_action_log<S: AccountReads + Listings + Commits>(
    store: &S,
    caller: &Caller,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<PageView<LogEntry>, AppError> {
    authorize(store, caller, Right::AccountView, now).await?;
    let Page { items, next_cursor } = store.list_log(&caller.tenant, page).await?;
    Ok(PageView { items, next_cursor })
}

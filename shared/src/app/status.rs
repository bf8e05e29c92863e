//! Reading a tenant: its account (R1), invoices and action log (R19), each in the running
//! period (R22).

use super::*;

pub async fn account_status<S: Store>(
    store: &S,
    caller: &Caller,
    now: DateTime<Utc>,
) -> Result<AccountView, AppError> {
    let auth = authorize(store, caller, Right::AccountView, now).await?;
    Ok(AccountView::new(&auth.loaded.account, &auth.rights))
}

pub async fn list_invoices<S: Store>(
    store: &S,
    caller: &Caller,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<PageView<Invoice>, AppError> {
    authorize(store, caller, Right::AccountView, now).await?;
    let Page { items, next_cursor } = store.list_invoices(&caller.tenant, page).await?;
    Ok(PageView { items, next_cursor })
}

pub async fn list_action_log<S: Store>(
    store: &S,
    caller: &Caller,
    page: &PageRequest,
    now: DateTime<Utc>,
) -> Result<PageView<LogEntry>, AppError> {
    authorize(store, caller, Right::AccountView, now).await?;
    let Page { items, next_cursor } = store.list_log(&caller.tenant, page).await?;
    Ok(PageView { items, next_cursor })
}

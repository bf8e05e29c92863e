use lambda_http::Request;
use licensing::app::{self, AppError};
use licensing::http::{HttpResult, auth, ok, page, route_key, tenant_route};
use licensing::ports::{Clock, Store};

pub async fn handle<S: Store, C: Clock>(
    store: &S,
    clock: &C,
    auth: &auth::AuthConfig,
    request: Request,
) -> HttpResult {
    tenant_route(
        store,
        clock,
        auth,
        request,
        |request, caller, now| async move {
            let (method, parts) = route_key(&request);
            match (method, parts.as_slice()) {
                ("GET", ["account"]) => ok(200, &app::account_status(store, &caller, now).await?),
                ("GET", ["invoices"]) => ok(
                    200,
                    &app::list_invoices(store, &caller, &page(&request)?, now).await?,
                ),
                ("GET", ["invoices", id]) => {
                    ok(200, &app::get_invoice(store, &caller, id, now).await?)
                }
                ("GET", ["action-log"]) => ok(
                    200,
                    &app::list_action_log(store, &caller, &page(&request)?, now).await?,
                ),
                _ => Err(AppError::NotFound("route")),
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use licensing::http::testing::{ADA, BO, Who, World, answer, refused};

    async fn call(w: &World, who: Who<'_>, path: &str) -> HttpResult {
        handle(
            &w.store,
            &w.clock,
            &w.auth,
            w.request(who, "GET", path, None),
        )
        .await
    }

    #[tokio::test]
    async fn the_account_shows_each_pool_to_whoever_may_view_it() {
        let w = World::acme().await;
        let (status, body) = answer(call(&w, ADA, "/v1/account").await);
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["licences"]["purchased"], 3);
        assert_eq!(body["licences"]["in_use"], 2);
        assert_eq!(
            refused(call(&w, BO, "/v1/account").await),
            (403, "forbidden".into())
        );
        let stranger = Who::User("acme", "nobody-here");
        assert_eq!(refused(call(&w, stranger, "/v1/account").await).0, 403);
        // A tenant that does not exist is not told apart from a bad token.
        let unknown = Who::User("globex", "ada");
        assert_eq!(refused(call(&w, unknown, "/v1/account").await).0, 401);
        let anonymous = refused(call(&w, Who::Nobody, "/v1/account").await);
        assert_eq!(anonymous, (401, "unauthenticated".into()));
    }

    #[tokio::test]
    async fn invoices_and_the_action_log_are_pages_newest_first() {
        let w = World::acme().await;
        let (status, log) = answer(call(&w, ADA, "/v1/action-log?limit=1").await);
        assert_eq!(status, 200, "{log}");
        assert_eq!(log["items"].as_array().map(Vec::len), Some(1));
        assert_eq!(
            log["items"][0]["action"], "user.created",
            "the newest first: {log}"
        );
        assert!(
            log["next_cursor"].is_string(),
            "Bo's creation, then the tenant's: {log}"
        );
        let cursor = log["next_cursor"].as_str().unwrap_or_default();
        let next = answer(call(&w, ADA, &format!("/v1/action-log?limit=1&cursor={cursor}")).await);
        assert_eq!(next.0, 200);
        assert_ne!(next.1["items"], log["items"]);
        let (status, invoices) = answer(call(&w, ADA, "/v1/invoices").await);
        assert_eq!(
            (status, invoices["items"].as_array().map(Vec::len)),
            (200, Some(0))
        );
        assert_eq!(refused(call(&w, ADA, "/v1/invoices?limit=x").await).0, 400);
        assert_eq!(
            refused(call(&w, ADA, "/v1/action-log?cursor=%00").await).0,
            400
        );
        assert_eq!(refused(call(&w, BO, "/v1/invoices").await).0, 403);
        assert_eq!(refused(call(&w, BO, "/v1/action-log").await).0, 403);
    }

    #[tokio::test]
    async fn an_invoice_is_listed_and_found_by_its_id() {
        let w = World::acme().await;
        let ada = app::Caller {
            tenant: licensing::domain::identity::TenantId::parse("acme").expect("acme"),
            user: licensing::domain::identity::UserId::parse("ada").expect("ada"),
        };
        let now = w.clock.now();
        let no_modules = Default::default();
        let quote = app::create_quote(&w.store, &ada, Some(1), &no_modules, now).await;
        let quote_id = quote.expect("a quote").quote_id;
        let body = serde_json::json!({ "quote_id": quote_id });
        let bought = app::approve_purchase(&w.store, &ada, Some("k"), &body, &quote_id, now).await;
        assert_eq!(bought.expect("a purchase").status, 201);
        let (status, invoices) = answer(call(&w, ADA, "/v1/invoices").await);
        assert_eq!(status, 200, "{invoices}");
        let id = invoices["items"][0]["invoice_id"]
            .as_str()
            .unwrap_or_default();
        let (status, invoice) = answer(call(&w, ADA, &format!("/v1/invoices/{id}")).await);
        assert_eq!(
            (status, &invoice["invoice_id"]),
            (200, &invoices["items"][0]["invoice_id"])
        );
        let missing = refused(call(&w, ADA, "/v1/invoices/inv-nothing").await);
        assert_eq!(missing, (404, "not_found".into()));
        assert_eq!(
            refused(call(&w, BO, "/v1/invoices/inv-nothing").await).0,
            403
        );
        let route = refused(call(&w, ADA, "/v1/nothing").await);
        assert_eq!(route, (404, "not_found".into()));
    }
}

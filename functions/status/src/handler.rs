use lambda_http::Request;
use licensing::app::{self, AppError, export};
use licensing::http::{
    HttpResult, auth, csv, dates_query, export_query, ok, page, route_key, tenant_route,
};
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
                ("GET", ["action-log.csv"]) => {
                    let (dates, cursor) = export_query(&request)?;
                    let page = export::export_action_log(store, &caller, dates, cursor, now);
                    csv(&request, "action-log.csv", dates, page.await?)
                }
                ("GET", ["invoices.csv"]) => {
                    let (dates, cursor) = export_query(&request)?;
                    let page = export::export_invoices(store, &caller, dates, cursor, now);
                    csv(&request, "invoices.csv", dates, page.await?)
                }
                ("GET", ["usage"]) => {
                    let dates = dates_query(&request)?;
                    let view = app::usage::usage_history(store, &caller, dates.from, dates.to, now);
                    ok(200, &view.await?)
                }
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

    /// A CSV answer: its headers, and its rows as a real CSV reader reads them (RFC 4180).
    fn csv_rows(result: HttpResult) -> (lambda_http::http::HeaderMap, Vec<Vec<String>>) {
        let response = result.expect("the handler answers");
        let text = match response.body() {
            lambda_http::Body::Text(t) => t.clone(),
            other => panic!("not text: {other:?}"),
        };
        assert!(text.ends_with("\r\n"), "CRLF line ends");
        let rows = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(text.as_bytes())
            .records()
            .map(|r| r.unwrap().iter().map(str::to_owned).collect())
            .collect();
        (response.headers().clone(), rows)
    }

    #[tokio::test]
    async fn the_action_log_and_the_invoices_download_as_csv_files() {
        let w = World::acme().await;
        let ada = app::Caller {
            tenant: licensing::domain::identity::TenantId::parse("acme").unwrap(),
            user: licensing::domain::identity::UserId::parse("ada").unwrap(),
        };
        let now = w.clock.0;
        let quote = app::create_quote(&w.store, &ada, Some(2), &Default::default(), now)
            .await
            .unwrap();
        let body = serde_json::json!({ "quote_id": quote.quote_id });
        app::approve_purchase(&w.store, &ada, Some("k"), &body, &quote.quote_id, now)
            .await
            .unwrap();

        let (headers, log) = csv_rows(call(&w, ADA, "/v1/action-log.csv").await);
        assert_eq!(
            headers["content-type"],
            "text/csv; charset=utf-8; header=present"
        );
        assert!(headers.get("link").is_none(), "one page");
        assert_eq!(
            log[0],
            [
                "entry_id",
                "at",
                "at_Europe/Copenhagen",
                "actor",
                "action",
                "details"
            ]
        );
        let actions: Vec<&str> = log[1..].iter().map(|r| r[4].as_str()).collect();
        assert_eq!(
            actions,
            ["tenant.created", "user.created", "licences.purchased"],
            "oldest first"
        );
        assert_eq!(log[3][3], "user:ada");

        let (_, invoices) = csv_rows(call(&w, ADA, "/v1/invoices.csv").await);
        assert_eq!(invoices.len(), 2, "the header and the purchase's one line");
        let row: std::collections::BTreeMap<&str, &str> = invoices[0]
            .iter()
            .map(String::as_str)
            .zip(invoices[1].iter().map(String::as_str))
            .collect();
        assert_eq!(row["kind"], "purchase");
        assert_eq!(row["quantity"], "2");
        assert_eq!(row["currency"], "DKK");
        assert_eq!(row["amount"], row["invoice_total"]);
        assert!(row["amount"].contains('.'), "a decimal: {}", row["amount"]);

        let later = csv_rows(call(&w, ADA, "/v1/invoices.csv?from=2099-01-01").await).1;
        assert_eq!(later.len(), 1, "only the header");
        let backwards = "/v1/action-log.csv?from=2026-12-01&to=2026-11-01";
        assert_eq!(
            csv_rows(call(&w, ADA, backwards).await).1.len(),
            1,
            "nothing"
        );
        let refusals = [
            (ADA, "/v1/action-log.csv?from=1.12.2026", 400),
            (ADA, "/v1/action-log.csv?from=2026-%0A1-01", 400),
            (ADA, "/v1/action-log.csv?to=+2026-01-01", 400),
            (ADA, "/v1/invoices.csv?cursor=zz", 400),
            (BO, "/v1/invoices.csv", 403),
            (Who::Nobody, "/v1/action-log.csv", 401),
        ];
        for (who, path, status) in refusals {
            assert_eq!(refused(call(&w, who, path).await).0, status, "{path}");
        }
    }

    /// R36: a page holds at most 10 000 rows; the `Link` header names the next with the same
    /// dates, and the two pages hold every entry once.
    #[tokio::test]
    async fn a_long_action_log_comes_in_pages_of_ten_thousand_rows() {
        let w = World::acme().await;
        let ada = app::Caller {
            tenant: licensing::domain::identity::TenantId::parse("acme").unwrap(),
            user: licensing::domain::identity::UserId::parse("ada").unwrap(),
        };
        // Two entries are there already (the tenant, Bo); each setting adds one.
        for days in 0..(app::export::ROWS_PER_PAGE as u32) {
            let settings = app::Settings {
                renewal_reminder_days: Some(days % 30),
                ..app::Settings::default()
            };
            app::set_settings(&w.store, &ada, &settings, w.clock.0)
                .await
                .unwrap();
        }
        let (headers, first) = csv_rows(call(&w, ADA, "/v1/action-log.csv?from=2026-01-01").await);
        assert_eq!(first.len(), 1 + app::export::ROWS_PER_PAGE);
        let link = headers["link"].to_str().unwrap().to_owned();
        let next = link
            .strip_prefix('<')
            .and_then(|l| l.strip_suffix(">; rel=\"next\""))
            .expect("a Link to the next page");
        assert!(next.starts_with("/v1/action-log.csv?cursor="), "{next}");
        assert!(next.ends_with("&from=2026-01-01"), "{next}");
        let (headers, second) = csv_rows(call(&w, ADA, next).await);
        assert!(headers.get("link").is_none());
        assert_eq!(second.len(), 1 + 2, "the header and the last two entries");
        let ids: std::collections::BTreeSet<&String> = first[1..]
            .iter()
            .chain(&second[1..])
            .map(|r| &r[0])
            .collect();
        assert_eq!(ids.len(), app::export::ROWS_PER_PAGE + 2, "each once");
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

    /// R37: a day's usage reading each midnight the sweep passes, a purchase seen the next
    /// day, a day it missed shown as missing, and today left out until it is read.
    #[tokio::test]
    async fn the_usage_history_shows_each_day_the_sweep_read() {
        let w = World::acme().await;
        let sweep_at = |at: &str| {
            let at = at.parse().expect("an instant");
            app::sweep::sweep(&w.store, at, None)
        };
        // Copenhagen's midnights in November are at 23:00 UTC.
        let first = sweep_at("2026-11-01T23:01:00Z").await.expect("a sweep");
        assert_eq!((first.usage_readings, first.usage_missed), (1, 0));
        let again = sweep_at("2026-11-01T23:02:00Z").await.expect("a sweep");
        assert_eq!(again.usage_readings, 0, "once a day");
        let ada = app::Caller {
            tenant: licensing::domain::identity::TenantId::parse("acme").expect("acme"),
            user: licensing::domain::identity::UserId::parse("ada").expect("ada"),
        };
        let noon = "2026-11-02T12:00:00Z".parse().expect("an instant");
        let quote = app::create_quote(&w.store, &ada, Some(2), &Default::default(), noon).await;
        let quote_id = quote.expect("a quote").quote_id;
        let body = serde_json::json!({ "quote_id": quote_id });
        let bought = app::approve_purchase(&w.store, &ada, Some("k"), &body, &quote_id, noon);
        assert_eq!(bought.await.expect("a purchase").status, 201);
        sweep_at("2026-11-02T23:00:30Z").await.expect("a sweep");
        // The 4th is reached only at 09:00: too late for its reading.
        let late = sweep_at("2026-11-04T08:00:00Z").await.expect("a sweep");
        assert_eq!((late.usage_readings, late.usage_missed), (0, 1));
        sweep_at("2026-11-04T23:00:10Z").await.expect("a sweep");

        let (status, usage) =
            answer(call(&w, ADA, "/v1/usage?from=2026-11-01&to=2026-11-30").await);
        assert_eq!(status, 200, "{usage}");
        let licences = &usage["pools"][0];
        assert_eq!(licences["pool"], "licences");
        let days: Vec<(String, serde_json::Value, serde_json::Value)> = licences["days"]
            .as_array()
            .expect("days")
            .iter()
            .map(|d| {
                (
                    d["date"].as_str().unwrap_or_default().to_owned(),
                    d["purchased"].clone(),
                    d["in_use"].clone(),
                )
            })
            .collect();
        let n = serde_json::Value::from;
        let none = serde_json::Value::Null;
        assert_eq!(
            &days[..5],
            [
                ("2026-11-02".into(), n(3), n(2)),
                ("2026-11-03".into(), n(5), n(2)),
                ("2026-11-04".into(), none.clone(), none.clone()),
                ("2026-11-05".into(), n(5), n(2)),
                ("2026-11-06".into(), none.clone(), none),
            ]
        );
        assert_eq!(
            days.len(),
            8,
            "the 2nd to the 9th: today, the 10th, has no reading"
        );
        assert_eq!(
            licences["peak"],
            serde_json::json!({"date": "2026-11-02", "in_use": 2})
        );
        assert_eq!(
            (
                licences["purchased"].clone(),
                licences["next_period"].clone()
            ),
            (n(5), n(5))
        );
        assert_eq!(usage["pools"][1]["pool"], "crm");
    }

    /// R37: by default the 90 days to today; at most 400; dates exactly; account.view.
    #[tokio::test]
    async fn the_usage_history_covers_ninety_days_by_default_and_at_most_four_hundred() {
        let w = World::acme().await;
        let (_, default) = answer(call(&w, ADA, "/v1/usage").await);
        assert_eq!(
            (default["from"].as_str(), default["to"].as_str()),
            (Some("2026-08-13"), Some("2026-11-10"))
        );
        let long = refused(call(&w, ADA, "/v1/usage?from=2025-01-01&to=2026-11-10").await);
        assert_eq!(long.0, 400);
        assert_eq!(
            refused(call(&w, ADA, "/v1/usage?from=2026-11-1").await).0,
            400
        );
        assert_eq!(refused(call(&w, BO, "/v1/usage").await).0, 403);
    }
}

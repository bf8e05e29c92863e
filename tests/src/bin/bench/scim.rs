//! `bench scim`: a first sync of an identity provider through the local API (R34).

use reqwest::{Method, StatusCode};
use serde_json::json;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use crate::creates::report_creates;

/// `users` users provisioned as Entra does it, `in_flight` at a time: a lookup by `userName`
/// (`GET /Users?filter=…`), then the create. Then, in the same run and at the same
/// concurrency, as many SCIM creates without the lookups, and as many creates through
/// `POST /v1/users`, each on a tenant of its own: the ratios say what SCIM costs over the
/// users API. Needs `LICENSING_API_URL` (the run
/// command's API; `LICENSING_JWT_SECRET` its secret).
pub(crate) async fn scim(users: u64, in_flight: u64) {
    let Some(api) = licensing_tests::http::api() else {
        eprintln!(
            "bench scim needs LICENSING_API_URL and LICENSING_JWT_SECRET (./scripts/up.sh's API)"
        );
        return;
    };
    let licences = u32::try_from(users).unwrap_or(u32::MAX).min(100_000);
    let with_lookup = sync(&api, users, in_flight, licences, true).await;
    let creates_only = sync(&api, users, in_flight, licences, false).await;
    let plain = licensing_tests::unique("scim-bench-api");
    api.tenant(&plain, licences).await;
    let admin = api.user(&plain, "ada");
    let started = Instant::now();
    let mut micros = each_timed(users, in_flight, |i| {
        let (api, admin, plain) = (&api, &admin, &plain);
        async move {
            let body =
                json!({"name": format!("User {i}"), "email": format!("u{i:06}@{plain}.example")});
            let (status, answer) = api
                .call(Method::POST, "/v1/users", Some(admin), Some(body))
                .await;
            assert_eq!(status, StatusCode::CREATED, "{answer}");
        }
    })
    .await;
    let api_secs = started.elapsed().as_secs_f64();
    report_creates(
        "POST /v1/users",
        in_flight,
        users,
        started,
        &mut micros,
        None,
    );
    println!(
        "same run, against the users API's creates: the SCIM first sync {:.0} % of its rate, SCIM creates alone {:.0} %",
        100.0 * api_secs / with_lookup,
        100.0 * api_secs / creates_only
    );
}

/// `one(0)` … `one(total - 1)`, `in_flight` at a time; each one's microseconds.
async fn each_timed<F, Fut>(total: u64, in_flight: u64, one: F) -> Vec<u128>
where
    F: Fn(u64) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let next = AtomicU64::new(0);
    let runs = futures::future::join_all((0..in_flight).map(|_| async {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::SeqCst);
            if i >= total {
                return mine;
            }
            let t = Instant::now();
            one(i).await;
            mine.push(t.elapsed().as_micros());
        }
    }))
    .await;
    runs.into_iter().flatten().collect()
}

/// One identity provider's sync of `users` users on a tenant of its own: with `lookup`, a
/// `GET /Users?filter=userName eq …` before each create, as Entra sends it. The seconds taken.
async fn sync(
    api: &licensing_tests::http::Api,
    users: u64,
    in_flight: u64,
    licences: u32,
    lookup: bool,
) -> f64 {
    let tenant = licensing_tests::unique("scim-bench");
    api.tenant(&tenant, licences).await;
    let (status, made) = api
        .as_user(
            &tenant,
            "ada",
            Method::POST,
            "/v1/scim-tokens",
            Some(json!({"name": "bench"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    let token = made["token"].as_str().unwrap_or_default().to_owned();
    let started = Instant::now();
    let mut micros = each_timed(users, in_flight, |i| {
        let (token, tenant) = (&token, &tenant);
        async move {
            let name = format!("u{i:06}@{tenant}.example");
            if lookup {
                let filter = format!(
                    "/scim/v2/Users?filter=userName%20eq%20%22{}%22",
                    name.replace('@', "%40")
                );
                let (status, found) = api.scim(token, Method::GET, &filter, None).await;
                assert_eq!((status, &found["totalResults"]), (StatusCode::OK, &json!(0)), "{found}");
            }
            let body = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": name, "externalId": format!("x-{i}"), "active": true,
                "displayName": format!("User {i}"), "name": {"givenName": "User", "familyName": format!("{i}")},
                "emails": [{"value": name, "type": "work", "primary": true}]
            });
            let (status, answer) = api.scim(token, Method::POST, "/scim/v2/Users", Some(body)).await;
            assert_eq!(status, StatusCode::CREATED, "{answer}");
        }
    })
    .await;
    let secs = started.elapsed().as_secs_f64();
    let how = if lookup {
        "SCIM first sync (lookup + create)"
    } else {
        "SCIM creates alone"
    };
    report_creates(how, in_flight, users, started, &mut micros, None);
    let (_, all) = api
        .scim(&token, Method::GET, "/scim/v2/Users?count=0", None)
        .await;
    assert_eq!(all["totalResults"], json!(users), "every user once");
    secs
}

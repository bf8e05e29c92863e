//! Users, the action log and its export page through the table without gaps or repeats.

use super::*;

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn users_log_and_invoices_paginate_without_gaps_or_repeats() {
    require_engines();
    let store = fresh_store().await;
    tenant_with(&store, "pages", 5).await;
    let caller = ada("pages");
    for i in 0..20 {
        let user = new_user(
            &format!("p-{i:02}"),
            &format!("Person {i}"),
            Language::En,
            &[],
        );
        app::create_user(
            &store,
            &caller,
            user.into(),
            None,
            &serde_json::Value::Null,
            at("2026-11-03T00:00:00Z") + Duration::minutes(i),
        )
        .await
        .unwrap();
    }
    users_page_through(&store, &caller).await;
    the_log_pages_through_newest_first(&store, &caller).await;
    the_export_pages_through_oldest_first(&store, &caller.tenant).await;
    a_cursor_stays_in_its_listing(&store, &caller).await;
}

async fn users_page_through(store: &DynamoStore, caller: &Caller) {
    let mut seen = Vec::new();
    let mut page = PageRequest {
        cursor: None,
        limit: 7,
    };
    let mut pages = 0;
    loop {
        let got = app::list_users(store, caller, &page, None, at("2026-11-20T00:00:00Z"))
            .await
            .unwrap();
        pages += 1;
        seen.extend(got.items.iter().map(|u| u.user_id.clone()));
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert!(pages >= 3);
    let unique: BTreeSet<_> = seen.iter().cloned().collect();
    assert_eq!(seen.len(), 21);
    assert_eq!(unique.len(), 21);
    let over: Vec<_> = app::list_users(
        store,
        caller,
        &PageRequest {
            cursor: None,
            limit: 100,
        },
        None,
        at("2026-11-20T00:00:00Z"),
    )
    .await
    .unwrap()
    .items
    .into_iter()
    .filter(|u| u.licence_state == licensing::domain::user::LicenceState::OverAllocated)
    .map(|u| u.user_id)
    .collect();
    assert_eq!(over.len(), 16, "5 licences for 21 users");
}

async fn the_log_pages_through_newest_first(store: &DynamoStore, caller: &Caller) {
    // The action log: newest first, across pages.
    let mut log = Vec::new();
    let mut page = PageRequest {
        cursor: None,
        limit: 6,
    };
    loop {
        let got = app::list_action_log(store, caller, &page, at("2026-11-20T00:00:00Z"))
            .await
            .unwrap();
        log.extend(got.items);
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    assert_eq!(log.len(), 21, "tenant created + 20 users");
    assert!(log.windows(2).all(|w| w[0].at >= w[1].at), "newest first");
    assert_eq!(log.last().unwrap().action, "tenant.created");
}

/// R36's export on the table: the log between two instants, oldest first, page after page,
/// each entry once; nothing outside the span.
async fn the_export_pages_through_oldest_first(store: &DynamoStore, tenant: &TenantId) {
    let span = Span {
        from: at("2026-11-03T00:05:00Z"),
        until: at("2026-11-03T00:15:00Z"),
    };
    let mut entries = Vec::new();
    let mut page = PageRequest {
        cursor: None,
        limit: 4,
    };
    loop {
        let got = store.export_log(tenant, span, &page).await.unwrap();
        entries.extend(got.items);
        match got.next_cursor {
            Some(c) => page.cursor = Some(c),
            None => break,
        }
    }
    let minutes: Vec<i64> = entries
        .iter()
        .map(|e| (e.at - at("2026-11-03T00:00:00Z")).num_minutes())
        .collect();
    assert_eq!(
        minutes,
        (5..15).collect::<Vec<_>>(),
        "from included, until not"
    );
    let none = Span {
        from: span.until,
        until: span.until,
    };
    let got = store.export_log(
        tenant,
        none,
        &PageRequest {
            cursor: None,
            limit: 4,
        },
    );
    assert!(got.await.unwrap().items.is_empty());
}

async fn a_cursor_stays_in_its_listing(store: &DynamoStore, caller: &Caller) {
    // A cursor is a position inside the listing it is given to: one taken from the users'
    // listing still reads log entries only (a user item would not read as one), and a cursor
    // that is not hex is refused.
    let users_cursor = app::list_users(
        store,
        caller,
        &PageRequest {
            cursor: None,
            limit: 1,
        },
        None,
        at("2026-11-20T00:00:00Z"),
    )
    .await
    .unwrap()
    .next_cursor
    .unwrap();
    let log_page = |cursor: &str| PageRequest {
        cursor: Some(cursor.to_owned()),
        limit: 5,
    };
    let got = app::list_action_log(
        store,
        caller,
        &log_page(&users_cursor),
        at("2026-11-20T00:00:00Z"),
    )
    .await
    .unwrap();
    assert!(got.items.len() <= 5);
    let err = app::list_action_log(
        store,
        caller,
        &log_page("not-hex"),
        at("2026-11-20T00:00:00Z"),
    )
    .await;
    assert!(matches!(err, Err(AppError::BadRequest(_))));
}

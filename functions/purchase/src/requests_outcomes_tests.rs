//! R35's other outcomes through the purchase function's routes: a decline and an expiry
//! charge nothing, and only an administrator sets the limit.

use super::*;

#[tokio::test]
async fn r35_a_declined_request_charges_nothing_and_the_requester_is_told() {
    let w = acme_with_a_limit().await;
    let (id, total) = id_and_total(&asked(&w, ADA, 2, "k-1").await);
    let path = format!("/v1/purchase-requests/{id}/decline");
    for blank in [" ", "\u{19}"] {
        let refusal = refused(
            call(
                &w,
                CY,
                "POST",
                &path,
                Some(json!({ "reason": blank })),
                None,
            )
            .await,
        );
        assert_eq!(refusal.0, 400, "{blank:?}");
    }
    let reason = json!({"reason": "Not this quarter"});
    let (status, view) = answer(call(&w, CY, "POST", &path, Some(reason), None).await);
    assert_eq!(
        (status, view["status"].as_str(), view["reason"].as_str()),
        (200, Some("declined"), Some("Not this quarter"))
    );
    let late = refused(approve_as(&w, CY, &id, total, "k-2").await);
    assert_eq!(late, (409, "request_closed".into()));
    assert_eq!(w.licences().await.purchased, 3, "nothing charged");
    let told = mails(&w, MailKind::PurchaseRequestDecided);
    assert_eq!((told.len(), &told[0].1["status"]), (1, &json!("declined")));
    assert_eq!(
        events(&w, "PurchaseRequestDeclined")[0]["reason"],
        "Not this quarter"
    );
    let missing = refused(
        call(
            &w,
            CY,
            "GET",
            "/v1/purchase-requests/pr-nothing",
            None,
            None,
        )
        .await,
    );
    assert_eq!(missing, (404, "not_found".into()));
}

#[tokio::test]
async fn r35_a_request_left_alone_expires_in_the_sweep_and_charges_nothing() {
    let w = acme_with_a_limit().await;
    let (id, _) = id_and_total(&asked(&w, ADA, 2, "k-3").await);
    // Asked at 10:00 on 10 November (the tenant's clock a few microseconds on): it expires
    // 72 hours later, before the period ends.
    let before = "2026-11-13T09:59:00Z".parse().expect("an instant");
    let early = app::sweep::sweep(&w.store, before, None)
        .await
        .expect("a sweep");
    assert_eq!(early.expired_requests, 0);
    let after = "2026-11-13T10:00:01Z".parse().expect("an instant");
    let swept = app::sweep::sweep(&w.store, after, None)
        .await
        .expect("a sweep");
    assert_eq!(swept.expired_requests, 1);
    assert_eq!(shown(&w, CY, &id).await["status"], "expired");
    let expired = refused(approve_as(&w, CY, &id, 1, "k-4").await);
    assert_eq!(expired, (409, "request_closed".into()));
    assert_eq!(w.licences().await.purchased, 3, "nothing charged");
    let told = mails(&w, MailKind::PurchaseRequestDecided);
    assert_eq!((told.len(), &told[0].1["status"]), (1, &json!("expired")));
    assert_eq!(
        events(&w, "PurchaseRequestExpired")[0]["purchase_request_id"],
        id.as_str()
    );
    assert_eq!(events(&w, "PurchaseRequested").len(), 1);
}

#[tokio::test]
async fn r35_only_an_administrator_sets_the_limit_and_the_others_are_told() {
    let w = acme_with_a_limit().await;
    let changed = events(&w, "ApprovalThresholdChanged");
    assert_eq!(
        (changed[0]["from"].clone(), changed[0]["to"].clone()),
        (Value::Null, json!(10_000))
    );
    let told = mails(&w, MailKind::ApprovalThresholdChanged);
    assert_eq!(told.len(), 1);
    assert_eq!(
        told[0].0,
        Recipient::Administrators {
            except: Some(UserId::parse("ada").expect("ada"))
        }
    );
    assert_eq!(
        (told[0].1["from"].clone(), told[0].1["to"].clone()),
        (Value::Null, json!(10_000))
    );
    // A manager who is not an administrator may not; the renewal notice is still theirs.
    use licensing::domain::rights::Right;
    let buyer = licensing::domain::identity::RoleName::parse("buyer").expect("a role");
    let rights = [Right::AccountView, Right::LicencesManage]
        .into_iter()
        .collect();
    app::put_role(&w.store, &caller("ada"), &buyer, rights, w.clock.0)
        .await
        .expect("a role");
    let eve = licensing::domain::user::NewUser {
        user_id: UserId::parse("eve").expect("eve"),
        name: DisplayName::parse("Eve Eng").expect("a name"),
        email: EmailAddress::parse("eve@example.com").expect("an address"),
        language: Language::En,
        role: buyer,
        modules: Default::default(),
        active: true,
    };
    app::create_user(
        &w.store,
        &caller("ada"),
        eve.into(),
        None,
        &json!({}),
        w.clock.0,
    )
    .await
    .expect("eve");
    let lifted = app::Settings {
        approval_threshold: Some(None),
        ..app::Settings::default()
    };
    let refused = app::set_settings(&w.store, &caller("eve"), &lifted, w.clock.0).await;
    assert!(
        matches!(
            refused,
            Err(app::AppError::Domain(
                licensing::domain::DomainError::AdministratorOnly
            ))
        ),
        "{refused:?}"
    );
    let notice = app::Settings {
        renewal_reminder_days: Some(3),
        ..app::Settings::default()
    };
    app::set_settings(&w.store, &caller("eve"), &notice, w.clock.0)
        .await
        .expect("the notice");
    let by_cy = app::set_settings(&w.store, &caller("cy"), &lifted, w.clock.0)
        .await
        .expect("an administrator");
    assert_eq!(by_cy.approval_threshold, None, "null lifts it");
}

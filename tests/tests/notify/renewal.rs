//! R30: the renewal reminder, once per period.

use super::*;

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r30_the_renewal_reminder_comes_once_per_period_and_the_red_user_is_told_in_copenhagen_time()
 {
    require_engines();
    let w = world("licensing").await;
    // Two licences: Ada and Eve hold them; Bo, activated at 23:30 UTC, is red.
    add(
        &w,
        "eve",
        "Eve English",
        Language::En,
        true,
        "2026-11-02T09:00:00Z",
    )
    .await;
    add(
        &w,
        "bo",
        "Bo Berg",
        Language::En,
        false,
        "2026-11-20T23:30:00Z",
    )
    .await;
    // One licence next period: Eve, the newest licensed, loses hers at the change.
    app::set_next_period(
        &w.store,
        &caller(&w, "ada"),
        Some(1),
        &BTreeMap::new(),
        at("2026-11-21T10:00:00Z"),
    )
    .await
    .unwrap();

    the_reminder_comes_once(&w).await;
    the_mails_name_the_seats_in_copenhagen_time(&w).await;
    the_log_says_it_once(&w).await;
}

async fn the_reminder_comes_once(w: &World) {
    // The period ends at midnight in Copenhagen (23:00 UTC); 7 days before is 23 November
    // 23:00 UTC. A sweep before that sends nothing; the first after it sends one reminder;
    // the sweeps after it (every minute, a day later) send none.
    let early = sweep(&w.store, at("2026-11-23T22:59:00Z"), None)
        .await
        .unwrap();
    assert_eq!(early.renewal_reminders, 0);
    let mut sent = 0;
    for when in [
        "2026-11-23T23:00:00Z",
        "2026-11-23T23:01:00Z",
        "2026-11-24T23:00:00Z",
    ] {
        sent += sweep(&w.store, at(when), None)
            .await
            .unwrap()
            .renewal_reminders;
    }
    assert_eq!(sent, 1, "once per period, however often the sweep runs");
}

async fn the_mails_name_the_seats_in_copenhagen_time(w: &World) {
    let got = mails(&w.marker).await;
    let ada = format!("ada@{}.dk", w.tenant);
    let eve = format!("eve@{}.dk", w.tenant);
    let bo = format!("bo@{}.dk", w.tenant);
    let count = |to: &str, subject: &str| {
        got.iter()
            .filter(|(t, s, _)| t == to && s == subject)
            .count()
    };
    let body = |to: &str, subject: &str| {
        got.iter()
            .find(|(t, s, _)| t == to && s == subject)
            .map(|(_, _, b)| b.clone())
            .unwrap_or_default()
    };
    let reminder_en = "Your subscription renews soon: check your licences";
    let reminder_da = "Dit abonnement fornyes snart: tjek dine licenser";
    assert_eq!(count(&eve, reminder_en), 1, "{got:#?}");
    assert_eq!(count(&ada, reminder_da), 1);
    assert_eq!(count(&bo, reminder_en), 0, "only the managers");
    // 1 licence × 129.00 + 1 CRM × 49.00 = 178.00 DKK from 1 December; Eve listed.
    let en = body(&eve, reminder_en);
    assert!(en.contains("1 Dec 2026"), "{en}");
    assert!(en.contains("Licences: 1 (now 2)"), "{en}");
    assert!(en.contains("178.00 DKK"), "{en}");
    assert!(en.contains("<li>Eve English (licences)</li>"), "{en}");
    assert!(
        !en.contains("Bo Berg"),
        "a red user has no licence to lose: {en}"
    );
    assert!(
        en.contains("Questions: support@"),
        "the support contact: {en}"
    );
    let da = body(&ada, reminder_da);
    assert!(da.contains("1. dec. 2026"), "{da}");
    assert!(da.contains("I alt pr. periode"), "{da}");
    // Bo's own mail: his deadline 27 November 23:30 UTC is 28 November 00:30 in Copenhagen.
    let told = "You have no licence: you will be deactivated unless one is bought";
    assert_eq!(count(&bo, told), 1);
    let bo_mail = body(&bo, told);
    assert!(bo_mail.contains("28 Nov 2026, 00:30 CET"), "{bo_mail}");
    assert!(bo_mail.contains("Ada Admin &lt;"), "whom to ask: {bo_mail}");
    // The managers' warning of the same change shows the same instant.
    assert!(body(&eve, "A user needs a licence within 7 days").contains("28 Nov 2026, 00:30 CET"));
}

async fn the_log_says_it_once(w: &World) {
    // The log says it, once.
    let page = licensing::ports::PageRequest {
        cursor: None,
        limit: 100,
    };
    let log = app::list_action_log(
        &w.store,
        &caller(w, "ada"),
        &page,
        at("2026-11-25T00:00:00Z"),
    )
    .await
    .unwrap();
    let reminded: Vec<_> = log
        .items
        .iter()
        .filter(|e| e.action == "renewal.reminded")
        .collect();
    assert_eq!(reminded.len(), 1);
    assert_eq!(reminded[0].details["seats_to_remove_count"], 1);
}

//! Every mail in both languages and every event of a month, each once.

use super::*;

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r20_r21_every_mail_in_both_languages_and_every_event_arrive_once() {
    require_engines();
    let w = world("licensing").await;
    a_month_of_changes(&w).await;

    let got = mails(&w.marker).await;
    let expected = expected_mails(&w);
    for (to, subject, figure) in &expected {
        let found = got
            .iter()
            .filter(|(t, s, b)| t == to && s == subject && b.contains(figure.as_str()))
            .count();
        assert_eq!(
            found,
            1,
            "one mail to {to} «{subject}» with «{figure}»; got {:#?}",
            got.iter().map(|(t, s, _)| (t, s)).collect::<Vec<_>>()
        );
    }
    assert!(
        got.iter().all(|(_, _, body)| !body.contains("<script>")),
        "user data is escaped"
    );

    let seen = events(&w.queue_url, &w.tenant).await;
    let types: BTreeSet<&str> = seen.iter().map(|(t, _)| t.as_str()).collect();
    for expected in [
        "LicencesPurchased",
        "InvoiceIssued",
        "NextPeriodChanged",
        "PeriodRolledOver",
        "SeatOverAllocated",
        "SeatRemoved",
        "UserActivated",
        "UserDeactivated",
    ] {
        assert!(types.contains(expected), "{expected} in {types:?}");
    }
    let ids: BTreeSet<&str> = seen
        .iter()
        .map(|(_, d)| d["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), seen.len(), "each event once");
    for (detail_type, detail) in &seen {
        assert_event_schema(detail_type, detail);
    }
}

/// The documented shape of each event (docs/events.md): every field named there is present
/// with its JSON type.
fn assert_event_schema(detail_type: &str, detail: &Value) {
    let common = [
        ("tenant_id", "string"),
        ("at", "string"),
        ("message_id", "string"),
    ];
    let specific: &[(&str, &str)] = match detail_type {
        "LicencesPurchased" => &[
            ("purchase_id", "string"),
            ("quote_id", "string"),
            ("invoice_id", "string"),
            ("pools", "array"),
            ("total", "number"),
            ("approved_by", "string"),
        ],
        "InvoiceIssued" => &[("invoice", "object")],
        "NextPeriodChanged" => &[("pools", "array"), ("effective_from", "string")],
        "PeriodRolledOver" => &[("from", "object"), ("to", "object"), ("pools", "array")],
        "SeatOverAllocated" | "SeatRemoved" => &[("pool", "string"), ("seats", "array")],
        "UserActivated" => &[("user_id", "string")],
        "UserDeactivated" => &[("user_id", "string"), ("reason", "string")],
        "PurchaseRequested" => &[
            ("purchase_request_id", "string"),
            ("requested_by", "string"),
            ("items", "array"),
            ("total", "number"),
            ("expires_at", "string"),
        ],
        "PurchaseRequestDeclined" => &[
            ("purchase_request_id", "string"),
            ("declined_by", "string"),
            ("reason", "string"),
        ],
        "PurchaseRequestExpired" => &[("purchase_request_id", "string")],
        // `from` and `to` are numbers or null, so only their presence is checked.
        "ApprovalThresholdChanged" => &[],
        other => panic!("undocumented event {other}"),
    };
    for (field, kind) in common.iter().chain(specific) {
        let value = &detail[*field];
        let ok = match *kind {
            "string" => value.is_string(),
            "number" => value.is_number(),
            "array" => value.is_array(),
            _ => value.is_object(),
        };
        assert!(ok, "{detail_type}.{field} should be {kind}: {detail}");
    }
}

/// November for the world's tenant: ada (Danish) and eve (English) manage licences; bo is the
/// third user on two licences, reminded and removed at his deadline; both managers buy and
/// lower the next period; the period rolls over on 1 December.
async fn a_month_of_changes(w: &World) {
    // ada (Danish) and eve (English) manage licences; bo is the third user on two licences.
    add(
        w,
        "eve",
        "Eve English",
        Language::En,
        true,
        "2026-11-02T09:00:00Z",
    )
    .await;
    add(
        w,
        "bo",
        "Bo <script>alert(1)</script>",
        Language::En,
        false,
        "2026-11-02T10:00:00Z",
    )
    .await;
    let deadline = at("2026-11-09T10:00:00Z");
    sweep(&w.store, deadline - Duration::hours(23), None)
        .await
        .unwrap(); // reminders
    sweep(&w.store, deadline, None).await.unwrap(); // bo removed
    buy(w, "ada", "k-da", "2026-11-19T10:00:00Z").await;
    buy(w, "eve", "k-en", "2026-11-19T11:00:00Z").await;
    app::set_next_period(
        &w.store,
        &caller(w, "ada"),
        Some(3),
        &BTreeMap::new(),
        at("2026-11-20T10:00:00Z"),
    )
    .await
    .unwrap();
    app::set_next_period(
        &w.store,
        &caller(w, "eve"),
        Some(2),
        &BTreeMap::new(),
        at("2026-11-20T11:00:00Z"),
    )
    .await
    .unwrap();
    sweep(&w.store, at("2026-12-01T02:00:00Z"), None)
        .await
        .unwrap(); // period change
}

/// Every mail of `a_month_of_changes`: (to, subject, a figure in the body), each exactly once.
fn expected_mails(w: &World) -> Vec<(String, &'static str, String)> {
    let ada = format!("ada@{}.dk", w.tenant);
    let eve = format!("eve@{}.dk", w.tenant);
    let bo = format!("bo@{}.dk", w.tenant);
    let (da_time, en_time) = ("9. nov. 2026 kl. 11:00 CET", "9 Nov 2026, 11:00 CET");
    let ada_named = format!("Ada Admin &lt;{ada}&gt;");
    let expected: [(&str, &str, &str); 15] = [
        (&ada, "En bruger mangler en licens inden 7 dage", da_time),
        (&eve, "A user needs a licence within 7 days", en_time),
        (&ada, "Påmindelse: en bruger deaktiveres i morgen", da_time),
        (
            &eve,
            "Reminder: a user will be deactivated tomorrow",
            en_time,
        ),
        (
            &ada,
            "En bruger er deaktiveret på grund af manglende licens",
            "Bo &lt;script&gt;",
        ),
        (
            &eve,
            "A user was deactivated for lack of a licence",
            "Bo &lt;script&gt;",
        ),
        (
            &bo,
            "A user was deactivated for lack of a licence",
            "Bo &lt;script&gt;",
        ),
        // R30: bo is told too, in the tenant's time zone, with whom to ask.
        (
            &bo,
            "You have no licence: you will be deactivated unless one is bought",
            en_time,
        ),
        (
            &bo,
            "You have no licence: you will be deactivated unless one is bought",
            &ada_named,
        ),
        // 12 900 × 1 × 12 / 30 = 5 160 → 51.60 DKK, in the buyer's language.
        (&ada, "Dit køb af licenser er bekræftet", "51.60 DKK"),
        (&eve, "Your licence purchase is confirmed", "51.60 DKK"),
        (
            &ada,
            "Dine licenser for næste periode er opdateret",
            "4 → 3",
        ),
        (
            &eve,
            "Your licences for the next period are updated",
            "3 → 2",
        ),
        // December: 2 licences × 129.00 + 1 CRM × 49.00 = 307.00 DKK.
        (&ada, "Din nye abonnementsperiode er begyndt", "307.00 DKK"),
        (
            &eve,
            "Your new subscription period has started",
            "307.00 DKK",
        ),
    ];
    expected
        .into_iter()
        .map(|(to, subject, figure)| (to.to_owned(), subject, figure.to_owned()))
        .collect()
}

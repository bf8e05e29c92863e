//! The mails as people read them: both languages, amounts, dates, escaping, sizes.

use super::*;
use serde_json::json;

fn red(name: &str) -> serde_json::Value {
    json!({"pool": "licences", "name": name, "seat": {"since": "2026-11-02T10:00:00Z", "user_id": "u-10"},
           "flag": {"flagged_at": "2026-11-02T10:00:00Z", "deadline": "2026-11-09T10:00:00Z", "reminded": false}})
}

fn seat(name: &str) -> serde_json::Value {
    json!({"seats": [red(name)], "seats_more": 0})
}

#[test]
fn r27_a_seat_mail_names_fifty_and_counts_the_rest_with_a_plural_subject() {
    let seats: Vec<serde_json::Value> = (0..50).map(|i| red(&format!("User {i}"))).collect();
    let data = json!({"seats": seats, "seats_more": 9_949});
    for kind in [
        MailKind::OverAllocationWarning,
        MailKind::DeadlineReminder,
        MailKind::RemovalNotice,
    ] {
        let en = render(kind, Language::En, &MailContext::new("Acme"), &data).unwrap();
        assert!(
            en.text
                .contains("- User 49 (licences): 9 Nov 2026, 10:00 UTC"),
            "{}",
            en.text
        );
        assert!(en.text.contains("… and 9949 more"), "{}", en.text);
        assert!(en.html.contains("… and 9949 more"), "{}", en.html);
        assert_eq!(en.subject, subject(kind, Language::En, true));
        assert_ne!(en.subject, subject(kind, Language::En, false));
        let da = render(kind, Language::Da, &MailContext::new("Acme"), &data).unwrap();
        assert!(da.text.contains("… og 9949 flere"), "{}", da.text);
    }
    let one = render(
        MailKind::RemovalNotice,
        Language::En,
        &MailContext::new("Acme"),
        &seat("Karen"),
    )
    .unwrap();
    assert_eq!(one.subject, "A user was deactivated for lack of a licence");
    assert!(!one.text.contains("more"), "{}", one.text);
}

#[test]
fn r27_a_next_period_mail_names_the_listed_seats_and_counts_the_rest() {
    let data = json!({"changes": [{"pool": "licences", "from": 200, "to": 10}], "effective_from": "2026-12-01",
        "seats_to_remove": [{"pool": "licences", "user_id": "u-10", "name": "Karen"}], "seats_more": 189});
    let en = render(
        MailKind::NextPeriodConfirmation,
        Language::En,
        &MailContext::new("Acme"),
        &data,
    )
    .unwrap();
    assert!(en.text.contains("- Karen (licences)"), "{}", en.text);
    assert!(en.text.contains("… and 189 more"), "{}", en.text);
    assert!(en.html.contains("… and 189 more"), "{}", en.html);
    let da = render(
        MailKind::NextPeriodConfirmation,
        Language::Da,
        &MailContext::new("Acme"),
        &data,
    )
    .unwrap();
    assert!(da.text.contains("… og 189 flere"), "{}", da.text);
    let none = json!({"changes": [], "effective_from": "2026-12-01", "seats_to_remove": [], "seats_more": 0});
    let en = render(
        MailKind::NextPeriodConfirmation,
        Language::En,
        &MailContext::new("Acme"),
        &none,
    )
    .unwrap();
    assert!(!en.text.contains("more"), "{}", en.text);
}

#[test]
fn r20_every_mail_renders_in_english_and_danish() {
    let one = json!({"invoice_id": "inv-1", "currency": "DKK", "total": 15480,
        "period": {"start": "2026-11-01", "end": "2026-12-01"},
        "lines": [{"name": "Licences", "quantity": 3, "days": 12, "days_in_period": 30, "amount": 15480}]});
    let invoice = json!({"invoice": one, "invoices": [one], "seats": [], "seats_more": 0,
        "pools": [{"name": "Licences", "purchased": 13, "next_period": 13}]});
    let downscale = json!({"changes": [{"pool": "licences", "from": 10, "to": 8}], "effective_from": "2026-12-01",
        "seats_to_remove": [{"pool": "licences", "user_id": "u-10", "name": "Karen"}]});
    let cases = [
        (
            MailKind::PurchaseConfirmation,
            invoice.clone(),
            "154.80 DKK",
        ),
        (MailKind::NextPeriodConfirmation, downscale, "Karen"),
        (MailKind::OverAllocationWarning, seat("Karen"), "10:00 UTC"),
        (MailKind::DeadlineReminder, seat("Karen"), "10:00 UTC"),
        (MailKind::RemovalNotice, seat("Karen"), "Karen"),
        (MailKind::PeriodChangeNotice, invoice, "inv-1"),
    ];
    for (kind, data, figure) in cases {
        for lang in [Language::En, Language::Da] {
            let mail = render(kind, lang, &MailContext::new("Acme ApS"), &data).unwrap();
            assert!(
                mail.html.contains(figure),
                "{kind:?} {lang:?} html: {}",
                mail.html
            );
            assert!(
                mail.text.contains(figure),
                "{kind:?} {lang:?} text: {}",
                mail.text
            );
            assert_eq!(mail.subject, subject(kind, lang, false));
        }
    }
    let da = render(MailKind::PurchaseConfirmation, Language::Da, &MailContext::new("Acme"), &json!({"invoice": {"lines": [], "total": 1, "currency": "DKK", "invoice_id": "x"}, "pools": []})).unwrap();
    assert!(da.text.contains("I alt"));
}

#[test]
fn r30_instants_are_in_the_tenants_time_zone_and_the_readers_language() {
    let mut about = MailContext::new("Acme");
    about.time_zone = "Europe/Copenhagen".parse().unwrap();
    let late = json!({"seats": [{"pool": "licences", "name": "Karen",
        "seat": {"since": "2026-11-02T10:00:00Z", "user_id": "u-10"},
        "flag": {"flagged_at": "2026-11-02T23:30:00Z", "deadline": "2026-11-09T23:30:00Z", "reminded": false}}],
        "seats_more": 0});
    let en = render(MailKind::SeatAtRisk, Language::En, &about, &late).unwrap();
    assert!(en.text.contains("10 Nov 2026, 00:30 CET"), "{}", en.text);
    assert!(en.html.contains("10 Nov 2026, 00:30 CET"), "{}", en.html);
    let da = render(MailKind::SeatAtRisk, Language::Da, &about, &late).unwrap();
    assert!(
        da.text.contains("10. nov. 2026 kl. 00:30 CET"),
        "{}",
        da.text
    );
    let summer = json!({"seats": [{"pool": "licences", "name": "Karen",
        "seat": {"since": "2026-06-02T10:00:00Z", "user_id": "u-10"},
        "flag": {"flagged_at": "2026-06-02T10:00:00Z", "deadline": "2026-06-09T10:00:00Z", "reminded": false}}],
        "seats_more": 0});
    let en = render(MailKind::DeadlineReminder, Language::En, &about, &summer).unwrap();
    assert!(en.text.contains("9 Jun 2026, 12:00 CEST"), "{}", en.text);
}

#[test]
fn r30_the_red_user_is_told_the_deadline_and_whom_to_ask() {
    let mut about = MailContext::new("Acme ApS");
    about.contacts = vec!["Ada <ada@acme.example>".into()];
    about.support = Some("support@licensing.example".into());
    for lang in [Language::En, Language::Da] {
        let mail = render(MailKind::SeatAtRisk, lang, &about, &seat("Karen")).unwrap();
        for part in [&mail.text, &mail.html] {
            assert!(part.contains("9"), "{part}");
            assert!(part.contains("10:00 UTC"), "{part}");
            assert!(part.contains("support@licensing.example"), "{part}");
        }
        assert!(
            mail.text.contains("Ada <ada@acme.example>"),
            "{}",
            mail.text
        );
        assert!(
            mail.html.contains("Ada &lt;ada@acme.example&gt;"),
            "{}",
            mail.html
        );
    }
}

#[test]
fn r30_the_renewal_reminder_names_the_counts_the_total_and_the_seats() {
    let data = json!({"effective_from": "2026-12-01", "currency": "DKK",
        "pools": [{"name": "Licences", "purchased": 12, "next_period": 10, "unit_price": 15000}],
        "next_period_total": 150000,
        "seats_to_remove": [{"pool": "licences", "user_id": "u-11", "name": "Karen"}], "seats_more": 1});
    let en = render(
        MailKind::RenewalReminder,
        Language::En,
        &MailContext::new("Acme"),
        &data,
    )
    .unwrap();
    assert!(en.text.contains("1 Dec 2026"), "{}", en.text);
    assert!(en.text.contains("Licences: 10 (now 12)"), "{}", en.text);
    assert!(en.text.contains("1500.00 DKK"), "{}", en.text);
    assert!(en.text.contains("- Karen (licences)"), "{}", en.text);
    assert!(en.text.contains("… and 1 more"), "{}", en.text);
    let da = render(
        MailKind::RenewalReminder,
        Language::Da,
        &MailContext::new("Acme"),
        &data,
    )
    .unwrap();
    assert!(da.text.contains("1. dec. 2026"), "{}", da.text);
    assert!(da.text.contains("I alt pr. periode"), "{}", da.text);
}

#[test]
fn user_data_is_escaped_in_html() {
    let mail = render(
        MailKind::OverAllocationWarning,
        Language::En,
        &MailContext::new("<b>Acme</b>"),
        &seat("<script>alert(1)</script>"),
    )
    .unwrap();
    assert!(!mail.html.contains("<script>"));
    assert!(mail.html.contains("&lt;script&gt;"));
    assert!(!mail.html.contains("<b>Acme</b>"));
}

/// One mail of `kind` in `lang` to Acme.
fn r35_mail(kind: MailKind, lang: Language, data: &serde_json::Value) -> RenderedMail {
    render(kind, lang, &MailContext::new("Acme"), data).unwrap()
}

/// R35: the other managers hear what waits, until when, and who asked (escaped in HTML).
#[test]
fn r35_the_managers_hear_what_waits_for_their_approval() {
    let asked = json!({"request_id": "pr-1", "requested_by": "Ada <Admin>", "lines": [{"name": "Licences", "quantity": 2}],
                       "total": 21639, "currency": "DKK", "expires_at": "2026-12-09T00:27:00Z"});
    let en = r35_mail(MailKind::PurchaseRequested, Language::En, &asked);
    let says = "Ada <Admin> wants to buy licences for 216.39 DKK";
    assert!(
        en.text.contains(says) && en.text.contains("- Licences: 2"),
        "{}",
        en.text
    );
    assert!(en.html.contains("Ada &lt;Admin&gt;"), "{}", en.html);
    let da = r35_mail(MailKind::PurchaseRequested, Language::Da, &asked);
    assert!(
        da.text.contains("vil købe licenser for 216.39 DKK"),
        "{}",
        da.text
    );
}

/// R35: the requester hears how their request ended, in their language; what people typed
/// (a reason, a name) is text in the HTML, never markup.
#[test]
fn r35_the_requester_hears_how_the_request_ended() {
    let approved = "Cy approved your purchase of licences for 216.39 DKK (invoice inv-p-1)";
    let declined = "Cy declined your purchase of licences for 216.39 DKK. Reason: Next quarter.";
    for (status, en_says, da_says) in [
        ("approved", approved, "Cy har godkendt dit køb"),
        ("declined", declined, "Begrundelse: Next quarter."),
        (
            "expired",
            "was not approved in time and has expired",
            "er udløbet",
        ),
    ] {
        let data = json!({"status": status, "by": "Cy", "reason": "Next quarter", "invoice_id": "inv-p-1", "total": 21639, "currency": "DKK"});
        let en = r35_mail(MailKind::PurchaseRequestDecided, Language::En, &data);
        assert!(en.text.contains(en_says), "{status}: {}", en.text);
        let da = r35_mail(MailKind::PurchaseRequestDecided, Language::Da, &data);
        assert!(da.text.contains(da_says), "{status}: {}", da.text);
    }
    let hostile = json!({"status": "declined", "by": "Cy <b>", "reason": "<a href=\"https://evil\">again</a>",
                         "total": 21639, "currency": "DKK"});
    let html = r35_mail(MailKind::PurchaseRequestDecided, Language::En, &hostile).html;
    assert!(
        html.contains("Cy &lt;b&gt;") && html.contains("&lt;a href="),
        "{html}"
    );
    assert!(!html.contains("<a href"), "{html}");
}

/// R35: the other administrators hear of a new limit, and who set it (escaped in HTML).
#[test]
fn r35_the_administrators_hear_of_a_new_limit() {
    let limit = json!({"from": null, "to": 1_000_000, "currency": "DKK", "by": "Ada"});
    let en = r35_mail(MailKind::ApprovalThresholdChanged, Language::En, &limit);
    let says = "Ada changed the limit for purchases without approval from no limit to 10000.00 DKK";
    assert!(en.text.contains(says), "{}", en.text);
    let da = r35_mail(MailKind::ApprovalThresholdChanged, Language::Da, &limit);
    assert!(
        da.text.contains("fra ingen grænse til 10000.00 DKK"),
        "{}",
        da.text
    );
    let by = json!({"from": 1, "to": null, "currency": "DKK", "by": "Op <i>"});
    let html = r35_mail(MailKind::ApprovalThresholdChanged, Language::Da, &by).html;
    assert!(
        html.contains("Op &lt;i&gt;") && !html.contains("<i>"),
        "{html}"
    );
}

//! Mail rendering: templates in `shared/templates/mail/`, English and Danish, HTML escaped
//! by the template engine (every `.html` template autoescapes), never string concatenation.

use minijinja::{Environment, Value, context};
use std::sync::OnceLock;

use crate::domain::identity::Language;
use crate::domain::money::{Amount, Currency, format_major};
use crate::outbox::MailKind;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenderedMail {
    pub subject: String,
    pub html: String,
    pub text: String,
}

macro_rules! templates {
    ($env:ident, $($name:literal),*) => {
        $( $env.add_template($name, include_str!(concat!("../../templates/mail/", $name)))?; )*
    };
}

fn environment() -> Result<&'static Environment<'static>, String> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let build = || -> Result<Environment<'static>, minijinja::Error> {
            let mut env = Environment::new();
            templates!(
                env,
                "layout.html",
                "seats.html",
                "seats.txt",
                "purchase_confirmation.html",
                "purchase_confirmation.txt",
                "next_period_confirmation.html",
                "next_period_confirmation.txt",
                "over_allocation_warning.html",
                "over_allocation_warning.txt",
                "deadline_reminder.html",
                "deadline_reminder.txt",
                "removal_notice.html",
                "removal_notice.txt",
                "period_change_notice.html",
                "period_change_notice.txt"
            );
            env.add_filter("money", money);
            env.add_filter("instant", instant);
            Ok(env)
        };
        build().map_err(|e| format!("mail templates: {e}"))
    })
    .as_ref()
    .map_err(Clone::clone)
}

/// `15480 | money("DKK")` → `154.80 DKK`.
fn money(minor: i64, currency: String) -> String {
    match (Amount::new(minor), Currency::parse(&currency)) {
        (Ok(amount), Ok(code)) => format!("{} {code}", format_major(amount, code)),
        _ => format!("{minor} {currency}"),
    }
}

/// An RFC 3339 instant shown to people: `2026-12-05 00:20 UTC`.
fn instant(value: String) -> String {
    value
        .parse::<chrono::DateTime<chrono::Utc>>()
        .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or(value)
}

pub fn template_name(kind: MailKind) -> &'static str {
    match kind {
        MailKind::PurchaseConfirmation => "purchase_confirmation",
        MailKind::NextPeriodConfirmation => "next_period_confirmation",
        MailKind::OverAllocationWarning => "over_allocation_warning",
        MailKind::DeadlineReminder => "deadline_reminder",
        MailKind::RemovalNotice => "removal_notice",
        MailKind::PeriodChangeNotice => "period_change_notice",
    }
}

/// The subject; `many` when the mail is about more than one seat.
pub fn subject(kind: MailKind, language: Language, many: bool) -> &'static str {
    use Language::{Da, En};
    match (kind, language) {
        (MailKind::OverAllocationWarning, En) if many => "Users need a licence within 7 days",
        (MailKind::OverAllocationWarning, Da) if many => "Brugere mangler en licens inden 7 dage",
        (MailKind::DeadlineReminder, En) if many => "Reminder: users will be deactivated tomorrow",
        (MailKind::DeadlineReminder, Da) if many => "Påmindelse: brugere deaktiveres i morgen",
        (MailKind::RemovalNotice, En) if many => "Users were deactivated for lack of a licence",
        (MailKind::RemovalNotice, Da) if many => {
            "Brugere er deaktiveret på grund af manglende licens"
        }
        (MailKind::PurchaseConfirmation, En) => "Your licence purchase is confirmed",
        (MailKind::PurchaseConfirmation, Da) => "Dit køb af licenser er bekræftet",
        (MailKind::NextPeriodConfirmation, En) => "Your licences for the next period are updated",
        (MailKind::NextPeriodConfirmation, Da) => "Dine licenser for næste periode er opdateret",
        (MailKind::OverAllocationWarning, En) => "A user needs a licence within 7 days",
        (MailKind::OverAllocationWarning, Da) => "En bruger mangler en licens inden 7 dage",
        (MailKind::DeadlineReminder, En) => "Reminder: a user will be deactivated tomorrow",
        (MailKind::DeadlineReminder, Da) => "Påmindelse: en bruger deaktiveres i morgen",
        (MailKind::RemovalNotice, En) => "A user was deactivated for lack of a licence",
        (MailKind::RemovalNotice, Da) => "En bruger er deaktiveret på grund af manglende licens",
        (MailKind::PeriodChangeNotice, En) => "Your new subscription period has started",
        (MailKind::PeriodChangeNotice, Da) => "Din nye abonnementsperiode er begyndt",
    }
}

pub fn render(
    kind: MailKind,
    language: Language,
    tenant_name: &str,
    data: &serde_json::Value,
) -> Result<RenderedMail, String> {
    let env = environment()?;
    let name = template_name(kind);
    let seats = data
        .get("seats")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len) as u64;
    let more = data
        .get("seats_more")
        .and_then(serde_json::Value::as_u64)
        .unwrap_or(0);
    let subject = subject(kind, language, seats + more > 1);
    let ctx = context! {
        lang => language.as_str(),
        subject => subject,
        tenant_name => tenant_name,
        ..Value::from_serialize(data)
    };
    let render = |ext: &str| {
        env.get_template(&format!("{name}.{ext}"))
            .and_then(|t| t.render(&ctx))
            .map_err(|e| format!("render {name}.{ext}: {e}"))
    };
    Ok(RenderedMail {
        subject: subject.to_owned(),
        html: render("html")?,
        text: render("txt")?,
    })
}

#[cfg(test)]
mod tests {
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
            let en = render(kind, Language::En, "Acme", &data).unwrap();
            assert!(
                en.text
                    .contains("- User 49 (licences): 2026-11-09 10:00 UTC"),
                "{}",
                en.text
            );
            assert!(en.text.contains("… and 9949 more"), "{}", en.text);
            assert!(en.html.contains("… and 9949 more"), "{}", en.html);
            assert_eq!(en.subject, subject(kind, Language::En, true));
            assert_ne!(en.subject, subject(kind, Language::En, false));
            let da = render(kind, Language::Da, "Acme", &data).unwrap();
            assert!(da.text.contains("… og 9949 flere"), "{}", da.text);
        }
        let one = render(
            MailKind::RemovalNotice,
            Language::En,
            "Acme",
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
            "Acme",
            &data,
        )
        .unwrap();
        assert!(en.text.contains("- Karen (licences)"), "{}", en.text);
        assert!(en.text.contains("… and 189 more"), "{}", en.text);
        assert!(en.html.contains("… and 189 more"), "{}", en.html);
        let da = render(
            MailKind::NextPeriodConfirmation,
            Language::Da,
            "Acme",
            &data,
        )
        .unwrap();
        assert!(da.text.contains("… og 189 flere"), "{}", da.text);
        let none = json!({"changes": [], "effective_from": "2026-12-01", "seats_to_remove": [], "seats_more": 0});
        let en = render(
            MailKind::NextPeriodConfirmation,
            Language::En,
            "Acme",
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
            (
                MailKind::OverAllocationWarning,
                seat("Karen"),
                "2026-11-09 10:00 UTC",
            ),
            (
                MailKind::DeadlineReminder,
                seat("Karen"),
                "2026-11-09 10:00 UTC",
            ),
            (MailKind::RemovalNotice, seat("Karen"), "Karen"),
            (MailKind::PeriodChangeNotice, invoice, "inv-1"),
        ];
        for (kind, data, figure) in cases {
            for lang in [Language::En, Language::Da] {
                let mail = render(kind, lang, "Acme ApS", &data).unwrap();
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
        let da = render(MailKind::PurchaseConfirmation, Language::Da, "Acme", &json!({"invoice": {"lines": [], "total": 1, "currency": "DKK", "invoice_id": "x"}, "pools": []})).unwrap();
        assert!(da.text.contains("I alt"));
    }

    #[test]
    fn user_data_is_escaped_in_html() {
        let mail = render(
            MailKind::OverAllocationWarning,
            Language::En,
            "<b>Acme</b>",
            &seat("<script>alert(1)</script>"),
        )
        .unwrap();
        assert!(!mail.html.contains("<script>"));
        assert!(mail.html.contains("&lt;script&gt;"));
        assert!(!mail.html.contains("<b>Acme</b>"));
    }
}

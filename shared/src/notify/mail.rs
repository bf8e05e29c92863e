//! Mail rendering: templates in `shared/templates/mail/`, English and Danish, HTML escaped
//! by the template engine (every `.html` template autoescapes), never string concatenation.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use chrono_tz::Tz;
use minijinja::{Environment, State, Value, context};
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
                "period_change_notice.txt",
                "renewal_reminder.html",
                "renewal_reminder.txt",
                "seat_at_risk.html",
                "seat_at_risk.txt",
                "purchase_requested.html",
                "purchase_requested.txt",
                "purchase_request_decided.html",
                "purchase_request_decided.txt",
                "approval_threshold_changed.html",
                "approval_threshold_changed.txt",
                "webhook_disabled.html",
                "webhook_disabled.txt",
                "footer.txt"
            );
            env.add_filter("money", money);
            env.add_filter("instant", instant);
            env.add_filter("date", date);
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

/// Who a mail is for and about: the tenant's name and time zone, and whom to ask.
#[derive(Clone, Debug)]
pub struct MailContext {
    pub tenant_name: String,
    /// Instants are shown in the tenant's time zone, the one the page and its deadlines use.
    pub time_zone: Tz,
    /// The deployment's support contact (R29), in every footer.
    pub support: Option<String>,
    /// The people a user may ask about their licence: the tenant's managers, by name.
    pub contacts: Vec<String>,
}

impl MailContext {
    pub fn new(tenant_name: impl Into<String>) -> Self {
        Self {
            tenant_name: tenant_name.into(),
            time_zone: Tz::UTC,
            support: None,
            contacts: Vec::new(),
        }
    }
}

const MONTHS_EN: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const MONTHS_DA: [&str; 12] = [
    "jan.", "feb.", "mar.", "apr.", "maj", "jun.", "jul.", "aug.", "sep.", "okt.", "nov.", "dec.",
];

fn is_danish(state: &State) -> bool {
    state.lookup("lang").as_ref().and_then(Value::as_str) == Some("da")
}

fn day_text(day: NaiveDate, danish: bool) -> String {
    let month = day.month0() as usize;
    if danish {
        format!("{}. {} {}", day.day(), MONTHS_DA[month], day.year())
    } else {
        format!("{} {} {}", day.day(), MONTHS_EN[month], day.year())
    }
}

/// An RFC 3339 instant shown to people in the tenant's time zone and the reader's language:
/// `5 Dec 2026, 01:20 CET`, `5. dec. 2026 kl. 01:20 CET`.
fn instant(state: &State, value: String) -> String {
    let Ok(at) = value.parse::<DateTime<Utc>>() else {
        return value;
    };
    let tz: Tz = state
        .lookup("tz")
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|name| name.parse().ok())
        .unwrap_or(Tz::UTC);
    let local = at.with_timezone(&tz);
    let danish = is_danish(state);
    let day = day_text(local.date_naive(), danish);
    let time = local.format("%H:%M %Z");
    if danish {
        format!("{day} kl. {time}")
    } else {
        format!("{day}, {time}")
    }
}

/// A calendar date (`2026-12-01`) in the reader's language: `1 Dec 2026`, `1. dec. 2026`.
fn date(state: &State, value: String) -> String {
    value
        .parse::<NaiveDate>()
        .map(|day| day_text(day, is_danish(state)))
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
        MailKind::RenewalReminder => "renewal_reminder",
        MailKind::SeatAtRisk => "seat_at_risk",
        MailKind::PurchaseRequested => "purchase_requested",
        MailKind::PurchaseRequestDecided => "purchase_request_decided",
        MailKind::ApprovalThresholdChanged => "approval_threshold_changed",
        MailKind::WebhookDisabled => "webhook_disabled",
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
        (MailKind::RenewalReminder, En) => "Your subscription renews soon: check your licences",
        (MailKind::RenewalReminder, Da) => "Dit abonnement fornyes snart: tjek dine licenser",
        (MailKind::SeatAtRisk, En) => {
            "You have no licence: you will be deactivated unless one is bought"
        }
        (MailKind::SeatAtRisk, Da) => "Du har ingen licens: du deaktiveres, medmindre der købes en",
        (MailKind::PurchaseRequested, En) => "A licence purchase waits for your approval",
        (MailKind::PurchaseRequested, Da) => "Et køb af licenser venter på din godkendelse",
        (MailKind::PurchaseRequestDecided, En) => "Your licence purchase request was answered",
        (MailKind::PurchaseRequestDecided, Da) => "Din anmodning om at købe licenser er besvaret",
        (MailKind::ApprovalThresholdChanged, En) => {
            "The limit for purchases without approval was changed"
        }
        (MailKind::ApprovalThresholdChanged, Da) => "Grænsen for køb uden godkendelse er ændret",
        (MailKind::WebhookDisabled, En) => "A webhook endpoint was turned off",
        (MailKind::WebhookDisabled, Da) => "Et webhook-endepunkt er slået fra",
    }
}

pub fn render(
    kind: MailKind,
    language: Language,
    about: &MailContext,
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
        tenant_name => &about.tenant_name,
        tz => about.time_zone.name(),
        support => &about.support,
        contacts => &about.contacts,
        ..Value::from_serialize(data)
    };
    let render = |ext: &str| {
        env.get_template(&format!("{name}.{ext}"))
            .and_then(|t| t.render(&ctx))
            .map_err(|e| format!("render {name}.{ext}: {e}"))
    };
    let footer = env
        .get_template("footer.txt")
        .and_then(|t| t.render(&ctx))
        .map_err(|e| format!("render footer.txt: {e}"))?;
    Ok(RenderedMail {
        subject: subject.to_owned(),
        html: render("html")?,
        text: render("txt")? + &footer,
    })
}

#[cfg(test)]
mod tests;

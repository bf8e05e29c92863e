//! What SES says about mail after sending (R32): a permanent bounce or a complaint, published
//! by the configuration set to EventBridge's default bus and routed to the dispatcher,
//! suppresses the address for the tenant the mail was sent for (its `tenant` tag). Transient
//! bounces and other events change nothing.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::domain::identity::TenantId;
use crate::domain::suppression::{MailSuppression, SuppressionReason, suppression_key};
use crate::ports::{AccountReads, MailSuppressions, StoreError};

/// The tag every mail is sent with that names its tenant.
pub const TENANT_TAG: &str = "tenant";

/// The tenant as a tag value: hexadecimal, since SES allows only letters, digits, `_` and `-`
/// in tags and a tenant id may hold `.`.
pub fn tenant_tag(tenant: &TenantId) -> String {
    hex::encode(tenant.as_str())
}

fn tenant_of_tag(value: &str) -> Option<TenantId> {
    let bytes = hex::decode(value).ok()?;
    TenantId::parse(std::str::from_utf8(&bytes).ok()?).ok()
}

/// What one SES event says to suppress, and for which tenant.
#[derive(Debug, PartialEq, Eq)]
pub struct Feedback {
    pub tenant: TenantId,
    pub suppressions: Vec<MailSuppression>,
}

/// Reads an SES event record (EventBridge's `detail`): `None` when it is not a mail of ours
/// (no readable `tenant` tag) or asks for nothing (a transient bounce, a delivery, …).
/// `received` stands in for a record without its own timestamp.
pub fn feedback(detail: &Value, received: DateTime<Utc>) -> Option<Feedback> {
    let tenant = detail["mail"]["tags"][TENANT_TAG]
        .as_array()
        .and_then(|values| values.first())
        .and_then(Value::as_str)
        .and_then(tenant_of_tag)?;
    let kind = detail["eventType"]
        .as_str()
        .or_else(|| detail["notificationType"].as_str())?;
    let (reason, record, recipients, detail_text) = match kind {
        // A mail SES did not even try (the account's list, off for our configuration set, or
        // a suppression of another sender's) says nothing about this tenant's address.
        "Bounce" if detail["bounce"]["bounceSubType"] == "OnAccountSuppressionList" => {
            return None;
        }
        "Bounce" if detail["bounce"]["bounceType"] == "Permanent" => {
            let bounce = &detail["bounce"];
            let sub_type = bounce["bounceSubType"].as_str().unwrap_or("General");
            (
                SuppressionReason::Bounce,
                bounce,
                "bouncedRecipients",
                format!("permanent bounce ({sub_type})"),
            )
        }
        // The recipient said it is not spam: nothing to suppress.
        "Complaint" if detail["complaint"]["complaintFeedbackType"] == "not-spam" => return None,
        "Complaint" => {
            let complaint = &detail["complaint"];
            let feedback_type = complaint["complaintFeedbackType"]
                .as_str()
                .unwrap_or("not given");
            (
                SuppressionReason::Complaint,
                complaint,
                "complainedRecipients",
                format!("complaint (feedback type {feedback_type})"),
            )
        }
        _ => return None,
    };
    let at = record["timestamp"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or(received);
    let suppressions: Vec<MailSuppression> = record[recipients]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| {
            let address = r["emailAddress"].as_str()?;
            let diagnostic = r["diagnosticCode"]
                .as_str()
                .map(|d| format!(": {}", d.chars().take(200).collect::<String>()))
                .unwrap_or_default();
            Some(MailSuppression {
                address: suppression_key(address),
                reason,
                at,
                detail: format!("{detail_text}{diagnostic}"),
            })
        })
        .collect();
    (!suppressions.is_empty()).then_some(Feedback {
        tenant,
        suppressions,
    })
}

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct FeedbackReport {
    /// Addresses suppressed by this event.
    pub suppressed: usize,
    /// The event asked for nothing, or named a tenant that does not exist.
    pub ignored: bool,
}

/// Records what an SES event asks for. An event is delivered at least once: recording the
/// same suppression again changes nothing.
pub async fn record_feedback<S: AccountReads + MailSuppressions>(
    store: &S,
    detail: &Value,
    received: DateTime<Utc>,
) -> Result<FeedbackReport, StoreError> {
    let Some(feedback) = feedback(detail, received) else {
        return Ok(FeedbackReport {
            suppressed: 0,
            ignored: true,
        });
    };
    if store.load_account(&feedback.tenant).await?.is_none() {
        tracing::warn!(tenant = %feedback.tenant, "SES feedback for a tenant that does not exist");
        return Ok(FeedbackReport {
            suppressed: 0,
            ignored: true,
        });
    }
    for suppression in &feedback.suppressions {
        store.suppress(&feedback.tenant, suppression).await?;
        // The address is the customer's user's: logged as its reason only.
        tracing::info!(
            tenant = %feedback.tenant,
            reason = ?suppression.reason,
            metric = "MailSuppressed",
            "a mail address is suppressed"
        );
    }
    Ok(FeedbackReport {
        suppressed: feedback.suppressions.len(),
        ignored: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn acme() -> TenantId {
        TenantId::parse("acme.dk").unwrap()
    }

    fn bounce(kind: &str) -> Value {
        json!({
            "eventType": "Bounce",
            "bounce": {
                "bounceType": kind, "bounceSubType": "NoEmail",
                "bouncedRecipients": [{"emailAddress": "Bo@Example.com", "action": "failed",
                    "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
                "timestamp": "2026-12-01T10:00:01.000Z"
            },
            "mail": {"timestamp": "2026-12-01T10:00:00.000Z", "messageId": "m-1",
                "destination": ["Bo@Example.com"],
                "tags": {"ses:configuration-set": ["licensing"], "tenant": [tenant_tag(&acme())],
                         "message_id": ["msg-1"]}}
        })
    }

    #[test]
    fn the_tenant_tag_reads_back_whatever_the_id_holds() {
        assert_eq!(tenant_tag(&acme()), "61636d652e646b");
        assert_eq!(tenant_of_tag(&tenant_tag(&acme())), Some(acme()));
        assert_eq!(tenant_of_tag("zz"), None);
    }

    #[test]
    fn a_permanent_bounce_suppresses_the_address_in_lower_case() {
        let received = "2026-12-01T10:05:00Z".parse().unwrap();
        let got = feedback(&bounce("Permanent"), received).unwrap();
        assert_eq!(got.tenant, acme());
        assert_eq!(
            got.suppressions,
            [MailSuppression {
                address: "bo@example.com".into(),
                reason: SuppressionReason::Bounce,
                at: "2026-12-01T10:00:01Z".parse().unwrap(),
                detail: "permanent bounce (NoEmail): smtp; 550 5.1.1 user unknown".into(),
            }]
        );
    }

    #[test]
    fn a_transient_bounce_or_a_foreign_mail_suppresses_nothing() {
        let received = Utc::now();
        assert_eq!(feedback(&bounce("Transient"), received), None);
        let mut foreign = bounce("Permanent");
        foreign["mail"]["tags"] = json!({});
        assert_eq!(feedback(&foreign, received), None);
        let delivery = json!({"eventType": "Delivery", "mail": bounce("Permanent")["mail"]});
        assert_eq!(feedback(&delivery, received), None);
        let mut listed = bounce("Permanent");
        listed["bounce"]["bounceSubType"] = json!("OnAccountSuppressionList");
        assert_eq!(feedback(&listed, received), None, "SES did not try");
    }

    #[test]
    fn a_complaint_suppresses_each_complaining_recipient() {
        let mut event = bounce("Permanent");
        event["eventType"] = json!("Complaint");
        event["complaint"] = json!({
            "complainedRecipients": [{"emailAddress": "cy@example.com"}],
            "complaintFeedbackType": "abuse", "timestamp": "2026-12-02T08:00:00Z"
        });
        let mut not_spam = event.clone();
        not_spam["complaint"]["complaintFeedbackType"] = json!("not-spam");
        assert_eq!(feedback(&not_spam, Utc::now()), None);
        let got = feedback(&event, Utc::now()).unwrap();
        assert_eq!(got.suppressions.len(), 1);
        assert_eq!(got.suppressions[0].address, "cy@example.com");
        assert_eq!(got.suppressions[0].reason, SuppressionReason::Complaint);
        assert_eq!(
            got.suppressions[0].detail,
            "complaint (feedback type abuse)"
        );
    }
}

//! Mail suppression: an address whose mail bounced for good or was marked as spam gets no
//! more mail from the tenant until someone changes the user's address (SES's bounce and
//! complaint events, R32). Keyed by the address as compared: ASCII lower case.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::identity::EmailAddress;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SuppressionReason {
    /// A permanent ("hard") bounce: the address does not take mail.
    Bounce,
    /// The recipient marked a mail as spam.
    Complaint,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MailSuppression {
    /// The address as compared ([`suppression_key`]).
    pub address: String,
    pub reason: SuppressionReason,
    /// When SES saw the bounce or the complaint.
    pub at: DateTime<Utc>,
    /// What SES said: the bounce's sub-type and diagnostic, or the complaint's feedback type.
    pub detail: String,
}

/// The form addresses are compared in: mail systems treat the domain without case, and in
/// practice the local part too.
pub fn suppression_key(address: &str) -> String {
    address.trim().to_ascii_lowercase()
}

impl MailSuppression {
    pub fn applies_to(&self, email: &EmailAddress) -> bool {
        self.address == suppression_key(email.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_suppressed_whatever_its_case() {
        let suppression = MailSuppression {
            address: suppression_key(" Bo@Example.COM"),
            reason: SuppressionReason::Bounce,
            at: DateTime::UNIX_EPOCH,
            detail: String::new(),
        };
        assert!(suppression.applies_to(&EmailAddress::parse("bo@example.com").unwrap()));
        assert!(!suppression.applies_to(&EmailAddress::parse("bo2@example.com").unwrap()));
    }
}

//! Mail and events through the real SES v2 and EventBridge clients against moto
//! (issue: mail and events that are never lost): every mail and event of a month
//! (`languages`), delivery when the bus and the sender fail (`faults`), changes larger than a
//! transaction and a stream reader killed mid-batch (`large`), the renewal reminder
//! (`renewal`). The shared world and readers are here.

mod faults;
mod languages;
mod large;
mod renewal;

use chrono::{Duration, NaiveDate};
use licensing::app::sweep::sweep;
use licensing::app::{self, Caller};
use licensing::domain::identity::{DisplayName, EmailAddress, Language, TenantId, UserId};
use licensing::domain::rights::administrator;
use licensing::notify::{Notifier, dispatch_due};
use licensing::ports::{AccountReads, Commits};
use licensing_tests::streamed::Streamed;
use licensing_tests::*;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Every mail the SES engine accepted whose body names `marker`: (to, subject, body), the
/// HTML part of a mail with both parts.
async fn mails(marker: &str) -> Vec<(String, String, String)> {
    licensing_tests::mail::sent_mail(&reqwest::Client::new())
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.body.contains(marker))
        .map(|m| (m.to, m.subject, m.body))
        .collect()
}

/// Every event that reached the test's queue for `tenant`: (detail-type, detail).
async fn events(queue_url: &str, tenant: &str) -> Vec<(String, Value)> {
    let sqs = aws_sdk_sqs::Client::new(&sdk().await);
    let mut out = Vec::new();
    loop {
        let got = sqs
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let messages = got.messages.unwrap_or_default();
        if messages.is_empty() {
            return out;
        }
        for m in messages {
            let event: Value = serde_json::from_str(m.body().unwrap_or("{}")).unwrap();
            if event["detail"]["tenant_id"] == tenant {
                out.push((
                    event["detail-type"].as_str().unwrap_or("").to_owned(),
                    event["detail"].clone(),
                ));
            }
            if let Some(handle) = m.receipt_handle() {
                let _ = sqs
                    .delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(handle)
                    .send()
                    .await;
            }
        }
    }
}

struct World {
    store: Streamed,
    queue_url: String,
    tenant: String,
    marker: String,
}

async fn world(bus: &str) -> World {
    let sdk = sdk().await;
    let queue = unique("q");
    let queue_url = provision_messaging(&sdk, bus, &queue, "licensing@example.com")
        .await
        .unwrap();
    let store = Streamed::open(
        fresh_streamed_store().await,
        Notifier::new(&sdk, bus, "licensing@example.com")
            .with_support_contact("support@licensing.example"),
    )
    .await;
    let tenant = unique("n");
    let marker = unique("Firma");
    let mut new = acme(&tenant, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(), 2, 1);
    new.name = DisplayName::parse(&marker).unwrap();
    new.administrator.email = EmailAddress::parse(&format!("ada@{tenant}.dk")).unwrap();
    app::create_tenant(&store, "op", new, at("2026-11-01T08:00:00Z"))
        .await
        .unwrap();
    World {
        store,
        queue_url,
        tenant,
        marker,
    }
}

fn caller(w: &World, user: &str) -> Caller {
    Caller {
        tenant: TenantId::parse(&w.tenant).unwrap(),
        user: UserId::parse(user).unwrap(),
    }
}

async fn add(w: &World, id: &str, name: &str, language: Language, admin: bool, when: &str) {
    let mut user = new_user(id, name, language, &[]);
    user.email = EmailAddress::parse(&format!("{id}@{}.dk", w.tenant)).unwrap();
    if admin {
        user.role = administrator();
    }
    app::create_user(
        &w.store,
        &caller(w, "ada"),
        user.into(),
        None,
        &serde_json::Value::Null,
        at(when),
    )
    .await
    .unwrap();
}

async fn buy(w: &World, who: &str, key: &str, when: &str) {
    buy_one_licence(&w.store, &caller(w, who), key, at(when)).await;
}

/// An endpoint where nothing answers: a port bound and released at once.
fn closed_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

/// The purchase confirmations for `w` that reached moto (one read: moto's data.json grows to
/// tens of MB over a test run, and reading it in a loop starves the other tests' sends).
async fn confirmations(w: &World) -> usize {
    mails(&w.marker)
        .await
        .into_iter()
        .filter(|(_, s, _)| s == "Dit køb af licenser er bekræftet")
        .count()
}

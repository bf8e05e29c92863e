//! Decision 0014: a change addresses its mail, so delivering a batch is a claim and a settle
//! (two store calls) however many managers it mails, and a mail reaches whom the change meant,
//! in the language they had then, whatever changed before it was sent. On the memory world
//! (fast) and on DynamoDB Local, where the managers come from the `role` index; and the
//! claim itself, held for its lease.

use licensing::adapters::memory::MemoryStore;
use licensing::app::{self, Activation, UserPatch};
use licensing::domain::identity::{Language, TenantId, UserId};
use licensing::domain::rights::{administrator, plain_user};
use licensing::notify::recorded::{Recorder, SentMail};
use licensing::notify::{deliver, dispatch_due};
use licensing::ports::{Claim, OutboxStore, Store, Webhooks};
use licensing_tests::faults::{Fault, Faulty, Method};
use licensing_tests::{acme, ada, at, fresh_store, new_user, nov, require_engines};
use std::sync::{Arc, Mutex};

type Instant = chrono::DateTime<chrono::Utc>;

const WARNING_DA: &str = "En bruger mangler en licens inden 7 dage";
const WARNING_EN: &str = "A user needs a licence within 7 days";

/// Acme (3 licences) with Ada and Bo, both administrators and so managers (Bo reads Danish),
/// and Cy, a plain user: every licence is used.
async fn acme_full<S: Store>(store: &S, start: Instant) {
    app::create_tenant(store, "op", acme("acme", nov(), 3, 2), start)
        .await
        .unwrap();
    let mut bo = new_user("bo", "Bo Berg", Language::Da, &[]);
    bo.role = administrator();
    add(store, bo, start).await;
    add(store, new_user("cy", "Cy Holm", Language::En, &[]), start).await;
}

async fn add<S: Store>(store: &S, user: licensing::domain::user::NewUser, now: Instant) {
    let body = serde_json::json!({});
    app::create_user(store, &ada("acme"), user.into(), None, &body, now)
        .await
        .unwrap();
}

/// Delivers every batch due at `now` through a decorator that writes down each store call:
/// how many batches, and the calls.
async fn delivered<S: Store + OutboxStore + Webhooks + Clone + 'static>(
    store: &S,
    sender: &Recorder,
    now: Instant,
) -> (usize, Vec<Method>) {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let counted = Faulty::new(store.clone(), move |call| {
        seen.lock().unwrap().push(call.method);
        Fault::Pass
    });
    let due = store.due_outbox(now, 100).await.unwrap();
    let batches = due.len();
    let report = deliver(&counted, sender, due, now).await.unwrap();
    assert_eq!(report.batches, batches, "{report:?}");
    let calls = calls.lock().unwrap().clone();
    (batches, calls)
}

fn to(sender: &Recorder, address: &str) -> Vec<SentMail> {
    sender
        .mails()
        .into_iter()
        .filter(|m| m.to == address)
        .collect()
}

/// Di joins a full tenant: the managers are warned and Di is told whom to ask. Before any of
/// it is sent, Bo is made a plain user writing English, then deactivated: the mail still goes
/// to Bo, in Danish, as the change meant it, and each batch costs a claim and a settle.
async fn delivery_is_a_claim_and_a_settle<S: Store + OutboxStore + Webhooks + Clone + 'static>(
    store: S,
) {
    let start = at("2026-11-19T09:00:00Z");
    acme_full(&store, start).await;
    let now = at("2026-11-19T10:00:00Z");
    add(&store, new_user("di", "Di Lund", Language::En, &[]), now).await;
    let bo = UserId::parse("bo").unwrap();
    let patch = UserPatch {
        role: Some(plain_user()),
        language: Some(Language::En),
        modules: None,
    };
    app::update_user(&store, &ada("acme"), &bo, patch, now)
        .await
        .unwrap();
    app::set_active(&store, &ada("acme"), &bo, Activation::Deactivate, now)
        .await
        .unwrap();

    let sender = Recorder::new();
    let (batches, calls) = delivered(&store, &sender, now).await;
    assert!(
        batches >= 4,
        "the creates', the role change's, the deactivation's"
    );
    let two_each: Vec<Method> = (0..batches)
        .flat_map(|_| [Method::ClaimOutbox, Method::SettleOutbox])
        .collect();
    // Besides: the tenant's webhook endpoints, read once for the delivery (R38's fan-out of
    // the events; none here).
    let (endpoints, rest): (Vec<Method>, Vec<Method>) =
        calls.into_iter().partition(|m| *m == Method::Endpoints);
    assert_eq!(rest, two_each, "two calls a batch, nothing else read");
    assert_eq!(endpoints, [Method::Endpoints]);
    let subjects = |address| -> Vec<String> {
        to(&sender, address)
            .into_iter()
            .map(|m| m.subject)
            .collect()
    };
    assert_eq!(
        subjects("bo@example.com"),
        [WARNING_DA],
        "Bo, as at the change"
    );
    assert_eq!(
        subjects("ada@example.com"),
        [WARNING_DA],
        "Ada reads Danish"
    );
    assert!(
        subjects("cy@example.com").is_empty(),
        "a plain user is no manager"
    );
    let at_risk = to(&sender, "di@example.com");
    assert_eq!(at_risk.len(), 1, "{at_risk:?}");
    assert!(
        at_risk[0].text.contains("bo@example.com") && at_risk[0].text.contains("ada@example.com"),
        "names the managers of the change: {}",
        at_risk[0].text
    );
    assert_eq!(
        delivered(&store, &sender, now).await,
        (0, Vec::new()),
        "all settled"
    );
}

#[tokio::test]
async fn r20_a_batch_is_delivered_in_two_store_calls_to_whom_its_change_meant() {
    delivery_is_a_claim_and_a_settle(MemoryStore::new()).await;
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r20_on_dynamodb_a_batch_is_delivered_in_two_calls_with_the_managers_from_the_index() {
    require_engines();
    delivery_is_a_claim_and_a_settle(fresh_store().await).await;
}

/// An administrator created beyond the licences is a manager the store has not seen yet: the
/// change that makes them mails them the managers' warning too.
#[tokio::test]
async fn r20_a_manager_made_by_the_change_itself_is_among_those_it_mails() {
    let store = MemoryStore::new();
    let start = at("2026-11-19T09:00:00Z");
    acme_full(&store, start).await;
    let sender = Recorder::new();
    delivered(&store, &sender, start).await;
    let mut ed = new_user("ed", "Ed Falk", Language::En, &[]);
    ed.role = administrator();
    let now = at("2026-11-19T10:00:00Z");
    add(&store, ed, now).await;
    let sender = Recorder::new();
    delivered(&store, &sender, now).await;
    let subjects: Vec<String> = to(&sender, "ed@example.com")
        .into_iter()
        .map(|m| m.subject)
        .collect();
    assert!(subjects.contains(&WARNING_EN.to_owned()), "{subjects:?}");
    assert_eq!(
        subjects.len(),
        2,
        "the warning and the seat at risk: {subjects:?}"
    );
}

/// A table deployed before the index: a user item without `role_pk` is not found until
/// `provision --index-users` puts it there, and an inactive one never is; a plain user is
/// never in it, and found anyway.
#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn an_active_user_written_before_the_index_is_put_in_it_once() {
    use licensing::ports::RoleMembers;
    require_engines();
    let store = fresh_store().await;
    let start = at("2026-11-19T09:00:00Z");
    acme_full(&store, start).await;
    let bo = UserId::parse("bo").unwrap();
    app::set_active(&store, &ada("acme"), &bo, Activation::Deactivate, start)
        .await
        .unwrap();
    for user in ["ada", "bo"] {
        let key = |v: &str| aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned());
        store
            .client()
            .update_item()
            .table_name(store.table())
            .key("pk", key("T#acme"))
            .key("sk", key(&format!("U#{user}")))
            .update_expression("REMOVE role_pk")
            .send()
            .await
            .unwrap();
    }
    let tenant = TenantId::parse("acme").unwrap();
    let roles = [administrator()];
    let managers = || store.active_in_roles(&tenant, &roles);
    assert!(managers().await.unwrap().is_empty(), "as on an old table");
    assert_eq!(store.index_users().await.unwrap(), 1, "Ada; Bo is inactive");
    let found: Vec<String> = managers()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.user_id.to_string())
        .collect();
    assert_eq!(found, ["ada"]);
    assert_eq!(store.index_users().await.unwrap(), 0, "once");

    // The built-in `user` role is not indexed; were it given `licences.manage`, its users
    // are still found, from the table.
    let cy = store
        .client()
        .get_item()
        .table_name(store.table())
        .key(
            "pk",
            aws_sdk_dynamodb::types::AttributeValue::S("T#acme".into()),
        )
        .key(
            "sk",
            aws_sdk_dynamodb::types::AttributeValue::S("U#cy".into()),
        )
        .send()
        .await
        .unwrap();
    assert!(
        cy.item().is_some_and(|i| !i.contains_key("role_pk")),
        "{cy:?}"
    );
    let plain = store
        .active_in_roles(&tenant, &[plain_user()])
        .await
        .unwrap();
    let ids: Vec<String> = plain.iter().map(|u| u.user_id.to_string()).collect();
    assert_eq!(ids, ["cy"]);
}

#[tokio::test]
async fn r21_a_claimed_batch_is_left_to_its_dispatcher_until_the_lease_ends() {
    let now = at("2026-11-19T10:00:00Z");
    let (store, _) = super::delivery::acme_after_a_purchase(now).await;
    let due = store.due_outbox(now, 100).await.unwrap();
    let batch = due.first().expect("a due batch").clone();
    let claim = |at| store.claim_outbox(&batch, at, 60);
    assert_eq!(claim(now).await.unwrap(), Claim::Taken);
    assert_eq!(claim(now).await.unwrap(), Claim::Held);
    let sender = Recorder::new();
    let report = dispatch_due(&store, &sender, now + chrono::Duration::seconds(30))
        .await
        .unwrap();
    assert_eq!(
        report.batches,
        due.len() - 1,
        "all but the held one: {report:?}"
    );
    assert!(
        store
            .outbox_batches(&TenantId::parse("acme").unwrap())
            .iter()
            .any(|(b, _)| b.id == batch.id),
        "the held batch stays for its dispatcher"
    );
    // After the lease, another dispatcher takes it.
    let later = now + chrono::Duration::seconds(61);
    assert_eq!(claim(later).await.unwrap(), Claim::Taken);
}

/// The store calls `app::create_user` makes for `user`, through the decorator.
async fn create_with_calls<S: Store + Clone + 'static>(
    store: &S,
    user: licensing::domain::user::NewUser,
    now: Instant,
) -> Vec<Method> {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    let counted = Faulty::new(store.clone(), move |call| {
        seen.lock().unwrap().push(call.method);
        Fault::Pass
    });
    add(&counted, user, now).await;
    calls.lock().unwrap().clone()
}

/// R32 with decision 0014: a change reads the suppression list only when its tenant has a
/// suppressed address (the subscription counts them); then its mail skips that address.
async fn suppressed_at_the_change<S: Store + OutboxStore + Webhooks + Clone + 'static>(store: S) {
    use licensing::domain::suppression::{MailSuppression, SuppressionReason, suppression_key};
    let start = at("2026-11-19T09:00:00Z");
    acme_full(&store, start).await;
    let now = at("2026-11-19T10:00:00Z");
    let di = new_user("di", "Di Lund", Language::En, &[]);
    let calls = create_with_calls(&store, di, now).await;
    assert!(
        !calls.contains(&Method::Suppressions),
        "none to read: {calls:?}"
    );
    delivered(&store, &Recorder::new(), now).await;

    let tenant = TenantId::parse("acme").unwrap();
    let bounced = MailSuppression {
        address: suppression_key("Bo@example.com"),
        reason: SuppressionReason::Bounce,
        at: now,
        detail: "smtp; 550 5.1.1".into(),
    };
    for _ in 0..2 {
        store.suppress(&tenant, &bounced).await.unwrap();
    }
    let loaded = store.load_account(&tenant).await.unwrap().unwrap();
    let count = loaded.account.subscription.suppressed_addresses;
    assert_eq!(count, 1, "one address, however often SES says so");

    let later = now + chrono::Duration::minutes(1);
    let ed = new_user("ed", "Ed Falk", Language::En, &[]);
    let calls = create_with_calls(&store, ed, later).await;
    assert!(calls.contains(&Method::Suppressions), "{calls:?}");
    let sender = Recorder::new();
    delivered(&store, &sender, later).await;
    assert!(to(&sender, "bo@example.com").is_empty(), "skipped");
    assert_eq!(
        to(&sender, "ada@example.com").len(),
        1,
        "the other manager is warned"
    );
}

#[tokio::test]
async fn r32_a_change_skips_an_address_suppressed_before_it_and_reads_no_list_without_one() {
    suppressed_at_the_change(MemoryStore::new()).await;
}

#[tokio::test]
#[ignore = "needs the engines: ./scripts/test.sh runs it"]
async fn r32_on_dynamodb_the_subscription_counts_suppressed_addresses_once() {
    require_engines();
    suppressed_at_the_change(fresh_store().await).await;
}

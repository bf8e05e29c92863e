//! One test per rule of docs/rules.md, named after it, asserting exact values.

mod fixture;
mod next_periods;
mod periods;

use chrono::Duration;
use fixture::*;
use licensing::domain::DomainError;
use licensing::domain::events::DomainEvent;
use licensing::domain::idempotency::{IdempotencyKey, fingerprint};
use licensing::domain::identity::{QuoteId, RoleName};
use licensing::domain::invoice::InvoiceKind;
use licensing::domain::next_period::{self, NextPeriodRequest};
use licensing::domain::period::PeriodLength;
use licensing::domain::purchase::approve;
use licensing::domain::quote::{QuoteRequest, prepare_quote};
use licensing::domain::removal::{due_reminders, due_removals, remove};
use licensing::domain::rights::{Right, Roles};
use licensing::domain::rollover::{roll_over, seats_needed};
use std::collections::BTreeMap;

fn buy(licences: Option<u32>, crm: Option<u32>) -> QuoteRequest {
    let modules: BTreeMap<String, u32> = crm.map(|q| ("crm".to_owned(), q)).into_iter().collect();
    QuoteRequest::parse(licences, &modules).unwrap()
}

fn next(licences: Option<u32>, crm: Option<u32>) -> NextPeriodRequest {
    let modules: BTreeMap<String, u32> = crm.map(|q| ("crm".to_owned(), q)).into_iter().collect();
    NextPeriodRequest::parse(licences, &modules).unwrap()
}

/// Acme with 10 licences and 11 active users (ada + u-01…u-10): u-10 is red.
fn eleven_on_ten() -> Tenant {
    let mut tenant = Tenant::november(10);
    tenant.create_many(10, t("2026-11-02T00:00:00Z"));
    tenant
}

#[test]
fn r1_status_shows_purchased_in_use_available_next_period_and_red_seats() {
    let tenant = eleven_on_ten();
    let p = tenant.account.subscription.pool(&pool("licences")).unwrap();
    assert_eq!(
        (p.purchased, p.in_use, p.available(), p.next_period),
        (10, 11, 0, 10)
    );
    assert_eq!(tenant.red_ids("licences"), vec!["u-10"]);
    let red = &tenant.account.reds(&pool("licences"))[0];
    assert_eq!(red.flag.flagged_at, t("2026-11-02T10:00:00Z"));
    assert_eq!(red.flag.deadline, t("2026-11-09T10:00:00Z"));
    let crm = tenant.account.subscription.pool(&pool("crm")).unwrap();
    assert_eq!((crm.purchased, crm.in_use, crm.available()), (2, 0, 2));
}

#[test]
fn r2_activation_without_an_available_licence_is_allowed_and_red() {
    let mut tenant = Tenant::november(1);
    let events = tenant.create("bo", &["crm"], t("2026-11-03T09:00:00Z"));
    assert!(tenant.users[&uid("bo")].active);
    assert_eq!(tenant.red_ids("licences"), vec!["bo"]);
    assert!(tenant.red_ids("crm").is_empty(), "crm has 2 licences");
    assert!(events.iter().any(|e| matches!(e, DomainEvent::SeatOverAllocated { seat } if seat.seat.user_id.as_str() == "bo")));
}

#[test]
fn r3_the_most_recently_activated_are_red_and_a_freed_licence_goes_to_the_oldest_red() {
    let mut tenant = Tenant::november(2);
    tenant.create_many(3, t("2026-11-02T00:00:00Z")); // ada, u-01 licensed; u-02, u-03 red
    assert_eq!(tenant.red_ids("licences"), vec!["u-02", "u-03"]);
    tenant.deactivate("u-01", t("2026-11-04T00:00:00Z"));
    assert_eq!(tenant.red_ids("licences"), vec!["u-03"]);
    // Reactivating u-01 makes it the newest seat: now u-01 is red, after u-03.
    tenant.activate("u-01", t("2026-11-04T01:00:00Z"));
    assert_eq!(tenant.red_ids("licences"), vec!["u-03", "u-01"]);
    // Modules order by the instant the module was enabled.
    tenant.set_modules("u-03", &["crm"], t("2026-11-05T00:00:00Z"));
    tenant.set_modules("u-01", &["crm"], t("2026-11-05T01:00:00Z"));
    tenant.set_modules("ada", &["crm"], t("2026-11-05T02:00:00Z"));
    assert_eq!(tenant.red_ids("crm"), vec!["ada"]);
}

/// A command's red-seat deletions carry each record as it was read, so that a deletion made
/// after the change's transaction (a change larger than one) deletes only that record (#31).
#[test]
fn r3_cleared_red_seats_are_deleted_as_they_were_read_and_one_red_only_within_a_command_not_at_all()
{
    let mut tenant = Tenant::november(2);
    tenant.create_many(3, t("2026-11-02T00:00:00Z")); // u-02, u-03 red
    let read: Vec<_> = tenant.account.reds(&pool("licences")).to_vec();
    tenant.account = tenant.account.clone().settled();
    tenant.deactivate("u-01", t("2026-11-04T00:00:00Z")); // u-02 takes the licence
    tenant.deactivate("u-03", t("2026-11-04T01:00:00Z")); // u-03 leaves while red
    let changes = tenant.account.red_changes();
    assert!(changes.put.is_empty());
    let deleted: Vec<_> = changes.delete.into_iter().cloned().collect();
    assert_eq!(deleted, read, "both records, flags and deadlines as read");

    tenant.account = tenant.account.clone().settled();
    tenant.create("u-04", &[], t("2026-11-05T00:00:00Z")); // red
    tenant.deactivate("u-04", t("2026-11-05T00:10:00Z"));
    let changes = tenant.account.red_changes();
    assert!(changes.put.is_empty() && changes.delete.is_empty());
}

#[test]
fn r4_deadline_is_seven_days_after_flagging_cleared_when_licensed_new_when_red_again() {
    let mut tenant = Tenant::november(1);
    tenant.create("bo", &[], t("2026-11-03T09:00:00Z"));
    assert_eq!(
        tenant.account.reds(&pool("licences"))[0].flag.deadline,
        t("2026-11-10T09:00:00Z")
    );
    // ada leaves: bo is licensed, flag cleared.
    let events = tenant.deactivate("ada", t("2026-11-04T00:00:00Z"));
    assert!(tenant.red_ids("licences").is_empty());
    assert!(
        events
            .iter()
            .any(|e| matches!(e, DomainEvent::SeatLicensed { .. }))
    );
    // ada returns (newest): ada is red with a fresh seven days.
    tenant.activate("ada", t("2026-11-06T12:00:00Z"));
    let red = &tenant.account.reds(&pool("licences"))[0];
    assert_eq!(red.seat.user_id.as_str(), "ada");
    assert_eq!(red.flag.deadline, t("2026-11-13T12:00:00Z"));
}

#[test]
fn r5_removal_only_after_the_deadline_and_only_while_still_red() {
    let mut tenant = eleven_on_ten();
    let deadline = t("2026-11-09T10:00:00Z");
    let just_before = deadline - Duration::seconds(1);
    assert_eq!(due_removals(&tenant.account, just_before).count(), 0);
    let due: Vec<_> = due_removals(&tenant.account, deadline).cloned().collect();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].seat.user_id.as_str(), "u-10");
    // Reminder one day before.
    assert_eq!(
        due_reminders(&tenant.account, t("2026-11-08T10:00:00Z")).count(),
        1
    );
    assert_eq!(
        due_reminders(&tenant.account, t("2026-11-08T09:59:59Z")).count(),
        0
    );
    let mut u10 = tenant.users.remove(&uid("u-10")).unwrap();
    let events = remove(&mut tenant.account, &mut u10, &pool("licences"), deadline)
        .unwrap()
        .unwrap();
    assert!(!u10.active);
    assert!(matches!(events[0], DomainEvent::SeatRemoved { .. }));
    assert!(
        events.iter().any(
            |e| matches!(e, DomainEvent::UserDeactivated { reason, .. } if reason == "removed")
        )
    );
    let p = tenant.account.subscription.pool(&pool("licences")).unwrap();
    assert_eq!((p.in_use, p.over_allocated()), (10, 0));

    // A seat licensed in the meantime is never removed.
    let mut tenant = eleven_on_ten();
    tenant.deactivate("u-01", t("2026-11-05T00:00:00Z"));
    let mut u10 = tenant.users.remove(&uid("u-10")).unwrap();
    assert_eq!(
        remove(&mut tenant.account, &mut u10, &pool("licences"), deadline).unwrap(),
        None
    );
    assert!(u10.active);
}

#[test]
fn r6_quotes_last_30_minutes_within_their_period_and_take_1_to_10000() {
    let tenant = Tenant::november(10);
    let now = t("2026-11-19T10:00:00Z");
    let quote = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(3), None),
        now,
        QuoteId::parse("q1").unwrap(),
    )
    .unwrap();
    assert_eq!(quote.expires_at, now + Duration::minutes(30));
    // Near local midnight the quote ends with the day (R7 charges by the approval day).
    let late = t("2026-11-19T22:50:00Z"); // 23:50 in Copenhagen
    let q = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(1), None),
        late,
        QuoteId::parse("q2").unwrap(),
    )
    .unwrap();
    assert_eq!(q.expires_at, t("2026-11-19T23:00:00Z"));
    assert_eq!(
        QuoteRequest::parse(Some(0), &BTreeMap::new()),
        Err(DomainError::QuantityOutOfRange)
    );
    assert_eq!(
        QuoteRequest::parse(Some(10_001), &BTreeMap::new()),
        Err(DomainError::QuantityOutOfRange)
    );
    assert!(QuoteRequest::parse(Some(10_000), &BTreeMap::new()).is_ok());
    assert_eq!(
        QuoteRequest::parse(None, &BTreeMap::new()),
        Err(DomainError::EmptyPurchase)
    );
    // Approval after expiry is refused.
    let mut tenant = Tenant::november(10);
    let err = approve(
        &mut tenant.account,
        &quote,
        &uid("ada"),
        now + Duration::minutes(30),
        "p1".into(),
    );
    assert_eq!(err.unwrap_err(), DomainError::QuoteExpired);
}

#[test]
fn r7_proration_worked_example_19_november_3_licences_is_15480() {
    let tenant = Tenant::november(10);
    let quote = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(3), None),
        t("2026-11-19T10:00:00Z"),
        QuoteId::parse("q").unwrap(),
    )
    .unwrap();
    let line = &quote.lines[0];
    assert_eq!((line.days_remaining, line.days_in_period), (12, 30));
    assert_eq!(line.unit_price.minor(), 12_900);
    assert_eq!(line.amount.minor(), 15_480);
    assert_eq!(quote.total.minor(), 15_480);
    // Next period: 13 licences × 12 900 + 2 crm × 4 900.
    assert_eq!(quote.next_period_total.minor(), 13 * 12_900 + 2 * 4_900);
}

#[test]
fn r7_last_day_of_the_period_is_one_day() {
    let tenant = Tenant::november(10);
    // 22:30 UTC on 30 Nov is 23:30 in Copenhagen: still the last day.
    let quote = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(1), Some(1)),
        t("2026-11-30T22:30:00Z"),
        QuoteId::parse("q").unwrap(),
    )
    .unwrap();
    let amounts: Vec<(u32, i64)> = quote
        .lines
        .iter()
        .map(|l| (l.days_remaining, l.amount.minor()))
        .collect();
    // crm: 4 900 / 30 = 163.33 → 163; licences: 12 900 / 30 = 430.
    assert_eq!(amounts, vec![(1, 163), (1, 430)]);
    assert_eq!(quote.total.minor(), 593);
}

#[test]
fn r7_copenhagen_at_2330_utc_on_the_last_day_is_already_the_next_period() {
    let mut tenant = Tenant::november(10);
    let now = t("2026-11-30T23:30:00Z"); // 00:30 on 1 December in Copenhagen
    let err = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(1), None),
        now,
        QuoteId::parse("q").unwrap(),
    );
    assert_eq!(err.unwrap_err(), DomainError::QuoteOtherPeriod);
    // Once rolled over (the period ended at 23:00 UTC), it is the first of 31 days.
    let newest = tenant.newest_all();
    roll_over(&mut tenant.account, now, &newest).unwrap();
    let quote = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(1), None),
        now,
        QuoteId::parse("q").unwrap(),
    )
    .unwrap();
    assert_eq!(
        (quote.lines[0].days_remaining, quote.lines[0].days_in_period),
        (31, 31)
    );
    assert_eq!(quote.total.minor(), 12_900);
}

#[test]
fn r7_quarterly_and_annual_periods_across_29_february_2028() {
    let now = t("2028-02-29T12:00:00Z");
    // Quarterly 15 Dec 2027 – 15 Mar 2028: 91 days; from 29 Feb: 15 days remain.
    let tenant = Tenant::acme(
        d(2027, 12, 15),
        PeriodLength::Quarterly,
        5,
        1,
        t("2027-12-15T00:00:00Z"),
    );
    let q = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(2), None),
        now,
        QuoteId::parse("q").unwrap(),
    )
    .unwrap();
    assert_eq!(
        (q.lines[0].days_remaining, q.lines[0].days_in_period),
        (15, 91)
    );
    // 12 900 × 2 × 15 / 91 = 4 252.7… → 4 253
    assert_eq!(q.total.minor(), 4_253);
    // Annual 1 Jun 2027 – 1 Jun 2028: 366 days; from 29 Feb: 93 days remain.
    let tenant = Tenant::acme(
        d(2027, 6, 1),
        PeriodLength::Annual,
        5,
        1,
        t("2027-06-01T00:00:00Z"),
    );
    let q = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(1), None),
        now,
        QuoteId::parse("q").unwrap(),
    )
    .unwrap();
    assert_eq!(
        (q.lines[0].days_remaining, q.lines[0].days_in_period),
        (93, 366)
    );
    // 12 900 × 93 / 366 = 3 277.86… → 3 278
    assert_eq!(q.total.minor(), 3_278);
}

#[test]
fn r8_approval_buys_at_once_licenses_the_oldest_red_and_invoices_the_prorated_amount() {
    let mut tenant = Tenant::november(10);
    tenant.create_many(12, t("2026-11-02T00:00:00Z")); // 13 in use: u-10, u-11, u-12 red
    assert_eq!(tenant.red_ids("licences"), vec!["u-10", "u-11", "u-12"]);
    let now = t("2026-11-19T10:00:00Z");
    let quote = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(2), None),
        now,
        QuoteId::parse("q").unwrap(),
    )
    .unwrap();
    let (purchase, events) = approve(
        &mut tenant.account,
        &quote,
        &uid("ada"),
        now + Duration::minutes(1),
        "p1".into(),
    )
    .unwrap();
    assert_eq!(tenant.purchased("licences"), 12);
    assert_eq!(tenant.red_ids("licences"), vec!["u-12"]);
    assert_eq!(purchase.invoice.kind, InvoiceKind::Purchase);
    assert_eq!(purchase.invoice.total.minor(), 10_320); // 12 900 × 2 × 12 / 30
    assert!(
        matches!(&events[0], DomainEvent::LicencesPurchased { total, .. } if total.minor() == 10_320)
    );
    assert!(matches!(&events[1], DomainEvent::InvoiceIssued { .. }));
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, DomainEvent::SeatLicensed { .. }))
            .count(),
        2
    );
}

#[test]
fn r8_a_pool_holds_at_most_a_million_licences_a_refusal_of_the_state_not_the_request() {
    let mut tenant = Tenant::november(999_999);
    let now = t("2026-11-19T10:00:00Z");
    let quote = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(2), None),
        now,
        QuoteId::parse("q").unwrap(),
    )
    .unwrap();
    let refused = approve(&mut tenant.account, &quote, &uid("ada"), now, "p1".into());
    assert!(matches!(
        refused,
        Err(DomainError::PoolFull { max: 1_000_000 })
    ));
    assert_eq!(
        DomainError::PoolFull { max: 1 }.kind(),
        licensing::domain::ErrorKind::Refused
    );
    assert_eq!(tenant.purchased("licences"), 999_999);
}

#[test]
fn r9_buying_after_a_downscale_resets_the_next_period_to_purchased() {
    let mut tenant = Tenant::november(10);
    let plan = next_period::plan(&tenant.account, &next(Some(6), None)).unwrap();
    next_period::apply(&mut tenant.account, &plan, &BTreeMap::new()).unwrap();
    assert_eq!(tenant.next_period("licences"), 6);
    let now = t("2026-11-19T10:00:00Z");
    let quote = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(1), None),
        now,
        QuoteId::parse("q").unwrap(),
    )
    .unwrap();
    approve(&mut tenant.account, &quote, &uid("ada"), now, "p".into()).unwrap();
    assert_eq!(
        (tenant.purchased("licences"), tenant.next_period("licences")),
        (11, 11)
    );
    // A pool not bought keeps its own next period.
    assert_eq!(tenant.next_period("crm"), 2);
}

#[test]
fn r10_idempotency_keys_and_request_fingerprints() {
    assert!(IdempotencyKey::parse("key-1").is_ok());
    assert!(IdempotencyKey::parse("").is_err());
    let a = fingerprint(&serde_json::json!({"quote_id": "q1"}));
    assert_eq!(a, fingerprint(&serde_json::json!({"quote_id": "q1"})));
    assert_ne!(a, fingerprint(&serde_json::json!({"quote_id": "q2"})));
    // A quote cannot be approved twice in one state: the second approval sees it bought.
    let mut tenant = Tenant::november(10);
    let now = t("2026-11-19T10:00:00Z");
    let quote = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(1), None),
        now,
        QuoteId::parse("q").unwrap(),
    )
    .unwrap();
    approve(&mut tenant.account, &quote, &uid("ada"), now, "p".into()).unwrap();
    assert_eq!(tenant.purchased("licences"), 11);
}

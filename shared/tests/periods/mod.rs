//! The rules of a period's end, rights, termination and limits (R13–R18, R24), one test per
//! rule, as in `rules.rs`.

use super::*;

#[test]
fn r13_a_downscale_causes_a_next_period_changed_event() {
    let mut tenant = Tenant::november(10);
    let plan = next_period::plan(&tenant.account, &next(Some(7), Some(1))).unwrap();
    let (events, _) = next_period::apply(&mut tenant.account, &plan, &BTreeMap::new()).unwrap();
    match &events[0] {
        DomainEvent::NextPeriodChanged {
            pools,
            effective_from,
        } => {
            assert_eq!(*effective_from, d(2026, 12, 1));
            let counts: Vec<(String, u32, u32)> = pools
                .iter()
                .map(|p| (p.pool.to_string(), p.from, p.to))
                .collect();
            assert_eq!(
                counts,
                vec![("crm".into(), 2, 1), ("licences".into(), 10, 7)]
            );
        }
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn r14_rollover_applies_next_period_invoices_the_whole_period_and_flags_from_the_rollover_instant()
{
    let mut tenant = eleven_on_ten(); // u-10 red since 2 Nov 10:00
    let plan = next_period::plan(&tenant.account, &next(Some(8), Some(1))).unwrap();
    next_period::apply(&mut tenant.account, &plan, &BTreeMap::new()).unwrap();
    let sweep = t("2026-12-01T02:00:00Z");
    let needed = seats_needed(&tenant.account, sweep);
    assert_eq!(needed[&pool("licences")], 3);
    let newest = tenant.newest_all();
    let (invoices, events) = roll_over(&mut tenant.account, sweep, &newest).unwrap();
    assert_eq!(invoices.len(), 1);
    let inv = &invoices[0];
    assert_eq!(inv.kind, InvoiceKind::Period);
    assert_eq!(
        (inv.period.start, inv.period.end),
        (d(2026, 12, 1), d(2027, 1, 1))
    );
    assert_eq!(inv.total.minor(), 8 * 12_900 + 4_900);
    assert_eq!(inv.invoice_id, "inv-acme-20261201");
    assert_eq!(
        (tenant.purchased("licences"), tenant.next_period("licences")),
        (8, 8)
    );
    assert_eq!(tenant.red_ids("licences"), vec!["u-08", "u-09", "u-10"]);
    let reds = tenant.account.reds(&pool("licences"));
    let rollover_instant = t("2026-11-30T23:00:00Z"); // midnight in Copenhagen
    assert_eq!(reds[0].flag.deadline, rollover_instant + Duration::days(7));
    assert_eq!(
        reds[2].flag.deadline,
        t("2026-11-09T10:00:00Z"),
        "already red keeps its deadline"
    );
    assert!(
        matches!(events[0], DomainEvent::PeriodRolledOver { at, .. } if at == rollover_instant)
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, DomainEvent::SeatOverAllocated { .. }))
            .count(),
        2
    );
}

#[test]
fn r14_a_tenant_missed_for_three_periods_is_rolled_three_times() {
    let mut tenant = Tenant::november(10);
    let newest = tenant.newest_all();
    let (invoices, _) = roll_over(&mut tenant.account, t("2027-02-15T00:00:00Z"), &newest).unwrap();
    let starts: Vec<_> = invoices.iter().map(|i| i.period.start).collect();
    assert_eq!(starts, vec![d(2026, 12, 1), d(2027, 1, 1), d(2027, 2, 1)]);
    assert_eq!(tenant.account.subscription.period.end, d(2027, 3, 1));
}

#[test]
fn r15_a_rollover_replayed_for_the_same_instant_changes_nothing() {
    let mut tenant = eleven_on_ten();
    let at = t("2026-12-01T02:00:00Z");
    let newest = tenant.newest_all();
    roll_over(&mut tenant.account, at, &newest).unwrap();
    let once = tenant.account.clone();
    let (invoices, events) = roll_over(&mut tenant.account, at, &newest).unwrap();
    assert!(invoices.is_empty() && events.is_empty());
    assert_eq!(tenant.account, once);
    // A replay for an instant before the end does nothing either.
    let (invoices, _) = roll_over(&mut tenant.account, t("2026-11-15T00:00:00Z"), &newest).unwrap();
    assert!(invoices.is_empty());
}

#[test]
fn r17_rights_come_from_roles_and_the_administrator_has_all() {
    let mut roles = Roles::default();
    let admin = RoleName::parse("administrator").unwrap();
    assert_eq!(
        roles.rights_of(&admin).into_iter().collect::<Vec<_>>(),
        Right::ALL.to_vec()
    );
    let user = RoleName::parse("user").unwrap();
    assert!(roles.rights_of(&user).is_empty());
    roles
        .set(user.clone(), [Right::AccountView].into_iter().collect())
        .unwrap();
    assert!(roles.rights_of(&user).contains(&Right::AccountView));
    assert!(!roles.rights_of(&user).contains(&Right::LicencesManage));
    let tenant = Tenant::november(10);
    assert_eq!(
        tenant.users[&uid("ada")].role,
        admin,
        "the first user is an administrator"
    );
}

#[test]
fn r18_a_terminated_subscription_refuses_changes() {
    let mut tenant = Tenant::november(10);
    licensing::domain::tenant::terminate(&mut tenant.account, t("2026-11-10T00:00:00Z")).unwrap();
    let err = prepare_quote(
        &tenant.account.subscription,
        &buy(Some(1), None),
        t("2026-11-10T01:00:00Z"),
        QuoteId::parse("q").unwrap(),
    );
    assert_eq!(err.unwrap_err(), DomainError::SubscriptionTerminated);
    assert!(tenant.account.subscription.rollover_due().is_none());
}

#[test]
fn r14_a_tenant_whose_period_invoice_could_not_be_issued_is_refused_at_creation() {
    use licensing::domain::identity::{DisplayName, TenantId};
    use licensing::domain::money::{Amount, Currency, MAX_AMOUNT};
    use licensing::domain::tenant::{NewPool, NewTenant, create_tenant};
    let tenant = |unit_price: i64, purchased: u32| NewTenant {
        tenant_id: TenantId::parse("big").unwrap(),
        name: DisplayName::parse("Big ApS").unwrap(),
        currency: Currency::parse("DKK").unwrap(),
        time_zone: "UTC".parse().unwrap(),
        period_length: PeriodLength::Monthly,
        period_start: d(2026, 11, 1),
        pools: vec![NewPool {
            pool: pool("licences"),
            name: "Licences".into(),
            unit_price: Amount::new(unit_price).unwrap(),
            purchased,
        }],
        administrator: new_user("ada", &[]),
    };
    let now = t("2026-11-19T10:00:00Z");
    assert!(create_tenant(tenant(MAX_AMOUNT, 1), now).is_ok());
    let refused = create_tenant(tenant(MAX_AMOUNT, 2), now);
    assert!(matches!(refused, Err(DomainError::AmountOutOfRange)));
    assert_eq!(
        DomainError::AmountOutOfRange.kind(),
        licensing::domain::ErrorKind::Refused
    );
}

#[test]
fn r24_a_tenant_has_at_most_100_000_users_and_50_roles_refused_with_limit_reached() {
    use licensing::domain::rights::MAX_ROLES;
    use licensing::domain::user::{MAX_USERS, create_user};
    let mut tenant = Tenant::november(10);
    assert_eq!(tenant.account.subscription.users, 1, "the administrator");
    tenant.create("u-01", &[], t("2026-11-02T00:00:00Z"));
    assert_eq!(tenant.account.subscription.users, 2);
    // At the limit the next user is refused, and nothing about the tenant changes.
    tenant.account.subscription.users = MAX_USERS;
    let before = tenant.account.clone();
    let refused = create_user(
        &mut tenant.account,
        new_user("u-02", &[]),
        t("2026-11-03T00:00:00Z"),
    );
    assert!(matches!(
        refused,
        Err(DomainError::LimitReached {
            what: "users",
            max: 100_000
        })
    ));
    assert_eq!(tenant.account, before);

    let mut roles = Roles::default();
    for i in 2..MAX_ROLES {
        let role = RoleName::parse(&format!("role-{i}")).unwrap();
        roles
            .set(role, [Right::AccountView].into_iter().collect())
            .unwrap();
    }
    assert_eq!(roles.iter().count(), MAX_ROLES);
    let one_more = roles.set(RoleName::parse("role-x").unwrap(), Default::default());
    assert!(matches!(
        one_more,
        Err(DomainError::LimitReached {
            what: "roles",
            max: 50
        })
    ));
    // A role that exists can still be changed at the limit.
    roles
        .set(RoleName::parse("role-2").unwrap(), Default::default())
        .unwrap();
    assert_eq!(
        DomainError::LimitReached {
            what: "roles",
            max: 50
        }
        .code(),
        "limit_reached"
    );
}

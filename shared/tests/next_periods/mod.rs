//! The next period's rules: its bounds, a downscale's seats to remove, the seats that lose
//! their licence, the renewal reminder (R11, R12, R28, R30), as in `rules.rs`.

use super::*;

#[test]
fn r11_next_period_bounds() {
    let tenant = Tenant::november(10);
    let sub = &tenant.account;
    assert_eq!(
        next_period::plan(sub, &next(Some(0), None)).unwrap_err(),
        DomainError::NextPeriodBelowOne
    );
    assert_eq!(
        next_period::plan(sub, &next(Some(11), None)).unwrap_err(),
        DomainError::NextPeriodAbovePurchased {
            pool: "licences".into(),
            purchased: 10
        }
    );
    assert!(next_period::plan(sub, &next(Some(1), None)).is_ok());
    assert!(
        next_period::plan(sub, &next(Some(10), None)).is_ok(),
        "back up to purchased undoes a downscale"
    );
    assert!(
        next_period::plan(sub, &next(None, Some(0))).is_ok(),
        "a module may go to 0"
    );
    assert_eq!(
        next_period::plan(sub, &next(None, Some(3))).unwrap_err(),
        DomainError::NextPeriodAbovePurchased {
            pool: "crm".into(),
            purchased: 2
        }
    );
    assert_eq!(
        DomainError::NextPeriodBelowOne.code(),
        "next_period_below_one"
    );
    assert_eq!(
        DomainError::NextPeriodAbovePurchased {
            pool: "x".into(),
            purchased: 1
        }
        .code(),
        "next_period_above_purchased"
    );
}

#[test]
fn r12_downscale_below_in_use_lists_the_seats_to_remove_in_r3_order() {
    let mut tenant = eleven_on_ten();
    // u-10 is red already: it has no licence to lose, so it is neither counted nor listed
    // (R28). 10 licensed now, 8 licences next period.
    let plan = next_period::plan(&tenant.account, &next(Some(8), None)).unwrap();
    assert_eq!(plan.seats_over[&pool("licences")], 2);
    let newest = tenant.newest_all();
    let (_, seats) = next_period::apply(&mut tenant.account, &plan, &newest).unwrap();
    let ids: Vec<&str> = seats.iter().map(|s| s.user_id.as_str()).collect();
    assert_eq!(ids, vec!["u-08", "u-09"]);
    // The current period is unchanged.
    assert_eq!(
        (tenant.purchased("licences"), tenant.next_period("licences")),
        (10, 8)
    );
    assert_eq!(tenant.red_ids("licences"), vec!["u-10"]);
}

#[test]
fn r28_only_seats_that_hold_a_licence_now_are_counted_as_losing_it() {
    use licensing::domain::next_period::over_at_change;
    // Nothing downscaled, one red user: nothing will happen at the change (u-10 is removed
    // on 9 November, before it), so nothing is announced.
    let tenant = eleven_on_ten();
    let licences = tenant.account.subscription.pool(&pool("licences")).unwrap();
    assert_eq!(over_at_change(licences, 10), 0);
    assert_eq!(over_at_change(licences, 9), 1);
    // A red user made in the period's last week stays red through the change with her own
    // deadline: she has no licence to lose, so she is neither counted nor listed.
    let mut late = eleven_on_ten();
    late.create("zoe", &[], t("2026-11-28T09:00:00Z"));
    let licences = late.account.subscription.pool(&pool("licences")).unwrap();
    assert_eq!(over_at_change(licences, 10), 0);
    let plan = next_period::plan(&late.account, &next(Some(9), None)).unwrap();
    let seats = next_period::seats_over(&plan, &late.newest_all());
    let ids: Vec<&str> = seats.iter().map(|s| s.user_id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["u-09"],
        "the newest licensed seat, the red ones skipped"
    );
    // The preview's totals: this period at its counts, the next with the change.
    let (now, next_total) =
        next_period::totals(&late.account.subscription, &next(Some(8), Some(1))).unwrap();
    let price = |id: &str| {
        late.account
            .subscription
            .pool(&pool(id))
            .unwrap()
            .unit_price
            .minor()
    };
    assert_eq!(now.minor(), 10 * price("licences") + 2 * price("crm"));
    assert_eq!(next_total.minor(), 8 * price("licences") + price("crm"));
}

#[test]
fn r30_the_renewal_reminder_is_due_days_before_the_period_ends_once_per_period() {
    let mut tenant = Tenant::november(10);
    let sub = &mut tenant.account.subscription;
    let end = sub.rollover_due().unwrap();
    assert_eq!(
        sub.renewal_reminder_due(),
        Some(end - chrono::Duration::days(7))
    );
    // The next day's usage reading (R37) comes first; read up to the period's end, the rest.
    assert_eq!(sub.sweep_due(), sub.usage_due());
    sub.usage_through = Some(sub.period.end);
    assert_eq!(sub.sweep_due(), sub.renewal_reminder_due());
    sub.renewal_reminded = Some(sub.period.start);
    assert_eq!(sub.renewal_reminder_due(), None);
    assert_eq!(sub.sweep_due(), Some(end));
    sub.renewal_reminded = None;
    sub.set_renewal_reminder_days(0).unwrap();
    assert_eq!(sub.renewal_reminder_due(), None);
    sub.set_renewal_reminder_days(60).unwrap();
    assert_eq!(
        sub.renewal_reminder_due(),
        Some(sub.period.start_instant(sub.time_zone))
    );
    assert_eq!(
        sub.set_renewal_reminder_days(61).unwrap_err().code(),
        "invalid_input"
    );
}

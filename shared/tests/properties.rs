//! Property tests: random sequences of commands, checked after every step against R3/R4
//! computed from first principles (`allocation::allocate`).

mod fixture;

use chrono::{DateTime, Duration, Utc};
use fixture::*;
use licensing::domain::allocation::{Flag, SeatKey, allocate};
use licensing::domain::identity::QuoteId;
use licensing::domain::money::Amount;
use licensing::domain::next_period::{self, NextPeriodRequest};
use licensing::domain::period::PeriodLength;
use licensing::domain::pool::PoolId;
use licensing::domain::proration::prorate;
use licensing::domain::purchase::approve;
use licensing::domain::quote::{QuoteRequest, prepare_quote};
use licensing::domain::removal::{due_removals, remove};
use licensing::domain::rollover::roll_over;
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Clone, Debug)]
enum Op {
    Create { crm: bool },
    Activate(usize),
    Deactivate(usize),
    ToggleCrm(usize),
    Buy { licences: u32, crm: u32 },
    Downscale { crm: bool, n: u32 },
    Advance(i64),
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<bool>().prop_map(|crm| Op::Create { crm }),
        2 => (0usize..40).prop_map(Op::Activate),
        2 => (0usize..40).prop_map(Op::Deactivate),
        1 => (0usize..40).prop_map(Op::ToggleCrm),
        1 => (0u32..4, 0u32..3).prop_map(|(licences, crm)| Op::Buy { licences, crm }),
        2 => (any::<bool>(), 0u32..5).prop_map(|(crm, n)| Op::Downscale { crm, n }),
        2 => (1i64..(10 * 24 * 60)).prop_map(Op::Advance),
        1 => Just(Op::Sweep),
    ]
}

fn flags_of(tenant: &Tenant, p: &PoolId) -> BTreeMap<SeatKey, Flag> {
    tenant
        .account
        .reds(p)
        .iter()
        .map(|r| (r.seat.clone(), r.flag))
        .collect()
}

/// The invariants of the issue, for every pool.
fn check(
    tenant: &Tenant,
    before: &BTreeMap<PoolId, BTreeMap<SeatKey, Flag>>,
    now: DateTime<Utc>,
    bought: &[PoolId],
) {
    for p in &tenant.account.subscription.pools {
        let seats: Vec<SeatKey> = tenant
            .newest_seats(&p.id)
            .into_iter()
            .map(|s| s.seat)
            .collect();
        assert_eq!(
            p.in_use as usize,
            seats.len(),
            "in_use counts the seats of {}",
            p.id
        );
        let licensed = p.purchased.min(p.in_use);
        assert_eq!(p.licensed(), licensed);
        assert_eq!(p.over_allocated(), p.in_use - licensed);
        assert_eq!(p.available(), p.purchased - licensed);
        assert!(p.next_period <= p.purchased, "next_period ≤ purchased");
        if p.id.is_licences() {
            assert!(p.next_period >= 1, "core licences never go below 1");
        }
        // The red seats are exactly the most recently activated ones (R3).
        let reference = allocate(&seats, p.purchased, &flags_of(tenant, &p.id), now);
        let reds: Vec<SeatKey> = tenant
            .account
            .reds(&p.id)
            .iter()
            .map(|r| r.seat.clone())
            .collect();
        let expected: Vec<SeatKey> = reference
            .over_allocated
            .iter()
            .map(|(s, _)| s.clone())
            .collect();
        assert_eq!(reds, expected, "red seats of {}", p.id);
        for red in tenant.account.reds(&p.id) {
            assert_eq!(red.flag.deadline, red.flag.flagged_at + Duration::days(7));
            assert!(red.flag.flagged_at <= now + Duration::microseconds(1000));
            // A flag that survives a step keeps its deadline; a purchase never moves one later.
            if let Some(old) = before.get(&p.id).and_then(|f| f.get(&red.seat)) {
                if bought.contains(&p.id) {
                    assert!(red.flag.deadline <= old.deadline);
                }
                assert_eq!(red.flag.deadline, old.deadline);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn allocation_invariants_hold_after_every_step(ops in proptest::collection::vec(op(), 1..60)) {
        let mut now = t("2026-11-01T08:00:00Z");
        let mut tenant = Tenant::acme(d(2026, 11, 1), PeriodLength::Monthly, 3, 1, now);
        let mut created = 0usize;
        for op in ops {
            let before: BTreeMap<PoolId, BTreeMap<SeatKey, Flag>> = tenant
                .account.subscription.pools.iter().map(|p| (p.id.clone(), flags_of(&tenant, &p.id))).collect();
            let mut bought = Vec::new();
            now += Duration::seconds(1);
            let ids: Vec<String> = tenant.users.keys().map(|u| u.to_string()).collect();
            match op {
                Op::Create { crm } => {
                    created += 1;
                    let modules: &[&str] = if crm { &["crm"] } else { &[] };
                    tenant.create(&format!("p-{created:03}"), modules, now);
                }
                Op::Activate(i) => {
                    let id = &ids[i % ids.len()];
                    if !tenant.users[&uid(id)].active { tenant.activate(id, now); }
                }
                Op::Deactivate(i) => {
                    let id = &ids[i % ids.len()];
                    if tenant.users[&uid(id)].active { tenant.deactivate(id, now); }
                }
                Op::ToggleCrm(i) => {
                    let id = &ids[i % ids.len()];
                    let has = tenant.users[&uid(id)].modules.contains_key(&pool("crm"));
                    tenant.set_modules(id, if has { &[] } else { &["crm"] }, now);
                }
                Op::Buy { licences, crm } => {
                    let modules: BTreeMap<String, u32> = (crm > 0).then(|| ("crm".to_owned(), crm)).into_iter().collect();
                    if let Ok(request) = QuoteRequest::parse((licences > 0).then_some(licences), &modules)
                        && let Ok(quote) = prepare_quote(&tenant.account.subscription, &request, now, QuoteId::parse("q").unwrap())
                    {
                        approve(&mut tenant.account, &quote, &uid("ada"), now, "p".into()).unwrap();
                        bought = request.items.keys().cloned().collect();
                    }
                }
                Op::Downscale { crm, n } => {
                    let modules: BTreeMap<String, u32> = crm.then(|| ("crm".to_owned(), n)).into_iter().collect();
                    let request = NextPeriodRequest::parse((!crm).then_some(n), &modules).unwrap();
                    if let Ok(plan) = next_period::plan(&tenant.account, &request) {
                        let newest = tenant.newest_all();
                        next_period::apply(&mut tenant.account, &plan, &newest).unwrap();
                    }
                }
                Op::Advance(minutes) => now += Duration::minutes(minutes),
                Op::Sweep => {
                    let newest = tenant.newest_all();
                    roll_over(&mut tenant.account, now, &newest).unwrap();
                    let after_once = tenant.account.clone();
                    roll_over(&mut tenant.account, now, &newest).unwrap();
                    prop_assert_eq!(&tenant.account, &after_once, "a rollover applied twice equals one");
                    for red in due_removals(&tenant.account, now).cloned().collect::<Vec<_>>() {
                        let mut u = tenant.users.remove(&red.seat.user_id).unwrap();
                        let _ = remove(&mut tenant.account, &mut u, &red.pool, now).unwrap();
                        tenant.users.insert(u.user_id.clone(), u);
                    }
                    prop_assert_eq!(due_removals(&tenant.account, now).count(), 0);
                }
            }
            check(&tenant, &before, now, &bought);
        }
    }

    #[test]
    fn proration_never_exceeds_the_period_price_and_falls_day_by_day(
        price in 0i64..10_000_000, quantity in 1u32..=10_000, days in 28u32..=366
    ) {
        let unit = Amount::new(price).unwrap();
        let full = unit.times(quantity).unwrap();
        let mut previous = None;
        for remaining in (1..=days).rev() {
            let amount = prorate(unit, quantity, remaining, days).unwrap();
            prop_assert!(amount <= full);
            if let Some(prev) = previous { prop_assert!(amount <= prev); }
            previous = Some(amount);
        }
        prop_assert_eq!(prorate(unit, quantity, days, days).unwrap(), full);
    }
}

//! The synthetic workload generator (feature `workload`): determinism, time order, the
//! desk accepting what it plans, and the realism it promises.

use caseflow::workload::{Params, Timed, Workload, expected_refusal};
use caseflow::{Category, Command, Config, Desk, Event, EventKind, Instant, StatusCause};
use chrono::{Datelike, TimeZone, Timelike};
use proptest::prelude::*;

fn params(cases: u64, days: u32, seed: u64) -> Params {
    Params {
        cases,
        days,
        seed,
        ..Params::default()
    }
}

fn commands(config: &Config, p: &Params) -> Vec<Timed> {
    Workload::new(config, p).unwrap().collect()
}

/// An account with a directory, custom statuses in every category, a zone and the other
/// `new` policy: what a generator must read from the configuration.
fn custom_account() -> Config {
    Config::from_toml(
        r#"
        timezone = "America/New_York"
        auto_close_after_days = 3
        new_status = "new_only_at_start"
        [groups]
        support = ["ann", "bob", "cid"]
        billing = ["dee"]
        empty = []
        [[statuses]]
        id = "waiting_customer"
        category = "pending"
        label = "Waiting on customer"
        [[statuses]]
        id = "awaiting_parts"
        category = "on_hold"
        label = "Awaiting parts"
        [[statuses]]
        id = "solved"
        category = "resolved"
        label = "Solved"
        default = true
        [[statuses]]
        id = "retired"
        category = "open"
        label = "Retired"
        active = false
    "#,
    )
    .unwrap()
}

/// Rules that change what the generator planned: they resolve pending cases, move urgent
/// cases to another group and unassign, and close resolved cases early.
fn meddling_account() -> Config {
    Config::from_toml(
        r#"
        [groups]
        tier1 = ["ann", "bob"]
        tier2 = ["cid"]
        [[rules]]
        name = "resolve-pending"
        kind = "trigger"
        when = { category = ["pending"], assigned = true }
        then = { set_status = "resolved" }
        [[rules]]
        name = "urgent-to-tier2"
        kind = "trigger"
        when = { priority = ["urgent"], group = ["tier1"] }
        then = { set_group = "tier2", unassign = true }
        [[rules]]
        name = "close-early"
        kind = "automation"
        when = { category = ["resolved"], hours_since_resolved = { gte = 2 } }
        then = { close = true }
    "#,
    )
    .unwrap()
}

/// Drives a desk through the workload as a host would; returns every event and the
/// refusals' codes.
fn drive(config: &Config, p: &Params) -> (Vec<Event>, Vec<caseflow::ErrorCode>) {
    let mut desk = Desk::new(config.clone(), p.start);
    let workload = Workload::new(config, p).unwrap();
    let end = workload.end();
    let mut events = Vec::new();
    let mut refused = Vec::new();
    for timed in workload {
        match desk.execute(timed.at, &timed.command) {
            Ok(e) => events.extend(e),
            Err(rejection) => {
                events.extend(rejection.events);
                refused.push(rejection.error.code());
            }
        }
    }
    events.extend(desk.advance_to(end).unwrap());
    (events, refused)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn a_seed_gives_one_stream_in_time_order_with_every_case_once(
        cases in 0u64..300,
        days in 1u32..15,
        seed in any::<u64>(),
    ) {
        let config = custom_account();
        let p = params(cases, days, seed);
        let first = commands(&config, &p);
        prop_assert_eq!(&first, &commands(&config, &p));
        let end = Workload::new(&config, &p).unwrap().end();
        prop_assert_eq!(end, p.start.plus_seconds(i64::from(days) * 86_400));
        prop_assert!(first.windows(2).all(|w| w[0].at <= w[1].at));
        prop_assert!(first.iter().all(|t| p.start <= t.at && t.at < end));
        let ids: Vec<u64> = first
            .iter()
            .filter_map(|t| match &t.command {
                Command::Create(c) => c.id,
                _ => None,
            })
            .collect();
        prop_assert_eq!(ids, (1..=cases).collect::<Vec<_>>());
    }

    #[test]
    fn without_rules_the_desk_accepts_every_command(seed in any::<u64>(), custom in any::<bool>()) {
        let config = if custom { custom_account() } else { Config::default() };
        let (_, refused) = drive(&config, &params(150, 10, seed));
        prop_assert!(refused.is_empty(), "{:?}", refused);
    }

    #[test]
    fn rules_cause_only_the_refusals_the_generator_expects(seed in any::<u64>()) {
        let (_, refused) = drive(&meddling_account(), &params(150, 10, seed));
        prop_assert!(refused.iter().all(|c| expected_refusal(*c)), "{:?}", refused);
    }
}

#[test]
fn another_seed_gives_another_stream() {
    let config = Config::default();
    assert_ne!(
        commands(&config, &params(50, 3, 1)),
        commands(&config, &params(50, 3, 2))
    );
}

#[test]
fn meddling_rules_do_cause_refusals() {
    // The property above is not vacuous: these rules do get planned commands refused.
    let (_, refused) = drive(&meddling_account(), &params(400, 10, 7));
    assert!(!refused.is_empty());
}

#[test]
fn bad_parameters_are_refused() {
    let config = Config::default();
    for p in [
        params(1, 0, 1),
        params(1, 3_651, 1),
        params(100_000_001, 1, 1),
    ] {
        let err = Workload::new(&config, &p).unwrap_err();
        assert_eq!(err.code(), caseflow::ErrorCode::InvalidInput, "{err}");
    }
    let late = Params {
        start: Instant::latest_step(),
        ..params(1, 1, 1)
    };
    assert!(Workload::new(&config, &late).is_err());
    let nobody = Config::from_toml("[groups]\nempty = []").unwrap();
    let err = Workload::new(&nobody, &params(1, 1, 1)).unwrap_err();
    assert!(err.message().contains("no agent"), "{err}");
}

#[test]
fn the_workload_looks_like_a_support_desk() {
    let config = custom_account();
    let zone: chrono_tz::Tz = "America/New_York".parse().unwrap();
    let p = params(6_000, 28, 3);
    let all = commands(&config, &p);
    let creates: Vec<(&Timed, &caseflow::Create)> = all
        .iter()
        .filter_map(|t| match &t.command {
            Command::Create(c) => Some((t, c)),
            _ => None,
        })
        .collect();
    // Business hours and weekdays in the account's zone bring most arrivals.
    let local = |t: Instant| zone.timestamp_opt(t.unix_seconds(), 0).unwrap();
    let business = creates
        .iter()
        .filter(|(t, _)| (8..18).contains(&local(t.at).hour()))
        .count();
    assert!(
        business * 10 > creates.len() * 6,
        "{business} of {}",
        creates.len()
    );
    let weekend = creates
        .iter()
        .filter(|(t, _)| local(t.at).weekday().number_from_monday() >= 6)
        .count();
    assert!(
        weekend * 10 < creates.len(),
        "{weekend} of {}",
        creates.len()
    );
    // Types, priorities and channels in their proportions, give or take.
    let share = |f: &dyn Fn(&caseflow::Create) -> bool| {
        creates.iter().filter(|(_, c)| f(c)).count() as f64 / creates.len() as f64
    };
    use caseflow::{CaseType, Channel, Priority};
    let near = |got: f64, want: f64| (got - want).abs() < 0.03;
    assert!(near(
        share(&|c| c.case_type == Some(CaseType::Question)),
        0.38
    ));
    assert!(near(
        share(&|c| c.case_type == Some(CaseType::Incident)),
        0.30
    ));
    assert!(near(share(&|c| c.case_type == Some(CaseType::Task)), 0.10));
    assert!(near(share(&|c| c.priority == Some(Priority::Urgent)), 0.06));
    assert!(near(share(&|c| c.channel == Some(Channel::Email)), 0.42));
    assert!(share(&|c| c.due_date.is_some()) > 0.08);
    assert!(share(&|c| c.assignee.is_some()) > 0.05);
    assert!(share(&|c| c.tags.iter().any(|t| t == "vip")) > 0.02);

    let (events, refused) = drive(&config, &p);
    assert!(refused.is_empty(), "{refused:?}");
    let count = |f: &dyn Fn(&EventKind) -> bool| events.iter().filter(|e| f(&e.kind)).count();
    let to = |cat: Category| move |k: &EventKind| matches!(k, EventKind::StatusChanged { to_category, .. } if *to_category == cat);
    // Every custom status is used; pending, on-hold, replies, reopenings, cascades,
    // overdue tasks and auto-closes all happen.
    for status in ["waiting_customer", "awaiting_parts", "solved"] {
        assert!(
            count(&|k| matches!(k, EventKind::StatusChanged { to, .. } if to.as_str() == status))
                > 0,
            "{status}"
        );
    }
    assert!(count(&to(Category::Pending)) > 300);
    assert!(count(&to(Category::OnHold)) > 100);
    assert!(count(&|k| matches!(k, EventKind::RequesterReplied {})) > 500);
    let reopens = count(&|k| {
        matches!(
            k,
            EventKind::StatusChanged {
                from_category: Category::Resolved,
                cause: StatusCause::RequesterReply,
                ..
            }
        )
    });
    assert!(reopens > 100, "{reopens}");
    let cascaded = count(&|k| {
        matches!(
            k,
            EventKind::StatusChanged {
                cause: StatusCause::ProblemResolved,
                ..
            }
        )
    });
    assert!(cascaded > 200, "{cascaded}");
    // Problems gather many incidents: the largest has at least ten.
    let mut per_problem = std::collections::HashMap::new();
    for (_, c) in &creates {
        if let Some(p) = c.problem {
            *per_problem.entry(p).or_insert(0) += 1;
        }
    }
    assert!(per_problem.values().max().copied().unwrap_or(0) >= 10);
    assert!(count(&|k| matches!(k, EventKind::TaskOverdue { .. })) > 50);
    assert!(count(&|k| matches!(k, EventKind::Closed { .. })) > 3_000);
}

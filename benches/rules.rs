//! Criterion benchmarks of the rule engine. Each names its target; README.md records the
//! measured medians.
//!
//! Run: `cargo bench --bench rules` (CI only smoke-runs them with `cargo test --benches`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use caseflow::{Command, Config, Create, Desk, Instant, Priority, Update};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

/// The desk size the targets are stated for; the smoke run uses a small desk.
fn desk_cases() -> u64 {
    if std::env::args().any(|a| a == "--bench") {
        1_000_000
    } else {
        10_000
    }
}

fn t0() -> Instant {
    "2026-03-02T09:30:00Z".parse().unwrap()
}

/// A desk of `n` assigned open cases; every 100th is a `vip` (1%), and the 1,000 cases
/// with ids n+1..=n+1000 are `pending`.
fn big_desk(n: u64) -> Desk {
    let mut desk = Desk::new(Config::default(), t0());
    for k in 1..=n + 1000 {
        let mut tags = vec!["hardware".to_owned()];
        if k % 100 == 0 && k <= n {
            tags.push("vip".to_owned());
        }
        let create = Create {
            id: Some(k),
            submitter: format!("requester{}", k % 5000),
            assignee: Some(format!("agent{}", k % 200)),
            subject: Some("Printer on fire".to_owned()),
            priority: Some(Priority::High),
            status: (k > n).then(|| "pending".to_owned()),
            tags,
            ..Create::default()
        };
        desk.execute(t0(), &Command::Create(create)).unwrap();
    }
    desk
}

/// `n` triggers whose guards exclude every case of the desk (no case is urgent).
fn excluded_triggers(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            json!({"name": format!("excluded-{i}"), "kind": "trigger",
                   "when": {"priority": ["urgent"], "changed": ["priority"]},
                   "then": {"add_tags": [format!("x{i}")]}})
        })
        .collect()
}

/// Two triggers that fire on every priority change of the update benchmark (which moves
/// cases between high and low), two that guard on the other priority.
fn firing_triggers() -> Vec<Value> {
    vec![
        json!({"name": "hot", "kind": "trigger", "when": {"changed": ["priority"], "priority": ["high"]},
               "then": {"add_tags": ["hot"], "set_group": "hot-line"}}),
        json!({"name": "hot-notify", "kind": "trigger", "when": {"changed": ["priority"], "priority": ["high"]},
               "then": {"notify": {"target": "leads", "message": "case {id} is hot again"}}}),
        json!({"name": "cold", "kind": "trigger", "when": {"changed": ["priority"], "priority": ["low"]},
               "then": {"remove_tags": ["hot"], "set_group": "none"}}),
        json!({"name": "cold-notify", "kind": "trigger", "when": {"changed": ["priority"], "priority": ["low"]},
               "then": {"notify": {"target": "leads", "message": "case {id} cooled down"}}}),
    ]
}

/// Times one update (a priority change) on cases picked across the desk.
fn bench_updates(c: &mut Criterion, name: &str, desk: &mut Desk, cases: u64) {
    let mut i = 0u64;
    c.bench_function(name, |b| {
        b.iter(|| {
            i += 1;
            let priority = if (i / cases).is_multiple_of(2) {
                Priority::Low
            } else {
                Priority::High
            };
            let update = Update {
                case: (i * 7919) % cases + 1,
                priority: Some(Some(priority)),
                ..Update::default()
            };
            black_box(desk.execute(desk.now(), &Command::Update(update)).unwrap())
        })
    });
}

fn rules_benches(c: &mut Criterion) {
    let cases = desk_cases();
    let mut desk = big_desk(cases);

    // rules/update_no_rules: the reference, an update on this desk with no rules.
    bench_updates(c, "rules/update_no_rules", &mut desk, cases);

    // rules/update_1_excluded and rules/update_20_excluded: the same update with 1 and
    // with 20 triggers whose guards exclude the case. Target: under 20 ns per rule, read
    // as (update_20_excluded - update_1_excluded) / 19: what each further rule costs once
    // a step runs triggers at all (keeping the case's start-of-step copy for `changed`).
    for n in [1, 20] {
        let now = desk.now();
        desk.replace_rules(now, &Value::from(excluded_triggers(n)))
            .unwrap();
        bench_updates(c, &format!("rules/update_{n}_excluded"), &mut desk, cases);
    }

    // rules/update_20_triggers: the same update running 20 triggers, 18 excluded by their
    // guards and 2 firing `then` tables (a tag and a group, and a notification).
    // Target: under 2.5 us in all, and under 1.5 us more than update_no_rules.
    let mut rules = excluded_triggers(16);
    rules.extend(firing_triggers());
    let now = desk.now();
    desk.replace_rules(now, &Value::from(rules)).unwrap();
    bench_updates(c, "rules/update_20_triggers", &mut desk, cases);

    // rules/sweep_1pct: one sweep of 10 automations over the 1,000,000 cases, each
    // matching the 1% that are `vip` (five pairs that move them between high and low
    // priority, so each fires on every sweep); `tags_any` takes its candidates from the
    // tag index. Target: under 1 s.
    let mut automations = Vec::new();
    for pair in 0..5 {
        automations.push(json!({"name": format!("down-{pair}"), "kind": "automation",
            "when": {"tags_any": ["vip"], "priority": ["high"]}, "then": {"set_priority": "low"}}));
        automations.push(json!({"name": format!("up-{pair}"), "kind": "automation",
            "when": {"tags_any": ["vip"], "priority": ["low"]}, "then": {"set_priority": "high"}}));
    }
    let mut group = c.benchmark_group("rules");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    let automations = Value::from(automations);
    group.bench_function("sweep_1pct", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for k in 0..iters {
                // Untimed: new rules every 90 sweeps, so no automation reaches its cap
                // of 100 firings on a case.
                if k % 90 == 0 {
                    let now = desk.now();
                    desk.replace_rules(now, &automations).unwrap();
                }
                let next = desk.next_deadline().unwrap();
                #[allow(clippy::disallowed_methods)] // a benchmark measures wall time
                let start = std::time::Instant::now();
                let events = desk.advance_to(next).unwrap();
                timed += start.elapsed();
                // 9 or 10 firings (rule_fired and priority_changed) on each of the 1% vip
                // cases (9 on those the update benchmarks left at low priority).
                let vip = cases / 100;
                assert!((18 * vip..=20 * vip).contains(&(events.len() as u64)));
                black_box(events);
            }
            timed
        })
    });
    group.finish();

    // rules/sweep_category: one sweep of 10 automations that each guard on `pending`, a
    // category holding 1,000 of the desk's cases (and on an hour bound none meets yet).
    // Target: under 1 ms: the sweep costs what the pending cases cost.
    let automations: Vec<Value> = (0..10)
        .map(|i| {
            json!({"name": format!("pending-{i}"), "kind": "automation",
                   "when": {"category": ["pending"], "hours_in_status": {"gte": 100000}},
                   "then": {"add_tags": ["nudged"]}})
        })
        .collect();
    let now = desk.now();
    desk.replace_rules(now, &Value::from(automations)).unwrap();
    c.bench_function("rules/sweep_category", |b| {
        b.iter(|| {
            let next = desk.next_deadline().unwrap();
            black_box(desk.advance_to(next).unwrap())
        })
    });
}

criterion_group!(benches, rules_benches);
criterion_main!(benches);

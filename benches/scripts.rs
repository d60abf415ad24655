//! Criterion benchmarks of rhai rules. Each names its target; README.md records the
//! measured medians. The bench profile builds with LTO (Cargo.toml).
//!
//! Run: `cargo bench --bench scripts` (CI only smoke-runs them with `cargo test --benches`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use caseflow::{Command, Config, Create, Desk, Explanation, Instant, Priority, Update};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

fn t0() -> Instant {
    "2026-03-02T09:30:00Z".parse().unwrap()
}

/// A three-condition rule, as SCRIPTING.md's example: urgent, unassigned, an hour old.
const ESCALATE: &str = r#"
if ticket.priority == "urgent" && ticket.assignee == () && ticket.hours_since_created >= 1 {
    add_tag("escalated");
}
"#;

/// A desk of 1,000 open cases with these rules from `t0()` on: odd ids are urgent and
/// unassigned (the escalation matches them), even ids are high and assigned (it does not).
fn scripted_desk(rules: Value) -> Desk {
    let start: Instant = "2026-03-02T06:00:00Z".parse().unwrap();
    let mut desk = Desk::new(Config::default(), start);
    for k in 1..=1000u64 {
        let odd = k % 2 == 1;
        let create = Create {
            id: Some(k),
            submitter: format!("requester{k}"),
            assignee: (!odd).then(|| "bob".to_owned()),
            subject: Some("Printer on fire".to_owned()),
            priority: Some(if odd {
                Priority::Urgent
            } else {
                Priority::High
            }),
            ..Create::default()
        };
        desk.execute(start, &Command::Create(create)).unwrap();
    }
    desk.replace_rules(t0(), &rules).unwrap();
    desk
}

fn script_rule(name: &str, when: Value) -> Value {
    json!({"name": name, "kind": "automation", "when": when, "source": ESCALATE})
}

fn scripts_benches(c: &mut Criterion) {
    let desk = scripted_desk(json!([script_rule("escalate", json!({}))]));
    let at = t0();

    // rules/script_no_match: the three-condition script on a case it does not match
    // (explain: the case and rule lookups and the verdict included). Target: under 400 ns.
    let mut i = 0u64;
    c.bench_function("rules/script_no_match", |b| {
        b.iter(|| {
            i += 1;
            let even = 2 * (i % 500) + 2;
            let verdict = desk.explain(black_box(even), "escalate", at).unwrap();
            debug_assert!(matches!(verdict, Explanation::NoChange { .. }));
            black_box(verdict)
        })
    });

    // rules/script_match: the same script on a case it matches, recording one action
    // (explain: the action checked through the lifecycle and its events listed).
    // Target: under 1 us.
    c.bench_function("rules/script_match", |b| {
        b.iter(|| {
            i += 1;
            let odd = 2 * (i % 500) + 1;
            let verdict = desk.explain(black_box(odd), "escalate", at).unwrap();
            debug_assert!(matches!(verdict, Explanation::WouldFire { .. }));
            black_box(verdict)
        })
    });

    // rules/script_guarded_1 and rules/script_guarded_21: an update running 1 and 21
    // trigger scripts behind a guard that excludes the case (`category = ["pending"]`).
    // Target: under 20 ns per rule, read as (guarded_21 - guarded_1) / 20.
    for n in [1, 21] {
        let rules: Vec<Value> = (0..n)
            .map(|i| {
                json!({"name": format!("g{i}"), "kind": "trigger",
                       "when": {"category": ["pending"]}, "source": ESCALATE})
            })
            .collect();
        let mut desk = scripted_desk(Value::from(rules));
        let mut i = 0u64;
        c.bench_function(&format!("rules/script_guarded_{n}"), |b| {
            b.iter(|| {
                i += 1;
                let update = Update {
                    case: i % 1000 + 1,
                    subject: Some(Some(format!("Printer on fire {}", i % 2))),
                    ..Update::default()
                };
                black_box(desk.execute(at, &Command::Update(update)).unwrap())
            })
        });
    }
}

/// Scripts that run until a default limit stops them, each through the costliest single
/// operations the sandbox offers (DESIGN.md, "What is the slowest evaluation the default
/// limits allow?").
const HOSTILE: [(&str, &str); 7] = [
    (
        "sort",
        "let a = [];\nfor i in 0..1024 { a.push(1024 - i); }\nloop { a.sort(); a.reverse(); }",
    ),
    (
        "search",
        "let s = \"ab\";\ns.pad(16000, 'a');\nloop { s.index_of(\"ab\"); s.contains(\"ba\"); s.replace(\"aa\", \"aa\"); }",
    ),
    ("strings", "let s = \"x\";\nloop { s += s; }"),
    (
        "arrays",
        "let a = [];\na.pad(1000, 7);\nloop { let b = a + a; b.clear(); }",
    ),
    (
        "maps",
        "let m = #{};\nlet i = 0;\nloop { m[`k${i % 200}`] = \"v\".pad(100, 'v'); i += 1; }",
    ),
    (
        "print",
        "let s = \"y\";\ns.pad(16000, 'y');\nloop { print(s); }",
    ),
    (
        "recursion",
        "fn f(n) { if n == 0 { 0 } else { f(n - 1) + f(n - 1) } }\nf(30);",
    ),
];

/// rules/script_slowest_*: each hostile script's whole evaluation, to the limit that
/// stops it. No target: DESIGN.md reports the slowest.
fn slowest_benches(c: &mut Criterion) {
    let rules: Vec<Value> = HOSTILE
        .iter()
        .map(|(name, source)| json!({"name": name, "kind": "automation", "source": source}))
        .collect();
    let desk = scripted_desk(Value::from(rules));
    for (name, _) in HOSTILE {
        c.bench_function(&format!("rules/script_slowest_{name}"), |b| {
            b.iter(|| {
                let verdict = desk.explain(1, name, t0()).unwrap();
                debug_assert!(matches!(verdict, Explanation::WouldFail { .. }), "{name}");
                black_box(verdict)
            })
        });
    }
}

criterion_group!(benches, scripts_benches, slowest_benches);
criterion_main!(benches);

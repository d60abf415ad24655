//! Criterion benchmarks. Each names its target; README.md records the measured medians.
//!
//! Run: `cargo bench --bench desk` (CI only smoke-runs them with `cargo test --benches`).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;

use caseflow::{CaseType, Command, Config, Create, Date, Desk, Instant, Priority, Update};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, criterion_group, criterion_main};

/// The desk size the targets are stated for; `cargo test --benches` (a smoke run, one
/// iteration each, in debug mode) uses a small desk instead.
fn desk_cases() -> u64 {
    if std::env::args().any(|a| a == "--bench") {
        1_000_000
    } else {
        10_000
    }
}

fn t0() -> Instant {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

/// A desk of `n` assigned open cases with ids `stride` apart (the k-th case has id
/// `k * stride`, and the same names whatever the stride), plus 100 tasks due in 2999: the
/// next deadline is far away, so nothing falls due while a benchmark advances time.
fn big_desk(n: u64, stride: u64) -> Desk {
    let mut desk = Desk::new(Config::default(), t0());
    for k in 1..=n {
        let create = Create {
            id: Some(k * stride),
            submitter: format!("requester{}", k % 5000),
            assignee: Some(format!("agent{}", k % 200)),
            subject: Some("Printer on fire".to_owned()),
            tags: vec!["hardware".to_owned()],
            ..Create::default()
        };
        desk.execute(t0(), &Command::Create(create)).unwrap();
    }
    for id in (n + 1..=n + 100).map(|k| k * stride) {
        let task = Create {
            id: Some(id),
            submitter: "r".to_owned(),
            case_type: Some(CaseType::Task),
            due_date: Some(Date::from_ymd(2999, 1, 1).unwrap()),
            ..Create::default()
        };
        desk.execute(t0(), &Command::Create(task)).unwrap();
    }
    desk
}

/// Times one update command (a priority change, so the case really changes: a decision,
/// one event, a version bump) on cases picked across the desk.
fn bench_updates(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    desk: &mut Desk,
    cases: u64,
    stride: u64,
) {
    let mut i = 0u64;
    group.bench_function(name, |b| {
        b.iter(|| {
            i += 1;
            let priority = if (i / cases).is_multiple_of(2) {
                Priority::High
            } else {
                Priority::Low
            };
            let update = Update {
                case: ((i * 7919) % cases + 1) * stride,
                priority: Some(Some(priority)),
                ..Update::default()
            };
            black_box(desk.execute(desk.now(), &Command::Update(update)).unwrap())
        })
    });
}

fn desk_benches(c: &mut Criterion) {
    let cases = desk_cases();
    let mut group = c.benchmark_group("desk");

    // desk/update: one update on a desk of 1,000,000 cases.
    // Target: median under 1 microsecond.
    let mut desk = big_desk(cases, 1);
    bench_updates(&mut group, "update", &mut desk, cases, 1);

    // desk/advance_idle: advancing time by one second when nothing is due, on the same
    // desk. Target: under 100 nanoseconds.
    let mut now = desk.now();
    group.bench_function("advance_idle", |b| {
        b.iter(|| {
            now = now.plus_seconds(1);
            black_box(desk.advance_to(now).unwrap())
        })
    });
    drop(desk);

    // desk/update_sharded: the same update on a desk whose 1,000,000 ids are 4,096 apart,
    // as on one of the 4,096 desks of a host that shards by `id % 4096`.
    // Target: median under 1 microsecond, as desk/update.
    let mut desk = big_desk(cases, 4096);
    bench_updates(&mut group, "update_sharded", &mut desk, cases, 4096);
    group.finish();
}

criterion_group!(benches, desk_benches);
criterion_main!(benches);

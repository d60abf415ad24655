//! Criterion benchmarks of the deadline table and due dates. Each names its target;
//! README.md records the measured medians. Run: `cargo bench --bench deadlines`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use caseflow::{Command, Config, Create, Date, Desk, Instant, Update};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};

fn t0() -> Instant {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// `n` resolved cases, resolved one second apart, so their auto-closes (after 28 days,
/// longer than the resolving takes) are due one second apart.
fn resolved(n: u64) -> Desk {
    let config = Config::from_toml("auto_close_after_days = 28").unwrap();
    let mut desk = Desk::new(config, t0());
    for id in 1..=n {
        let at = t0().plus_seconds(id as i64);
        let create = Create {
            id: Some(id),
            submitter: format!("customer{id}"),
            assignee: Some("bob".to_owned()),
            ..Create::default()
        };
        desk.execute(at, &Command::Create(create)).unwrap();
        let resolve = Update {
            case: id,
            status: Some("resolved".to_owned()),
            ..Update::default()
        };
        desk.execute(at, &Command::Update(resolve)).unwrap();
    }
    desk
}

fn deadline_benches(c: &mut Criterion) {
    let n = if full() { 1_000_000 } else { 1_000 };
    let desk = resolved(n);
    let after = t0().plus_seconds(29 * 86_400 + n as i64);

    let mut group = c.benchmark_group("deadlines");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    // deadlines/drain: advancing past 1,000,000 due auto-close deadlines: 1,000,000 steps,
    // each closing one case. Target: at least 1,000,000 closes per second (median < 1 s).
    group.bench_function("drain", |b| {
        b.iter_batched(
            || desk.clone(),
            |mut desk| {
                let events = desk.advance_to(after).unwrap();
                assert_eq!(events.len() as u64, n);
                (desk, events)
            },
            BatchSize::LargeInput,
        )
    });
    group.finish();

    // deadlines/due_at: 12:00 on a date in America/New_York as a UTC instant.
    // Target: under 200 ns.
    let mut group = c.benchmark_group("deadlines");
    let zone = "America/New_York".parse().unwrap();
    let date = Date::from_ymd(2026, 3, 10).unwrap();
    group.bench_function("due_at", |b| {
        b.iter(|| black_box(black_box(date).noon_in(zone)))
    });
    group.finish();
}

criterion_group!(benches, deadline_benches);
criterion_main!(benches);

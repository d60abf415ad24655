//! Criterion benchmarks of host-facing operations: snapshots and queries. Each names its
//! target; README.md records the measured figures. Run: `cargo bench --bench host`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use caseflow::{Category, Command, Config, Create, Desk, Instant, Update};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

fn t0() -> Instant {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

/// `n` typical cases: a subject, a tag, an assignee and a group; every `pending_every`-th
/// one moved to `pending`.
fn desk(n: u64, pending_every: u64) -> Desk {
    let mut desk = Desk::new(Config::default(), t0());
    for id in 1..=n {
        let create = Create {
            id: Some(id),
            submitter: format!("customer{}", id % 50_000),
            assignee: Some(format!("agent{}", id % 300)),
            group: Some(format!("tier{}", id % 3)),
            subject: Some("Cannot log in to the billing portal".to_owned()),
            tags: vec!["billing".to_owned()],
            ..Create::default()
        };
        desk.execute(t0(), &Command::Create(create)).unwrap();
        if id % pending_every == 0 {
            let pend = Update {
                case: id,
                status: Some("pending".to_owned()),
                ..Update::default()
            };
            desk.execute(t0(), &Command::Update(pend)).unwrap();
        }
    }
    desk
}

fn snapshot_benches(c: &mut Criterion) {
    let n = if full() { 1_000_000 } else { 1_000 };
    let big = desk(n, 1_000);
    let text = big.snapshot();
    println!(
        "snapshot of {n} cases: {} bytes, {} bytes per case",
        text.len(),
        text.len() as u64 / n
    );

    let mut group = c.benchmark_group("snapshot");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    // snapshot/write: serialising a desk of 1,000,000 typical cases.
    // Target: under 2 s, and under 300 bytes per typical case.
    group.bench_function("write", |b| b.iter(|| black_box(big.snapshot())));
    // snapshot/restore: restoring that desk, with every consistency check.
    // Target: under 2 s. The restored desk is dropped outside the timing: freeing a
    // million cases is the host's later business, not part of the restore.
    group.bench_function("restore", |b| {
        b.iter_with_large_drop(|| Desk::restore(&text).unwrap())
    });
    group.finish();

    // query/category: the ids of the 1,000 cases in `pending`, on desks of 100,000 and
    // 1,000,000 cases. Target: proportional to the result, not the desk (the two medians
    // within a small factor of each other).
    let mut group = c.benchmark_group("query");
    let small = desk(n / 10, 100);
    for (size, d) in [(n / 10, &small), (n, &big)] {
        assert_eq!(d.ids_in_category(Category::Pending).len() as u64, n / 1000);
        group.bench_with_input(BenchmarkId::new("category", size), d, |b, d| {
            b.iter(|| black_box(d.ids_in_category(Category::Pending)))
        });
    }
    group.finish();
}

criterion_group!(benches, snapshot_benches);
criterion_main!(benches);

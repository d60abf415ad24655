//! Criterion benchmarks of problem cascades. Each names its target; README.md records the
//! measured medians. Run: `cargo bench --bench cascade`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::hint::black_box;
use std::time::Duration;

use caseflow::{CaseType, Command, Config, Create, Desk, Instant, Update};
use criterion::{BatchSize, BenchmarkId, Criterion, criterion_group, criterion_main};

fn t0() -> Instant {
    "2026-03-02T09:00:00Z".parse().unwrap()
}

/// Full sizes under `cargo bench`; small ones for the smoke run of `cargo test --benches`.
fn full() -> bool {
    std::env::args().any(|a| a == "--bench")
}

fn create(desk: &mut Desk, create: Create) {
    desk.execute(desk.now(), &Command::Create(create)).unwrap();
}

/// Problem 1 with `n` open incidents (ids 2..=n+1), each assigned, in `open`.
fn problem_with_incidents(n: u64) -> Desk {
    let mut desk = Desk::new(Config::default(), t0());
    let problem = |id| Create {
        id: Some(id),
        submitter: "ops".to_owned(),
        case_type: Some(CaseType::Problem),
        assignee: Some("lead".to_owned()),
        ..Create::default()
    };
    create(&mut desk, problem(1));
    for id in 2..=n + 1 {
        create(
            &mut desk,
            Create {
                id: Some(id),
                submitter: format!("requester{id}"),
                case_type: Some(CaseType::Incident),
                problem: Some(1),
                assignee: Some(format!("agent{}", id % 100)),
                ..Create::default()
            },
        );
    }
    desk
}

fn resolve(case: u64) -> Command {
    Command::Update(Update {
        case,
        status: Some("resolved".to_owned()),
        ..Update::default()
    })
}

/// A desk of `n` open, assigned cases of one type (problems have no incidents).
fn open_cases(n: u64, case_type: CaseType) -> Desk {
    let mut desk = Desk::new(Config::default(), t0());
    for id in 1..=n {
        create(
            &mut desk,
            Create {
                id: Some(id),
                submitter: format!("requester{}", id % 5000),
                case_type: Some(case_type),
                assignee: Some(format!("agent{}", id % 200)),
                ..Create::default()
            },
        );
    }
    desk
}

fn cascade_benches(c: &mut Criterion) {
    let mut group = c.benchmark_group("cascade");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));

    // cascade/resolve/N: resolving a problem with N open incidents and no rules: one step,
    // N + 1 status changes, N + 1 auto-close deadlines armed.
    // Target: under 50 ms for N = 100,000, and N = 200,000 costs at most about twice that.
    let sizes: &[u64] = if full() {
        &[100_000, 200_000]
    } else {
        &[1_000]
    };
    for &n in sizes {
        let desk = problem_with_incidents(n);
        group.bench_with_input(BenchmarkId::new("resolve", n), &desk, |b, desk| {
            b.iter_batched(
                || desk.clone(),
                |mut desk| {
                    let events = desk.execute(t0(), &resolve(1)).unwrap();
                    assert_eq!(events.len() as u64, n + 1);
                    (desk, events)
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();

    // cascade/resolve_empty: resolving a problem with no incidents on a desk of 1,000,000
    // open problems. Target: within 10% of cascade/resolve_question (a priority change,
    // desk/update, moves no status set and arms no deadline, so it is no reference).
    // cascade/resolve_question: the same on a desk of questions, which have no cascade at
    // all: the difference between the two is what the cascade costs when it has nothing
    // to do; both pay for the status change itself (index move, auto-close armed).
    let mut group = c.benchmark_group("cascade");
    let n = if full() { 1_000_000 } else { 1_000 };
    for (name, case_type) in [
        ("resolve_empty", CaseType::Problem),
        ("resolve_question", CaseType::Question),
    ] {
        let mut desk = open_cases(n, case_type);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| resolve_and_reopen(&mut desk, n, iters))
        });
    }
    group.finish();
}

/// Times `iters` resolves of cases picked as desk/update picks them (7919 is prime to the
/// desk size, so a chunk never picks a case twice); after each chunk the resolved cases
/// are reopened, untimed, so the desk stays the same.
fn resolve_and_reopen(desk: &mut Desk, n: u64, iters: u64) -> Duration {
    let mut timed = Duration::ZERO;
    let mut left = iters;
    let mut i = desk.seq(); // varies the cases picked from one call to the next
    while left > 0 {
        let chunk: Vec<u64> = (0..left.min(10_000))
            .map(|_| {
                i += 1;
                (i * 7919) % n + 1
            })
            .collect();
        #[allow(clippy::disallowed_methods)] // a benchmark measures wall time
        let start = std::time::Instant::now();
        for &case in &chunk {
            black_box(desk.execute(desk.now(), &resolve(case)).unwrap());
        }
        timed += start.elapsed();
        for &case in &chunk {
            let reopen = Update {
                case,
                status: Some("open".to_owned()),
                ..Update::default()
            };
            desk.execute(desk.now(), &Command::Update(reopen)).unwrap();
        }
        left -= chunk.len() as u64;
    }
    timed
}

criterion_group!(benches, cascade_benches);
criterion_main!(benches);

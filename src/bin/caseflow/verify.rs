//! `caseflow verify CONFIG`: random workloads through an account, checked with the
//! testkit's invariants and parameterless policies, and the parameterised checks asked
//! for; a failure shrinks to a scenario file.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use caseflow::Category;
use caseflow::testkit::{self, Check};
use caseflow::workload::Params;

use crate::Output;
use crate::simulate::{load, progress};

/// What `verify` was asked.
#[derive(clap::Args)]
pub struct Options {
    /// The configuration file.
    pub config: PathBuf,
    /// How many cases each workload creates.
    #[arg(long, default_value_t = 30)]
    pub cases: u64,
    /// How many days each workload spans.
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    /// The first workload's seed; the next ones count up from it.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Keep starting workloads for this many seconds (at least one runs).
    #[arg(long, default_value_t = 10)]
    pub time: u64,
    /// Where to write the scenario file of a failure.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// No progress spinner.
    #[arg(long)]
    pub quiet: bool,
    /// Also check that every urgent case is assigned within HOURS of starting to wait.
    #[arg(long, value_name = "HOURS")]
    pub urgent_assigned_within: Option<u32>,
    /// Also check that no case stays in CATEGORY (new, open, pending, on_hold or
    /// resolved) longer than HOURS; repeatable.
    #[arg(long, value_name = "CATEGORY=HOURS", value_parser = category_hours)]
    pub max_time_in: Vec<(Category, u32)>,
}

/// Parses `CATEGORY=HOURS` for `--max-time-in`.
fn category_hours(arg: &str) -> Result<(Category, u32), String> {
    let (category, hours) = arg
        .split_once('=')
        .ok_or("expected CATEGORY=HOURS, e.g. pending=72")?;
    let category = Category::parse(category).ok_or_else(|| {
        let all: Vec<&str> = Category::ALL.iter().map(|c| c.as_str()).collect();
        format!(
            "unknown category `{category}`: expected one of {}",
            all.join(", ")
        )
    })?;
    let hours = hours.parse().map_err(|_| {
        format!(
            "hours `{hours}` must be a whole number from 0 to {}",
            u32::MAX
        )
    })?;
    Ok((category, hours))
}

/// Runs workloads with seeds `seed`, `seed + 1`, ... until `time` seconds have passed (at
/// least one), stopping at the first failure; prints it and a summary of the workloads
/// that passed.
pub fn run(opts: &Options) -> Result<Output, String> {
    let (config, account) = load(Some(&opts.config))?;
    let mut checks: Vec<Check> = testkit::invariants();
    checks.extend(testkit::policies());
    checks.extend(
        opts.urgent_assigned_within
            .map(testkit::urgent_assigned_within),
    );
    for &(category, hours) in &opts.max_time_in {
        checks.push(testkit::max_time_in(category, hours));
    }
    let bar = progress(opts.quiet, None);
    // The command line stops after the time it was given; the library never reads a clock.
    #[allow(clippy::disallowed_methods)]
    let clock = std::time::Instant::now();
    let (mut workloads, mut steps, mut events) = (0u64, 0usize, 0usize);
    let mut firings: BTreeMap<String, u64> = config
        .rules()
        .iter()
        .map(|r| (r.name().to_owned(), 0))
        .collect();
    let mut failure = None;
    let mut seed = opts.seed;
    loop {
        let params = Params {
            cases: opts.cases,
            days: opts.days,
            seed,
            ..Params::default()
        };
        let workload = testkit::generate(&config, &params).map_err(|e| e.to_string())?;
        bar.set_message(format!("workload {} (seed {seed})", workloads + 1));
        match testkit::verify(&config, &workload, &checks, &opts.out) {
            Ok(outcome) => {
                workloads += 1;
                steps += outcome.steps.len();
                events += outcome.events.len();
                for s in &outcome.stats {
                    *firings.entry(s.rule.clone()).or_default() += s.firings;
                }
            }
            Err(f) => {
                failure = Some((seed, f));
                break;
            }
        }
        if clock.elapsed().as_secs() >= opts.time {
            break;
        }
        seed = seed.wrapping_add(1);
    }
    bar.finish_and_clear();
    let mut text = String::new();
    let code = match &failure {
        None => {
            let _ = writeln!(text, "ok {account}");
            ExitCode::SUCCESS
        }
        Some((seed, f)) => {
            let _ = writeln!(text, "FAILED {account}: {}", f.violation);
            let _ = writeln!(text, "check: {}", f.violation.check);
            let _ = writeln!(text, "rule: {}", f.violation.rule.as_deref().unwrap_or("-"));
            let _ = writeln!(
                text,
                "scenario: {} (commands: {}, shrunk from the workload of seed {seed})",
                f.path.display(),
                f.workload.commands.len()
            );
            ExitCode::FAILURE
        }
    };
    let never: Vec<&str> = firings
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(r, _)| r.as_str())
        .collect();
    let _ = write!(
        text,
        "passed workloads: {workloads} ({} cases, {} days each), steps: {steps}, \
         events: {events}, rule firings: {}, rules never fired: {}",
        opts.cases,
        opts.days,
        firings.values().sum::<u64>(),
        if never.is_empty() {
            "none".to_owned()
        } else {
            never.join(", ")
        }
    );
    Ok(Output { text, code })
}

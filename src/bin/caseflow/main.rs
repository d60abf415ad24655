//! The `caseflow` command line.

mod check;
mod report;
mod simulate;
mod summary;
mod verify;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod run;
mod store;

/// caseflow: the rules engine behind a customer-support case system.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run scenario files (docs/scenarios.md): files, or directories of *.json files.
    Scenario {
        /// Scenario files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Print each command step and the events it caused.
        #[arg(long)]
        verbose: bool,
    },
    /// Drive one desk through a synthetic (or recorded) workload and summarize it.
    Simulate {
        /// The account configuration (TOML, or JSON by extension); the built-in account
        /// without it.
        #[arg(long)]
        config: Option<PathBuf>,
        /// How many cases arrive.
        #[arg(long, default_value_t = 100_000, conflicts_with = "workload")]
        cases: u64,
        /// How many simulated days.
        #[arg(long, default_value_t = 60, conflicts_with = "workload")]
        days: u32,
        /// The workload's seed.
        #[arg(long, default_value_t = 1, conflicts_with = "workload")]
        seed: u64,
        /// Write every event to this file, as JSON lines.
        #[arg(long, value_name = "FILE")]
        events_out: Option<PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        /// Replay a recorded command stream (JSON lines `{"at": ..., "do": {...}}`).
        #[arg(long, value_name = "FILE")]
        workload: Option<PathBuf>,
        /// Run the same workload through this account too and compare.
        #[arg(long, value_name = "OTHER_CONFIG")]
        compare: Option<PathBuf>,
        /// Write a self-contained HTML report with charts.
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
    },
    /// Check an account configuration: every problem, one per line.
    Check {
        /// The configuration file.
        config: PathBuf,
        /// Print each rule with its kind, enabled flag and guard.
        #[arg(long)]
        explain: bool,
    },
    /// Drive a desk with commands as JSON lines on stdin, one answer line each on stdout;
    /// durable in a SQLite database with --state (docs/command-line.md).
    Run(run::RunArgs),
    /// Random workloads through an account, checked against the engine's invariants and
    /// the policies that need no parameter; a failure shrinks to a scenario file.
    Verify {
        /// The configuration file.
        config: PathBuf,
        /// How many cases each workload creates.
        #[arg(long, default_value_t = 30)]
        cases: u64,
        /// How many days each workload spans.
        #[arg(long, default_value_t = 14)]
        days: u32,
        /// The first workload's seed; the next ones count up from it.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Keep starting workloads for this many seconds (at least one runs).
        #[arg(long, default_value_t = 10)]
        time: u64,
        /// Where to write the scenario file of a failure.
        #[arg(long, value_name = "DIR", default_value = ".")]
        out: PathBuf,
        /// No progress spinner.
        #[arg(long)]
        quiet: bool,
    },
}

/// What a subcommand prints on stdout, and how the process exits.
struct Output {
    text: String,
    code: ExitCode,
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        // `run` streams its answers as it goes: it writes and exits by itself.
        Cmd::Run(args) => return run::run(args),
        Cmd::Scenario { paths, verbose } => {
            let report = caseflow::run_scenarios(&paths);
            let mut text = String::new();
            for outcome in &report.outcomes {
                text.push_str(&format!("{outcome}\n"));
                if verbose {
                    for line in &outcome.trace {
                        text.push_str(&format!("  {line}\n"));
                    }
                }
            }
            text.push_str(&format!(
                "{} passed, {} failed",
                report.passed(),
                report.failed()
            ));
            let code = if report.failed() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            };
            Ok(Output { text, code })
        }
        Cmd::Simulate {
            config,
            cases,
            days,
            seed,
            events_out,
            quiet,
            json,
            workload,
            compare,
            report,
        } => simulate::run(&simulate::Options {
            config,
            cases,
            days,
            seed,
            events_out,
            quiet,
            json,
            workload,
            compare,
            report,
        })
        .map(|text| Output {
            text,
            code: ExitCode::SUCCESS,
        }),
        Cmd::Check { config, explain } => check::run(&config, explain),
        Cmd::Verify {
            config,
            cases,
            days,
            seed,
            time,
            out,
            quiet,
        } => verify::run(&verify::Options {
            config,
            cases,
            days,
            seed,
            time,
            out,
            quiet,
        }),
    };
    match result {
        Ok(Output { text, code }) => {
            // A reader that went away (`| head`) is not an error worth a message.
            let mut out = std::io::stdout().lock();
            match writeln!(out, "{text}").and_then(|()| out.flush()) {
                Ok(()) => code,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
                Err(e) => {
                    eprintln!("caseflow: error: cannot write the output: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(why) => {
            eprintln!("caseflow: error: {why}");
            ExitCode::FAILURE
        }
    }
}

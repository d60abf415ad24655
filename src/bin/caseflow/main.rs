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
    Simulate(simulate::Options),
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
    /// Random workloads through an account, checked against the engine's invariants, the
    /// policies that need no parameter and the timing checks asked for; a failure shrinks
    /// to a scenario file.
    Verify(verify::Options),
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
        Cmd::Simulate(options) => simulate::run(&options).map(|text| Output {
            text,
            code: ExitCode::SUCCESS,
        }),
        Cmd::Check { config, explain } => check::run(&config, explain),
        Cmd::Verify(options) => verify::run(&options),
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

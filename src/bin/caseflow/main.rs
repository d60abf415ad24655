//! The `caseflow` command line.

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
    },
    /// Drive a desk with commands as JSON lines on stdin, one answer line each on stdout;
    /// durable in a SQLite database with --state (docs/command-line.md).
    Run(run::RunArgs),
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Cmd::Scenario { paths } => {
            let report = caseflow::run_scenarios(&paths);
            println!("{report}");
            if report.failed() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Cmd::Run(args) => run::run(args),
    }
}

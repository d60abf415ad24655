//! caseflow's integration tests: one binary, so it links once.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[cfg(feature = "cli")]
mod cli;
mod desk;
mod examples;
mod fuzz_scripts;
mod hostapi;
mod properties;
mod purity;
mod rules;
mod scenarios;
mod scripts;
mod sharding;
mod snapshot;
#[cfg(feature = "testkit")]
mod testkit;
mod time;
#[cfg(feature = "workload")]
mod workload;

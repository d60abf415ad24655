//! caseflow: the rules engine behind a customer-support case system.
//!
//! A [`Desk`] holds one account: its [`Config`] (time zone, auto-close period, `new_status`
//! policy, group directory, status [`Catalog`]) and its [`Case`]s. A host feeds it
//! [`Command`]s, each at an [`Instant`] the host chooses, and gets [`Event`]s back; the desk
//! never reads a clock, so the same inputs always give the same events. Resolved cases
//! close at exactly `resolved_at` plus the account's period, through a deadline table that
//! [`Desk::next_deadline`] exposes for the host's scheduler.
//!
//! ```
//! use caseflow::{Command, Config, Desk, ErrorCode, Instant};
//!
//! let t = |s: &str| s.parse::<Instant>().unwrap();
//! let config = Config::from_toml("auto_close_after_days = 2").unwrap();
//! let mut desk = Desk::new(config, t("2026-03-02T08:00:00Z"));
//!
//! let create = Command::from_json(r#"{"op": "create", "id": 1, "submitter": "ceo"}"#).unwrap();
//! desk.execute(t("2026-03-02T09:00:00Z"), &create).unwrap();
//! assert_eq!(desk.case(1).unwrap().status(), "new");
//!
//! let resolve = Command::from_json(
//!     r#"{"op": "update", "case": 1, "assignee": "bob", "status": "resolved"}"#,
//! ).unwrap();
//! let events = desk.execute(t("2026-03-02T10:00:00Z"), &resolve).unwrap();
//! assert_eq!(events.last().unwrap().kind.name(), "status_changed");
//!
//! // Two days later, to the second, the case closes; a closed case is immutable.
//! let closed = desk.advance_to(t("2026-03-04T10:00:00Z")).unwrap();
//! assert_eq!(closed[0].to_json()["cause"], "auto_close");
//! let late = Command::from_json(r#"{"op": "update", "case": 1, "priority": "high"}"#).unwrap();
//! let err = desk.execute(t("2026-03-05T00:00:00Z"), &late).unwrap_err();
//! assert_eq!(err.error.code(), ErrorCode::CaseClosed);
//! ```
//!
//! The contract caseflow implements is documented in the repository's `docs/` folder
//! (docs/README.md lists its pages). ARCHITECTURE.md maps the code; DESIGN.md records the
//! decisions the contract left open.

#[doc = include_str!("../DESIGN.md")]
pub mod design {}

/// Guides for the people who write an account's rules and policies.
pub mod guide {
    #[doc = include_str!("guide/writing_rules.md")]
    pub mod writing_rules {}

    #[cfg(feature = "testkit")]
    #[doc = include_str!("guide/testing_policies.md")]
    pub mod testing_policies {}
}

/// README.md's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod case;
mod command;
mod config;
mod desk;
mod error;
mod event;
mod ids;
mod json;
mod lifecycle;
mod rules;
mod scenario;
mod status;
#[cfg(feature = "testkit")]
pub mod testkit;
mod time;
#[cfg(feature = "workload")]
pub mod workload;

pub use case::{
    Case, CaseId, CaseType, Channel, MAX_COUNTER, MAX_NAME_CHARS, MAX_REOPENS, MAX_SUBJECT_CHARS,
    MAX_TAG_CHARS, MAX_TAGS, Priority,
};
pub use command::{Command, Create, Import, Update};
pub use config::{
    Config, ConfigBuilder, ConfigChanges, ConfigPatch, DEFAULT_AUTO_CLOSE_DAYS,
    DEFAULT_AUTOMATION_INTERVAL, Field, Groups, Limits, MAX_ACTIONS, MAX_RULE_NAME_CHARS,
    MAX_TRACE_BYTES, NewStatusPolicy, Rule, RuleKind, Rules, ScriptFiles, ScriptLoader, StatusDecl,
    StatusDelete, StatusUpdate,
};
pub use desk::{Desk, Explanation, Query, Rejection, RestoreOptions, RuleStats, SNAPSHOT_VERSION};
pub use error::{Error, ErrorCode};
pub use event::{CloseCause, Event, EventKind, StatusCause};
pub use lifecycle::{Cascade, FollowOn};
pub use rules::{MAX_AUTOMATION_FIRINGS, MAX_LIMIT_FAILURES};
pub use scenario::{
    ScenarioOutcome, ScenarioReport, run_scenario, run_scenario_file, run_scenario_with,
    run_scenarios,
};
pub use status::{
    Catalog, Category, MAX_LABEL_CHARS, MAX_STATUSES, MAX_STATUSES_PER_CATEGORY, Status, StatusId,
};
pub use time::{Date, Instant, SECONDS_PER_DAY, TimeParseError};

//! Events: what a step changed, in the JSON shape of docs/events-and-errors.md.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::case::{Case, CaseId, CaseType, Priority};
use crate::config::{ConfigChanges, RuleKind};
use crate::error::ErrorCode;
use crate::status::{Category, StatusId};
use crate::time::{Date, Instant};

/// One event: what changed, on which case, when, and its place in the desk's sequence.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// What happened, with its own fields (`type` in JSON).
    #[serde(flatten)]
    pub kind: EventKind,
    /// The case, or none for the desk's own events (`config_changed`, `rules_replaced`,
    /// `follow_ons_taken`).
    pub case: Option<CaseId>,
    /// The instant the change took effect.
    pub at: Instant,
    /// The case's version after the change (a rule's report carries it unchanged); none
    /// for the desk's own events.
    pub version: Option<u64>,
    /// Desk-wide sequence number, +1 per event, starting at 1.
    pub seq: u64,
}

impl Event {
    /// The event as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

/// Why a status changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusCause {
    /// An update named the status.
    Command,
    /// Assigning a New case moved it to open's default.
    Assignment,
    /// Unassigning moved it to new's default.
    Unassignment,
    /// The requester replied.
    RequesterReply,
    /// Its problem was resolved (a cascade).
    ProblemResolved,
    /// An automation rule.
    Rule,
    /// Its status was deleted and the case remapped.
    StatusDeleted,
}

/// Why a case closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseCause {
    /// It stayed resolved for the account's period.
    AutoClose,
    /// An automation closed it.
    Rule,
}

/// What an event says happened. JSON tags it as `type`.
#[allow(missing_docs)] // The fields are those of docs/events-and-errors.md's event table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A case was created: its whole view, before any trigger.
    Created { view: Box<Case> },
    /// A case was imported as it was given: its whole view.
    Imported { view: Box<Case> },
    /// The status changed.
    StatusChanged {
        from: StatusId,
        to: StatusId,
        from_category: Category,
        to_category: Category,
        cause: StatusCause,
        rule: Option<String>,
        problem: Option<CaseId>,
    },
    /// The case closed.
    Closed {
        cause: CloseCause,
        rule: Option<String>,
    },
    /// The assignee changed.
    AssigneeChanged {
        from: Option<String>,
        to: Option<String>,
    },
    /// The group changed.
    GroupChanged {
        from: Option<String>,
        to: Option<String>,
    },
    /// The priority changed.
    PriorityChanged {
        from: Option<Priority>,
        to: Option<Priority>,
    },
    /// The type changed.
    TypeChanged {
        from: Option<CaseType>,
        to: Option<CaseType>,
    },
    /// The subject changed.
    SubjectChanged {
        from: Option<String>,
        to: Option<String>,
    },
    /// The due date changed (and `overdue` was cleared).
    DueDateChanged {
        from: Option<Date>,
        to: Option<Date>,
    },
    /// Tags were added or removed.
    TagsChanged {
        added: Vec<String>,
        removed: Vec<String>,
    },
    /// The incident was linked to a problem.
    Linked { problem: CaseId },
    /// The incident was unlinked from a problem.
    Unlinked { problem: CaseId },
    /// The requester replied.
    RequesterReplied {},
    /// The case moved to the trash.
    Deleted {},
    /// The case came back from the trash.
    Restored {},
    /// The trashed case was removed for good; its id is never reused.
    Purged {},
    /// The task passed its due instant unresolved.
    TaskOverdue { due_at: Instant },
    /// The account configuration changed.
    ConfigChanged { changes: Box<ConfigChanges> },
    /// A rule fired on the case: its changes and notifications follow.
    RuleFired { rule: Arc<str>, kind: RuleKind },
    /// A rule failed on the case and changed nothing.
    RuleFailed {
        rule: Arc<str>,
        kind: RuleKind,
        code: ErrorCode,
        message: String,
        line: Option<u32>,
        column: Option<u32>,
    },
    /// A rule was disabled after too many consecutive limit failures, this case's last.
    RuleDisabled { rule: Arc<str>, kind: RuleKind },
    /// A message for the host to deliver.
    Notification {
        rule: Arc<str>,
        target: String,
        message: String,
    },
    /// The host replaced the account's rules (`case` is null): their declarations, in
    /// order. Firing counts and disabled rules start afresh.
    RulesReplaced { rules: Vec<serde_json::Value> },
    /// A routed desk recorded that `incident`, held by another desk, is linked to
    /// `problem` (the event's case), held here. The problem does not change.
    RemoteLinked { problem: CaseId, incident: CaseId },
    /// A routed desk forgot a link recorded by `remote_linked`. The problem does not
    /// change.
    RemoteUnlinked { problem: CaseId, incident: CaseId },
    /// A routed cascade asked the host to execute `resolve_by_problem {case: incident,
    /// problem}` (the event's case is the problem), at the event's instant.
    FollowOn { incident: CaseId, problem: CaseId },
    /// The host took the `count` follow-ons pending on the desk, all of them (`case` is
    /// null).
    FollowOnsTaken { count: u64 },
}

impl EventKind {
    /// The event's `type`, as JSON spells it.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Created { .. } => "created",
            EventKind::Imported { .. } => "imported",
            EventKind::StatusChanged { .. } => "status_changed",
            EventKind::Closed { .. } => "closed",
            EventKind::AssigneeChanged { .. } => "assignee_changed",
            EventKind::GroupChanged { .. } => "group_changed",
            EventKind::PriorityChanged { .. } => "priority_changed",
            EventKind::TypeChanged { .. } => "type_changed",
            EventKind::SubjectChanged { .. } => "subject_changed",
            EventKind::DueDateChanged { .. } => "due_date_changed",
            EventKind::TagsChanged { .. } => "tags_changed",
            EventKind::Linked { .. } => "linked",
            EventKind::Unlinked { .. } => "unlinked",
            EventKind::RequesterReplied {} => "requester_replied",
            EventKind::Deleted {} => "deleted",
            EventKind::Restored {} => "restored",
            EventKind::Purged {} => "purged",
            EventKind::TaskOverdue { .. } => "task_overdue",
            EventKind::ConfigChanged { .. } => "config_changed",
            EventKind::RuleFired { .. } => "rule_fired",
            EventKind::RuleFailed { .. } => "rule_failed",
            EventKind::RuleDisabled { .. } => "rule_disabled",
            EventKind::Notification { .. } => "notification",
            EventKind::RulesReplaced { .. } => "rules_replaced",
            EventKind::RemoteLinked { .. } => "remote_linked",
            EventKind::RemoteUnlinked { .. } => "remote_unlinked",
            EventKind::FollowOn { .. } => "follow_on",
            EventKind::FollowOnsTaken { .. } => "follow_ons_taken",
        }
    }

    /// Whether the event changes its case: false for what rules report about it
    /// (`rule_fired`, `rule_failed`, `rule_disabled`, `notification`) and for a routed
    /// desk's records about a problem (`remote_linked`, `remote_unlinked`, `follow_on`,
    /// `follow_ons_taken`), which neither bump its version nor its `updated_at`.
    pub fn changes_case(&self) -> bool {
        !matches!(
            self,
            EventKind::RuleFired { .. }
                | EventKind::RuleFailed { .. }
                | EventKind::RuleDisabled { .. }
                | EventKind::Notification { .. }
                | EventKind::RemoteLinked { .. }
                | EventKind::RemoteUnlinked { .. }
                | EventKind::FollowOn { .. }
                | EventKind::FollowOnsTaken { .. }
        )
    }
}

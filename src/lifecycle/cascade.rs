//! What resolving a problem does to its incidents (docs/lifecycle.md, Incidents and
//! problems).

use serde::{Deserialize, Serialize};

use crate::case::{Case, CaseId};
use crate::command::Command;
use crate::error::{Error, ErrorCode};
use crate::event::{EventKind, StatusCause};
use crate::status::{Category, Status};
use crate::time::Instant;

use super::{Change, Source, State, default_status, live_case, status_changed};

/// How a desk carries out the cascade of a resolved problem (docs/lifecycle.md, Local and
/// routed cascades).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cascade {
    /// The desk holds the problem's incidents and resolves them in the problem's own step:
    /// one atomic step, events in the order docs/lifecycle.md gives.
    #[default]
    Local,
    /// Cases are sharded across desks: resolving a problem emits one
    /// `resolve_by_problem` [`FollowOn`] command per linked incident (local or registered
    /// with [`crate::Desk::link_remote_incident`]), which the host routes to the desk that
    /// owns the incident. A link to a problem this desk does not hold is taken as validated
    /// by the host. ARCHITECTURE.md describes what each mode guarantees.
    Routed,
}

/// A command a desk asks its host to execute, on whichever desk owns `command.case()`.
///
/// It serializes as `{"at": ..., "command": {...}}`, the command in the JSON of
/// [`Command::from_json`], so a host can ship it to another shard.
///
/// # Example
/// ```
/// use caseflow::{Command, FollowOn};
/// let f = FollowOn {
///     at: "2026-03-02T09:00:00Z".parse().unwrap(),
///     command: Command::ResolveByProblem { case: 7, problem: 3 },
/// };
/// let json = serde_json::to_string(&f).unwrap();
/// assert_eq!(
///     json,
///     r#"{"at":"2026-03-02T09:00:00Z","command":{"op":"resolve_by_problem","case":7,"problem":3}}"#
/// );
/// assert_eq!(serde_json::from_str::<FollowOn>(&json).unwrap(), f);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowOn {
    /// The instant to execute it at: that of the step that caused it.
    pub at: Instant,
    /// The command (`resolve_by_problem`).
    pub command: Command,
}

/// The one rule of a cascade for one incident: linked to `problem`, neither resolved nor
/// closed nor trashed, it moves to `resolved` (resolved's default), cause
/// `problem_resolved`; the assignee requirement is waived. Anything else is untouched.
pub(crate) fn resolve_by_problem(
    incident: &Case,
    problem: CaseId,
    resolved: &Status,
) -> Option<EventKind> {
    let untouched = incident.closed
        || incident.deleted
        || incident.category == Category::Resolved
        || incident.problem != Some(problem);
    if untouched {
        return None;
    }
    Some(status_changed(
        incident,
        resolved,
        StatusCause::ProblemResolved,
        Source::Cascade(problem),
    ))
}

/// A routed `resolve_by_problem` command for one incident of this desk.
pub(super) fn decide_follow_on(
    state: &impl State,
    case: CaseId,
    problem: CaseId,
) -> Result<Vec<Change>, Error> {
    let incident = live_case(state, case)?;
    // Where the problem lives here, it must really be resolved; a problem on another desk
    // is vouched for by the host that routed the command.
    let unresolved = |p: &&Case| !p.closed && p.category != Category::Resolved;
    if let Some(p) = state.case(problem).filter(unresolved) {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            format!(
                "problem {} is not resolved: only its cascade resolves its incidents",
                p.id
            ),
        ));
    }
    let resolved = default_status(state, Category::Resolved);
    Ok(resolve_by_problem(incident, problem, resolved)
        .map(|kind| Change::of(case, vec![kind]))
        .into_iter()
        .collect())
}

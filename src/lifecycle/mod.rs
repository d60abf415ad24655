//! The lifecycle's rules (docs/cases.md and docs/lifecycle.md), as pure functions.
//!
//! Every decider reads the desk through [`State`] and returns the events a change causes,
//! or an error; none changes anything, so a refused change leaves nothing half done. The
//! desk (`crate::desk`) opens steps, asks these functions what happens, and folds the
//! answers in. Nothing here knows about steps, indexes or the deadline table.
//!
//! - `input`: the checks that need no state (`invalid_input`, first of all checks);
//! - `create`: new cases (`create`, `follow_up`);
//! - `change`: an edit of a case, whoever makes it (an agent's `update`, later a rule), and
//!   the requester's reply;
//! - `cascade`: what resolving a problem does to its incidents;
//! - `deadlines`: which deadlines a case waits for, and what each does when it fires;
//! - `import`: the consistency of an imported (or restored) view;
//! - `configure`: a configuration change and the cases a status deletion moves.

mod cascade;
mod change;
mod configure;
mod create;
pub(crate) mod deadlines;
mod import;
mod input;

pub(crate) use cascade::resolve_by_problem;
pub use cascade::{Cascade, FollowOn};
pub(crate) use change::{Edit, edit};
pub(crate) use import::{check_view, check_view_link, check_view_shape};
pub(crate) use input::{Input, check_input};

use crate::case::{Case, CaseId, CaseType};
use crate::command::Command;
use crate::config::Config;
use crate::error::{Error, ErrorCode};
use crate::event::{EventKind, StatusCause};
use crate::status::{Category, Status};
use crate::time::Instant;

/// What the deciders read of a desk.
pub(crate) trait State {
    /// The account configuration in force.
    fn config(&self) -> &Config;
    /// A case by id, trashed ones included.
    fn case(&self, id: CaseId) -> Option<&Case>;
    /// Whether any incident (closed, trashed or remote ones included) links to `problem`.
    fn has_incidents(&self, problem: CaseId) -> bool;
    /// Whether `id` names a case or a purged one: taken for good.
    fn id_taken(&self, id: CaseId) -> bool;
    /// The largest case id so far.
    fn last_id(&self) -> CaseId;
    /// How the desk carries out a cascade.
    fn cascade_mode(&self) -> Cascade;
    /// The cases holding `status` that are not closed, trashed ones included, ascending.
    fn open_holders(&self, status: &str) -> Vec<CaseId>;
}

/// Who or what makes a change. The edit lock binds agents only; the cause of a status
/// change and of a close follows from the source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Source<'a> {
    /// A host's command: an agent's `update`, a requester's reply, a `configure`.
    Agent,
    /// An automation rule, by name.
    Rule(&'a str),
    /// The cascade of this resolved problem (docs/lifecycle.md, Incidents and problems).
    Cascade(CaseId),
}

/// A `status_changed` of `case` to `to`: `cause` when an agent's command moved it, else
/// the cause its source gives.
pub(crate) fn status_changed(
    case: &Case,
    to: &Status,
    cause: StatusCause,
    source: Source<'_>,
) -> EventKind {
    let (cause, rule, problem) = match source {
        Source::Agent => (cause, None, None),
        Source::Rule(name) => (StatusCause::Rule, Some(name.to_owned()), None),
        Source::Cascade(problem) => (StatusCause::ProblemResolved, None, Some(problem)),
    };
    EventKind::StatusChanged {
        from: case.status.clone(),
        to: to.id.clone(),
        from_category: case.category,
        to_category: to.category,
        cause,
        rule,
        problem,
    }
}

/// The events one case (or the configuration, `case: None`) gets from one decision.
#[derive(Debug)]
pub(crate) struct Change {
    pub(crate) case: Option<CaseId>,
    pub(crate) kinds: Vec<EventKind>,
}

impl Change {
    pub(crate) fn of(case: CaseId, kinds: Vec<EventKind>) -> Change {
        Change {
            case: Some(case),
            kinds,
        }
    }
}

/// What a command decided: its changes, in order; the problem it resolved, whose cascade
/// (docs/lifecycle.md, Incidents and problems) the step carries out after the problem's own
/// changes and triggers; and whether the changed cases' triggers run (docs/rules.md,
/// Triggers: not after `import`, trash commands, configuration changes or an auto-close).
#[derive(Debug, Default)]
pub(crate) struct Decision {
    pub(crate) changes: Vec<Change>,
    pub(crate) resolved_problem: Option<CaseId>,
    pub(crate) triggers: bool,
}

impl From<Vec<Change>> for Decision {
    fn from(changes: Vec<Change>) -> Decision {
        Decision {
            changes,
            resolved_problem: None,
            triggers: false,
        }
    }
}

impl Decision {
    /// The same decision, running the changed cases' triggers.
    pub(crate) fn with_triggers(mut self) -> Decision {
        self.triggers = true;
        self
    }
}

/// Decides one command at `at`, whose stateless checks `input` passed.
pub(crate) fn decide(
    state: &impl State,
    at: Instant,
    command: &Command,
    input: &Input,
) -> Result<Decision, Error> {
    let triggers = matches!(
        command,
        Command::Create(_)
            | Command::Update(_)
            | Command::RequesterReply { .. }
            | Command::FollowUp { .. }
            | Command::ResolveByProblem { .. }
    );
    let decision = decide_changes(state, at, command, input)?;
    Ok(Decision {
        triggers,
        ..decision
    })
}

fn decide_changes(
    state: &impl State,
    at: Instant,
    command: &Command,
    input: &Input,
) -> Result<Decision, Error> {
    let changes = match command {
        Command::Create(c) => create::create(state, at, c, input),
        Command::Update(u) => {
            let case = open_case(state, u.case)?;
            if let Some(v) = u.expected_version.filter(|v| *v != case.version) {
                return Err(Error::new(
                    ErrorCode::VersionConflict,
                    format!("case {} is at version {}, not {v}", case.id, case.version),
                ));
            }
            return change::edit(state, case, &Edit::of_update(u, input), Source::Agent);
        }
        Command::ResolveByProblem { case, problem } => {
            cascade::decide_follow_on(state, *case, *problem)
        }
        Command::RequesterReply { case } => change::reply(state, *case),
        Command::Close { case } => {
            open_case(state, *case)?;
            Err(Error::new(
                ErrorCode::ManualCloseForbidden,
                format!("case {case} cannot be closed by hand: resolved cases close automatically"),
            ))
        }
        Command::FollowUp { case, id } => create::follow_up(state, at, *case, *id),
        Command::Import { view } => import::import(state, at, view),
        Command::Delete { case } => {
            let c = live_case(state, *case)?;
            if c.case_type == Some(CaseType::Problem) && state.has_incidents(*case) {
                return Err(Error::new(
                    ErrorCode::ProblemHasIncidents,
                    format!("problem {case} has linked incidents and cannot be deleted"),
                ));
            }
            Ok(vec![Change::of(*case, vec![EventKind::Deleted {}])])
        }
        Command::Restore { case } => {
            trashed_case(state, *case, "restored")?;
            Ok(vec![Change::of(*case, vec![EventKind::Restored {}])])
        }
        Command::Purge { case } => {
            trashed_case(state, *case, "purged")?;
            Ok(vec![Change::of(*case, vec![EventKind::Purged {}])])
        }
        Command::Advance {} => Ok(Vec::new()),
        Command::Configure(patch) => configure::configure(state, patch),
    };
    changes.map(Decision::from)
}

/// A case that exists and is not in the trash.
pub(crate) fn live_case(state: &impl State, id: CaseId) -> Result<&Case, Error> {
    state
        .case(id)
        .filter(|c| !c.deleted)
        .ok_or_else(|| Error::new(ErrorCode::CaseNotFound, format!("there is no case {id}")))
}

/// A case in the trash, for `restore` and `purge`.
fn trashed_case<'s>(state: &'s impl State, id: CaseId, verb: &str) -> Result<&'s Case, Error> {
    let case = state
        .case(id)
        .ok_or_else(|| Error::new(ErrorCode::CaseNotFound, format!("there is no case {id}")))?;
    if !case.deleted {
        return Err(Error::new(
            ErrorCode::InvalidTransition,
            format!("case {id} is not in the trash and cannot be {verb}"),
        ));
    }
    Ok(case)
}

/// A live case that is not closed.
pub(crate) fn open_case(state: &impl State, id: CaseId) -> Result<&Case, Error> {
    let case = live_case(state, id)?;
    if case.closed {
        return Err(Error::new(
            ErrorCode::CaseClosed,
            format!("case {id} is closed"),
        ));
    }
    Ok(case)
}

fn default_status(state: &impl State, category: Category) -> &Status {
    state.config().catalog.default_status(category)
}

/// A move of `case` into `to` that leaves `resolved` reopens it: refused when `reopens`
/// could not count it (`limit_exceeded`).
pub(crate) fn check_reopen(case: &Case, to: Category) -> Result<(), Error> {
    if case.category == Category::Resolved && to != Category::Resolved && case.reopens == u32::MAX {
        return Err(Error::new(
            ErrorCode::LimitExceeded,
            format!(
                "case {} was reopened {} times, the most a case can count",
                case.id,
                u32::MAX
            ),
        ));
    }
    Ok(())
}

/// The id of a new case: the one requested, unless taken, or the largest so far + 1.
fn new_id(state: &impl State, requested: Option<CaseId>) -> Result<CaseId, Error> {
    match requested {
        Some(id) if state.id_taken(id) => Err(Error::new(
            ErrorCode::CaseExists,
            format!("case id {id} is taken"),
        )),
        Some(id) => Ok(id),
        None => state.last_id().checked_add(1).ok_or_else(|| {
            Error::new(
                ErrorCode::LimitExceeded,
                "no case id is left after the largest one",
            )
        }),
    }
}

/// An incident `incident` may link to `problem` (docs/lifecycle.md, Incidents and
/// problems).
pub(crate) fn check_link_target(
    state: &impl State,
    incident: CaseId,
    problem: CaseId,
) -> Result<(), Error> {
    let not_a_problem = || {
        Error::new(
            ErrorCode::NotAProblem,
            format!("case {problem} is not a problem"),
        )
    };
    if problem == incident {
        return Err(not_a_problem());
    }
    if state.cascade_mode() == Cascade::Routed && state.case(problem).is_none() {
        return Ok(()); // the problem lives on another desk; the host validated the link
    }
    let target = live_case(state, problem)?;
    if target.case_type != Some(CaseType::Problem) {
        return Err(not_a_problem());
    }
    if target.closed || target.category == Category::Resolved {
        return Err(Error::new(
            ErrorCode::ProblemResolved,
            format!("problem {problem} is resolved or closed"),
        ));
    }
    Ok(())
}

/// The rules of docs/lifecycle.md (New and assignment, Moves between categories) for a case
/// moving from `from` (none at creation) to category `to`, assigned or not afterwards.
fn check_transition(
    config: &Config,
    from: Option<Category>,
    to: Category,
    assigned: bool,
) -> Result<(), Error> {
    use crate::config::NewStatusPolicy;
    let refuse = |why: &str| Err(Error::new(ErrorCode::InvalidTransition, why.to_owned()));
    if to == Category::New && assigned {
        return refuse("a case with an assignee cannot be in a new status");
    }
    if to == Category::Resolved && from != Some(Category::Resolved) && !assigned {
        return Err(Error::new(
            ErrorCode::AssigneeRequired,
            "resolving a case needs an assignee",
        ));
    }
    match config.new_status {
        NewStatusPolicy::NewIffUnassigned
            if !assigned && !matches!(to, Category::New | Category::Resolved) =>
        {
            refuse(&format!(
                "an unassigned case cannot be in category {to} (policy new_iff_unassigned)"
            ))
        }
        NewStatusPolicy::NewOnlyAtStart
            if to == Category::New && from.is_some_and(|f| f != Category::New) =>
        {
            refuse("a case that left new never returns to it (policy new_only_at_start)")
        }
        _ => Ok(()),
    }
}

/// Which of the assignee and the group a change names (with a new value).
#[derive(Clone, Copy, Debug)]
struct Named {
    assignee: bool,
    group: bool,
}

/// The group directory's rules (docs/cases.md, The group directory) for the `assignee` and
/// `group` a case has after a change: the agent and the group the change names must be
/// known (one it leaves alone may have left the directory since), and when it names either,
/// an assignee must be a member of the group when both are set.
fn check_directory(
    config: &Config,
    assignee: Option<&str>,
    group: Option<&str>,
    named: Named,
) -> Result<(), Error> {
    let Some(groups) = &config.groups else {
        return Ok(());
    };
    if !named.assignee && !named.group {
        return Ok(());
    }
    let group_named = group.filter(|_| named.group);
    if let Some(g) = group_named.filter(|g| !groups.contains_key(*g)) {
        return Err(Error::new(
            ErrorCode::UnknownGroup,
            format!("there is no group `{g}`"),
        ));
    }
    let assignee_named = assignee.filter(|_| named.assignee);
    if let Some(a) = assignee_named.filter(|a| !groups.values().any(|m| m.contains(*a))) {
        return Err(Error::new(
            ErrorCode::UnknownAgent,
            format!("there is no agent `{a}`"),
        ));
    }
    if let (Some(a), Some(g)) = (assignee, group)
        && !groups.get(g).is_some_and(|m| m.contains(a))
    {
        return Err(Error::new(
            ErrorCode::AssigneeNotInGroup,
            format!("agent `{a}` is not a member of group `{g}`"),
        ));
    }
    Ok(())
}

fn not_an_incident(id: CaseId) -> Error {
    Error::new(
        ErrorCode::NotAnIncident,
        format!("case {id} is not an incident: only incidents link to problems"),
    )
}

fn due_date_requires_task() -> Error {
    Error::new(
        ErrorCode::DueDateRequiresTask,
        "only tasks carry a due date",
    )
}

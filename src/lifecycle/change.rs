//! A change of a case's fields, whoever makes it (docs/lifecycle.md), and the
//! requester's reply.

use crate::case::{Case, CaseId, CaseType, Priority, Tags, check_tag_count};
use crate::command::Update;
use crate::config::NewStatusPolicy;
use crate::error::{Error, ErrorCode};
use crate::event::{EventKind, StatusCause};
use crate::status::Category;
use crate::time::Date;

use super::{
    Change, Decision, Input, Named, Source, State, check_directory, check_link_target,
    check_reopen, check_transition, default_status, due_date_requires_task, not_an_incident,
    open_case, status_changed,
};

/// The fields a change names (`None`: left alone; `Some(None)`: cleared), with its tags
/// already normalized. An agent's `update` is one; a rule's actions will be another.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Edit<'a> {
    pub(crate) status: Option<&'a str>,
    pub(crate) priority: Option<Option<Priority>>,
    pub(crate) case_type: Option<Option<CaseType>>,
    pub(crate) subject: Option<Option<&'a str>>,
    pub(crate) assignee: Option<Option<&'a str>>,
    pub(crate) group: Option<Option<&'a str>>,
    pub(crate) problem: Option<Option<CaseId>>,
    pub(crate) due_date: Option<Option<Date>>,
    pub(crate) add_tags: &'a Tags,
    pub(crate) remove_tags: &'a Tags,
}

impl<'a> Edit<'a> {
    /// The edit an `update` command names, with the tags its input check normalized.
    pub(crate) fn of_update(u: &'a Update, input: &'a Input) -> Edit<'a> {
        let text = |v: &'a Option<Option<String>>| v.as_ref().map(|v| v.as_deref());
        Edit {
            status: u.status.as_deref(),
            priority: u.priority,
            case_type: u.case_type,
            subject: text(&u.subject),
            assignee: text(&u.assignee),
            group: text(&u.group),
            problem: u.problem,
            due_date: u.due_date,
            add_tags: &input.tags,
            remove_tags: &input.untags,
        }
    }
}

/// The events of `edit` on `case` (live and not closed), made by `source`. Every check
/// applies to the case as it would be after the whole edit (docs/lifecycle.md, Commands).
pub(crate) fn edit(
    state: &impl State,
    case: &Case,
    edit: &Edit<'_>,
    source: Source<'_>,
) -> Result<Decision, Error> {
    let config = state.config();
    let new_type = edit.case_type.unwrap_or(case.case_type);
    let new_priority = edit.priority.unwrap_or(case.priority);
    // A text field changes only when named with another value; unnamed ones are not read.
    let subject_change = named(edit.subject, case.subject.as_deref());
    let assignee_change = named(edit.assignee, case.assignee.as_deref());
    let group_change = named(edit.group, case.group.as_deref());
    let new_assignee = assignee_change.unwrap_or(case.assignee.as_deref());
    let new_group = group_change.unwrap_or(case.group.as_deref());
    let is_incident = new_type == Some(CaseType::Incident);
    let new_problem = match edit.problem {
        Some(Some(_)) if !is_incident => return Err(not_an_incident(case.id)),
        Some(p) => p,
        None => case.problem.filter(|_| is_incident),
    };
    let is_task = new_type == Some(CaseType::Task);
    let new_due = match edit.due_date {
        Some(Some(_)) if !is_task => return Err(due_date_requires_task()),
        Some(d) => d,
        None => case.due_date.filter(|_| is_task),
    };
    let assignee_changed = assignee_change.is_some();
    let group_changed = group_change.is_some();
    let named = Named {
        assignee: assignee_changed,
        group: group_changed,
    };
    check_directory(config, new_assignee, new_group, named)?;
    if new_type != case.case_type
        && case.case_type == Some(CaseType::Problem)
        && state.has_incidents(case.id)
    {
        return Err(Error::new(
            ErrorCode::ProblemHasIncidents,
            format!(
                "problem {} has linked incidents and cannot change type",
                case.id
            ),
        ));
    }
    if let Some(p) = new_problem.filter(|p| Some(*p) != case.problem) {
        check_link_target(state, case.id, p)?;
    }
    // Most edits name no tags: nothing to filter.
    let tags_where = |tags: &Tags, present: bool| -> Vec<String> {
        if tags.is_empty() {
            return Vec::new();
        }
        let keep = |t: &&str| case.tags.contains(t) == present;
        tags.iter().filter(keep).map(str::to_owned).collect()
    };
    let added = tags_where(edit.add_tags, false);
    let removed = tags_where(edit.remove_tags, true);
    // Only an edit that adds tags can pass the limit (counting reads the case's tags).
    if !added.is_empty() {
        check_tag_count(case.tags.len() + added.len() - removed.len())?;
    }

    // The status: as named (even when unchanged, it is kept), or moved by assignment.
    let catalog = &config.catalog;
    let target = match edit.status {
        Some(s) if case.status == *s => catalog.get(s).map(|st| (st, StatusCause::Command)),
        Some(s) => Some((catalog.settable(s)?, StatusCause::Command)),
        None if assignee_changed && case.category == Category::New && new_assignee.is_some() => {
            Some((
                default_status(state, Category::Open),
                StatusCause::Assignment,
            ))
        }
        None if assignee_changed
            && new_assignee.is_none()
            && config.new_status == NewStatusPolicy::NewIffUnassigned
            && matches!(
                case.category,
                Category::Open | Category::Pending | Category::OnHold
            ) =>
        {
            Some((
                default_status(state, Category::New),
                StatusCause::Unassignment,
            ))
        }
        None => None,
    };
    let to_category = target.map_or(case.category, |(s, _)| s.category);
    // Only a real move is judged: naming the current status is no change
    // (docs/lifecycle.md, Commands), and a policy change never rewrites cases, so a case
    // left from an earlier policy may be named as it is. A move of the assignee judges the
    // resulting pair, kept status included.
    let status_moves = target.is_some_and(|(s, _)| s.id != case.status);
    if status_moves || assignee_changed {
        check_transition(
            config,
            Some(case.category),
            to_category,
            new_assignee.is_some(),
        )?;
    }

    let mut kinds = Vec::new();
    if new_type != case.case_type {
        kinds.push(EventKind::TypeChanged {
            from: case.case_type,
            to: new_type,
        });
    }
    if new_problem != case.problem {
        if let Some(problem) = case.problem {
            kinds.push(EventKind::Unlinked { problem });
        }
        if let Some(problem) = new_problem {
            kinds.push(EventKind::Linked { problem });
        }
    }
    let owned = |s: Option<&str>| s.map(str::to_owned);
    if let Some(to) = subject_change {
        kinds.push(EventKind::SubjectChanged {
            from: case.subject.clone(),
            to: owned(to),
        });
    }
    if new_priority != case.priority {
        kinds.push(EventKind::PriorityChanged {
            from: case.priority,
            to: new_priority,
        });
    }
    if group_changed {
        kinds.push(EventKind::GroupChanged {
            from: owned(case.group.as_deref()),
            to: owned(new_group),
        });
    }
    if assignee_changed {
        kinds.push(EventKind::AssigneeChanged {
            from: owned(case.assignee.as_deref()),
            to: owned(new_assignee),
        });
    }
    if new_due != case.due_date {
        kinds.push(EventKind::DueDateChanged {
            from: case.due_date,
            to: new_due,
        });
    }
    // Edit lock: an agent's change of a resolved case that stays resolved changes only its
    // status and tags. Rules are not locked.
    if source == Source::Agent
        && case.category == Category::Resolved
        && to_category == Category::Resolved
        && !kinds.is_empty()
    {
        return Err(Error::new(
            ErrorCode::CaseResolved,
            format!(
                "case {} is resolved: only its status and tags may change unless it is reopened",
                case.id
            ),
        ));
    }
    if !added.is_empty() || !removed.is_empty() {
        kinds.push(EventKind::TagsChanged { added, removed });
    }
    let mut decision = Decision::default();
    if let Some((status, cause)) = target.filter(|(s, _)| s.id != case.status) {
        check_reopen(case, status.category)?;
        kinds.push(status_changed(case, status, cause, source));
        let resolves = status.category == Category::Resolved && case.category != Category::Resolved;
        if resolves && new_type == Some(CaseType::Problem) {
            decision.resolved_problem = Some(case.id);
        }
    }
    if !kinds.is_empty() {
        decision.changes.push(Change::of(case.id, kinds));
    }
    Ok(decision)
}

/// The requester wrote again: `replied_at`, and on `pending`, `on_hold` or `resolved` a
/// move to open's default (new's, for an unassigned case under `new_iff_unassigned`).
pub(super) fn reply(state: &impl State, id: CaseId) -> Result<Vec<Change>, Error> {
    let case = open_case(state, id)?;
    let mut kinds = vec![EventKind::RequesterReplied {}];
    if matches!(
        case.category,
        Category::Pending | Category::OnHold | Category::Resolved
    ) {
        let back_to_new = case.assignee.is_none()
            && state.config().new_status == NewStatusPolicy::NewIffUnassigned;
        let to = default_status(
            state,
            if back_to_new {
                Category::New
            } else {
                Category::Open
            },
        );
        check_reopen(case, to.category)?;
        kinds.push(status_changed(
            case,
            to,
            StatusCause::RequesterReply,
            Source::Agent,
        ));
    }
    Ok(vec![Change::of(id, kinds)])
}

/// The new value of a text field an edit names with another value than `current`.
fn named<'e>(field: Option<Option<&'e str>>, current: Option<&str>) -> Option<Option<&'e str>> {
    field.filter(|v| *v != current)
}

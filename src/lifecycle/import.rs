//! The consistency of an imported view (docs/lifecycle.md, Import), which a snapshot's case
//! lines pass too.

use crate::case::{
    Case, CaseType, MAX_COUNTER, MAX_REOPENS, check_name, check_subject, check_tag_count, is_tag,
};
use crate::command::{Derived, Import};
use crate::config::{Config, NewStatusPolicy};
use crate::error::Error;
use crate::event::EventKind;
use crate::status::Category;
use crate::time::Instant;

use super::{Cascade, Change, State, new_id};

/// An `import` whose view passed `check_view_shape` (the input check): the view, checked
/// and completed, inserted as it is; an incident's link in the same step.
pub(super) fn import(state: &impl State, at: Instant, view: &Import) -> Result<Vec<Change>, Error> {
    let mut case = (*view.case).clone();
    check_view(state.config(), &mut case, &view.given, at)?;
    new_id(state, Some(case.id))?;
    check_view_link(state, &case)?;
    let (id, problem) = (case.id, case.problem);
    let mut kinds = vec![EventKind::Imported {
        view: Box::new(case),
    }];
    kinds.extend(problem.map(|problem| EventKind::Linked { problem }));
    Ok(vec![Change::of(id, kinds)])
}

/// `invalid_input` naming the view's `field`.
fn bad(field: &str, why: String) -> Error {
    Error::input(format!("view: {field}: {why}"))
}

/// The checks of an imported view that need neither the desk nor the instant: ids, version,
/// names, subject, tags. They are input checks (docs/lifecycle.md, Check order: before
/// `stale_time`); `check_view` does the rest.
pub(crate) fn check_view_shape(case: &Case) -> Result<(), Error> {
    if case.id == 0 {
        return Err(bad("id", "case ids start at 1".to_owned()));
    }
    if case.version == 0 {
        return Err(bad("version", "versions start at 1".to_owned()));
    }
    if case.version > MAX_COUNTER {
        return Err(bad(
            "version",
            format!("must be at most {MAX_COUNTER} (2^53 - 1), so that later steps can count"),
        ));
    }
    if case.reopens > MAX_REOPENS {
        return Err(bad(
            "reopens",
            format!("must be at most {MAX_REOPENS}, so that the next reopen can count"),
        ));
    }
    check_name("submitter", &case.submitter)
        .map_err(|e| bad("submitter", e.message().to_owned()))?;
    check_name("requester", &case.requester)
        .map_err(|e| bad("requester", e.message().to_owned()))?;
    for (field, v) in [("assignee", &case.assignee), ("group", &case.group)] {
        if let Some(v) = v {
            check_name(field, v).map_err(|e| bad(field, e.message().to_owned()))?;
        }
    }
    if let Some(s) = &case.subject {
        check_subject(s).map_err(|e| bad("subject", e.message().to_owned()))?;
    }
    if !case.tags.iter().all(is_tag) {
        return Err(bad(
            "tags",
            "each tag is 1 to 64 of a-z 0-9 _ : . / -".to_owned(),
        ));
    }
    check_tag_count(case.tags.len()).map_err(|e| bad("tags", e.message().to_owned()))
}

/// An imported view that passed `check_view_shape`, checked for consistency with
/// docs/lifecycle.md and the configuration, and completed with its derived fields; every
/// violation is `invalid_input` naming the field.
pub(crate) fn check_view(
    config: &Config,
    case: &mut Case,
    given: &Derived,
    at: Instant,
) -> Result<(), Error> {
    let status = config
        .catalog
        .get(&case.status)
        .filter(|s| !s.deleted || case.closed)
        .ok_or_else(|| {
            bad(
                "status",
                format!("`{}` is not a status of this account", case.status),
            )
        })?;
    case.category = status.category;
    case.status = status.id.clone(); // share the catalog's id
    if given.category.is_some_and(|c| c != case.category) {
        return Err(bad(
            "category",
            format!("status `{}` is in category {}", case.status, case.category),
        ));
    }
    let resolved = case.category == Category::Resolved;
    let assigned = case.assignee.is_some();
    let policy_holds = resolved
        || match config.new_status {
            NewStatusPolicy::NewIffUnassigned => (case.category == Category::New) != assigned,
            NewStatusPolicy::NewOnlyAtStart => case.category != Category::New || !assigned,
        };
    if !policy_holds {
        return Err(bad(
            "status",
            format!(
                "category {} with assignee {:?} breaks the new_status policy",
                case.category, case.assignee
            ),
        ));
    }
    let pairs = [
        (
            "closed",
            case.closed && !resolved,
            "only a case in resolved can be closed",
        ),
        (
            "closed_at",
            case.closed != case.closed_at.is_some(),
            "set exactly when the case is closed",
        ),
        (
            "resolved_at",
            resolved != case.resolved_at.is_some(),
            "set exactly when the case is in resolved",
        ),
        (
            "assigned_at",
            assigned != case.assigned_at.is_some(),
            "set exactly when the case has an assignee",
        ),
        (
            "problem",
            case.problem.is_some() && case.case_type != Some(CaseType::Incident),
            "only incidents link to problems",
        ),
        (
            "due_date",
            case.due_date.is_some() && case.case_type != Some(CaseType::Task),
            "only tasks carry a due date",
        ),
        (
            "overdue",
            case.overdue && case.due_date.is_none(),
            "only a task with a due date is overdue",
        ),
        (
            "deleted",
            given.deleted == Some(true),
            "an imported case is not in the trash",
        ),
    ];
    if let Some((field, _, why)) = pairs.iter().find(|(_, broken, _)| *broken) {
        return Err(bad(field, (*why).to_owned()));
    }
    let computed = case.due_date.map(|d| d.noon_in(config.timezone));
    case.due_at = match given.due_at {
        Some(given) if case.closed => given,
        Some(given) if given != computed => {
            let computed = computed.map_or("none".to_owned(), |t| t.to_string());
            return Err(bad(
                "due_at",
                format!("12:00 on the due date here is {computed}"),
            ));
        }
        _ => computed,
    };
    let instants = [
        ("created_at", Some(case.created_at)),
        ("updated_at", Some(case.updated_at)),
        ("status_changed_at", Some(case.status_changed_at)),
        ("category_changed_at", Some(case.category_changed_at)),
        ("assigned_at", case.assigned_at),
        ("resolved_at", case.resolved_at),
        ("replied_at", case.replied_at),
        ("closed_at", case.closed_at),
    ];
    for (field, t) in instants {
        match t {
            Some(t) if t > at => return Err(bad(field, format!("{t} is after {at}"))),
            Some(t) if t < case.created_at => {
                return Err(bad(
                    field,
                    format!("{t} is before created_at {}", case.created_at),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// An imported incident's problem must be a problem of this desk (or, on a routed
/// desk, one the host vouches for).
pub(crate) fn check_view_link(state: &impl State, case: &Case) -> Result<(), Error> {
    let Some(p) = case.problem else { return Ok(()) };
    let held = state.case(p);
    let routed_away = state.cascade_mode() == Cascade::Routed && held.is_none();
    let is_problem = held.is_some_and(|c| c.case_type == Some(CaseType::Problem));
    if routed_away || is_problem {
        return Ok(());
    }
    Err(Error::input(format!(
        "view: problem: case {p} is not a problem of this desk"
    )))
}

//! New cases: `create` and `follow_up` (docs/lifecycle.md: The status at creation,
//! Follow-ups).

use crate::case::{Case, CaseId, CaseType, Name};
use crate::command::Create;
use crate::error::{Error, ErrorCode};
use crate::event::EventKind;
use crate::status::Category;
use crate::time::Instant;

use super::{
    Change, Input, Named, State, check_directory, check_link_target, check_transition,
    default_status, due_date_requires_task, new_id, not_an_incident,
};

pub(super) fn create(
    state: &impl State,
    at: Instant,
    c: &Create,
    input: &Input,
) -> Result<Vec<Change>, Error> {
    let config = state.config();
    let id = new_id(state, c.id)?;
    let named = Named {
        assignee: true,
        group: true,
    };
    check_directory(config, c.assignee.as_deref(), c.group.as_deref(), named)?;
    if c.due_date.is_some() && c.case_type != Some(CaseType::Task) {
        return Err(due_date_requires_task());
    }
    if let Some(p) = c.problem {
        if c.case_type != Some(CaseType::Incident) {
            return Err(not_an_incident(id));
        }
        check_link_target(state, id, p)?;
    }
    let assigned = c.assignee.is_some();
    let status = match &c.status {
        Some(s) => config.catalog.settable(s)?,
        None if assigned => default_status(state, Category::Open),
        None => default_status(state, Category::New),
    };
    check_transition(config, None, status.category, assigned)?;
    let submitter = Name::from(c.submitter.as_str());
    let requester = c.requester.as_deref().map_or(submitter.clone(), Name::from);
    let mut view = Case::new(id, at, status, submitter, requester);
    view.case_type = c.case_type;
    view.subject.clone_from(&c.subject);
    view.priority = c.priority;
    view.assignee = c.assignee.as_deref().map(Name::from);
    view.assigned_at = c.assignee.as_ref().map(|_| at);
    view.group = c.group.as_deref().map(Name::from);
    view.problem = c.problem;
    view.due_date = c.due_date;
    view.refresh_due_at(config.timezone);
    view.tags = input.tags.clone();
    view.channel = c.channel.unwrap_or_default();
    let mut kinds = vec![EventKind::Created {
        view: Box::new(view),
    }];
    if let Some(problem) = c.problem {
        kinds.push(EventKind::Linked { problem });
    }
    Ok(vec![Change::of(id, kinds)])
}

/// A new case in new's default following up the closed case `of`, copying its requester,
/// submitter, subject, tags and channel.
pub(super) fn follow_up(
    state: &impl State,
    at: Instant,
    of: CaseId,
    id: Option<CaseId>,
) -> Result<Vec<Change>, Error> {
    let closed = super::live_case(state, of)?;
    if !closed.closed {
        return Err(Error::new(
            ErrorCode::CaseNotClosed,
            format!("case {of} is not closed"),
        ));
    }
    let id = new_id(state, id)?;
    let status = default_status(state, Category::New);
    let mut view = Case::new(
        id,
        at,
        status,
        closed.submitter.clone(),
        closed.requester.clone(),
    );
    view.subject.clone_from(&closed.subject);
    view.tags = closed.tags.clone();
    view.channel = closed.channel;
    view.follow_up_of = Some(of);
    Ok(vec![Change::of(
        id,
        vec![EventKind::Created {
            view: Box::new(view),
        }],
    )])
}

//! The checks that need no state: shapes, lengths, tags, an imported view's ids and names
//! (`invalid_input`). They come first of all checks (docs/lifecycle.md, Check order),
//! before the desk's time is looked at.

use crate::case::{Tags, check_name, check_subject, check_tag_count, normalize_tags};
use crate::command::Command;
use crate::error::Error;

use super::{Cascade, check_view_shape};

/// What the stateless checks hand on to the deciders: the command's tags, normalized
/// once (lowercased, sorted, without duplicates).
#[derive(Debug, Default)]
pub(crate) struct Input {
    /// `create`: the case's tags; `update`: the tags to add.
    pub(crate) tags: Tags,
    /// `update`: the tags to remove.
    pub(crate) untags: Tags,
}

/// Checks a command's shape and normalizes its tags. `cascade` is the desk's mode, fixed
/// for its life: `resolve_by_problem` is a routed desk's command only.
pub(crate) fn check_input(command: &Command, cascade: Cascade) -> Result<Input, Error> {
    let zero = |field: &str| Error::input(format!("{field}: case ids start at 1"));
    let mut input = Input::default();
    match command {
        Command::Create(c) => {
            if c.id == Some(0) {
                return Err(zero("id"));
            }
            check_name("submitter", &c.submitter)?;
            for (field, v) in [
                ("requester", &c.requester),
                ("assignee", &c.assignee),
                ("group", &c.group),
            ] {
                if let Some(v) = v {
                    check_name(field, v)?;
                }
            }
            if let Some(s) = &c.subject {
                check_subject(s)?;
            }
            input.tags = normalize_tags("tags", &c.tags)?;
            check_tag_count(input.tags.len())?;
        }
        Command::Update(u) => {
            for (field, v) in [("assignee", &u.assignee), ("group", &u.group)] {
                if let Some(Some(v)) = v {
                    check_name(field, v)?;
                }
            }
            if let Some(Some(s)) = &u.subject {
                check_subject(s)?;
            }
            input.tags = normalize_tags("add_tags", &u.add_tags)?;
            input.untags = normalize_tags("remove_tags", &u.remove_tags)?;
            if let Some(t) = input.tags.iter().find(|t| input.untags.contains(t)) {
                return Err(Error::input(format!("tag `{t}` is both added and removed")));
            }
        }
        Command::FollowUp { id: Some(0), .. } => return Err(zero("id")),
        Command::Import { view } => check_view_shape(&view.case)?,
        // Only the routed cascade's follow-on may waive the assignee requirement: a local
        // desk resolves incidents in the problem's own step (docs/lifecycle.md, Incidents
        // and problems).
        Command::ResolveByProblem { .. } if cascade == Cascade::Local => {
            return Err(Error::input(
                "resolve_by_problem is only for routed desks: a local desk resolves incidents in their problem's step",
            ));
        }
        _ => {}
    }
    Ok(input)
}

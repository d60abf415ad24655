//! The deadline policy (docs/lifecycle.md: Closing, Task due dates, Time and steps): which
//! deadlines a case waits for, and what each does when it fires. The desk's deadline table
//! holds the instants.

use crate::case::Case;
use crate::config::Config;
use crate::event::{CloseCause, EventKind};
use crate::status::Category;
use crate::time::Instant;

/// What a deadline does when it fires. The order is the firing order at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum DeadlineKind {
    /// A resolved case closes.
    AutoClose,
    /// A task becomes overdue.
    Overdue,
}

impl DeadlineKind {
    pub(crate) const ALL: [DeadlineKind; 2] = [DeadlineKind::AutoClose, DeadlineKind::Overdue];
}

/// The deadlines `case` waits for at `at`, indexed by `DeadlineKind as usize`: a case in
/// `resolved` closes at `resolved_at` plus the period; a task that is not resolved and not
/// yet overdue goes overdue at `due_at`. A closed or trashed case waits for nothing. A
/// deadline already past fires at `at`, right after the step that armed it.
pub(crate) fn wanted(case: &Case, config: &Config, at: Instant) -> [Option<Instant>; 2] {
    if case.closed || case.deleted {
        return [None, None];
    }
    let resolved = case.category == Category::Resolved;
    let close = case
        .resolved_at
        .filter(|_| resolved)
        .map(|r| r.plus_seconds(config.auto_close_seconds()).max(at));
    let overdue = case
        .due_at
        .filter(|_| !resolved && !case.overdue)
        .map(|d| d.max(at));
    [close, overdue]
}

/// Whether an event of this kind can change what its case waits for: `wanted` reads the
/// category, `resolved_at`, `due_at`, `overdue`, `closed` and `deleted`, and only these
/// events change them (a type change may clear the due date). The desk asks `wanted` again
/// after these only.
pub(crate) fn may_move(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Created { .. }
            | EventKind::Imported { .. }
            | EventKind::StatusChanged { .. }
            | EventKind::Closed { .. }
            | EventKind::TypeChanged { .. }
            | EventKind::DueDateChanged { .. }
            | EventKind::TaskOverdue { .. }
            | EventKind::Deleted {}
            | EventKind::Restored {}
            | EventKind::Purged {}
    )
}

/// What a deadline of `kind` does to `case` when it fires.
pub(crate) fn fire(case: &Case, kind: DeadlineKind) -> Option<EventKind> {
    match kind {
        DeadlineKind::AutoClose => Some(EventKind::Closed {
            cause: CloseCause::AutoClose,
            rule: None,
        }),
        DeadlineKind::Overdue => case.due_at.map(|due_at| EventKind::TaskOverdue { due_at }),
    }
}

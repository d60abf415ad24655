//! The deadline table: every timed thing a desk waits for, ordered by instant.
//!
//! A deadline is data, like the timers of a sans-IO protocol engine: the desk arms and
//! disarms them as cases change, `next()` tells a host when to call again, and advancing
//! time pops them in order. Nothing here scans cases.

use std::collections::BTreeSet;

use crate::case::CaseId;
use crate::ids::IdMap;
use crate::time::Instant;

/// What a deadline does when it fires. The order is the firing order at one instant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum DeadlineKind {
    /// A resolved case closes.
    AutoClose,
    /// A task becomes overdue.
    Overdue,
}

/// Deadlines by instant (to pop) and by case (to re-arm and disarm).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Deadlines {
    queue: BTreeSet<(Instant, DeadlineKind, CaseId)>,
    /// Per case, the instant each kind is armed at (indexed by `DeadlineKind as usize`).
    armed: IdMap<CaseId, [Option<Instant>; 2]>,
}

impl Deadlines {
    /// Arms (`Some`) or disarms (`None`) one case's deadline of one kind.
    pub(crate) fn set(&mut self, case: CaseId, kind: DeadlineKind, when: Option<Instant>) {
        let slot = kind as usize;
        let old = match (self.armed.get_mut(&case), when) {
            (Some(armed), _) => {
                let old = std::mem::replace(&mut armed[slot], when);
                if *armed == [None, None] {
                    self.armed.remove(&case);
                }
                old
            }
            (None, None) => None,
            (None, Some(_)) => {
                let mut armed = [None, None];
                armed[slot] = when;
                self.armed.insert(case, armed);
                None
            }
        };
        if old == when {
            return;
        }
        if let Some(t) = old {
            self.queue.remove(&(t, kind, case));
        }
        if let Some(t) = when {
            self.queue.insert((t, kind, case));
        }
    }

    /// The earliest armed deadline.
    pub(crate) fn first(&self) -> Option<(Instant, DeadlineKind, CaseId)> {
        self.queue.first().copied()
    }

    /// The cases with a deadline of this kind armed (in no particular order).
    pub(crate) fn cases_with(&self, kind: DeadlineKind) -> impl Iterator<Item = CaseId> + '_ {
        self.armed
            .iter()
            .filter(move |(_, armed)| armed[kind as usize].is_some())
            .map(|(c, _)| *c)
    }

    /// How many deadlines are armed.
    pub(crate) fn len(&self) -> usize {
        self.queue.len()
    }
}

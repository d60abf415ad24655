//! The deadline table: every timed thing a desk waits for, ordered by instant.
//!
//! A deadline is data, like the timers of a sans-IO protocol engine: the desk arms and
//! disarms them as cases change, `first()` (behind `Desk::next_deadline`) tells a host
//! when to call again, and advancing time pops them in order. Nothing here scans cases.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::collections::hash_map::Entry;

use crate::case::CaseId;
use crate::ids::IdMap;
use crate::lifecycle::deadlines::DeadlineKind;
use crate::time::Instant;

/// Deadlines by case (the truth: re-arm and disarm) and by instant (a min-heap to pop).
///
/// Disarming leaves the heap entry in place: an entry is live only while `armed` still
/// holds its instant, and every change pops dead entries off the top, so the top is always
/// the earliest live deadline. Arming at a later instant than all others (the usual case:
/// `resolved_at` + the period) is an O(1) push, which keeps a cascade's thousands of new
/// deadlines cheap; the heap is rebuilt when dead entries outnumber live ones.
#[derive(Clone, Debug, Default)]
pub(crate) struct Deadlines {
    heap: BinaryHeap<Reverse<(Instant, DeadlineKind, CaseId)>>,
    /// Per case, the instant each kind is armed at (indexed by `DeadlineKind as usize`).
    armed: IdMap<CaseId, [Option<Instant>; 2]>,
    /// How many deadlines are armed.
    live: usize,
}

impl PartialEq for Deadlines {
    /// The same deadlines armed, whatever dead entries the heaps hold.
    fn eq(&self, other: &Deadlines) -> bool {
        self.armed == other.armed
    }
}

impl Eq for Deadlines {}

impl Deadlines {
    /// Sets one case's deadlines, indexed by `DeadlineKind as usize`: `Some` arms, `None`
    /// disarms. One lookup when nothing changes (most steps).
    pub(crate) fn set(&mut self, case: CaseId, want: [Option<Instant>; 2]) {
        let old = match self.armed.entry(case) {
            Entry::Occupied(mut slot) => {
                if *slot.get() == want {
                    return;
                }
                if want == [None, None] {
                    slot.remove()
                } else {
                    std::mem::replace(slot.get_mut(), want)
                }
            }
            Entry::Vacant(slot) => {
                if want == [None, None] {
                    return;
                }
                slot.insert(want);
                [None, None]
            }
        };
        let mut dropped = false;
        for kind in DeadlineKind::ALL {
            let (old, new) = (old[kind as usize], want[kind as usize]);
            if old == new {
                continue;
            }
            dropped |= old.is_some();
            self.live = self.live + usize::from(new.is_some()) - usize::from(old.is_some());
            if let Some(t) = new {
                self.heap.push(Reverse((t, kind, case)));
            }
        }
        // Arming alone cannot make the top dead; only a dropped deadline can.
        if dropped {
            self.prune();
        }
    }

    /// Makes room for `n` more cases with deadlines.
    pub(crate) fn reserve(&mut self, n: usize) {
        self.armed.reserve(n);
        self.heap.reserve(n);
    }

    /// Disarms one case's deadline of one kind (the one that fires).
    pub(crate) fn disarm(&mut self, case: CaseId, kind: DeadlineKind) {
        if let Some(mut want) = self.armed.get(&case).copied() {
            want[kind as usize] = None;
            self.set(case, want);
        }
    }

    fn is_live(&self, (t, kind, case): (Instant, DeadlineKind, CaseId)) -> bool {
        self.armed
            .get(&case)
            .is_some_and(|a| a[kind as usize] == Some(t))
    }

    /// Drops dead entries from the top; rebuilds the heap when most entries are dead.
    fn prune(&mut self) {
        if self.heap.len() > 2 * self.live + 1024 {
            let live = self.armed.iter().flat_map(|(case, armed)| {
                DeadlineKind::ALL
                    .into_iter()
                    .filter_map(move |k| armed[k as usize].map(|t| Reverse((t, k, *case))))
            });
            self.heap = live.collect();
        }
        while let Some(Reverse(top)) = self.heap.peek() {
            if self.is_live(*top) {
                break;
            }
            self.heap.pop();
        }
    }

    /// The earliest armed deadline.
    pub(crate) fn first(&self) -> Option<(Instant, DeadlineKind, CaseId)> {
        self.heap.peek().map(|Reverse(top)| *top)
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
        self.live
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Instant {
        s.parse().unwrap()
    }

    #[test]
    fn a_rearmed_deadline_leaves_no_live_entry_behind() {
        let mut d = Deadlines::default();
        d.set(1, [Some(t("2026-03-02T10:00:00Z")), None]);
        d.set(1, [Some(t("2026-03-05T10:00:00Z")), None]);
        d.set(2, [None, Some(t("2026-03-04T10:00:00Z"))]);
        // The first instant of case 1 is dead: the earliest live deadline is case 2's.
        assert_eq!(
            d.first(),
            Some((t("2026-03-04T10:00:00Z"), DeadlineKind::Overdue, 2))
        );
        d.disarm(2, DeadlineKind::Overdue);
        assert_eq!(
            d.first(),
            Some((t("2026-03-05T10:00:00Z"), DeadlineKind::AutoClose, 1))
        );
        assert_eq!(d.len(), 1);
    }

    /// Re-arming earlier leaves dead entries under live ones; the heap is rebuilt once
    /// they outnumber the live ones (plus a margin), whatever the step by which it grows
    /// (here two entries at a time, from an odd start, so it never hits the threshold
    /// exactly).
    #[test]
    fn dead_entries_never_outnumber_live_ones_by_much() {
        let mut d = Deadlines::default();
        let base = t("2026-03-02T10:00:00Z");
        for case in 0..101u64 {
            d.set(case, [Some(base), None]);
        }
        for round in 1..50i64 {
            for case in 0..101u64 {
                let at = base.plus_seconds(-round * 1000 - case as i64);
                d.set(case, [Some(at), Some(at)]);
            }
            assert!(
                d.heap.len() <= 2 * d.live + 1024 + 2,
                "{} entries",
                d.heap.len()
            );
        }
        assert_eq!(d.len(), 202);
        assert_eq!(
            d.first().map(|(t, _, _)| t),
            Some(base.plus_seconds(-49_100))
        );
    }
}

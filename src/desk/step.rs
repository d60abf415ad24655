//! Steps (DOMAIN.md section 6): a command, a deadline or (later) an automation's update of
//! one case, with everything it causes.
//!
//! A step starts from a decision of the lifecycle (`crate::lifecycle::decide`, or a
//! deadline's `fire`), commits its changes in order, then works through what they cause:
//! today the cascade of a resolved problem, which is carried out only if the problem is
//! still resolved when its turn comes; the rule engine adds each changed case's triggers
//! to the same queue, before the cascade and after each incident. Every case the step
//! touches gets one version, however many changes touch it.

use std::collections::VecDeque;

use crate::case::CaseId;
use crate::command::Command;
use crate::error::{Error, ErrorCode};
use crate::event::{Event, EventKind};
use crate::ids::IdMap;
use crate::lifecycle::{self, Cascade, Change, Decision, check_input, deadlines};
use crate::status::Category;
use crate::time::Instant;

use super::{Desk, Rejection};

/// What a step still has to do after its decision's changes, in order.
enum Work {
    /// The cascade of a problem that entered `resolved` (DOMAIN.md section 4).
    Cascade(CaseId),
}

/// `touched` keeps its memory between steps up to this many entries; a larger table (left
/// by a cascade) is dropped, so that clearing it stays cheap.
const TOUCHED_KEPT: usize = 64;

impl Desk {
    /// Runs everything due at or before `at`, in time order, and moves the desk's time to
    /// `at`.
    ///
    /// # Errors
    /// `stale_time` when `at` is earlier than the desk's time.
    pub fn advance_to(&mut self, at: Instant) -> Result<Vec<Event>, Error> {
        self.check_time(at)?;
        let mut events = Vec::new();
        self.run_due(at, &mut events);
        self.now = at;
        Ok(events)
    }

    /// Executes one command at instant `at`: first everything due at or before `at`, then
    /// the command as one step, then any deadline the step armed in the past.
    ///
    /// # Errors
    /// A [`Rejection`] with the code of the first failed check, in the order of DOMAIN.md
    /// section 6: `invalid_input` (`resolve_by_problem` on a [`Cascade::Local`] desk
    /// included), `stale_time`, `case_not_found`, `case_closed`,
    /// `version_conflict`, then the lifecycle's rules. A rejected command changes nothing
    /// but the advance to `at`, whose events the rejection carries.
    pub fn execute(&mut self, at: Instant, command: &Command) -> Result<Vec<Event>, Rejection> {
        let reject = |error, events| Rejection { error, events };
        let input = match check_input(command, self.cascade_mode) {
            Ok(input) => input,
            Err(error) => {
                let events = self.advance_to(at).unwrap_or_default();
                return Err(reject(error, events));
            }
        };
        let mut events = self.advance_to(at).map_err(|e| reject(e, Vec::new()))?;
        match lifecycle::decide(self, at, command, &input) {
            Err(error) => Err(reject(error, events)),
            Ok(decision) => {
                self.run_step(at, decision, &mut events);
                self.run_due(at, &mut events);
                Ok(events)
            }
        }
    }

    /// Executes a command given as JSON (SCENARIOS.md, `do`). A command that does not parse
    /// is rejected as [`Desk::execute`] rejects `invalid_input`: after the advance to `at`.
    ///
    /// # Errors
    /// As [`Desk::execute`].
    pub fn execute_json(
        &mut self,
        at: Instant,
        command: &serde_json::Value,
    ) -> Result<Vec<Event>, Rejection> {
        match Command::from_value(command) {
            Ok(command) => self.execute(at, &command),
            Err(error) => {
                let events = self.advance_to(at).unwrap_or_default();
                Err(Rejection { error, events })
            }
        }
    }

    pub(crate) fn check_time(&self, at: Instant) -> Result<(), Error> {
        if at < self.now {
            return Err(Error::new(
                ErrorCode::StaleTime,
                format!("{at} is earlier than the desk's time {}", self.now),
            ));
        }
        Ok(())
    }

    /// Fires every deadline due at or before `until`, each as its own step stamped with its
    /// own instant: auto-closes, then overdue tasks, by ascending case id at one instant.
    fn run_due(&mut self, until: Instant, events: &mut Vec<Event>) {
        while let Some((at, kind, id)) = self.deadlines.first().filter(|(t, _, _)| *t <= until) {
            // Disarm first: whatever the step does, this deadline never fires twice.
            self.deadlines.disarm(id, kind);
            self.now = self.now.max(at);
            let Some(event) = self.cases.get(&id).and_then(|c| deadlines::fire(c, kind)) else {
                continue;
            };
            self.run_step(
                at,
                Decision::from(vec![Change::of(id, vec![event])]),
                events,
            );
        }
    }

    /// One step at `at`: the decision's changes, then the work they cause.
    fn run_step(&mut self, at: Instant, decision: Decision, out: &mut Vec<Event>) {
        out.reserve(decision.changes.len());
        for change in decision.changes {
            self.commit(at, change, out);
        }
        let mut work = VecDeque::new();
        work.extend(decision.resolved_problem.map(Work::Cascade));
        while let Some(next) = work.pop_front() {
            match next {
                Work::Cascade(problem) => self.cascade(at, problem, out),
            }
        }
        if self.touched.capacity() > TOUCHED_KEPT {
            self.touched = IdMap::default();
        } else {
            self.touched.clear();
        }
    }

    /// Commits one change: each event gets the next `seq` and the case's version in this
    /// step, and is folded in.
    fn commit(&mut self, at: Instant, change: Change, out: &mut Vec<Event>) {
        let version = match (change.case, change.kinds.first()) {
            (Some(id), Some(EventKind::Created { view } | EventKind::Imported { view })) => {
                self.touched.insert(id, view.version);
                Some(view.version)
            }
            (Some(id), _) => Some(self.step_version(id)),
            (None, _) => None,
        };
        for kind in change.kinds {
            self.emit(at, change.case, version, kind, out);
        }
    }

    /// The version `id` has in the step under way: one more than before the step, however
    /// many changes of the step touch it.
    fn step_version(&mut self, id: CaseId) -> u64 {
        let before = self.cases.get(&id).map_or(0, |c| c.version);
        *self.touched.entry(id).or_insert(before + 1)
    }

    /// The cascade of `problem`, resolved earlier in this step (DOMAIN.md section 4), if
    /// it is still resolved: on a [`Cascade::Local`] desk each linked incident, by
    /// ascending id, is decided by `resolve_by_problem` and committed at once (deciding
    /// them all first would read every incident's row in one pass and write it in
    /// another, and 200,000 incidents do not stay in the cache between the two); on a
    /// [`Cascade::Routed`] desk, one follow-on command per incident for the host.
    fn cascade(&mut self, at: Instant, problem: CaseId, out: &mut Vec<Event>) {
        let still_resolved = self
            .cases
            .get(&problem)
            .is_some_and(|p| p.category == Category::Resolved && !p.closed && !p.deleted);
        if !still_resolved {
            return;
        }
        if self.cascade_mode == Cascade::Routed {
            let linked = self.index.incidents.get(&problem).into_iter().flatten();
            let follow_ons = lifecycle::follow_ons(at, problem, linked.copied());
            self.follow_ons.extend(follow_ons);
            return;
        }
        // Taken out while the incidents change, put back as it was: a status change
        // touches no link.
        let Some(linked) = self.index.incidents.remove(&problem) else {
            return;
        };
        let resolved = self
            .config
            .catalog
            .default_status(Category::Resolved)
            .clone();
        out.reserve(linked.len());
        self.deadlines.reserve(linked.len());
        for &id in &linked {
            let Some(incident) = self.cases.get(&id) else {
                continue; // recorded by `link_remote_incident`: held by another desk
            };
            if let Some(kind) = lifecycle::resolve_by_problem(incident, problem, &resolved) {
                let version = Some(self.step_version(id));
                self.emit(at, Some(id), version, kind, out);
            }
        }
        self.index.incidents.insert(problem, linked);
    }

    /// Gives one event of a committed change the next `seq`, folds it in and records it.
    fn emit(
        &mut self,
        at: Instant,
        case: Option<CaseId>,
        version: Option<u64>,
        kind: EventKind,
        out: &mut Vec<Event>,
    ) {
        self.seq += 1;
        let event = Event {
            kind,
            case,
            at,
            version,
            seq: self.seq,
        };
        self.absorb(&event);
        out.push(event);
    }
}

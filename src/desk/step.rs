//! Steps (docs/lifecycle.md, Time and steps): a command, a deadline or (later) an
//! automation's update of one case, with everything it causes.
//!
//! A step starts from a decision of the lifecycle (`crate::lifecycle::decide`, or a
//! deadline's `fire`) or a rule's firing, commits its changes in order, then works
//! through a queue of what they cause: the changed case's triggers, then the cascade of a
//! problem that entered `resolved`, carried out only if the problem is still resolved
//! after its triggers, each incident followed by its own triggers. Every case the step
//! touches gets one version, however many changes touch it, and the step remembers what
//! each case was at its start (for the `changed` guard).

use std::collections::VecDeque;

use crate::case::CaseId;
use crate::command::Command;
use crate::error::{Error, ErrorCode};
use crate::event::{Event, EventKind};
use crate::ids::IdMap;
use crate::lifecycle::deadlines::DeadlineKind;
use crate::lifecycle::{self, Cascade, Change, Decision, check_input, deadlines};
use crate::rules::Baseline;
use crate::status::Category;
use crate::time::Instant;

use super::{Desk, Rejection};

/// What a step still has to do after its decision's changes, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Work {
    /// The trigger pass of a case the step created or changed.
    Triggers(CaseId),
    /// The cascade of a problem that entered `resolved` (docs/lifecycle.md, Incidents and
    /// problems).
    Cascade(CaseId),
}

/// A case the step under way touched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Touch {
    /// Its version in this step.
    pub(crate) version: u64,
    /// Whether the step created it.
    pub(crate) created: bool,
}

/// `touched` and `baselines` keep their memory between steps up to this many entries; a
/// larger table (left by a cascade) is dropped, so that clearing it stays cheap.
const TOUCHED_KEPT: usize = 64;

/// Events a step with triggers makes room for beyond its decision's, so that a firing or
/// two do not copy the list as they add to it.
const FIRING_ROOM: usize = 6;

/// Empties a step's table at the end of the step.
fn empty<V>(table: &mut IdMap<CaseId, V>) {
    if table.capacity() > TOUCHED_KEPT {
        *table = IdMap::default();
    } else {
        table.clear();
    }
}

impl Desk {
    /// Runs everything due at or before `at`, in time order, and moves the desk's time to
    /// `at`.
    ///
    /// # Errors
    /// `invalid_input` when `at` is after [`Instant::latest_step`]; `stale_time` when it
    /// is earlier than the desk's time.
    pub fn advance_to(&mut self, at: Instant) -> Result<Vec<Event>, Error> {
        super::fold::check_step_instant(at)?;
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
    /// A [`Rejection`] with the code of the first failed check, in the order of
    /// docs/lifecycle.md (Check order): `invalid_input` (an instant after
    /// [`Instant::latest_step`], whose deadlines could not be represented;
    /// `resolve_by_problem` on a [`Cascade::Local`] desk included), `stale_time`,
    /// `case_not_found`, `case_closed`,
    /// `version_conflict`, then the lifecycle's rules. A rejected command changes nothing
    /// but the advance to `at`, whose events the rejection carries.
    pub fn execute(&mut self, at: Instant, command: &Command) -> Result<Vec<Event>, Rejection> {
        let reject = |error, events| Rejection { error, events };
        // An instant whose deadlines could not be represented changes nothing.
        super::fold::check_step_instant(at).map_err(|error| reject(error, Vec::new()))?;
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

    /// Executes a command given as JSON (docs/lifecycle.md, Commands). A command that does
    /// not parse is rejected as [`Desk::execute`] rejects `invalid_input`: after the
    /// advance to `at`.
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

    /// Fires every deadline and sweep due at or before `until`, each as its own step (a
    /// sweep, as one step per firing) stamped with its own instant. At one instant:
    /// auto-closes, then overdue tasks, by ascending case id, then the sweep.
    fn run_due(&mut self, until: Instant, events: &mut Vec<Event>) {
        loop {
            let deadline = self.deadlines.first().filter(|(t, _, _)| *t <= until);
            let sweep = self.next_sweep.filter(|t| *t <= until);
            match (deadline, sweep) {
                (Some((at, kind, id)), s) if s.is_none_or(|s| at <= s) => {
                    // Disarm first: whatever the step does, this deadline never fires twice.
                    self.deadlines.disarm(id, kind);
                    self.now = self.now.max(at);
                    let Some(event) = self.cases.get(&id).and_then(|c| deadlines::fire(c, kind))
                    else {
                        continue;
                    };
                    let decision = Decision::from(vec![Change::of(id, vec![event])]);
                    // An overdue task runs its triggers; an auto-close does not.
                    let decision = match kind {
                        DeadlineKind::Overdue => decision.with_triggers(),
                        DeadlineKind::AutoClose => decision,
                    };
                    self.run_step(at, decision, events);
                }
                (_, Some(at)) => {
                    self.now = self.now.max(at);
                    let interval = self.config.automation_interval_minutes;
                    self.next_sweep = crate::rules::sweep_after(at, interval);
                    self.sweep(at, events);
                }
                (_, None) => return,
            }
        }
    }

    /// One step at `at`: the decision's changes, then the work they cause.
    pub(crate) fn run_step(&mut self, at: Instant, decision: Decision, out: &mut Vec<Event>) {
        // Without triggers nothing is queued for the changed cases (no allocation).
        let triggers = decision.triggers && self.config.rules.has(crate::config::RuleKind::Trigger);
        // With triggers, room for the events of a few firings too, so that the list is
        // not copied as they add to it.
        out.reserve(decision.changes.len() + if triggers { FIRING_ROOM } else { 0 });
        let mut work = std::mem::take(&mut self.work);
        for change in decision.changes {
            let case = change.case;
            self.commit(at, change, out);
            if triggers
                && let Some(id) = case
                && !work
                    .iter()
                    .any(|w| matches!(w, Work::Triggers(t) if *t == id))
            {
                work.push_back(Work::Triggers(id));
            }
        }
        work.extend(decision.resolved_problem.map(Work::Cascade));
        self.finish_step(at, work, out);
    }

    /// Works through a step's queue (taken from `Desk::work`), then closes the step and
    /// gives the queue's memory back.
    pub(crate) fn finish_step(
        &mut self,
        at: Instant,
        mut work: VecDeque<Work>,
        out: &mut Vec<Event>,
    ) {
        while let Some(next) = work.pop_front() {
            match next {
                Work::Triggers(id) => self.run_triggers(at, id, &mut work, out),
                Work::Cascade(problem) => self.cascade(at, problem, &mut work, out),
            }
        }
        empty(&mut self.touched);
        empty(&mut self.baselines);
        self.work = work;
    }

    /// Commits one change: each event gets the next `seq` and the case's version in this
    /// step, and is folded in.
    fn commit(&mut self, at: Instant, change: Change, out: &mut Vec<Event>) {
        let version = match (change.case, change.kinds.first()) {
            (Some(id), Some(EventKind::Created { view } | EventKind::Imported { view })) => {
                let touch = Touch {
                    version: view.version,
                    created: true,
                };
                self.touched.insert(id, touch);
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
    pub(crate) fn step_version(&mut self, id: CaseId) -> u64 {
        if let Some(touch) = self.touched.get(&id) {
            return touch.version;
        }
        let case = self.cases.get(&id);
        let fields = self.config.rules.baseline_fields();
        if let Some(case) = case.filter(|_| !fields.is_empty()) {
            self.baselines.insert(id, Baseline::of(case, fields));
        }
        let touch = Touch {
            // Versions enter at most MAX_COUNTER (2^53 - 1), leaving 2^63 steps of headroom:
            // the saturation is never reached (DESIGN.md, "Counters").
            version: case.map_or(0, |c| c.version).saturating_add(1),
            created: false,
        };
        let version = touch.version;
        self.touched.insert(id, touch);
        version
    }

    /// The cascade of `problem`, resolved earlier in this step (docs/lifecycle.md,
    /// Incidents and problems), if it is still resolved: on a [`Cascade::Local`] desk each
    /// linked incident, by ascending id, is decided by `resolve_by_problem`, committed at
    /// once (deciding them all first would read every incident's row in one pass and write
    /// it in another, and 200,000 incidents do not stay in the cache between the two) and
    /// followed by its triggers; on a [`Cascade::Routed`] desk, one follow-on command per
    /// incident for the host.
    fn cascade(
        &mut self,
        at: Instant,
        problem: CaseId,
        work: &mut VecDeque<Work>,
        out: &mut Vec<Event>,
    ) {
        let still_resolved = self
            .cases
            .get(&problem)
            .is_some_and(|p| p.category == Category::Resolved && !p.closed && !p.deleted);
        if !still_resolved {
            return;
        }
        if self.cascade_mode == Cascade::Routed {
            // One `follow_on` per linked incident: the fold records it for the host, and
            // replay rebuilds the pending follow-ons from the log. The problem changed in
            // this step, so the events carry its version in the step.
            let linked: Vec<CaseId> = match self.index.incidents.get(&problem) {
                Some(set) => set.iter().copied().collect(),
                None => return,
            };
            let version = Some(self.step_version(problem));
            out.reserve(linked.len());
            for incident in linked {
                let kind = EventKind::FollowOn { incident, problem };
                self.emit(at, Some(problem), version, kind, out);
            }
            return;
        }
        // A copy of the ids: the incidents' triggers may unlink some while the cascade runs.
        let linked: Vec<CaseId> = match self.index.incidents.get(&problem) {
            Some(set) => set.iter().copied().collect(),
            None => return,
        };
        let resolved = self
            .config
            .catalog
            .default_status(Category::Resolved)
            .clone();
        out.reserve(linked.len());
        self.deadlines.reserve(linked.len());
        for id in linked {
            let Some(incident) = self.cases.get(&id) else {
                continue; // recorded by `link_remote_incident`: held by another desk
            };
            if let Some(kind) = lifecycle::resolve_by_problem(incident, problem, &resolved) {
                // Nothing later in the step touches this incident again (a rule changes
                // only its own case), so unless the step touched it before, it leaves the
                // step map after its triggers: the map stays small however many there are.
                let fresh = !self.touched.contains_key(&id);
                let version = Some(self.step_version(id));
                self.emit(at, Some(id), version, kind, out);
                self.run_triggers(at, id, work, out);
                if fresh {
                    self.touched.remove(&id);
                    self.baselines.remove(&id);
                }
            }
        }
    }

    /// Gives one event of a committed change the next `seq`, folds it in and records it.
    pub(crate) fn emit(
        &mut self,
        at: Instant,
        case: Option<CaseId>,
        version: Option<u64>,
        kind: EventKind,
        out: &mut Vec<Event>,
    ) {
        // `seq` enters at most MAX_COUNTER: as for versions, saturation is never reached.
        self.seq = self.seq.saturating_add(1);
        let event = Event {
            kind,
            case,
            at,
            version,
            seq: self.seq,
        };
        self.absorb(&event);
        // The desk emits whole steps: the next replayed event starts a run afresh.
        self.last = super::fold::LastEvent(None);
        out.push(event);
    }
}

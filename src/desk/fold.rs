//! Folding events into the desk: the fold, the deadline upkeep after it, and `replay`.
//!
//! The fold takes no decision and cannot fail: it sets fields from the event, derives
//! what is derived (through `Case::apply`, and `due_at` from the time zone) and keeps the
//! indexes in step. Which deadlines a case then waits for is the lifecycle's policy
//! (`lifecycle::deadlines::wanted`), asked after every event. Events reach the fold
//! decided by the lifecycle, or checked by `replay` first.

use crate::case::CaseId;
use crate::config::Config;
use crate::error::Error;
use crate::event::{Event, EventKind};
use crate::lifecycle::deadlines::{self, DeadlineKind};
use crate::time::Instant;

use super::Desk;

impl Desk {
    /// Rebuilds a desk from its configuration at start, its start instant and every event
    /// it emitted, in order. The result equals the desk that emitted them, at the instant
    /// of the last event.
    ///
    /// # Errors
    /// `invalid_input` for a gap or a duplicate in `seq`, or an event that does not fit the
    /// state (an unknown case, a second creation, a configuration change that does not
    /// apply); `stale_time` for events out of order.
    pub fn replay(config: Config, start: Instant, events: &[Event]) -> Result<Desk, Error> {
        let mut desk = Desk::new(config, start);
        desk.apply_events(events)?;
        Ok(desk)
    }

    /// Folds events this desk (or its twin) emitted after its last one into it, in order:
    /// how a host recovers from a snapshot and the events logged after it. Each event is
    /// checked against the desk as it is first, as [`Desk::replay`] checks it.
    ///
    /// # Errors
    /// As [`Desk::replay`]; the events before the one refused stay applied.
    pub fn apply_events(&mut self, events: &[Event]) -> Result<(), Error> {
        for event in events {
            self.check_replayed(event)?;
            self.now = event.at;
            self.seq = event.seq;
            self.absorb(event);
        }
        // Every sweep up to the last event has run.
        let now = self.now;
        self.reschedule_sweeps(now);
        Ok(())
    }

    /// Whether a replayed event fits the desk as it is: the next `seq`, not earlier than
    /// the desk's time, about a case that exists (or, for a creation, never did).
    fn check_replayed(&self, event: &Event) -> Result<(), Error> {
        if self.seq.checked_add(1) != Some(event.seq) {
            return Err(Error::input(format!(
                "event seq {} follows seq {}: events are missing or repeated",
                event.seq, self.seq
            )));
        }
        super::step::check_step_instant(event.at)?;
        self.check_time(event.at)?;
        let unknown = |id| Error::input(format!("event {} names unknown case {id}", event.seq));
        match (&event.kind, event.case) {
            (EventKind::ConfigChanged { changes }, _) => self.config.clone().apply_changes(changes),
            (EventKind::RulesReplaced { rules }, _) => {
                crate::config::Rules::parse(&rules.clone().into(), &self.config.catalog)
                    .map(|_| ())
                    .map_err(Error::config_problems)
            }
            (_, None) => Err(Error::input(format!("event {} names no case", event.seq))),
            (EventKind::Created { view } | EventKind::Imported { view }, Some(id)) => {
                crate::lifecycle::check_view_shape(view)
                    .map_err(|e| Error::input(format!("event {}: {}", event.seq, e.message())))?;
                if view.id != id || self.cases.contains_key(&id) || self.purged.contains(&id) {
                    return Err(Error::input(format!(
                        "event {} creates case {id}, which exists or existed",
                        event.seq
                    )));
                }
                Ok(())
            }
            (_, Some(id)) if !self.cases.contains_key(&id) || event.version.is_none() => {
                Err(unknown(id))
            }
            _ => Ok(()),
        }
    }

    /// Folds one event in, then re-arms the deadlines it may have moved.
    pub(crate) fn absorb(&mut self, event: &Event) {
        let before = (
            self.config.timezone,
            self.config.auto_close_after_days,
            self.config.automation_interval_minutes,
        );
        self.fold(event);
        self.fold_rule_event(event);
        let at = event.at;
        match event.case {
            Some(id) => self.settle(id, at),
            None => {
                if before.0 != self.config.timezone {
                    for id in self.index.dated.clone() {
                        self.settle(id, at);
                    }
                }
                if before.2 != self.config.automation_interval_minutes {
                    self.reschedule_sweeps(at);
                }
                if before.1 != self.config.auto_close_after_days {
                    let waiting: Vec<CaseId> =
                        self.deadlines.cases_with(DeadlineKind::AutoClose).collect();
                    for id in waiting {
                        self.settle(id, at);
                    }
                }
            }
        }
    }

    /// Arms or disarms the case's deadlines as the lifecycle's policy wants them at `at`.
    pub(crate) fn settle(&mut self, id: CaseId, at: Instant) {
        let want = match self.cases.get(&id) {
            Some(case) => deadlines::wanted(case, &self.config, at),
            None => [None, None],
        };
        self.deadlines.set(id, want);
    }

    /// Folds one event into the desk and keeps the indexes in step.
    fn fold(&mut self, event: &Event) {
        let at = event.at;
        let Some(id) = event.case else {
            if let EventKind::ConfigChanged { changes } = &event.kind {
                let zone = self.config.timezone;
                // Checked when decided or replayed: it applies.
                let _ = self.config.apply_changes(changes);
                if zone != self.config.timezone {
                    let zone = self.config.timezone;
                    for id in &self.index.dated {
                        if let Some(case) = self.cases.get_mut(id) {
                            case.refresh_due_at(zone);
                        }
                    }
                }
            }
            return;
        };
        match &event.kind {
            EventKind::Created { view } | EventKind::Imported { view } => {
                let case = (**view).clone();
                self.index.add(&case);
                if let Some(p) = case.problem {
                    self.index.link(p, id);
                }
                self.cases.insert(id, case);
                self.ids.insert(id);
                self.last_id = self.last_id.max(id);
            }
            EventKind::Purged {} => {
                if let Some(p) = self.cases.get(&id).and_then(|c| c.problem) {
                    self.index.unlink(p, id);
                }
                self.index.trashed.remove(&id);
                self.index.dated.remove(&id);
                self.cases.remove(&id);
                self.ids.remove(id);
                self.purged.insert(id);
            }
            kind => {
                let Some(case) = self.cases.get_mut(&id) else {
                    return;
                };
                let version = event.version.unwrap_or(case.version);
                let before_problem = case.problem;
                match kind {
                    // A trashed case is in no query index (a status remap may still move it).
                    _ if case.deleted && !matches!(kind, EventKind::Restored {}) => {}
                    EventKind::StatusChanged { from, to, .. } => {
                        self.index.move_status(id, from, to)
                    }
                    EventKind::AssigneeChanged { from, to } => {
                        self.index.move_assignee(id, from.as_deref(), to.as_ref());
                    }
                    EventKind::GroupChanged { from, to } => {
                        self.index.move_group(id, from.as_deref(), to.as_ref());
                    }
                    EventKind::Deleted {} => {
                        self.index.remove(case);
                        self.index.trashed.insert(id);
                    }
                    EventKind::Linked { problem } => {
                        if let Some(old) = before_problem.filter(|p| p != problem) {
                            self.index.unlink(old, id);
                        }
                        self.index.link(*problem, id);
                    }
                    EventKind::Unlinked { problem } => self.index.unlink(*problem, id),
                    _ => {}
                }
                case.apply(at, version, kind);
                match kind {
                    EventKind::Restored {} => {
                        self.index.add(case);
                        self.index.trashed.remove(&id);
                    }
                    EventKind::DueDateChanged { .. } => {
                        case.refresh_due_at(self.config.timezone);
                        self.index.set_dated(case);
                    }
                    EventKind::Closed { .. } => self.index.set_dated(case),
                    _ => {}
                }
            }
        }
    }
}

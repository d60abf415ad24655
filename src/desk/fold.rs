//! Folding events into the desk: the fold, the deadline upkeep after it, and `replay`.
//!
//! The fold takes no decision and cannot fail: it sets fields from the event, derives
//! what is derived (through `fold_case`, and `due_at` from the time zone) and keeps the
//! indexes in step. Which deadlines a case then waits for is the lifecycle's policy
//! (`lifecycle::deadlines::wanted`), asked after every event that can change it
//! (`deadlines::may_move`). Events reach the fold
//! decided by the lifecycle, or checked by `replay` first.

use crate::case::{Case, CaseId, Name};
use crate::command::Command;
use crate::config::Config;
use crate::error::Error;
use crate::error::clip;
use crate::event::{Event, EventKind, StatusCause};
use crate::lifecycle::deadlines::{self, DeadlineKind};
use crate::lifecycle::{Cascade, FollowOn};
use crate::status::{Catalog, Category};
use crate::time::Instant;

use super::Desk;

/// A step may happen at `at` only when every deadline it can arm (an auto-close at most
/// 28 days later; due instants are bounded by their dates) is representable.
pub(crate) fn check_step_instant(at: Instant) -> Result<(), Error> {
    if at.after_latest_step() {
        let latest = Instant::latest_step();
        return Err(Error::input(format!(
            "{at} is after {latest}, the latest instant a desk takes: a deadline armed then (an auto-close up to 28 days later) could not be represented"
        )));
    }
    Ok(())
}

impl Desk {
    /// Rebuilds a desk from its configuration at start, its start instant and every event
    /// it emitted, in order. The result equals the desk that emitted them, at the instant
    /// of the last event. It is a [`Cascade::Local`] desk: a routed desk's log is replayed
    /// into `Desk::new(config, start).with_cascade(Cascade::Routed)` with
    /// [`Desk::apply_events`].
    ///
    /// # Errors
    /// `invalid_input`, naming the event's `seq`, for a gap or a duplicate in `seq` or an
    /// event that does not fit the state it applies to (docs/events-and-errors.md,
    /// Versions and seq: an unknown case, a second creation, `from` values that are not
    /// the case's, a version that breaks the step rule, a step's events out of order, a
    /// configuration change that does not apply or changes nothing); `stale_time` for
    /// events out of order.
    pub fn replay(config: Config, start: Instant, events: &[Event]) -> Result<Desk, Error> {
        let mut desk = Desk::new(config, start);
        desk.apply_events(events)?;
        Ok(desk)
    }

    /// Folds events this desk (or its twin) emitted after its last one into it, in order:
    /// how a host recovers from a snapshot and the events logged after it. Each event is
    /// checked against the desk as it is first, as [`Desk::replay`] checks it; the events
    /// start at a step's first event (every call that emits returns whole steps).
    ///
    /// # Errors
    /// As [`Desk::replay`]; the events before the one refused stay applied.
    pub fn apply_events(&mut self, events: &[Event]) -> Result<(), Error> {
        for event in events {
            let block = self.check_replayed(event)?;
            self.now = event.at;
            self.seq = event.seq;
            self.absorb(event);
            self.last = LastEvent(block);
        }
        // Every sweep up to the last event has run.
        let now = self.now;
        self.reschedule_sweeps(now);
        Ok(())
    }

    /// Whether a replayed event fits the desk as it is, and where it leaves the run of
    /// events it belongs to (see [`Block`]): the next `seq`, not earlier than the desk's
    /// time, about a case that exists (or, for a creation, never did), with the `from`
    /// values of the case, at the case's version or the next one, in the order a step
    /// emits events (docs/events-and-errors.md, Event order within a step). The one place
    /// replay checks events; it reads the desk and clones nothing of it.
    fn check_replayed(&self, event: &Event) -> Result<Option<Block>, Error> {
        let seq = event.seq;
        if self.seq.checked_add(1) != Some(seq) {
            return Err(Error::input(format!(
                "event seq {seq} follows seq {}: events are missing or repeated",
                self.seq
            )));
        }
        check_step_instant(event.at)?;
        self.check_time(event.at)?;
        if let Some(block) = self.last.0.filter(|b| b.pending) {
            let follows = event.case == Some(block.case)
                && event.at == block.at
                && event.version == Some(block.version)
                && event.kind.changes_case();
            if !follows {
                return Err(Error::input(format!(
                    "event {seq} does not follow rule_fired of case {} with the rule's change at version {}",
                    block.case, block.version
                )));
            }
        }
        let (id, version) = match (&event.kind, event.case, event.version) {
            (EventKind::ConfigChanged { .. } | EventKind::RulesReplaced { .. }, Some(_), _)
            | (EventKind::ConfigChanged { .. } | EventKind::RulesReplaced { .. }, _, Some(_)) => {
                return Err(Error::input(format!(
                    "event {seq} ({}) names a case or a version",
                    event.kind.name()
                )));
            }
            (EventKind::ConfigChanged { changes }, None, None) => {
                let mut config = self.config.clone();
                config.apply_changes(changes)?;
                if config == self.config {
                    return Err(Error::input(format!(
                        "event {seq} changes nothing in the configuration"
                    )));
                }
                return Ok(None);
            }
            (EventKind::FollowOnsTaken { .. }, Some(_), _)
            | (EventKind::FollowOnsTaken { .. }, _, Some(_)) => {
                return Err(Error::input(format!(
                    "event {seq} (follow_ons_taken) names a case or a version"
                )));
            }
            (EventKind::FollowOnsTaken { count }, None, None) => {
                let pending = self.follow_ons.len() as u64;
                if *count != pending || pending == 0 {
                    return Err(Error::input(format!(
                        "event {seq} takes {count} follow-ons, and {pending} are pending"
                    )));
                }
                return Ok(None);
            }
            (EventKind::RulesReplaced { rules }, None, None) => {
                self.config.parse_rules(&rules.clone().into())?;
                return Ok(None);
            }
            (_, None, _) => return Err(Error::input(format!("event {seq} names no case"))),
            (_, Some(id), None) => {
                return Err(Error::input(format!(
                    "event {seq} about case {id} carries no version"
                )));
            }
            (EventKind::Created { view } | EventKind::Imported { view }, Some(id), Some(v)) => {
                crate::lifecycle::check_view_shape(view)
                    .map_err(|e| Error::input(format!("event {seq}: {}", e.message())))?;
                if view.id != id || self.cases.contains_key(&id) || self.purged.contains(&id) {
                    return Err(Error::input(format!(
                        "event {seq} creates case {id}, which exists or existed"
                    )));
                }
                if v != view.version {
                    return Err(Error::input(format!(
                        "event {seq} creates case {id} at version {v}, its view at version {}",
                        view.version
                    )));
                }
                return Ok(Some(Block::start(event, id, v, 0)));
            }
            (_, Some(id), Some(v)) => (id, v),
        };
        let Some(case) = self.cases.get(&id) else {
            return Err(Error::input(format!("event {seq} names unknown case {id}")));
        };
        let block = self.place_in_block(event, case, version)?;
        check_fits(event, case, &self.config.catalog, &block)?;
        self.check_routed(event, case)?;
        Ok(Some(block))
    }

    /// Whether a routed desk's record about problem `case` fits: a remote link as
    /// [`Desk::link_remote_incident`] checks it and not recorded yet, an unlink of a
    /// recorded one, a follow-on of a resolved problem for one of its incidents; and each
    /// only on a [`Cascade::Routed`] desk.
    fn check_routed(&self, event: &Event, case: &Case) -> Result<(), Error> {
        let seq = event.seq;
        let (problem, incident) = match &event.kind {
            EventKind::RemoteLinked { problem, incident }
            | EventKind::RemoteUnlinked { problem, incident }
            | EventKind::FollowOn { incident, problem } => (*problem, *incident),
            _ => return Ok(()),
        };
        let misfit = |what: String| {
            Err(Error::input(format!(
                "event {seq} ({}) does not fit: {what}",
                event.kind.name()
            )))
        };
        if self.cascade_mode != Cascade::Routed {
            return misfit("the desk is not routed".to_owned());
        }
        if problem != case.id {
            return misfit(format!("it names problem {problem} about case {}", case.id));
        }
        let known = self.remote_link_known(problem, incident);
        match &event.kind {
            EventKind::RemoteLinked { .. } => {
                if let Err(e) = self.check_remote_link(problem, incident) {
                    return misfit(e.message().to_owned());
                }
                if known {
                    return misfit(format!("case {incident} is recorded already"));
                }
            }
            EventKind::RemoteUnlinked { .. } if !known => {
                return misfit(format!(
                    "case {incident} is not recorded as linked to {problem}"
                ));
            }
            EventKind::FollowOn { .. } => {
                let linked = self
                    .index
                    .incidents
                    .get(&problem)
                    .is_some_and(|s| s.contains(&incident));
                if case.category != Category::Resolved || !linked {
                    return misfit(format!(
                        "problem {problem} is not resolved with case {incident} linked"
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Where a replayed event about an existing `case` stands in the run of events of its
    /// step. A step that changes a case gives it one new version, however many of its
    /// events change it (docs/events-and-errors.md, Versions and seq), and a step's events
    /// about one case are consecutive, at one instant: so a change carries the case's
    /// version plus one (the step's first change of the case) or, right after an event of
    /// the same run that changed it, the case's version. What rules report (`rule_fired`
    /// of a rule that only notifies, `rule_failed`, `rule_disabled`, `notification`)
    /// carries the case's version; `rule_fired` of a rule that changes the case carries
    /// the next one and is followed by that change.
    fn place_in_block(&self, event: &Event, case: &Case, version: u64) -> Result<Block, Error> {
        let seq = event.seq;
        let id = case.id;
        let order = Order::of(&event.kind);
        let run = self
            .last
            .0
            .filter(|b| b.case == id && b.at == event.at && b.version == version);
        let current = case.version;
        let next = current.saturating_add(1);
        let fits = if event.kind.changes_case() {
            version == next || (version == current && run.is_some_and(|b| b.changed))
        } else {
            version == current
                || (version == next && matches!(event.kind, EventKind::RuleFired { .. }))
        };
        if !fits {
            return Err(Error::input(format!(
                "event {seq} gives case {id} version {version}: the case is at version {current}, and a step that changes it moves it to {next}"
            )));
        }
        let Some(run) = run else {
            let mut block = Block::start(event, id, version, order.after());
            block.pending = version == next && !event.kind.changes_case();
            return Ok(block);
        };
        if !order.may_follow(run.order) {
            return Err(Error::input(format!(
                "event {seq} ({}) about case {id} comes out of the order of a step's events",
                event.kind.name()
            )));
        }
        Ok(Block {
            order: order.after(),
            changed: run.changed || event.kind.changes_case(),
            pending: false,
            ..run
        })
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
            Some(id) if deadlines::may_move(&event.kind) => self.settle(id, at),
            Some(_) => {}
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
            if let EventKind::FollowOnsTaken { .. } = &event.kind {
                self.follow_ons.clear();
            }
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
                let mut case = (**view).clone();
                self.index.add(&mut case);
                if let Some(p) = case.problem {
                    self.index.link(p, id);
                }
                self.cases.insert(id, case);
                self.ids.insert(id);
                self.last_id = self.last_id.max(id);
            }
            EventKind::RemoteLinked { problem, incident } => {
                self.index
                    .incidents
                    .entry(*problem)
                    .or_default()
                    .insert(*incident);
            }
            EventKind::RemoteUnlinked { problem, incident } => {
                self.index.unlink(*problem, *incident);
            }
            EventKind::FollowOn { incident, problem } => self.follow_ons.push(FollowOn {
                at,
                command: Command::ResolveByProblem {
                    case: *incident,
                    problem: *problem,
                },
            }),
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
                // The new assignee's or group's name as the index keeps it, for the case to
                // share.
                let mut name = None;
                match kind {
                    // A trashed case is in no query index (a status remap may still move it).
                    _ if case.deleted && !matches!(kind, EventKind::Restored {}) => {}
                    EventKind::StatusChanged { from, to, .. } => {
                        self.index.move_status(id, from, to)
                    }
                    EventKind::AssigneeChanged { from, to } => {
                        name = self.index.move_assignee(id, from.as_deref(), to.as_ref());
                    }
                    EventKind::GroupChanged { from, to } => {
                        name = self.index.move_group(id, from.as_deref(), to.as_ref());
                    }
                    EventKind::TagsChanged { added, removed } => {
                        self.index.move_tags(id, added, removed);
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
                fold_case(case, at, version, kind, name);
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

/// A run of consecutive replayed events about one case at one instant and one version:
/// the events of one step about the case (or of a step that reports on it without
/// changing it). Replay keeps the last one to check the next event against it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Block {
    case: CaseId,
    at: Instant,
    version: u64,
    /// The place in a step's order of the run's last event (`Order`).
    order: u8,
    /// Whether an event of the run changed the case (so the case is at the run's version).
    changed: bool,
    /// Whether the run is a `rule_fired` at the next version, still waiting for its change.
    pending: bool,
    /// Whether the run started with the case's creation (`created` or `imported`).
    created: bool,
}

impl Block {
    fn start(event: &Event, case: CaseId, version: u64, order: u8) -> Block {
        Block {
            case,
            at: event.at,
            version,
            order,
            changed: event.kind.changes_case(),
            pending: false,
            created: matches!(
                event.kind,
                EventKind::Created { .. } | EventKind::Imported { .. }
            ),
        }
    }
}

/// The run the last replayed event belongs to: `None` after a desk emitted events itself,
/// or before any. Bookkeeping of replay, not state: desks compare equal whatever it holds.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LastEvent(pub(crate) Option<Block>);

impl PartialEq for LastEvent {
    fn eq(&self, _: &LastEvent) -> bool {
        true
    }
}

impl Eq for LastEvent {}

/// An event's place in the order of a step's events about one case
/// (docs/events-and-errors.md, Event order within a step).
#[derive(Clone, Copy)]
enum Order {
    /// A change: each comes at most once in a run of changes, in ascending rank.
    Change(u8),
    /// A report that may repeat (notifications after a firing's changes), at this rank.
    Repeats(u8),
    /// The start of a rule's part of the pass (`rule_fired`, `rule_failed`,
    /// `rule_disabled`): its changes follow in the order again.
    Restart,
}

impl Order {
    fn of(kind: &EventKind) -> Order {
        match kind {
            EventKind::Created { .. } | EventKind::Imported { .. } => Order::Change(0),
            EventKind::TypeChanged { .. } => Order::Change(1),
            EventKind::Unlinked { .. } => Order::Change(2),
            EventKind::Linked { .. } => Order::Change(3),
            EventKind::SubjectChanged { .. } => Order::Change(4),
            EventKind::PriorityChanged { .. } => Order::Change(5),
            EventKind::GroupChanged { .. } => Order::Change(6),
            EventKind::AssigneeChanged { .. } => Order::Change(7),
            EventKind::DueDateChanged { .. } => Order::Change(8),
            EventKind::TagsChanged { .. } => Order::Change(9),
            EventKind::RequesterReplied {} => Order::Change(10),
            EventKind::StatusChanged { .. } => Order::Change(11),
            EventKind::Closed { .. } => Order::Change(12),
            EventKind::TaskOverdue { .. }
            | EventKind::Deleted {}
            | EventKind::Restored {}
            | EventKind::Purged {} => Order::Change(13),
            EventKind::Notification { .. } => Order::Repeats(14),
            EventKind::FollowOn { .. } => Order::Repeats(15),
            EventKind::RuleFired { .. }
            | EventKind::RuleFailed { .. }
            | EventKind::RuleDisabled { .. }
            | EventKind::RemoteLinked { .. }
            | EventKind::RemoteUnlinked { .. }
            | EventKind::FollowOnsTaken { .. }
            | EventKind::ConfigChanged { .. }
            | EventKind::RulesReplaced { .. } => Order::Restart,
        }
    }

    /// The rank the run is at after this event.
    fn after(self) -> u8 {
        match self {
            Order::Change(rank) | Order::Repeats(rank) => rank,
            Order::Restart => 0,
        }
    }

    /// Whether this event may come right after an event of the same run at rank `last`.
    fn may_follow(self, last: u8) -> bool {
        match self {
            Order::Change(rank) => rank > last,
            Order::Repeats(rank) => rank >= last,
            Order::Restart => true,
        }
    }
}

/// Whether an event's `from` values and preconditions match the case it applies to
/// (its version and order are checked by `Desk::place_in_block`).
fn check_fits(event: &Event, case: &Case, catalog: &Catalog, block: &Block) -> Result<(), Error> {
    let seq = event.seq;
    let id = case.id;
    let misfit = |what: String| {
        Err(Error::input(format!(
            "event {seq} ({}) does not fit case {id}: {what}",
            event.kind.name()
        )))
    };
    let text = |value: Option<&str>| match value {
        Some(v) => format!("`{}`", clip(v)),
        None => "none".to_owned(),
    };
    let trash_ok = matches!(
        event.kind,
        EventKind::Restored {}
            | EventKind::Purged {}
            | EventKind::StatusChanged {
                cause: StatusCause::StatusDeleted,
                ..
            }
    );
    if case.deleted && !trash_ok {
        return misfit("it is in the trash".to_owned());
    }
    let closed_ok = matches!(
        event.kind,
        EventKind::Deleted {}
            | EventKind::Restored {}
            | EventKind::Purged {}
            | EventKind::RemoteUnlinked { .. }
    );
    // A rule that closes a case notifies after its `closed`, in the same step.
    let notified_as_closed = matches!(event.kind, EventKind::Notification { .. })
        && case.closed_at == Some(event.at)
        && event.version == Some(case.version);
    if case.closed && !closed_ok && !notified_as_closed {
        return misfit("it is closed".to_owned());
    }
    match &event.kind {
        EventKind::StatusChanged {
            from,
            to,
            from_category,
            to_category,
            ..
        } => {
            if *from != case.status || *from_category != case.category {
                return misfit(format!(
                    "it holds status `{}` in {}, not `{}` in {}",
                    clip(&case.status),
                    case.category.as_str(),
                    clip(from),
                    from_category.as_str()
                ));
            }
            let live = catalog.get(to).filter(|s| !s.deleted);
            if live.map(|s| s.category) != Some(*to_category) || to == from {
                return misfit(format!(
                    "`{}` is no other live status in {}",
                    clip(to),
                    to_category.as_str()
                ));
            }
        }
        EventKind::AssigneeChanged { from, .. } if from.as_deref() != case.assignee.as_deref() => {
            return misfit(format!(
                "its assignee is {}, not {}",
                text(case.assignee.as_deref()),
                text(from.as_deref())
            ));
        }
        EventKind::GroupChanged { from, .. } if from.as_deref() != case.group.as_deref() => {
            return misfit(format!(
                "its group is {}, not {}",
                text(case.group.as_deref()),
                text(from.as_deref())
            ));
        }
        EventKind::PriorityChanged { from, .. } if *from != case.priority => {
            return misfit(format!(
                "its priority is {}, not {}",
                text(case.priority.map(|p| p.as_str())),
                text(from.map(|p| p.as_str()))
            ));
        }
        EventKind::TypeChanged { from, .. } if *from != case.case_type => {
            return misfit(format!(
                "its type is {}, not {}",
                text(case.case_type.map(|t| t.as_str())),
                text(from.map(|t| t.as_str()))
            ));
        }
        EventKind::SubjectChanged { from, .. } if *from != case.subject => {
            return misfit(format!(
                "its subject is {}, not {}",
                text(case.subject.as_deref()),
                text(from.as_deref())
            ));
        }
        EventKind::DueDateChanged { from, .. } if *from != case.due_date => {
            return misfit(format!(
                "its due date is {}, not {}",
                text(case.due_date.map(|d| d.to_string()).as_deref()),
                text(from.map(|d| d.to_string()).as_deref())
            ));
        }
        EventKind::TagsChanged { added, removed } => {
            if let Some(tag) = added
                .iter()
                .chain(removed)
                .find(|t| !crate::case::is_tag(t))
            {
                return misfit(format!("`{}` is not a tag", clip(tag)));
            }
            if let Some(tag) = added.iter().find(|t| case.tags.contains(t)) {
                return misfit(format!("it already carries tag `{}`", clip(tag)));
            }
            if let Some(tag) = removed.iter().find(|t| !case.tags.contains(t)) {
                return misfit(format!("it carries no tag `{}`", clip(tag)));
            }
        }
        EventKind::Linked { problem } => {
            // A creation that links carries the link in its view, then `linked`.
            let announced = block.created && case.problem == Some(*problem);
            if let Some(linked) = case.problem.filter(|_| !announced) {
                return misfit(format!("it is linked to {linked}"));
            }
        }
        EventKind::Unlinked { problem } if case.problem != Some(*problem) => {
            return misfit(format!("it is not linked to {problem}"));
        }
        EventKind::Closed { .. } if case.category != Category::Resolved => {
            return misfit("it is not resolved".to_owned());
        }
        EventKind::Deleted {} if case.deleted => {
            return misfit("it is in the trash".to_owned());
        }
        EventKind::Restored {} | EventKind::Purged {} if !case.deleted => {
            return misfit("it is not in the trash".to_owned());
        }
        EventKind::TaskOverdue { due_at } if case.due_at != Some(*due_at) || case.overdue => {
            return misfit(format!(
                "it is not a task due at {due_at} and not yet overdue"
            ));
        }
        _ => {}
    }
    Ok(())
}

/// Folds one event into the case. No decision is taken here: every business rule was
/// applied when the event was decided, so replaying events rebuilds the case exactly.
/// `due_at` is derived by the desk, which knows the time zone.
fn fold_case(case: &mut Case, at: Instant, version: u64, kind: &EventKind, name: Option<Name>) {
    // An assignee or group the index names is shared with it; one it does not (a case in
    // the trash is in no index) gets a name of its own.
    let named = |to: &Option<String>| {
        to.as_deref()
            .map(|t| name.filter(|n| **n == *t).unwrap_or_else(|| Name::from(t)))
    };
    if !kind.changes_case() {
        return;
    }
    case.version = version;
    case.updated_at = at;
    match kind {
        EventKind::StatusChanged {
            to,
            from_category,
            to_category,
            ..
        } => {
            case.status.clone_from(to);
            case.category = *to_category;
            case.status_changed_at = at;
            if from_category != to_category {
                case.category_changed_at = at;
                if *to_category == Category::Resolved {
                    case.resolved_at = Some(at);
                } else if *from_category == Category::Resolved {
                    case.resolved_at = None;
                    // The lifecycle refuses a reopen past u32::MAX (`check_reopen`).
                    case.reopens = case.reopens.saturating_add(1);
                }
            }
        }
        EventKind::Closed { .. } => {
            case.closed = true;
            case.closed_at = Some(at);
        }
        EventKind::AssigneeChanged { to, .. } => {
            case.assignee = named(to);
            case.assigned_at = to.as_ref().map(|_| at);
        }
        EventKind::GroupChanged { to, .. } => case.group = named(to),
        EventKind::PriorityChanged { to, .. } => case.priority = *to,
        EventKind::TypeChanged { to, .. } => case.case_type = *to,
        EventKind::SubjectChanged { to, .. } => case.subject.clone_from(to),
        EventKind::DueDateChanged { to, .. } => {
            case.due_date = *to;
            case.overdue = false;
        }
        EventKind::TagsChanged { added, removed } => {
            for t in removed {
                case.tags.remove(t);
            }
            for t in added {
                case.tags.insert(t);
            }
        }
        EventKind::Linked { problem } => case.problem = Some(*problem),
        EventKind::Unlinked { .. } => case.problem = None,
        EventKind::RequesterReplied {} => case.replied_at = Some(at),
        EventKind::Deleted {} => case.deleted = true,
        EventKind::Restored {} => case.deleted = false,
        EventKind::TaskOverdue { .. } => case.overdue = true,
        EventKind::Created { .. }
        | EventKind::Imported { .. }
        | EventKind::ConfigChanged { .. }
        | EventKind::RulesReplaced { .. }
        | EventKind::RuleFired { .. }
        | EventKind::RuleFailed { .. }
        | EventKind::RuleDisabled { .. }
        | EventKind::Notification { .. }
        | EventKind::RemoteLinked { .. }
        | EventKind::RemoteUnlinked { .. }
        | EventKind::FollowOn { .. }
        | EventKind::FollowOnsTaken { .. }
        | EventKind::Purged {} => {}
    }
}

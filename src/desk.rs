//! The desk: one account's configuration and cases, executing commands at given instants.
//!
//! Every command goes through two halves. **Deciding** (`decide_*`, on `&self`) checks the
//! command against the current state and produces the events it causes, or an error; it
//! holds every business rule. **Applying** ([`Desk::apply`]) folds an event into the state
//! and keeps the indexes and deadlines in step; it takes no decision, so replaying the
//! events rebuilds an equal desk ([`Desk::replay`]). A local cascade is decided incident by
//! incident while it is committed (`commit_cascade`), by the deciding `resolve_by_problem`.

use std::collections::BTreeSet;

use crate::case::{
    Case, CaseId, CaseType, MAX_TAGS, Name, check_name, check_subject, is_tag, normalize_tag,
    normalize_tags,
};
use crate::command::{Command, Create, Derived, Update};
use crate::config::{Config, ConfigPatch, NewStatusPolicy};
use crate::deadline::{DeadlineKind, Deadlines};
use crate::error::{Error, ErrorCode};
use crate::event::{CloseCause, Event, EventKind, StatusCause};
use crate::ids::CaseStore;
use crate::index::{IdSet, Indexes, sorted};
use crate::status::{Category, Status};
use crate::time::Instant;

/// A rejected command: why, and the events of the advance to the command's instant,
/// which happened anyway (DOMAIN.md section 6).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Rejection {
    /// Why the command was rejected.
    pub error: Error,
    /// Events of deadlines that fell due before the command's instant.
    pub events: Vec<Event>,
}

/// The events one case (or the configuration, `case: None`) gets in a step.
struct Change {
    case: Option<CaseId>,
    kinds: Vec<EventKind>,
}

/// What a command decided: the events of its step, the problem whose incidents the step
/// resolves on a [`Cascade::Local`] desk (`commit_cascade`), and (on a [`Cascade::Routed`]
/// desk) the commands the host must route to other desks.
#[derive(Default)]
struct Decision {
    changes: Vec<Change>,
    cascade: Option<CaseId>,
    follow_ons: Vec<FollowOn>,
}

/// How a desk carries out the cascade of a resolved problem (DOMAIN.md section 4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cascade {
    /// The desk holds the problem's incidents and resolves them in the problem's own step:
    /// one atomic step, events in the order DOMAIN.md gives.
    #[default]
    Local,
    /// Cases are sharded across desks: resolving a problem emits one
    /// `resolve_by_problem` [`FollowOn`] command per linked incident (local or registered
    /// with [`Desk::link_remote_incident`]), which the host routes to the desk that owns
    /// the incident. A link to a problem this desk does not hold is taken as validated by
    /// the host. ARCHITECTURE.md describes what each mode guarantees.
    Routed,
}

/// A command a desk asks its host to execute, on whichever desk owns `command.case()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowOn {
    /// The instant to execute it at: that of the step that caused it.
    pub at: Instant,
    /// The command (`resolve_by_problem`).
    pub command: Command,
}

impl Change {
    fn of(case: CaseId, kinds: Vec<EventKind>) -> Change {
        Change {
            case: Some(case),
            kinds,
        }
    }
}

/// An in-memory account: configuration, status catalog, cases, indexes and deadlines.
///
/// The desk never reads a clock. It starts at an instant; each command carries its own,
/// which must not be earlier than the desk's time (`stale_time`). Before a command at T the
/// desk runs every deadline due at or before T; [`Desk::next_deadline`] tells a host when
/// to call [`Desk::advance_to`] next.
///
/// # Example
/// ```
/// use caseflow::{Command, Config, Desk, Instant};
/// let t = |s: &str| s.parse::<Instant>().unwrap();
/// let mut desk = Desk::new(Config::default(), t("2026-03-02T09:00:00Z"));
/// let create = Command::from_json(r#"{"op": "create", "submitter": "r1", "assignee": "bob"}"#).unwrap();
/// desk.execute(t("2026-03-02T09:00:00Z"), &create).unwrap();
/// let resolve = Command::from_json(r#"{"op": "update", "case": 1, "status": "resolved"}"#).unwrap();
/// desk.execute(t("2026-03-02T10:00:00Z"), &resolve).unwrap();
/// assert_eq!(desk.next_deadline(), Some(t("2026-03-06T10:00:00Z")));
/// let events = desk.advance_to(t("2026-03-07T00:00:00Z")).unwrap();
/// assert_eq!(events[0].kind.name(), "closed");
/// assert!(desk.case(1).unwrap().closed());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Desk {
    pub(crate) config: Config,
    pub(crate) now: Instant,
    pub(crate) seq: u64,
    pub(crate) cases: CaseStore,
    /// Every case id, for iteration in id order.
    pub(crate) ids: IdSet,
    pub(crate) last_id: CaseId,
    deadlines: Deadlines,
    pub(crate) index: Indexes,
    /// Ids of purged cases: never reused.
    pub(crate) purged: BTreeSet<CaseId>,
    pub(crate) cascade_mode: Cascade,
    /// Follow-on commands not yet taken by the host.
    pub(crate) follow_ons: Vec<FollowOn>,
}

impl Desk {
    /// An empty desk with this configuration, its clock at `start`.
    pub fn new(config: Config, start: Instant) -> Desk {
        Desk {
            config,
            now: start,
            seq: 0,
            cases: CaseStore::default(),
            ids: IdSet::new(),
            last_id: 0,
            deadlines: Deadlines::default(),
            index: Indexes::default(),
            purged: BTreeSet::new(),
            cascade_mode: Cascade::Local,
            follow_ons: Vec::new(),
        }
    }

    /// This desk, carrying out problem cascades as `mode` says.
    pub fn with_cascade(mut self, mode: Cascade) -> Desk {
        self.cascade_mode = mode;
        self
    }

    /// Takes the follow-on commands that steps so far asked the host to route, in order.
    pub fn take_follow_ons(&mut self) -> Vec<FollowOn> {
        std::mem::take(&mut self.follow_ons)
    }

    /// Records that `incident`, held by another desk, is linked to `problem`, held here, so
    /// that resolving the problem routes a follow-on to it and the problem cannot change
    /// type. Call it once the incident's desk accepted the link.
    ///
    /// # Errors
    /// `invalid_input` when `incident` is a case of this desk (link it with an update);
    /// otherwise the link checks of DOMAIN.md section 4: `case_not_found`, `not_a_problem`,
    /// `problem_resolved`.
    pub fn link_remote_incident(&mut self, problem: CaseId, incident: CaseId) -> Result<(), Error> {
        if self.cases.contains_key(&incident) {
            return Err(Error::input(format!(
                "case {incident} is on this desk: link it with an update"
            )));
        }
        self.live_case(problem)?;
        self.check_link_target(incident, problem)?;
        self.index
            .incidents
            .entry(problem)
            .or_default()
            .insert(incident);
        Ok(())
    }

    /// Forgets a link recorded with [`Desk::link_remote_incident`], when the incident's
    /// desk unlinked it. Returns whether it was recorded.
    pub fn unlink_remote_incident(&mut self, problem: CaseId, incident: CaseId) -> bool {
        let known = !self.cases.contains_key(&incident)
            && self
                .index
                .incidents
                .get(&problem)
                .is_some_and(|s| s.contains(&incident));
        if known {
            self.index.unlink(problem, incident);
        }
        known
    }

    /// The desk's time: the latest instant it was given.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// The `seq` of the last event emitted (0 before any).
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The account configuration in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// A case by id, trashed ones included (their [`Case::deleted`] is true); `None` for
    /// ids never used or purged.
    pub fn case(&self, id: CaseId) -> Option<&Case> {
        self.cases.get(&id)
    }

    /// Every case that is not in the trash, in id order.
    pub fn cases(&self) -> impl Iterator<Item = &Case> {
        self.ids
            .iter()
            .filter_map(|id| self.cases.get(&id))
            .filter(|c| !c.deleted)
    }

    /// The ids of the cases in the trash, ascending.
    pub fn trashed(&self) -> impl Iterator<Item = CaseId> + '_ {
        self.index.trashed.iter().copied()
    }

    /// The ids of the cases in `category` (closed ones included), ascending. Like every
    /// query here it reads an index: its cost is the result's, not the desk's.
    pub fn ids_in_category(&self, category: Category) -> Vec<CaseId> {
        let catalog = &self.config.catalog;
        let statuses = catalog.iter().filter(|s| s.category == category);
        let sets = statuses.filter_map(|s| self.index.by_status.get(s.id.as_str()));
        let ids: IdSet = sets.fold(IdSet::new(), |all, set| all | set);
        ids.into_iter().collect()
    }

    /// The ids of the cases holding `status` (closed ones included), ascending.
    pub fn ids_with_status(&self, status: &str) -> Vec<CaseId> {
        sorted(self.index.by_status.get(status))
    }

    /// The ids of the cases assigned to `agent`, ascending.
    pub fn ids_assigned_to(&self, agent: &str) -> Vec<CaseId> {
        sorted(self.index.by_assignee.get(agent))
    }

    /// The ids of the cases in `group`, ascending.
    pub fn ids_in_group(&self, group: &str) -> Vec<CaseId> {
        sorted(self.index.by_group.get(group))
    }

    /// How many cases (not in the trash; closed ones included) each category holds.
    pub fn count_by_category(&self) -> [(Category, usize); 5] {
        let mut counts = Category::ALL.map(|c| (c, 0));
        for status in self.config.catalog.iter() {
            let held = self
                .index
                .by_status
                .get(status.id.as_str())
                .map_or(0, |s| s.len() as usize);
            counts[status.category as usize].1 += held;
        }
        counts
    }

    /// The incidents linked to `problem`, in id order, without scanning the desk (on a
    /// [`Cascade::Routed`] desk, the remote ones recorded too).
    pub fn incidents_of(&self, problem: CaseId) -> impl Iterator<Item = CaseId> + '_ {
        self.index
            .incidents
            .get(&problem)
            .into_iter()
            .flatten()
            .copied()
    }

    /// The earliest instant at which something is due; `None` when nothing is waiting.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.first().map(|(t, _, _)| t)
    }

    /// How many deadlines are armed (auto-closes and overdue tasks).
    pub fn armed_deadlines(&self) -> usize {
        self.deadlines.len()
    }

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
    /// section 6: `invalid_input`, `stale_time`, `case_not_found`, `case_closed`,
    /// `version_conflict`, then the lifecycle's rules. A rejected command changes nothing
    /// but the advance to `at`, whose events the rejection carries.
    pub fn execute(&mut self, at: Instant, command: &Command) -> Result<Vec<Event>, Rejection> {
        let reject = |error, events| Rejection { error, events };
        if let Err(error) = check_input(command) {
            let events = self.advance_to(at).unwrap_or_default();
            return Err(reject(error, events));
        }
        let mut events = self.advance_to(at).map_err(|e| reject(e, Vec::new()))?;
        match self.decide(at, command) {
            Err(error) => Err(reject(error, events)),
            Ok(decision) => {
                self.commit(at, decision.changes, &mut events);
                if let Some(problem) = decision.cascade {
                    self.commit_cascade(at, problem, &mut events);
                }
                self.follow_ons.extend(decision.follow_ons);
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

    /// Rebuilds a desk from its configuration at start, its start instant and every event
    /// it emitted, in order. The result equals the desk that emitted them, at the instant
    /// of the last event.
    ///
    /// # Errors
    /// `invalid_input` for a gap or a duplicate in `seq`, or an event that does not fit the
    /// state (an unknown case, a second creation); `stale_time` for events out of order.
    pub fn replay(config: Config, start: Instant, events: &[Event]) -> Result<Desk, Error> {
        let mut desk = Desk::new(config, start);
        for event in events {
            if event.seq != desk.seq + 1 {
                return Err(Error::input(format!(
                    "event seq {} follows seq {}: events are missing or repeated",
                    event.seq, desk.seq
                )));
            }
            desk.check_time(event.at)?;
            desk.now = event.at;
            desk.seq = event.seq;
            desk.apply(event)?;
        }
        Ok(desk)
    }

    fn check_time(&self, at: Instant) -> Result<(), Error> {
        if at < self.now {
            return Err(Error::new(
                ErrorCode::StaleTime,
                format!("{at} is earlier than the desk's time {}", self.now),
            ));
        }
        Ok(())
    }

    // ----- time -------------------------------------------------------------------------

    /// Fires every deadline due at or before `until`, each as its own step stamped with its
    /// own instant: auto-closes, then overdue tasks, by ascending case id at one instant.
    fn run_due(&mut self, until: Instant, events: &mut Vec<Event>) {
        while let Some((at, kind, id)) = self.deadlines.first().filter(|(t, _, _)| *t <= until) {
            // Disarm first: whatever applying does, this deadline never fires twice.
            self.deadlines.disarm(id, kind);
            self.now = self.now.max(at);
            let event = match (kind, self.cases.get(&id)) {
                (DeadlineKind::AutoClose, Some(_)) => EventKind::Closed {
                    cause: CloseCause::AutoClose,
                    rule: None,
                },
                (DeadlineKind::Overdue, Some(case)) => match case.due_at {
                    Some(due_at) => EventKind::TaskOverdue { due_at },
                    None => continue,
                },
                (_, None) => continue,
            };
            self.commit(at, vec![Change::of(id, vec![event])], events);
        }
    }

    /// Arms or disarms the case's deadlines from its state. A deadline already past when
    /// armed fires at the arming instant `at`, right after the step that armed it.
    pub(crate) fn sync_deadlines(&mut self, id: CaseId, at: Instant) {
        let (close, overdue) = match self.cases.get(&id) {
            Some(c) if !c.closed && !c.deleted => {
                let resolved = c.category == Category::Resolved;
                let close = c.resolved_at.filter(|_| resolved);
                let close = close.map(|r| r.plus_seconds(self.config.auto_close_seconds()).max(at));
                let overdue = c
                    .due_at
                    .filter(|_| !resolved && !c.overdue)
                    .map(|d| d.max(at));
                (close, overdue)
            }
            _ => (None, None),
        };
        self.deadlines.set(id, [close, overdue]);
    }

    // ----- applying ---------------------------------------------------------------------

    fn commit(&mut self, at: Instant, changes: Vec<Change>, out: &mut Vec<Event>) {
        out.reserve(changes.len());
        for change in changes {
            let version = match (change.case, change.kinds.first()) {
                (_, Some(EventKind::Created { view } | EventKind::Imported { view })) => {
                    Some(view.version)
                }
                (Some(id), _) => self.cases.get(&id).map(|c| c.version + 1),
                (None, _) => None,
            };
            for kind in change.kinds {
                self.emit(at, change.case, version, kind, out);
            }
        }
    }

    /// The cascade of `problem`, resolved earlier in this step (DOMAIN.md section 4): each
    /// linked incident, by ascending id, is decided by `resolve_by_problem` and its event
    /// applied at once. Deciding them all first would read every incident's row in one pass
    /// and write it in another, and a cascade of 200,000 incidents does not stay in the
    /// cache between the two. The outcome is the same: an incident's change depends on that
    /// incident alone, which no earlier event of the step touches, and it cannot fail.
    fn commit_cascade(&mut self, at: Instant, problem: CaseId, out: &mut Vec<Event>) {
        // Taken out while the incidents change, put back as it was: a status change
        // touches no link.
        let Some(linked) = self.index.incidents.remove(&problem) else {
            return;
        };
        let resolved = self.default_status(Category::Resolved).clone();
        out.reserve(linked.len());
        self.deadlines.reserve(linked.len());
        for &id in &linked {
            let Some(incident) = self.cases.get(&id) else {
                continue; // recorded by `link_remote_incident`: held by another desk
            };
            let version = Some(incident.version + 1);
            if let Some(kind) = resolve_by_problem(incident, problem, &resolved) {
                self.emit(at, Some(id), version, kind, out);
            }
        }
        self.index.incidents.insert(problem, linked);
    }

    /// Gives one event of a committed change the next `seq`, applies it and records it.
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
        // Cannot fail: the change was decided against this very state.
        let _ = self.apply(&event);
        out.push(event);
    }

    /// Folds one event into the desk and keeps indexes and deadlines in step.
    fn apply(&mut self, event: &Event) -> Result<(), Error> {
        let at = event.at;
        let unknown = |id| Error::input(format!("event {} names unknown case {id}", event.seq));
        let id = match (&event.kind, event.case) {
            (EventKind::ConfigChanged { changes }, _) => {
                let before = (self.config.timezone, self.config.auto_close_after_days);
                self.config.apply_changes(changes)?;
                if before.0 != self.config.timezone {
                    let zone = self.config.timezone;
                    for id in self.index.dated.clone() {
                        if let Some(case) = self.cases.get_mut(&id) {
                            case.refresh_due_at(zone);
                        }
                        self.sync_deadlines(id, at);
                    }
                }
                if before.1 != self.config.auto_close_after_days {
                    let waiting: Vec<CaseId> =
                        self.deadlines.cases_with(DeadlineKind::AutoClose).collect();
                    for id in waiting {
                        self.sync_deadlines(id, at);
                    }
                }
                return Ok(());
            }
            (_, None) => return Err(Error::input(format!("event {} names no case", event.seq))),
            (EventKind::Created { view } | EventKind::Imported { view }, Some(id)) => {
                if view.id != id || self.cases.contains_key(&id) || self.purged.contains(&id) {
                    return Err(Error::input(format!(
                        "event {} creates case {id}, which exists or existed",
                        event.seq
                    )));
                }
                let mut case = (**view).clone();
                case.refresh_due_at(self.config.timezone);
                self.index.add(&case);
                if let Some(p) = case.problem {
                    self.index.link(p, id);
                }
                self.cases.insert(id, case);
                self.ids.insert(id);
                self.last_id = self.last_id.max(id);
                id
            }
            (kind, Some(id)) => {
                let case = self.cases.get_mut(&id).ok_or_else(|| unknown(id))?;
                let version = event.version.ok_or_else(|| unknown(id))?;
                let before_problem = case.problem;
                match kind {
                    // A trashed case is in no query index (a status remap may still move it).
                    _ if case.deleted
                        && !matches!(kind, EventKind::Restored {} | EventKind::Purged {}) => {}
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
                    EventKind::Purged {} => {
                        if let Some(p) = before_problem {
                            self.index.unlink(p, id);
                        }
                        self.index.trashed.remove(&id);
                        self.index.dated.remove(&id);
                        self.cases.remove(&id);
                        self.ids.remove(id);
                        self.purged.insert(id);
                        self.sync_deadlines(id, at);
                        return Ok(());
                    }
                    _ => {}
                }
                case.apply(at, version, kind);
                match kind {
                    EventKind::Restored {} => {
                        case.refresh_due_at(self.config.timezone);
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
                id
            }
        };
        self.sync_deadlines(id, at);
        Ok(())
    }

    // ----- deciding ---------------------------------------------------------------------

    fn decide(&self, at: Instant, command: &Command) -> Result<Decision, Error> {
        let changes = match command {
            Command::Create(c) => self.decide_create(at, c),
            Command::Update(u) => return self.decide_update(at, u),
            Command::ResolveByProblem { case, problem } => {
                let incident = self.live_case(*case)?;
                // Where the problem lives here, it must really be resolved; a problem on
                // another desk is vouched for by the host that routed the command.
                let unresolved = |p: &&Case| !p.closed && p.category != Category::Resolved;
                if let Some(p) = self.cases.get(problem).filter(unresolved) {
                    return Err(Error::new(
                        ErrorCode::InvalidTransition,
                        format!(
                            "problem {} is not resolved: only its cascade resolves its incidents",
                            p.id
                        ),
                    ));
                }
                let resolved = self.default_status(Category::Resolved);
                Ok(resolve_by_problem(incident, *problem, resolved)
                    .map(|kind| Change::of(*case, vec![kind]))
                    .into_iter()
                    .collect())
            }
            Command::RequesterReply { case } => self.decide_reply(*case),
            Command::Close { case } => {
                self.open_case(*case)?;
                Err(Error::new(
                    ErrorCode::ManualCloseForbidden,
                    format!(
                        "case {case} cannot be closed by hand: resolved cases close automatically"
                    ),
                ))
            }
            Command::FollowUp { case, id } => self.decide_follow_up(at, *case, *id),
            Command::Import { view } => {
                let mut case = (*view.case).clone();
                self.check_view(&mut case, &view.given, at)?;
                self.new_id(Some(case.id))?;
                self.check_view_link(&case)?;
                let (id, problem) = (case.id, case.problem);
                let mut kinds = vec![EventKind::Imported {
                    view: Box::new(case),
                }];
                kinds.extend(problem.map(|problem| EventKind::Linked { problem }));
                Ok(vec![Change::of(id, kinds)])
            }
            Command::Delete { case } => {
                let c = self.live_case(*case)?;
                if c.case_type == Some(CaseType::Problem) && self.index.incidents.contains_key(case)
                {
                    return Err(Error::new(
                        ErrorCode::ProblemHasIncidents,
                        format!("problem {case} has linked incidents and cannot be deleted"),
                    ));
                }
                Ok(vec![Change::of(*case, vec![EventKind::Deleted {}])])
            }
            Command::Restore { case } => {
                self.trashed_case(*case, "restored")?;
                Ok(vec![Change::of(*case, vec![EventKind::Restored {}])])
            }
            Command::Purge { case } => {
                self.trashed_case(*case, "purged")?;
                Ok(vec![Change::of(*case, vec![EventKind::Purged {}])])
            }
            Command::Advance {} => Ok(Vec::new()),
            Command::Configure(patch) => self.decide_configure(patch),
        };
        changes.map(|changes| Decision {
            changes,
            ..Decision::default()
        })
    }

    /// A case that exists and is not in the trash.
    fn live_case(&self, id: CaseId) -> Result<&Case, Error> {
        self.cases
            .get(&id)
            .filter(|c| !c.deleted)
            .ok_or_else(|| Error::new(ErrorCode::CaseNotFound, format!("there is no case {id}")))
    }

    /// A case in the trash, for `restore` and `purge`.
    fn trashed_case(&self, id: CaseId, verb: &str) -> Result<&Case, Error> {
        let case = self
            .cases
            .get(&id)
            .ok_or_else(|| Error::new(ErrorCode::CaseNotFound, format!("there is no case {id}")))?;
        if !case.deleted {
            return Err(Error::new(
                ErrorCode::InvalidTransition,
                format!("case {id} is not in the trash and cannot be {verb}"),
            ));
        }
        Ok(case)
    }

    /// A live case that is not closed.
    fn open_case(&self, id: CaseId) -> Result<&Case, Error> {
        let case = self.live_case(id)?;
        if case.closed {
            return Err(Error::new(
                ErrorCode::CaseClosed,
                format!("case {id} is closed"),
            ));
        }
        Ok(case)
    }

    fn new_id(&self, requested: Option<CaseId>) -> Result<CaseId, Error> {
        match requested {
            Some(id) if self.cases.contains_key(&id) || self.purged.contains(&id) => Err(
                Error::new(ErrorCode::CaseExists, format!("case id {id} is taken")),
            ),
            Some(id) => Ok(id),
            None => self.last_id.checked_add(1).ok_or_else(|| {
                Error::new(
                    ErrorCode::LimitExceeded,
                    "no case id is left after the largest one",
                )
            }),
        }
    }

    fn default_status(&self, category: Category) -> &Status {
        self.config.catalog.default_status(category)
    }

    /// The rules of DOMAIN.md 3.1 and 3.2 for a case moving from `from` (none at creation)
    /// to category `to`, assigned or not afterwards.
    fn check_transition(
        &self,
        from: Option<Category>,
        to: Category,
        assigned: bool,
    ) -> Result<(), Error> {
        let refuse = |why: &str| Err(Error::new(ErrorCode::InvalidTransition, why.to_owned()));
        if to == Category::New && assigned {
            return refuse("a case with an assignee cannot be in a new status");
        }
        if to == Category::Resolved && from != Some(Category::Resolved) && !assigned {
            return Err(Error::new(
                ErrorCode::AssigneeRequired,
                "resolving a case needs an assignee",
            ));
        }
        match self.config.new_status {
            NewStatusPolicy::NewIffUnassigned
                if !assigned && !matches!(to, Category::New | Category::Resolved) =>
            {
                refuse(&format!(
                    "an unassigned case cannot be in category {to} (policy new_iff_unassigned)"
                ))
            }
            NewStatusPolicy::NewOnlyAtStart
                if to == Category::New && from.is_some_and(|f| f != Category::New) =>
            {
                refuse("a case that left new never returns to it (policy new_only_at_start)")
            }
            _ => Ok(()),
        }
    }

    /// The group directory's rules for an assignee and group, when either changes.
    fn check_directory(&self, assignee: Option<&str>, group: Option<&str>) -> Result<(), Error> {
        let Some(groups) = &self.config.groups else {
            return Ok(());
        };
        if let Some(g) = group.filter(|g| !groups.contains_key(*g)) {
            return Err(Error::new(
                ErrorCode::UnknownGroup,
                format!("there is no group `{g}`"),
            ));
        }
        if let Some(a) = assignee.filter(|a| !groups.values().any(|m| m.contains(*a))) {
            return Err(Error::new(
                ErrorCode::UnknownAgent,
                format!("there is no agent `{a}`"),
            ));
        }
        if let (Some(a), Some(g)) = (assignee, group)
            && !groups.get(g).is_some_and(|m| m.contains(a))
        {
            return Err(Error::new(
                ErrorCode::AssigneeNotInGroup,
                format!("agent `{a}` is not a member of group `{g}`"),
            ));
        }
        Ok(())
    }

    /// An incident `incident` may link to `problem` (DOMAIN.md section 4).
    fn check_link_target(&self, incident: CaseId, problem: CaseId) -> Result<(), Error> {
        let not_a_problem = || {
            Error::new(
                ErrorCode::NotAProblem,
                format!("case {problem} is not a problem"),
            )
        };
        if problem == incident {
            return Err(not_a_problem());
        }
        if self.cascade_mode == Cascade::Routed && !self.cases.contains_key(&problem) {
            return Ok(()); // the problem lives on another desk; the host validated the link
        }
        let target = self.live_case(problem)?;
        if target.case_type != Some(CaseType::Problem) {
            return Err(not_a_problem());
        }
        if target.closed || target.category == Category::Resolved {
            return Err(Error::new(
                ErrorCode::ProblemResolved,
                format!("problem {problem} is resolved or closed"),
            ));
        }
        Ok(())
    }

    fn decide_create(&self, at: Instant, c: &Create) -> Result<Vec<Change>, Error> {
        let id = self.new_id(c.id)?;
        self.check_directory(c.assignee.as_deref(), c.group.as_deref())?;
        if c.due_date.is_some() && c.case_type != Some(CaseType::Task) {
            return Err(due_date_requires_task());
        }
        if let Some(p) = c.problem {
            if c.case_type != Some(CaseType::Incident) {
                return Err(not_an_incident(id));
            }
            self.check_link_target(id, p)?;
        }
        let assigned = c.assignee.is_some();
        let status = match &c.status {
            Some(s) => self.config.catalog.settable(s)?,
            None if assigned => self.default_status(Category::Open),
            None => self.default_status(Category::New),
        };
        self.check_transition(None, status.category, assigned)?;
        let resolved = status.category == Category::Resolved;
        let view = Case {
            id,
            case_type: c.case_type,
            subject: c.subject.clone(),
            priority: c.priority,
            status: status.id.clone(),
            category: status.category,
            closed: false,
            requester: Name::from(c.requester.as_deref().unwrap_or(&c.submitter)),
            submitter: Name::from(c.submitter.as_str()),
            assignee: c.assignee.as_deref().map(Name::from),
            group: c.group.as_deref().map(Name::from),
            problem: c.problem,
            due_date: c.due_date,
            due_at: c.due_date.map(|d| d.noon_in(self.config.timezone)),
            tags: normalize_tags("tags", &c.tags)?,
            channel: c.channel.unwrap_or_default(),
            follow_up_of: None,
            reopens: 0,
            created_at: at,
            updated_at: at,
            status_changed_at: at,
            category_changed_at: at,
            assigned_at: c.assignee.as_ref().map(|_| at),
            resolved_at: resolved.then_some(at),
            replied_at: None,
            closed_at: None,
            overdue: false,
            deleted: false,
            version: 1,
        };
        let mut kinds = vec![EventKind::Created {
            view: Box::new(view),
        }];
        if let Some(problem) = c.problem {
            kinds.push(EventKind::Linked { problem });
        }
        Ok(vec![Change::of(id, kinds)])
    }

    fn decide_update(&self, at: Instant, u: &Update) -> Result<Decision, Error> {
        let case = self.open_case(u.case)?;
        if let Some(v) = u.expected_version.filter(|v| *v != case.version) {
            return Err(Error::new(
                ErrorCode::VersionConflict,
                format!("case {} is at version {}, not {v}", case.id, case.version),
            ));
        }
        // Every check applies to the case as it would be after the whole update.
        let new_type = u.case_type.unwrap_or(case.case_type);
        let new_priority = u.priority.unwrap_or(case.priority);
        // A text field changes only when named with another value; unnamed ones are not read.
        let subject_change = named(&u.subject, case.subject.as_deref());
        let assignee_change = named(&u.assignee, case.assignee.as_deref());
        let group_change = named(&u.group, case.group.as_deref());
        let new_assignee = assignee_change.unwrap_or(case.assignee.as_deref());
        let new_group = group_change.unwrap_or(case.group.as_deref());
        let is_incident = new_type == Some(CaseType::Incident);
        let new_problem = match u.problem {
            Some(Some(_)) if !is_incident => return Err(not_an_incident(case.id)),
            Some(p) => p,
            None => case.problem.filter(|_| is_incident),
        };
        let is_task = new_type == Some(CaseType::Task);
        let new_due = match u.due_date {
            Some(Some(_)) if !is_task => return Err(due_date_requires_task()),
            Some(d) => d,
            None => case.due_date.filter(|_| is_task),
        };
        let assignee_changed = assignee_change.is_some();
        let group_changed = group_change.is_some();
        if assignee_changed || group_changed {
            self.check_directory(new_assignee, new_group)?;
        }
        if new_type != case.case_type
            && case.case_type == Some(CaseType::Problem)
            && self.index.incidents.contains_key(&case.id)
        {
            return Err(Error::new(
                ErrorCode::ProblemHasIncidents,
                format!(
                    "problem {} has linked incidents and cannot change type",
                    case.id
                ),
            ));
        }
        if let Some(p) = new_problem.filter(|p| Some(*p) != case.problem) {
            self.check_link_target(case.id, p)?;
        }
        let added: Vec<String> = normalize_tags("add_tags", &u.add_tags)?
            .into_iter()
            .filter(|t| !case.tags.contains(t))
            .collect();
        let removed: Vec<String> = normalize_tags("remove_tags", &u.remove_tags)?
            .into_iter()
            .filter(|t| case.tags.contains(t))
            .collect();
        if case.tags.len() + added.len() - removed.len() > MAX_TAGS {
            return Err(Error::input(format!(
                "tags: a case holds at most {MAX_TAGS} tags"
            )));
        }

        // The status: as named (even when unchanged, it is kept), or moved by assignment.
        let catalog = &self.config.catalog;
        let target = match &u.status {
            Some(s) if case.status == **s => catalog.get(s).map(|st| (st, StatusCause::Command)),
            Some(s) => Some((catalog.settable(s)?, StatusCause::Command)),
            None if assignee_changed
                && case.category == Category::New
                && new_assignee.is_some() =>
            {
                Some((self.default_status(Category::Open), StatusCause::Assignment))
            }
            None if assignee_changed
                && new_assignee.is_none()
                && self.config.new_status == NewStatusPolicy::NewIffUnassigned
                && matches!(
                    case.category,
                    Category::Open | Category::Pending | Category::OnHold
                ) =>
            {
                Some((
                    self.default_status(Category::New),
                    StatusCause::Unassignment,
                ))
            }
            None => None,
        };
        let to_category = target.map_or(case.category, |(s, _)| s.category);
        if target.is_some() || assignee_changed {
            self.check_transition(Some(case.category), to_category, new_assignee.is_some())?;
        }

        let mut kinds = Vec::new();
        if new_type != case.case_type {
            kinds.push(EventKind::TypeChanged {
                from: case.case_type,
                to: new_type,
            });
        }
        if new_problem != case.problem {
            if let Some(problem) = case.problem {
                kinds.push(EventKind::Unlinked { problem });
            }
            if let Some(problem) = new_problem {
                kinds.push(EventKind::Linked { problem });
            }
        }
        let owned = |s: Option<&str>| s.map(str::to_owned);
        if let Some(to) = subject_change {
            kinds.push(EventKind::SubjectChanged {
                from: case.subject.clone(),
                to: owned(to),
            });
        }
        if new_priority != case.priority {
            kinds.push(EventKind::PriorityChanged {
                from: case.priority,
                to: new_priority,
            });
        }
        if group_changed {
            kinds.push(EventKind::GroupChanged {
                from: owned(case.group.as_deref()),
                to: owned(new_group),
            });
        }
        if assignee_changed {
            kinds.push(EventKind::AssigneeChanged {
                from: owned(case.assignee.as_deref()),
                to: owned(new_assignee),
            });
        }
        if new_due != case.due_date {
            kinds.push(EventKind::DueDateChanged {
                from: case.due_date,
                to: new_due,
            });
        }
        // Edit lock: a resolved case that stays resolved changes only its status and tags.
        if case.category == Category::Resolved
            && to_category == Category::Resolved
            && !kinds.is_empty()
        {
            return Err(Error::new(
                ErrorCode::CaseResolved,
                format!(
                    "case {} is resolved: only its status and tags may change unless it is reopened",
                    case.id
                ),
            ));
        }
        if !added.is_empty() || !removed.is_empty() {
            kinds.push(EventKind::TagsChanged { added, removed });
        }
        let mut cascades = false;
        if let Some((status, cause)) = target.filter(|(s, _)| s.id != case.status) {
            kinds.push(status_changed(case, status, cause, None));
            cascades = status.category == Category::Resolved
                && case.category != Category::Resolved
                && new_type == Some(CaseType::Problem);
        }
        let mut decision = Decision::default();
        if !kinds.is_empty() {
            decision.changes.push(Change::of(case.id, kinds));
        }
        if cascades {
            self.cascade(at, case.id, &mut decision);
        }
        Ok(decision)
    }

    /// Resolving a problem resolves its incidents, by ascending id (DOMAIN.md section 4):
    /// in the same step on a [`Cascade::Local`] desk (`commit_cascade` decides and applies
    /// them one by one), as `resolve_by_problem` follow-on commands for the host to route
    /// on a [`Cascade::Routed`] one.
    fn cascade(&self, at: Instant, problem: CaseId, decision: &mut Decision) {
        // No linked incident (the usual problem) costs one lookup.
        let Some(linked) = self.index.incidents.get(&problem) else {
            return;
        };
        match self.cascade_mode {
            Cascade::Local => decision.cascade = Some(problem),
            Cascade::Routed => decision
                .follow_ons
                .extend(linked.iter().map(|&case| FollowOn {
                    at,
                    command: Command::ResolveByProblem { case, problem },
                })),
        }
    }

    fn decide_reply(&self, id: CaseId) -> Result<Vec<Change>, Error> {
        let case = self.open_case(id)?;
        let mut kinds = vec![EventKind::RequesterReplied {}];
        if matches!(
            case.category,
            Category::Pending | Category::OnHold | Category::Resolved
        ) {
            let back_to_new = case.assignee.is_none()
                && self.config.new_status == NewStatusPolicy::NewIffUnassigned;
            let to = self.default_status(if back_to_new {
                Category::New
            } else {
                Category::Open
            });
            kinds.push(status_changed(case, to, StatusCause::RequesterReply, None));
        }
        Ok(vec![Change::of(id, kinds)])
    }

    /// An imported view, checked for consistency with DOMAIN.md and completed with its
    /// derived fields; every violation is `invalid_input` naming the field.
    pub(crate) fn check_view(
        &self,
        case: &mut Case,
        given: &Derived,
        at: Instant,
    ) -> Result<(), Error> {
        let bad = |field: &str, why: String| Error::input(format!("view: {field}: {why}"));
        if case.id == 0 {
            return Err(bad("id", "case ids start at 1".to_owned()));
        }
        if case.version == 0 {
            return Err(bad("version", "versions start at 1".to_owned()));
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
        if !case.tags.iter().all(|t| is_tag(t)) || case.tags.len() > MAX_TAGS {
            return Err(bad(
                "tags",
                format!("tags are at most {MAX_TAGS} lowercase tags"),
            ));
        }
        let status = self
            .config
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
            || match self.config.new_status {
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
        let computed = case.due_date.map(|d| d.noon_in(self.config.timezone));
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
    pub(crate) fn check_view_link(&self, case: &Case) -> Result<(), Error> {
        let Some(p) = case.problem else { return Ok(()) };
        let routed_away = self.cascade_mode == Cascade::Routed && !self.cases.contains_key(&p);
        let is_problem = self
            .cases
            .get(&p)
            .is_some_and(|c| c.case_type == Some(CaseType::Problem));
        if routed_away || is_problem {
            return Ok(());
        }
        Err(Error::input(format!(
            "view: problem: case {p} is not a problem of this desk"
        )))
    }

    fn decide_follow_up(
        &self,
        at: Instant,
        of: CaseId,
        id: Option<CaseId>,
    ) -> Result<Vec<Change>, Error> {
        let closed = self.live_case(of)?;
        if !closed.closed {
            return Err(Error::new(
                ErrorCode::CaseNotClosed,
                format!("case {of} is not closed"),
            ));
        }
        let id = self.new_id(id)?;
        let status = self.default_status(Category::New);
        let view = Case {
            id,
            case_type: None,
            subject: closed.subject.clone(),
            priority: None,
            status: status.id.clone(),
            category: Category::New,
            closed: false,
            requester: closed.requester.clone(),
            submitter: closed.submitter.clone(),
            assignee: None,
            group: None,
            problem: None,
            due_date: None,
            due_at: None,
            tags: closed.tags.clone(),
            channel: closed.channel,
            follow_up_of: Some(of),
            reopens: 0,
            created_at: at,
            updated_at: at,
            status_changed_at: at,
            category_changed_at: at,
            assigned_at: None,
            resolved_at: None,
            replied_at: None,
            closed_at: None,
            overdue: false,
            deleted: false,
            version: 1,
        };
        Ok(vec![Change::of(
            id,
            vec![EventKind::Created {
                view: Box::new(view),
            }],
        )])
    }

    fn decide_configure(&self, patch: &ConfigPatch) -> Result<Vec<Change>, Error> {
        let next = patch.applied_to(&self.config)?;
        let mut remaps = Vec::new();
        if let Some(delete) = &patch.delete_status {
            for id in self.index.open_holders(delete.id.as_str(), &self.cases) {
                let Some(target) = &delete.remap_to else {
                    return Err(Error::new(
                        ErrorCode::StatusInUse,
                        format!(
                            "status `{}` is held by case {id}: name a remap_to status in its category",
                            delete.id
                        ),
                    ));
                };
                let (Some(case), Some(to)) = (self.cases.get(&id), next.catalog.get(target)) else {
                    continue;
                };
                remaps.push(Change::of(
                    id,
                    vec![status_changed(case, to, StatusCause::StatusDeleted, None)],
                ));
            }
        }
        let changes = self.config.changes_to(&next);
        if changes.is_empty() {
            return Ok(remaps);
        }
        remaps.insert(
            0,
            Change {
                case: None,
                kinds: vec![EventKind::ConfigChanged {
                    changes: Box::new(changes),
                }],
            },
        );
        Ok(remaps)
    }
}

/// The one rule of a cascade for one incident: linked to `problem`, neither resolved nor
/// closed, it moves to `resolved` (resolved's default), cause `problem_resolved`; the
/// assignee requirement is waived. Anything else is untouched.
fn resolve_by_problem(incident: &Case, problem: CaseId, resolved: &Status) -> Option<EventKind> {
    let untouched = incident.closed
        || incident.deleted
        || incident.category == Category::Resolved
        || incident.problem != Some(problem);
    if untouched {
        return None;
    }
    Some(status_changed(
        incident,
        resolved,
        StatusCause::ProblemResolved,
        Some(problem),
    ))
}

fn status_changed(
    case: &Case,
    to: &Status,
    cause: StatusCause,
    problem: Option<CaseId>,
) -> EventKind {
    EventKind::StatusChanged {
        from: case.status.clone(),
        to: to.id.clone(),
        from_category: case.category,
        to_category: to.category,
        cause,
        rule: None,
        problem,
    }
}

/// The new value of a text field an update names with another value than `current`.
fn named<'a>(field: &'a Option<Option<String>>, current: Option<&str>) -> Option<Option<&'a str>> {
    field
        .as_ref()
        .filter(|v| v.as_deref() != current)
        .map(|v| v.as_deref())
}

fn not_an_incident(id: CaseId) -> Error {
    Error::new(
        ErrorCode::NotAnIncident,
        format!("case {id} is not an incident: only incidents link to problems"),
    )
}

fn due_date_requires_task() -> Error {
    Error::new(
        ErrorCode::DueDateRequiresTask,
        "only tasks carry a due date",
    )
}

/// The checks that need no state: shapes, lengths, tags (`invalid_input`).
fn check_input(command: &Command) -> Result<(), Error> {
    let zero = |field: &str| Error::input(format!("{field}: case ids start at 1"));
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
            if normalize_tags("tags", &c.tags)?.len() > MAX_TAGS {
                return Err(Error::input(format!(
                    "tags: a case holds at most {MAX_TAGS} tags"
                )));
            }
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
            let add = normalize_tags("add_tags", &u.add_tags)?;
            for t in &u.remove_tags {
                let t = normalize_tag("remove_tags", t)?;
                if add.contains(&t) {
                    return Err(Error::input(format!("tag `{t}` is both added and removed")));
                }
            }
        }
        Command::FollowUp { id: Some(0), .. } => return Err(zero("id")),
        _ => {}
    }
    Ok(())
}

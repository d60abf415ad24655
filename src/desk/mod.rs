//! The desk: one account's configuration and cases, with the host's API and queries.
//!
//! A desk runs in steps (`step`): each command, deadline or (later) automation opens one,
//! asks the lifecycle's pure deciders (`crate::lifecycle`) what happens, and folds the
//! events in (`fold`), keeping the store, the indexes and the deadline table in step.
//! `snapshot` writes and restores a whole desk.

mod deadlines;
mod fold;
mod index;
mod rules;
mod snapshot;
mod step;
mod store;

use std::collections::{BTreeSet, VecDeque};

pub use rules::{Explanation, RuleStats};
pub use snapshot::{RestoreOptions, SNAPSHOT_VERSION};

use crate::case::{Case, CaseId};
use crate::config::Config;
use crate::error::Error;
use crate::event::{Event, EventKind};
use crate::ids::IdMap;
use crate::lifecycle::{self, Cascade, FollowOn, State};
use crate::status::Category;
use crate::time::Instant;
use deadlines::Deadlines;
use index::{IdSet, Indexes, sorted, union};
use store::CaseStore;

/// A query over a desk's cases ([`Desk::query`]): the filters given must all hold; each
/// lists values any of which may match; an empty list does not filter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Query {
    /// Categories of the cases' statuses.
    pub categories: Vec<Category>,
    /// Status ids.
    pub statuses: Vec<String>,
    /// Assignees.
    pub assignees: Vec<String>,
    /// Groups.
    pub groups: Vec<String>,
    /// Only ids greater than this one (the last id of the previous page).
    pub after: Option<CaseId>,
    /// At most this many ids.
    pub limit: Option<usize>,
}

/// A rejected command: why, and the events of the advance to the command's instant,
/// which happened anyway (docs/lifecycle.md, Time and steps).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{error}")]
pub struct Rejection {
    /// Why the command was rejected.
    pub error: Error,
    /// Events of deadlines that fell due before the command's instant.
    pub events: Vec<Event>,
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
    pub(crate) deadlines: Deadlines,
    pub(crate) index: Indexes,
    /// Ids of purged cases: never reused.
    pub(crate) purged: BTreeSet<CaseId>,
    pub(crate) cascade_mode: Cascade,
    /// Follow-on commands not yet taken by the host.
    pub(crate) follow_ons: Vec<FollowOn>,
    /// Each case the step under way touched: its version in the step (one per step,
    /// docs/lifecycle.md, Time and steps) and whether the step created it. Empty between
    /// steps; kept to reuse its memory.
    pub(crate) touched: IdMap<CaseId, step::Touch>,
    /// What each case the step under way changed was at the start of the step: the fields
    /// the triggers compare with it (`Rules::baseline_fields`), none when they compare
    /// none. Empty between steps; kept to reuse its memory.
    pub(crate) baselines: IdMap<CaseId, crate::rules::Baseline>,
    /// The queue of the step under way (`step::Work`). Empty between steps; kept to reuse
    /// its memory.
    pub(crate) work: VecDeque<step::Work>,
    /// The next sweep of automations; none when no automation is enabled.
    pub(crate) next_sweep: Option<Instant>,
    pub(crate) rule_state: rules::RuleState,
    pub(crate) stats: rules::Stats,
    /// The run of events the last replayed event belongs to, for checking the next one.
    pub(crate) last: fold::LastEvent,
}

impl Desk {
    /// An empty desk with this configuration, its clock at `start`.
    pub fn new(config: Config, start: Instant) -> Desk {
        let mut desk = Desk {
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
            touched: IdMap::default(),
            baselines: IdMap::default(),
            work: VecDeque::new(),
            next_sweep: None,
            rule_state: rules::RuleState::default(),
            stats: rules::Stats::default(),
            last: fold::LastEvent::default(),
        };
        desk.reschedule_sweeps(start);
        desk
    }

    /// This desk, carrying out problem cascades as `mode` says.
    pub fn with_cascade(mut self, mode: Cascade) -> Desk {
        self.cascade_mode = mode;
        self
    }

    /// Takes, at `at`, the follow-on commands that steps so far asked the host to route, in
    /// order, with the events of the call: those of the advance to `at` (deadlines due),
    /// then one `follow_ons_taken` when any was pending, so that replaying the log
    /// rebuilds the follow-ons still pending. A host executes each where its incident
    /// lives, at least once.
    ///
    /// # Errors
    /// `invalid_input` when `at` is after [`Instant::latest_step`]; `stale_time` when it
    /// is earlier than the desk's time. Nothing changes then.
    pub fn take_follow_ons(&mut self, at: Instant) -> Result<(Vec<FollowOn>, Vec<Event>), Error> {
        let mut events = self.advance_to(at)?;
        let taken = std::mem::take(&mut self.follow_ons);
        if !taken.is_empty() {
            let kind = EventKind::FollowOnsTaken {
                count: taken.len() as u64,
            };
            self.emit(at, None, None, kind, &mut events);
        }
        Ok((taken, events))
    }

    /// Records, at `at`, that `incident`, held by another desk, is linked to `problem`,
    /// held here, so that resolving the problem routes a follow-on to it and the problem
    /// cannot change type. Call it once the incident's desk accepted the link. Returns the
    /// events: those of the advance to `at`, then `remote_linked` (about the problem, at
    /// its version: the problem itself does not change), or nothing more when the link is
    /// recorded already, so a host may repeat the call.
    ///
    /// # Errors
    /// A [`Rejection`]: `invalid_input` on a [`Cascade::Local`] desk (it holds all its
    /// incidents; before any advance) and when `incident` is a case of this desk (link it
    /// with an update); `stale_time`; otherwise the
    /// link checks of docs/lifecycle.md (Incidents and problems): `case_not_found`,
    /// `not_a_problem`, `problem_resolved`. The events of the advance to `at` happened
    /// anyway, and the rejection carries them.
    pub fn link_remote_incident(
        &mut self,
        at: Instant,
        problem: CaseId,
        incident: CaseId,
    ) -> Result<Vec<Event>, Rejection> {
        let reject = |error, events| Rejection { error, events };
        if self.cascade_mode == Cascade::Local {
            return Err(reject(
                Error::input(
                    "link_remote_incident is only for routed desks: a local desk holds its incidents",
                ),
                Vec::new(),
            ));
        }
        let mut events = self.advance_to(at).map_err(|e| reject(e, Vec::new()))?;
        if let Err(error) = self.check_remote_link(problem, incident) {
            return Err(reject(error, events));
        }
        if self.remote_link_known(problem, incident) {
            return Ok(events); // recorded already: a host may repeat the call
        }
        let version = self.cases.get(&problem).map(|c| c.version);
        let kind = EventKind::RemoteLinked { problem, incident };
        self.emit(at, Some(problem), version, kind, &mut events);
        Ok(events)
    }

    /// Whether `incident`, not on this desk, may be recorded as linked to `problem`.
    pub(crate) fn check_remote_link(&self, problem: CaseId, incident: CaseId) -> Result<(), Error> {
        if self.cases.contains_key(&incident) {
            return Err(Error::input(format!(
                "case {incident} is on this desk: link it with an update"
            )));
        }
        lifecycle::live_case(self, problem)?;
        lifecycle::check_link_target(self, incident, problem)
    }

    /// Whether the link of `incident`, not on this desk, to `problem` is recorded.
    pub(crate) fn remote_link_known(&self, problem: CaseId, incident: CaseId) -> bool {
        !self.cases.contains_key(&incident)
            && self
                .index
                .incidents
                .get(&problem)
                .is_some_and(|s| s.contains(&incident))
    }

    /// Forgets, at `at`, a link recorded with [`Desk::link_remote_incident`], when the
    /// incident's desk unlinked it. Returns the events: those of the advance to `at`, then
    /// `remote_unlinked` when the link was recorded (nothing more when it was not, so a
    /// host may repeat it).
    ///
    /// # Errors
    /// A [`Rejection`]: `invalid_input` when `at` is after [`Instant::latest_step`],
    /// `stale_time` when it is earlier than the desk's time (nothing changes then).
    pub fn unlink_remote_incident(
        &mut self,
        at: Instant,
        problem: CaseId,
        incident: CaseId,
    ) -> Result<Vec<Event>, Rejection> {
        let mut events = self.advance_to(at).map_err(|error| Rejection {
            error,
            events: Vec::new(),
        })?;
        if self.remote_link_known(problem, incident) {
            let version = self.cases.get(&problem).map(|c| c.version);
            let kind = EventKind::RemoteUnlinked { problem, incident };
            self.emit(at, Some(problem), version, kind, &mut events);
        }
        Ok(events)
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
        self.in_categories(&[category]).into_iter().collect()
    }

    /// The cases whose status is in one of these categories: the union of the status
    /// index's sets for the categories' statuses.
    pub(crate) fn in_categories(&self, categories: &[Category]) -> IdSet {
        let statuses = self.config.catalog.iter();
        let ids = statuses
            .filter(|s| categories.contains(&s.category))
            .map(|s| s.id.as_str());
        union(&self.index.by_status, ids)
    }

    /// The ids of the cases holding `status` (closed ones included), ascending.
    pub fn ids_with_status(&self, status: &str) -> Vec<CaseId> {
        sorted(self.index.by_status.get(status))
    }

    /// The ids of the cases assigned to `agent`, ascending.
    pub fn ids_assigned_to(&self, agent: &str) -> Vec<CaseId> {
        sorted(self.index.by_assignee.get(agent))
    }

    /// The ids of the cases tagged `tag` (as stored: lowercase), ascending.
    pub fn ids_tagged(&self, tag: &str) -> Vec<CaseId> {
        sorted(self.index.by_tag.get(tag))
    }

    /// The ids of the cases in `group`, ascending.
    pub fn ids_in_group(&self, group: &str) -> Vec<CaseId> {
        sorted(self.index.by_group.get(group))
    }

    /// The ids of the cases (not in the trash; closed ones included) that match every
    /// filter `query` gives, ascending, after `query.after`, at most `query.limit` of them.
    /// Each filter is a set of values any of which may match; the filters intersect the
    /// indexes' sets, so the cost is that of the sets and the result, not the desk's.
    ///
    /// # Example
    /// ```
    /// use caseflow::{Category, Command, Config, Desk, Instant, Query};
    /// let t = |s: &str| s.parse::<Instant>().unwrap();
    /// let mut desk = Desk::new(Config::default(), t("2026-03-02T09:00:00Z"));
    /// for agent in ["bob", "carol", "bob"] {
    ///     let json = format!(r#"{{"op": "create", "submitter": "r", "assignee": "{agent}"}}"#);
    ///     desk.execute(t("2026-03-02T09:00:00Z"), &Command::from_json(&json).unwrap()).unwrap();
    /// }
    /// let bob_open = Query {
    ///     categories: vec![Category::Open],
    ///     assignees: vec!["bob".into()],
    ///     ..Query::default()
    /// };
    /// assert_eq!(desk.query(&bob_open), vec![1, 3]);
    /// let page = Query { after: Some(1), limit: Some(1), ..bob_open };
    /// assert_eq!(desk.query(&page), vec![3]);
    /// ```
    pub fn query(&self, query: &Query) -> Vec<CaseId> {
        let index = &self.index;
        let mut filters: Vec<IdSet> = Vec::new();
        if !query.categories.is_empty() {
            filters.push(self.in_categories(&query.categories));
        }
        if !query.statuses.is_empty() {
            filters.push(union(
                &index.by_status,
                query.statuses.iter().map(String::as_str),
            ));
        }
        if !query.assignees.is_empty() {
            filters.push(union(
                &index.by_assignee,
                query.assignees.iter().map(String::as_str),
            ));
        }
        if !query.groups.is_empty() {
            filters.push(union(
                &index.by_group,
                query.groups.iter().map(String::as_str),
            ));
        }
        filters.sort_by_key(IdSet::len);
        let mut found = match filters.split_first() {
            Some((first, rest)) => rest.iter().fold(first.clone(), |all, set| all & set),
            None => {
                let mut live = self.ids.clone();
                for id in &self.index.trashed {
                    live.remove(*id);
                }
                live
            }
        };
        if let Some(after) = query.after {
            found.remove_range(..=after);
        }
        found
            .iter()
            .take(query.limit.unwrap_or(usize::MAX))
            .collect()
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

    /// The earliest instant at which something is due (a deadline, or a sweep of the
    /// automations); `None` when nothing is waiting.
    pub fn next_deadline(&self) -> Option<Instant> {
        let deadline = self.deadlines.first().map(|(t, _, _)| t);
        match (deadline, self.next_sweep) {
            (Some(d), Some(s)) => Some(d.min(s)),
            (d, s) => d.or(s),
        }
    }

    /// How many deadlines are armed (auto-closes and overdue tasks).
    pub fn armed_deadlines(&self) -> usize {
        self.deadlines.len()
    }
}

impl State for Desk {
    fn config(&self) -> &Config {
        &self.config
    }

    fn case(&self, id: CaseId) -> Option<&Case> {
        self.cases.get(&id)
    }

    fn has_incidents(&self, problem: CaseId) -> bool {
        self.index.incidents.contains_key(&problem)
    }

    fn id_taken(&self, id: CaseId) -> bool {
        self.cases.contains_key(&id) || self.purged.contains(&id)
    }

    fn last_id(&self) -> CaseId {
        self.last_id
    }

    fn cascade_mode(&self) -> Cascade {
        self.cascade_mode
    }

    fn open_holders(&self, status: &str) -> Vec<CaseId> {
        self.index.open_holders(status, &self.cases)
    }
}

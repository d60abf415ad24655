//! The policy testkit (feature `testkit`): random workloads for an account, one call that
//! runs a workload through a desk, checks on what came out, and failures shrunk to
//! scenario files. The guide [`crate::guide::testing_policies`] shows it at work.
//!
//! - [`workloads`] is a proptest strategy of [`TimedWorkload`]s for a [`Config`], drawn
//!   from the seeded generator [`crate::workload::Workload`] (the one `caseflow simulate`
//!   uses); [`workloads_with_changes`] adds configuration changes; [`generate`] makes one
//!   from [`Params`].
//! - [`run`] drives a desk through a workload and returns an [`Outcome`]: the desk, every
//!   event, each step, per-rule statistics.
//! - A [`Check`] is a closure over an [`Outcome`] returning `Result<(), Violation>`:
//!   [`invariants`] are the engine's own, [`policies`] the ready-made policy checks that
//!   need no parameter, and [`urgent_assigned_within`] and [`max_time_in`] take theirs.
//! - [`shrink`] removes commands from a failing workload while the same check still fails
//!   the same way; [`scenario`] and [`write_scenario`] turn the result into a scenario
//!   file (docs/scenarios.md) that fails under `caseflow scenario`; [`verify`] does all
//!   three for one workload.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::{Path, PathBuf};

use proptest::prelude::{Strategy, any};
use serde_json::{Value, json};

use crate::case::{CaseId, Priority};
use crate::command::Command;
use crate::config::Config;
use crate::desk::{Desk, RuleStats};
use crate::error::{Error, ErrorCode};
use crate::event::{Event, EventKind};
use crate::status::Category;
use crate::time::Instant;
use crate::workload::{Params, Timed, Workload};

/// A workload with its span: the desk starts at `start`, runs the commands at their
/// instants and every deadline due up to `end`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimedWorkload {
    /// The desk's start instant.
    pub start: Instant,
    /// The instant the run advances to after the last command.
    pub end: Instant,
    /// The commands, in time order.
    pub commands: Vec<Timed>,
}

/// The workload the generator makes for `config` with `params`.
///
/// # Errors
/// `invalid_input` for parameters [`Workload::new`] refuses.
pub fn generate(config: &Config, params: &Params) -> Result<TimedWorkload, Error> {
    let workload = Workload::new(config, params)?;
    let end = workload.end();
    Ok(TimedWorkload {
        start: params.start,
        end,
        commands: workload.collect(),
    })
}

/// A proptest strategy of workloads for `config`: a random seed, 1 to `max_cases` cases
/// over 1 to `max_days` days from [`Params::default`]'s start. Proptest shrinks a failing
/// one towards fewer cases and days; [`shrink`] then removes commands one by one.
pub fn workloads(
    config: &Config,
    max_cases: u64,
    max_days: u32,
) -> impl Strategy<Value = TimedWorkload> + use<> {
    let config = config.clone();
    let (max_cases, max_days) = (max_cases.max(1), max_days.max(1));
    (any::<u64>(), 1..=max_cases, 1..=max_days).prop_filter_map(
        "the generator refused the parameters",
        move |(seed, cases, days)| {
            let params = Params {
                cases,
                days,
                seed,
                ..Params::default()
            };
            generate(&config, &params).ok()
        },
    )
}

/// [`workloads`] with up to `max_changes` `configure` commands at random instants of the
/// span, each setting `auto_close_after_days` (1 to 14), `automation_interval_minutes`
/// (15, 30, 60 or 120) and `timezone` (UTC, America/New_York or Asia/Kolkata): a change
/// re-schedules waiting closes and sweeps and recomputes due instants while cases are in
/// progress. A generated command a change makes impossible (a reply to a case that closed
/// earlier than planned) is refused, as [`crate::workload::expected_refusal`] says.
pub fn workloads_with_changes(
    config: &Config,
    max_cases: u64,
    max_days: u32,
    max_changes: usize,
) -> impl Strategy<Value = TimedWorkload> + use<> {
    let change = (
        0.0..1.0f64,
        1u32..=14,
        proptest::sample::select(vec![15u32, 30, 60, 120]),
        proptest::sample::select(vec!["UTC", "America/New_York", "Asia/Kolkata"]),
    );
    let changes = proptest::collection::vec(change, 0..=max_changes);
    (workloads(config, max_cases, max_days), changes).prop_filter_map(
        "a configure command did not parse",
        |(mut workload, changes)| {
            let span = workload.end.unix_seconds() - workload.start.unix_seconds();
            for (fraction, days, minutes, zone) in changes {
                // An instant within the span: rounding toward the start is fine.
                let at = workload.start.plus_seconds((span as f64 * fraction) as i64);
                let command = Command::from_value(&json!({"op": "configure",
                    "auto_close_after_days": days, "automation_interval_minutes": minutes,
                    "timezone": zone}))
                .ok()?;
                let i = workload.commands.partition_point(|t| t.at <= at);
                workload.commands.insert(i, Timed { at, command });
            }
            Some(workload)
        },
    )
}

/// One step of a run: a command, or the advance to a deadline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// The step's instant.
    pub at: Instant,
    /// The command; none for the advance to a deadline.
    pub command: Option<Command>,
    /// The code the command was refused with (a generated command may be, when the
    /// account's rules changed its case: [`crate::workload::expected_refusal`]).
    pub refused: Option<ErrorCode>,
    /// The step's events, as a range of [`Outcome::events`].
    pub events: std::ops::Range<usize>,
}

/// What running a workload through a desk gave.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The account the desk started with.
    pub config: Config,
    /// The desk's start instant.
    pub start: Instant,
    /// The desk at the end of the run.
    pub desk: Desk,
    /// Every event, in order.
    pub events: Vec<Event>,
    /// Every step, in order.
    pub steps: Vec<Step>,
    /// The desk's per-rule statistics at the end ([`Desk::rule_stats`]).
    pub stats: Vec<RuleStats>,
}

impl Outcome {
    /// The events of step `i`.
    pub fn step_events(&self, i: usize) -> &[Event] {
        self.steps
            .get(i)
            .and_then(|s| self.events.get(s.events.clone()))
            .unwrap_or(&[])
    }

    fn push(
        &mut self,
        at: Instant,
        command: Option<Command>,
        result: Result<Vec<Event>, (ErrorCode, Vec<Event>)>,
    ) {
        let (refused, events) = match result {
            Ok(events) => (None, events),
            Err((code, events)) => (Some(code), events),
        };
        let first = self.events.len();
        self.events.extend(events);
        self.steps.push(Step {
            at,
            command,
            refused,
            events: first..self.events.len(),
        });
    }

    /// Advances through every deadline at or before `until`, one step each.
    fn advance_through(&mut self, until: Instant) {
        while let Some(due) = self.desk.next_deadline().filter(|d| *d <= until) {
            let result = self
                .desk
                .advance_to(due)
                .map_err(|e| (e.code(), Vec::new()));
            let stuck = result.is_err();
            self.push(due, None, result);
            if stuck || self.desk.next_deadline() == Some(due) {
                break;
            }
        }
    }
}

/// Runs `workload` through a new desk with `config`: each command at its instant, after
/// an advance to each deadline due before it (one step each), then every deadline up to
/// the workload's end. A refused command is recorded in its [`Step`] and the run goes on.
pub fn run(config: &Config, workload: &TimedWorkload) -> Outcome {
    let mut out = Outcome {
        config: config.clone(),
        start: workload.start,
        desk: Desk::new(config.clone(), workload.start),
        events: Vec::new(),
        steps: Vec::new(),
        stats: Vec::new(),
    };
    for timed in &workload.commands {
        out.advance_through(timed.at);
        let result = out
            .desk
            .execute(timed.at, &timed.command)
            .map_err(|r| (r.error.code(), r.events));
        out.push(timed.at, Some(timed.command.clone()), result);
    }
    out.advance_through(workload.end);
    out.stats = out.desk.rule_stats();
    out
}

/// A check that failed: which, on which rule and case, what went wrong, the event that
/// shows it (none when no single event does, as for a replay that differs), and for a
/// failure that is an absence, the command that shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The check's name.
    pub check: String,
    /// The rule at fault, if any.
    pub rule: Option<String>,
    /// The case, if any.
    pub case: Option<CaseId>,
    /// What went wrong.
    pub message: String,
    /// The event that shows it: a scenario expects it not to happen.
    pub event: Option<Box<Event>>,
    /// A command that shows it instead: the scenario ends with it ([`scenario`]).
    pub probe: Option<Box<Probe>>,
}

/// A command that shows a failure no event shows, such as a case still unassigned at a
/// deadline: refused while the fault is there, accepted once it is fixed. A violation's
/// scenario runs the workload's commands before `at`, then this one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probe {
    /// Its instant: the workload's commands at or after it are left out.
    pub at: Instant,
    /// The command.
    pub command: Command,
    /// Why it shows the failure: the scenario's description says it.
    pub reason: String,
}

impl Violation {
    /// A violation of `check` with `message`, no rule, case, event or probe: for checks of
    /// your own.
    ///
    /// # Example
    /// ```
    /// use caseflow::testkit::Violation;
    /// let v = Violation::new("no_nobody", "notified nobody".into());
    /// assert_eq!(v.to_string(), "no_nobody: notified nobody");
    /// ```
    pub fn new(check: &str, message: String) -> Violation {
        Violation {
            check: check.to_owned(),
            rule: None,
            case: None,
            message,
            event: None,
            probe: None,
        }
    }

    fn at(mut self, event: &Event, rule: Option<&str>) -> Violation {
        self.case = event.case;
        self.rule = rule.map(str::to_owned);
        self.event = Some(Box::new(event.clone()));
        self
    }

    /// Whether `other` is the same failure for [`shrink`]: the same check and rule.
    fn same(&self, other: &Violation) -> bool {
        self.check == other.check && self.rule == other.rule
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.check)?;
        if let Some(rule) = &self.rule {
            write!(f, ": rule {rule}")?;
        }
        if let Some(case) = self.case {
            write!(f, ": case {case}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A check over an outcome. Any closure `Fn(&Outcome) -> Result<(), Violation>` boxed is
/// one.
pub type Check = Box<dyn Fn(&Outcome) -> Result<(), Violation> + Send + Sync>;

/// The first violation of `checks`, in order.
///
/// # Errors
/// That violation.
pub fn check_all(outcome: &Outcome, checks: &[Check]) -> Result<(), Violation> {
    checks.iter().try_for_each(|check| check(outcome))
}

/// The engine's invariants: [`replay_rebuilds`], [`snapshot_restores`],
/// [`categories_match`], [`closed_cases_frozen`].
pub fn invariants() -> Vec<Check> {
    vec![
        Box::new(replay_rebuilds),
        Box::new(snapshot_restores),
        Box::new(categories_match),
        Box::new(closed_cases_frozen),
    ]
}

/// The policy checks that need no parameter, most specific first:
/// [`no_automation_cap`], [`no_rule_disabled`], [`no_rule_failed`], [`no_ping_pong`].
pub fn policies() -> Vec<Check> {
    vec![
        Box::new(no_automation_cap),
        Box::new(no_rule_disabled),
        Box::new(no_rule_failed),
        Box::new(no_ping_pong),
    ]
}

/// Replaying the events from the start ([`Desk::replay`]) and advancing to the desk's
/// time rebuilds an equal desk.
///
/// # Errors
/// `replay` when replay refuses the events or rebuilds another desk.
pub fn replay_rebuilds(o: &Outcome) -> Result<(), Violation> {
    let replayed = Desk::replay(o.config.clone(), o.start, &o.events)
        .and_then(|mut d| d.advance_to(o.desk.now()).map(|_| d));
    match replayed {
        Ok(d) if d == o.desk => Ok(()),
        Ok(_) => Err(Violation::new("replay", "the replayed desk differs".into())),
        Err(e) => Err(Violation::new(
            "replay",
            format!("replay refused the events: {e}"),
        )),
    }
}

/// Restoring the desk's snapshot gives an equal desk.
///
/// # Errors
/// `snapshot` when restore refuses the snapshot or gives another desk.
pub fn snapshot_restores(o: &Outcome) -> Result<(), Violation> {
    match Desk::restore(&o.desk.snapshot()) {
        Ok(d) if d == o.desk => Ok(()),
        Ok(_) => Err(Violation::new(
            "snapshot",
            "the restored desk differs".into(),
        )),
        Err(e) => Err(Violation::new(
            "snapshot",
            format!("restore refused the snapshot: {e}"),
        )),
    }
}

/// Every case's category is its status's category in the catalog.
///
/// # Errors
/// `category` naming the first case whose category differs.
pub fn categories_match(o: &Outcome) -> Result<(), Violation> {
    for case in o.desk.cases() {
        let status = o.desk.config().catalog().get(case.status());
        if status.map(|s| s.category) != Some(case.category()) {
            let mut v = Violation::new(
                "category",
                format!(
                    "category {:?} but status {}",
                    case.category(),
                    case.status()
                ),
            );
            v.case = Some(case.id());
            return Err(v);
        }
    }
    Ok(())
}

/// No event changes a case after it closed (moving it to the trash and back, or purging
/// it, aside).
///
/// # Errors
/// `closed_frozen` with the event that changed a closed case.
pub fn closed_cases_frozen(o: &Outcome) -> Result<(), Violation> {
    let mut closed = BTreeSet::new();
    for e in &o.events {
        let Some(case) = e.case else { continue };
        let trash = matches!(
            e.kind,
            EventKind::Deleted {} | EventKind::Restored {} | EventKind::Purged {}
        );
        if closed.contains(&case) && e.kind.changes_case() && !trash {
            let message = format!("{} after the case closed", e.kind.name());
            return Err(Violation::new("closed_frozen", message).at(e, None));
        }
        if matches!(e.kind, EventKind::Closed { .. }) {
            closed.insert(case);
        }
    }
    Ok(())
}

/// The first `rule_failed` event whose code `code` accepts, as a violation of `check`.
fn first_failure(
    o: &Outcome,
    check: &str,
    code: impl Fn(ErrorCode) -> bool,
) -> Result<(), Violation> {
    for e in &o.events {
        if let EventKind::RuleFailed {
            rule,
            code: c,
            message,
            ..
        } = &e.kind
            && code(*c)
        {
            let message = format!("{}: {message}", c.as_str());
            return Err(Violation::new(check, message).at(e, Some(rule)));
        }
    }
    Ok(())
}

/// No case hit the automation cap: no `rule_failed` with `limit_exceeded`.
///
/// # Errors
/// `automation_cap` with the first such failure.
pub fn no_automation_cap(o: &Outcome) -> Result<(), Violation> {
    first_failure(o, "automation_cap", |c| c == ErrorCode::LimitExceeded)
}

/// No rule failed (`rule_failed`, whatever its code).
///
/// # Errors
/// `rule_failed` with the first failure.
pub fn no_rule_failed(o: &Outcome) -> Result<(), Violation> {
    first_failure(o, "rule_failed", |_| true)
}

/// No rule was disabled (`rule_disabled`).
///
/// # Errors
/// `rule_disabled` with the event.
pub fn no_rule_disabled(o: &Outcome) -> Result<(), Violation> {
    match o.events.iter().find_map(|e| match &e.kind {
        EventKind::RuleDisabled { rule, .. } => Some((e, rule)),
        _ => None,
    }) {
        Some((e, rule)) => Err(Violation::new(
            "rule_disabled",
            "disabled after repeated failures".into(),
        )
        .at(e, Some(rule))),
        None => Ok(()),
    }
}

/// What a change event did to one field of its case: the field (`tag:NAME` for a tag)
/// and the values before and after, as JSON.
fn field_changes(e: &Event) -> Vec<(String, Value, Value)> {
    let json = e.to_json();
    match &e.kind {
        EventKind::TagsChanged { added, removed } => added
            .iter()
            .map(|t| (format!("tag:{t}"), Value::Bool(false), Value::Bool(true)))
            .chain(
                removed
                    .iter()
                    .map(|t| (format!("tag:{t}"), Value::Bool(true), Value::Bool(false))),
            )
            .collect(),
        EventKind::StatusChanged { .. }
        | EventKind::AssigneeChanged { .. }
        | EventKind::GroupChanged { .. }
        | EventKind::PriorityChanged { .. }
        | EventKind::TypeChanged { .. }
        | EventKind::SubjectChanged { .. }
        | EventKind::DueDateChanged { .. } => {
            let field = e.kind.name().trim_end_matches("_changed").to_owned();
            vec![(field, json["from"].clone(), json["to"].clone())]
        }
        _ => Vec::new(),
    }
}

/// A rule's change of a field: the rule, the value before and after.
type RuleChange<'a> = (&'a str, Value, Value);

/// No rule undoes another rule's change of one field of a case within a step (a status,
/// assignee, group, priority, type, subject or due date set back, a tag added by one and
/// removed by the other): the rules ping-pong.
///
/// # Errors
/// `ping_pong` naming the rule that undid the change, with its event.
pub fn no_ping_pong(o: &Outcome) -> Result<(), Violation> {
    for i in 0..o.steps.len() {
        let events = o.step_events(i);
        // Per case, the rule whose changes follow; per (case, field), rule changes so far.
        let mut firing: HashMap<CaseId, &str> = HashMap::new();
        let mut changed: HashMap<(CaseId, String), Vec<RuleChange>> = HashMap::new();
        for e in events {
            let Some(case) = e.case else { continue };
            if let EventKind::RuleFired { rule, .. } = &e.kind {
                firing.insert(case, rule);
                continue;
            }
            let Some(rule) = firing.get(&case).copied() else {
                continue;
            };
            for (field, from, to) in field_changes(e) {
                let earlier = changed.entry((case, field.clone())).or_default();
                if let Some((first, ..)) = earlier
                    .iter()
                    .find(|(r, f, t)| *r != rule && *f == to && *t == from)
                {
                    let message =
                        format!("undid rule {first}'s change of {field} from {to} to {from}");
                    return Err(Violation::new("ping_pong", message).at(e, Some(rule)));
                }
                earlier.push((rule, from, to));
            }
        }
    }
    Ok(())
}

fn seconds(hours: u32) -> i64 {
    i64::from(hours) * 3_600
}

/// Where an urgent case stands for [`urgent_assigned_within`], as of the end of a step.
#[derive(Default)]
struct Wait<'a> {
    urgent: bool,
    assigned: bool,
    /// Resolved, closed or in the trash.
    done: bool,
    /// The last counted event of the step that started the wait, while it waits.
    since: Option<&'a Event>,
    /// The first rule that unassigned the case during the wait, in time.
    blame: Option<&'a str>,
}

/// Every urgent case is assigned within `hours` of becoming urgent and unassigned, unless
/// it is resolved, closed or no longer urgent by then (the run's end counts). A case's
/// state is taken at the end of each step; the violation's event is the last one of the
/// step that started the wait (the creation, or a rule's unassignment). Its rule is the
/// first one that unassigned the case during the wait, no later than `hours` after it
/// began (a rule taking back an assignment made in time; none when no rule did), so that
/// [`shrink`] keeps the rule's part. Its [`Probe`] resolves the case (to the account's
/// default status of `resolved`) one second after the `hours`: resolving needs an
/// assignee, so it is refused while the case still waits.
pub fn urgent_assigned_within(hours: u32) -> Check {
    Box::new(move |o: &Outcome| {
        let over = |since: &Event, until: Instant| {
            until.unix_seconds() - since.at.unix_seconds() > seconds(hours)
        };
        let resolved = o.config.catalog().default_of(Category::Resolved);
        let violation = |since: &Event, rule: Option<&str>| {
            let message = format!(
                "urgent and unassigned for more than {hours} hours from {}",
                since.at
            );
            let mut v = Violation::new("urgent_assigned", message).at(since, rule);
            let at = since.at.plus_seconds(seconds(hours) + 1);
            v.probe = since.case.and_then(|case| {
                let update = json!({"op": "update", "case": case, "status": resolved});
                let reason = format!(
                    "The last step resolves case {case} at {at}, {hours} hours and one \
                     second after its wait began: resolving needs an assignee, so it is \
                     refused (assignee_required) while the case is still unassigned, and \
                     accepted once it was assigned in time."
                );
                Command::from_value(&update).ok().map(|command| {
                    Box::new(Probe {
                        at,
                        command,
                        reason,
                    })
                })
            });
            v
        };
        let mut state: BTreeMap<CaseId, Wait> = BTreeMap::new();
        for i in 0..o.steps.len() {
            // The cases the step touched, each with its last event that counts here; per
            // case, the rule whose changes follow and the first rule that unassigned it.
            let mut touched: BTreeMap<CaseId, &Event> = BTreeMap::new();
            let mut firing: HashMap<CaseId, &str> = HashMap::new();
            let mut unassigned_by: HashMap<CaseId, &str> = HashMap::new();
            for e in o.step_events(i) {
                let Some(case) = e.case else { continue };
                let s = state.entry(case).or_default();
                match &e.kind {
                    EventKind::RuleFired { rule, .. } => {
                        firing.insert(case, rule);
                        continue;
                    }
                    EventKind::Created { view } | EventKind::Imported { view } => {
                        s.urgent = view.priority() == Some(Priority::Urgent);
                        s.assigned = view.assignee().is_some();
                        s.done = view.category() == Category::Resolved || view.closed();
                    }
                    EventKind::PriorityChanged { to, .. } => {
                        s.urgent = *to == Some(Priority::Urgent);
                    }
                    EventKind::AssigneeChanged { to, .. } => {
                        s.assigned = to.is_some();
                        if let (None, Some(rule)) = (to, firing.get(&case)) {
                            unassigned_by.entry(case).or_insert(rule);
                        }
                    }
                    EventKind::StatusChanged { to_category, .. } => {
                        s.done = *to_category == Category::Resolved;
                    }
                    EventKind::Closed { .. } | EventKind::Deleted {} => s.done = true,
                    EventKind::Restored {} => s.done = false,
                    _ => continue,
                }
                touched.insert(case, e);
            }
            // A wait starts or ends with a step, not within one: an assignment a rule
            // takes back in the same step does not count.
            for (case, e) in touched {
                let Some(s) = state.get_mut(&case) else {
                    continue;
                };
                let waiting = s.urgent && !s.assigned && !s.done;
                match (waiting, s.since) {
                    (true, _) => {
                        let since = *s.since.get_or_insert(e);
                        if s.blame.is_none() && !over(since, e.at) {
                            s.blame = unassigned_by.get(&case).copied();
                        }
                    }
                    (false, Some(since)) => {
                        if over(since, e.at) {
                            return Err(violation(since, s.blame));
                        }
                        s.since = None;
                        s.blame = None;
                    }
                    (false, None) => {}
                }
            }
        }
        let now = o.desk.now();
        match state.values().find_map(|s| {
            s.since
                .filter(|since| over(since, now))
                .map(|since| violation(since, s.blame))
        }) {
            Some(v) => Err(v),
            None => Ok(()),
        }
    })
}

/// Rule `rule` never fires on a case whose view matches `condition`. The condition sees
/// the case view (docs/cases.md) as it was when the step that fired the rule began, or,
/// for a step that created the case, as it was created, before any trigger: the case the
/// rule was asked about, not the one its own actions made.
///
/// # Example
/// ```
/// use caseflow::testkit;
/// // `close-spam` never closes a case that is not tagged `spam`.
/// let check = testkit::never_fires_on("close-spam", |view| {
///     !view["tags"].as_array().is_some_and(|t| t.iter().any(|x| x == "spam"))
/// });
/// # let _ = check;
/// ```
pub fn never_fires_on(
    rule: &str,
    condition: impl Fn(&Value) -> bool + Send + Sync + 'static,
) -> Check {
    let rule = rule.to_owned();
    Box::new(move |o: &Outcome| {
        let mut desk = Desk::new(o.config.clone(), o.start);
        for i in 0..o.steps.len() {
            let events = o.step_events(i);
            for e in events {
                let (EventKind::RuleFired { rule: fired, .. }, Some(case)) = (&e.kind, e.case)
                else {
                    continue;
                };
                if **fired != *rule {
                    continue;
                }
                let created = events.iter().find_map(|c| match &c.kind {
                    EventKind::Created { view } if c.case == Some(case) => Some(view.to_json()),
                    _ => None,
                });
                let view = created.or_else(|| desk.case(case).map(|c| c.to_json()));
                if view.as_ref().is_some_and(&condition) {
                    let message = "fired on a case matching the condition".to_owned();
                    return Err(Violation::new("never_fires_on", message).at(e, Some(&rule)));
                }
            }
            desk.apply_events(events).map_err(|e| {
                Violation::new(
                    "never_fires_on",
                    format!("the run's events do not replay: {e}"),
                )
            })?;
        }
        Ok(())
    })
}

/// No case stays in `category` longer than `hours` (the run's end counts).
pub fn max_time_in(category: Category, hours: u32) -> Check {
    Box::new(move |o: &Outcome| {
        let mut since: BTreeMap<CaseId, (Category, &Event)> = BTreeMap::new();
        let late = |(c, e): (Category, &Event), until: Instant| {
            (c == category && until.unix_seconds() - e.at.unix_seconds() > seconds(hours)).then(
                || {
                    let message = format!(
                        "in {} for more than {hours} hours from {}",
                        category.as_str(),
                        e.at
                    );
                    Violation::new("time_in_category", message).at(e, None)
                },
            )
        };
        for e in &o.events {
            let Some(case) = e.case else { continue };
            let next = match &e.kind {
                EventKind::Created { view } | EventKind::Imported { view } => Some(view.category()),
                EventKind::StatusChanged {
                    from_category,
                    to_category,
                    ..
                } if from_category != to_category => Some(*to_category),
                EventKind::Closed { .. } | EventKind::Deleted {} => None,
                _ => continue,
            };
            if let Some(v) = since.remove(&case).and_then(|s| late(s, e.at)) {
                return Err(v);
            }
            if let Some(c) = next {
                since.insert(case, (c, e));
            }
        }
        match since.into_values().find_map(|s| late(s, o.desk.now())) {
            Some(v) => Err(v),
            None => Ok(()),
        }
    })
}

/// The commands of `workload` reduced while `check` still fails on the run the same way
/// (same check and rule) as `violation`: chunks of commands, then single commands, are
/// removed while the failure stays. Returns the smallest workload found and its violation.
pub fn shrink(
    config: &Config,
    workload: &TimedWorkload,
    violation: &Violation,
    check: &dyn Fn(&Outcome) -> Result<(), Violation>,
) -> (TimedWorkload, Violation) {
    let mut best = (workload.clone(), violation.clone());
    let mut chunk = best.0.commands.len().div_ceil(2).max(1);
    loop {
        let mut i = 0;
        let mut removed = false;
        while i < best.0.commands.len() {
            let mut candidate = best.0.clone();
            let to = (i + chunk).min(candidate.commands.len());
            candidate.commands.drain(i..to);
            match check(&run(config, &candidate)) {
                Err(v) if v.same(violation) => {
                    best = (candidate, v);
                    removed = true;
                }
                _ => i += chunk,
            }
        }
        if chunk == 1 && !removed {
            return best;
        }
        chunk = (chunk / 2).max(1);
    }
}

/// The event's JSON as a scenario pattern: without `seq`, `version`, `at` and a created
/// case's `view`, which other commands and the order of steps change.
fn pattern(e: &Event) -> Value {
    let mut json = e.to_json();
    if let Some(map) = json.as_object_mut() {
        for key in ["seq", "version", "at", "view"] {
            map.remove(key);
        }
    }
    json
}

/// A scenario file (docs/scenarios.md) for `workload` run on `config`, which fails while
/// the fault is there:
/// - for a violation with a [`Probe`], the workload's commands before the probe's instant
///   (a refused one expects its code), then the probe's command, with no `expect_error`:
///   the scenario passes once the probe is accepted; the description gives its reason;
/// - for one with an event, the commands up to the step of that event (a refused one
///   expects its code; a deadline's step is an `advance`), then `expect_no_event` of it;
/// - for one without either (an invariant of the engine), the commands and no failing
///   expectation: its description says so.
pub fn scenario(config: &Config, workload: &TimedWorkload, violation: &Violation) -> Value {
    let outcome = run(config, workload);
    let probe = violation.probe.as_deref();
    let target = violation
        .event
        .as_ref()
        .filter(|_| probe.is_none())
        .and_then(|v| {
            (0..outcome.steps.len())
                .find(|&i| outcome.step_events(i).iter().any(|e| e.seq == v.seq))
                .map(|i| (i, v))
        });
    let last = match (probe, target) {
        (Some(p), _) => outcome.steps.partition_point(|s| s.at < p.at),
        (None, Some((i, _))) => i + 1,
        (None, None) => outcome.steps.len(),
    };
    let mut steps = Vec::new();
    for (i, step) in outcome.steps.iter().take(last).enumerate() {
        let mut json = match &step.command {
            Some(command) => json!({"at": step.at, "do": command}),
            None if target.is_some_and(|(t, _)| t == i) => {
                json!({"at": step.at, "do": {"op": "advance"}})
            }
            None => continue,
        };
        if let Some(code) = step.refused {
            json["expect_error"] = json!(code.as_str());
        }
        steps.push(json);
    }
    let mut description = format!("caseflow testkit: {violation}.");
    match (probe, target) {
        (Some(p), _) => {
            steps.push(json!({"at": p.at, "do": p.command}));
            description.push(' ');
            description.push_str(&p.reason);
        }
        (None, Some((_, e))) => steps.push(json!({"expect_no_event": pattern(e)})),
        (None, None) => description.push_str(
            " No single event shows this failure: the steps reproduce its input, not the failure.",
        ),
    }
    json!({
        "name": format!("testkit {}", violation_name(violation)),
        "description": description,
        "config": config.to_value(),
        "start": workload.start,
        "steps": steps,
    })
}

fn violation_name(v: &Violation) -> String {
    let mut name = v.check.clone();
    if let Some(rule) = &v.rule {
        name.push('-');
        name.push_str(rule);
    }
    if let Some(case) = v.case {
        name.push_str(&format!("-case{case}"));
    }
    name
}

/// Writes [`scenario`] to `dir` (created if missing) as `testkit-CHECK[-RULE][-caseN].json`
/// and returns its path.
///
/// # Errors
/// The file system's.
pub fn write_scenario(
    dir: &Path,
    scenario: &Value,
    violation: &Violation,
) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let name: String = violation_name(violation)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let path = dir.join(format!("testkit-{name}.json"));
    let text = serde_json::to_string_pretty(scenario).map_err(std::io::Error::other)?;
    std::fs::write(&path, text + "\n")?;
    Ok(path)
}

/// A failure [`verify`] found: the violation on the shrunk workload, that workload, and
/// the scenario file written.
#[derive(Clone, Debug)]
pub struct Failure {
    /// The violation, as the shrunk workload shows it.
    pub violation: Violation,
    /// The smallest failing workload found.
    pub workload: TimedWorkload,
    /// The scenario file written.
    pub path: PathBuf,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} commands; scenario: {})",
            self.violation,
            self.workload.commands.len(),
            self.path.display()
        )
    }
}

/// Runs `workload` on `config` and applies `checks`; on the first violation, shrinks the
/// workload against that check ([`shrink`]), writes its scenario to `dir` and returns the
/// failure. In a proptest body: `verify(..).map_err(|f| TestCaseError::fail(f.to_string()))?`.
///
/// # Errors
/// The [`Failure`]; a scenario that cannot be written is one too, its path empty and the
/// message saying why.
pub fn verify(
    config: &Config,
    workload: &TimedWorkload,
    checks: &[Check],
    dir: &Path,
) -> Result<Outcome, Box<Failure>> {
    let outcome = run(config, workload);
    for check in checks {
        let Err(violation) = check(&outcome) else {
            continue;
        };
        let (workload, violation) = shrink(config, workload, &violation, check.as_ref());
        let text = scenario(config, &workload, &violation);
        return match write_scenario(dir, &text, &violation) {
            Ok(path) => Err(Box::new(Failure {
                violation,
                workload,
                path,
            })),
            Err(e) => {
                let mut violation = violation;
                violation.message = format!(
                    "{}; the scenario could not be written: {e}",
                    violation.message
                );
                Err(Box::new(Failure {
                    violation,
                    workload,
                    path: PathBuf::new(),
                }))
            }
        };
    }
    Ok(outcome)
}

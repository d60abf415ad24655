//! Running rules on a desk (docs/rules.md): trigger passes inside steps, sweeps of
//! automations, the rules' state, replacing the rules, and explaining, dry-running and
//! counting them. Whether a guard holds and what actions would do is decided by
//! `crate::rules`; this file orders and commits it.

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value;

use crate::case::CaseId;
use crate::command::Command;
use crate::config::{Pos, Rule, RuleKind, Rules, Test};
use crate::error::{Error, ErrorCode};
use crate::event::{Event, EventKind};
use crate::ids::IdMap;
use crate::lifecycle;
use crate::rules::{self, Ctx, Firing, MAX_AUTOMATION_FIRINGS, MAX_LIMIT_FAILURES, Outcome};
use crate::time::Instant;

use super::index::{IdSet, union};
use super::step::Work;
use super::{Desk, Rejection};

/// What rules remember: rebuilt by `replay` from the events, carried by snapshots, and
/// started afresh when the rules are replaced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct RuleState {
    /// How many times each automation (by its place in the list) fired on each case.
    pub(crate) firings: IdMap<(u32, CaseId), u32>,
    /// The rules disabled until the rules are replaced, by place in the list.
    pub(crate) disabled: Vec<u32>,
    /// How many evaluations in a row of each rule (by place) hit a script limit; a rule
    /// with none is absent.
    pub(crate) limit_failures: IdMap<u32, u32>,
}

impl RuleState {
    pub(crate) fn is_disabled(&self, rule: usize) -> bool {
        self.disabled.contains(&(rule as u32))
    }

    fn firings_of(&self, rule: usize, case: CaseId) -> u32 {
        self.firings.get(&(rule as u32, case)).copied().unwrap_or(0)
    }

    /// The firing counts by rule name, sorted, as a snapshot keeps them.
    pub(crate) fn named_firings(&self, rules: &Rules) -> Vec<(String, CaseId, u32)> {
        let mut out: Vec<(String, CaseId, u32)> = self
            .firings
            .iter()
            .filter_map(|((i, case), n)| {
                let rule = rules.get(*i as usize)?;
                Some((rule.name.to_string(), *case, *n))
            })
            .collect();
        out.sort();
        out
    }

    /// The disabled rules by name, in list order.
    pub(crate) fn named_disabled(&self, rules: &Rules) -> Vec<String> {
        let mut places = self.disabled.clone();
        places.sort_unstable();
        places
            .iter()
            .filter_map(|i| rules.get(*i as usize).map(|r| r.name.to_string()))
            .collect()
    }

    /// The runs of script limit failures by rule name, in list order.
    pub(crate) fn named_limit_failures(&self, rules: &Rules) -> Vec<(String, u32)> {
        let mut out: Vec<(u32, u32)> = self.limit_failures.iter().map(|(i, n)| (*i, *n)).collect();
        out.sort_unstable();
        out.into_iter()
            .filter_map(|(i, n)| rules.get(i as usize).map(|r| (r.name.to_string(), n)))
            .collect()
    }

    /// The state a snapshot describes, by rule name.
    pub(crate) fn from_named(
        rules: &Rules,
        firings: Vec<(String, CaseId, u32)>,
        disabled: &[String],
        limit_failures: &[(String, u32)],
    ) -> Result<RuleState, String> {
        let place = |name: &str| {
            rules
                .iter()
                .position(|r| &*r.name == name && r.kind == RuleKind::Automation)
                .map(|i| i as u32)
                .ok_or_else(|| format!("rule state names no automation `{name}`"))
        };
        let mut state = RuleState::default();
        for (name, case, n) in firings {
            if n > MAX_AUTOMATION_FIRINGS {
                return Err(format!(
                    "rule state: automation `{}` fired {n} times on case {case}, more than its limit {MAX_AUTOMATION_FIRINGS}",
                    name
                ));
            }
            state.firings.insert((place(&name)?, case), n);
        }
        for name in disabled {
            let i = rules
                .iter()
                .position(|r| *r.name == **name)
                .ok_or_else(|| format!("rule state names no rule `{name}`"))?;
            state.disabled.push(i as u32);
        }
        for (name, n) in limit_failures {
            let i = rules
                .iter()
                .position(|r| *r.name == **name)
                .ok_or_else(|| format!("rule state names no rule `{name}`"))?;
            if *n == 0 || *n >= MAX_LIMIT_FAILURES {
                return Err(format!(
                    "rule state: `{name}` hit script limits {n} times in a row; a run is 1 to {}",
                    MAX_LIMIT_FAILURES - 1
                ));
            }
            state.limit_failures.insert(i as u32, *n);
        }
        Ok(state)
    }
}

/// How often one rule was evaluated (its guard held), fired and failed on this desk since
/// it was created, restored or its rules replaced. Not state: replay and restore start
/// it at zero, and it takes no part in comparing desks. Time spent is not counted: the
/// engine never reads a clock, so a host that wants it times its own calls.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RuleStats {
    /// The rule's name.
    pub rule: String,
    /// Trigger or automation.
    pub kind: RuleKind,
    /// Evaluations: the guard held and the actions were worked out.
    pub evaluations: u64,
    /// Firings: the actions changed the case or notified.
    pub firings: u64,
    /// Failures (`rule_failed`).
    pub failures: u64,
}

/// Per-rule counters, beside the desk's state.
#[derive(Clone, Debug, Default)]
pub(crate) struct Stats(Vec<[u64; 3]>);

impl PartialEq for Stats {
    /// Counters are not state: two desks in the same state are equal whatever they count.
    fn eq(&self, _: &Stats) -> bool {
        true
    }
}

impl Eq for Stats {}

impl Stats {
    fn bump(&mut self, rule: usize, which: usize) {
        if self.0.len() <= rule {
            self.0.resize(rule + 1, [0; 3]);
        }
        self.0[rule][which] = self.0[rule][which].saturating_add(1);
    }
}

/// Why a rule would or would not fire on a case at an instant ([`Desk::explain`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Explanation {
    /// The rule is declared with `enabled = false`, or was disabled.
    Disabled,
    /// The case is closed or in the trash: no rule runs on it.
    NotEligible,
    /// The guard does not hold: its first key that fails, with the case's value for it.
    GuardFails {
        /// The guard key.
        key: String,
        /// The case's value for it.
        value: Value,
    },
    /// The guard holds, but the actions would change nothing and notify no one.
    NoChange {
        /// What the script printed (`print`, `debug`); empty for a `then` table.
        trace: String,
    },
    /// The rule would fire: the events it would record (its changes and notifications).
    WouldFire {
        /// The events' kinds, in order.
        events: Vec<EventKind>,
        /// What the script printed (`print`, `debug`); empty for a `then` table.
        trace: String,
    },
    /// The rule would fail: the code, message and position of its `rule_failed`.
    WouldFail {
        /// `script_runtime`, `script_limit`, `action_rejected` or `limit_exceeded`.
        code: ErrorCode,
        /// Why.
        message: String,
        /// The line in the script, for a script's failure.
        line: Option<u32>,
        /// The column in the script, for a script's failure.
        column: Option<u32>,
        /// What the script printed (`print`, `debug`) before it failed.
        trace: String,
    },
}

/// The triggers that fired or failed in a pass, by place in the list: the first 128 as
/// bits, any others in a list, so that a pass over a usual rule set allocates nothing.
#[derive(Default)]
struct Done {
    bits: u128,
    more: Vec<usize>,
}

impl Done {
    fn bit(rule: usize) -> Option<u128> {
        u32::try_from(rule).ok().and_then(|r| 1u128.checked_shl(r))
    }

    fn add(&mut self, rule: usize) {
        match Done::bit(rule) {
            Some(bit) => self.bits |= bit,
            None => self.more.push(rule),
        }
    }

    fn has(&self, rule: usize) -> bool {
        match Done::bit(rule) {
            Some(bit) => self.bits & bit != 0,
            None => self.more.contains(&rule),
        }
    }
}

/// The cases a sweep visits for one automation, in ascending id: these ids, or every slot
/// of the store (when it holds the cases in id order).
enum Visit {
    Ids(Vec<CaseId>),
    Slots(usize),
}

impl Visit {
    fn len(&self) -> usize {
        match self {
            Visit::Ids(ids) => ids.len(),
            Visit::Slots(n) => *n,
        }
    }
}

impl Desk {
    /// The account's rules in force.
    pub fn rules(&self) -> &Rules {
        &self.config.rules
    }

    /// Replaces the account's rules at `at`, effective from the next step: the step that
    /// replaces them emits `rules_replaced` (so [`Desk::replay`] rebuilds them), and
    /// firing counts and disabled rules start afresh. `rules` is a list of rule
    /// declarations as an account configuration's `rules` key holds them.
    ///
    /// # Errors
    /// `invalid_config` naming every problem of the declarations (nothing changes but the
    /// advance to `at`); `stale_time`.
    pub fn replace_rules(&mut self, at: Instant, rules: &Value) -> Result<Vec<Event>, Rejection> {
        let parsed = self.config.parse_rules(rules);
        let mut events = self.advance_to(at).map_err(|error| Rejection {
            error,
            events: Vec::new(),
        })?;
        let rules = parsed.map_err(|error| Rejection {
            error,
            events: std::mem::take(&mut events),
        })?;
        let decision = lifecycle::Decision::from(vec![lifecycle::Change {
            case: None,
            kinds: vec![EventKind::RulesReplaced {
                rules: rules.declared(),
            }],
        }]);
        self.run_step(at, decision, &mut events);
        Ok(events)
    }

    /// How often each rule was evaluated, fired and failed, in list order.
    pub fn rule_stats(&self) -> Vec<RuleStats> {
        self.config
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let [evaluations, firings, failures] =
                    self.stats.0.get(i).copied().unwrap_or_default();
                RuleStats {
                    rule: r.name.to_string(),
                    kind: r.kind,
                    evaluations,
                    firings,
                    failures,
                }
            })
            .collect()
    }

    /// The events `command` would produce at `at` (deadlines due before it, triggers and
    /// cascade included), without changing this desk: it runs on a copy.
    ///
    /// # Errors
    /// The [`Rejection`] the command would get.
    pub fn dry_run(&self, at: Instant, command: &Command) -> Result<Vec<Event>, Rejection> {
        self.clone().execute(at, command)
    }

    /// Why rule `rule` would or would not fire on case `case` if evaluated at `at`, on the
    /// case as it is now. A trigger is judged as if run after a step that changed nothing
    /// (`created` and `changed` do not hold).
    ///
    /// # Errors
    /// `case_not_found` for an unknown case; `invalid_input` for an unknown rule.
    pub fn explain(&self, case: CaseId, rule: &str, at: Instant) -> Result<Explanation, Error> {
        let c = self.cases.get(&case).ok_or_else(|| {
            Error::new(ErrorCode::CaseNotFound, format!("there is no case {case}"))
        })?;
        let (i, r) = self
            .config
            .rules
            .iter()
            .enumerate()
            .find(|(_, r)| &*r.name == rule)
            .ok_or_else(|| Error::input(format!("there is no rule `{rule}`")))?;
        if !r.enabled || self.rule_state.is_disabled(i) {
            return Ok(Explanation::Disabled);
        }
        if c.closed || c.deleted {
            return Ok(Explanation::NotEligible);
        }
        // The case as it is is the start of the step: nothing has changed. Kept only when
        // the rule compares with it.
        let fields = r.baseline_fields();
        let before = (!fields.is_empty()).then(|| rules::Baseline::of(c, fields));
        let ctx = Ctx {
            now: at,
            before: before.as_ref(),
            created: false,
        };
        if let Some((test, value)) = rules::first_failure(&r.when, c, &ctx) {
            return Ok(Explanation::GuardFails {
                key: test.key().to_owned(),
                value,
            });
        }
        let (outcome, trace) = rules::evaluate(self, r, c, &ctx);
        Ok(match outcome {
            Outcome::Quiet => Explanation::NoChange { trace },
            Outcome::Failed { code, message, at } => Explanation::WouldFail {
                code,
                message,
                line: at.map(|a| a.0),
                column: at.map(|a| a.1),
                trace,
            },
            Outcome::Fired(_)
                if r.kind == RuleKind::Automation
                    && self.rule_state.firings_of(i, case) >= MAX_AUTOMATION_FIRINGS =>
            {
                Explanation::WouldFail {
                    code: ErrorCode::LimitExceeded,
                    message: capped(r, case),
                    line: None,
                    column: None,
                    trace,
                }
            }
            Outcome::Fired(firing) => {
                let mut events = Vec::with_capacity(firing.events());
                events.push(EventKind::RuleFired {
                    rule: r.name.clone(),
                    kind: r.kind,
                });
                events.extend(firing.decision.changes.into_iter().flat_map(|c| c.kinds));
                events.extend(firing.notifications.into_iter().map(|(target, message)| {
                    EventKind::Notification {
                        rule: r.name.clone(),
                        target,
                        message,
                    }
                }));
                Explanation::WouldFire { events, trace }
            }
        })
    }

    /// The trigger pass of case `id` in the step under way: triggers in list order; a
    /// firing that changes the case restarts the pass from the top, skipping the triggers
    /// that already fired or failed in this step; a notify alone does not restart. Each
    /// trigger fires at most once, so the pass ends within N+1 rounds for N triggers.
    pub(crate) fn run_triggers(
        &mut self,
        at: Instant,
        id: CaseId,
        work: &mut VecDeque<Work>,
        out: &mut Vec<Event>,
    ) {
        if !self.config.rules.has(RuleKind::Trigger) {
            return;
        }
        let rules = self.config.rules.clone();
        let mut done = Done::default();
        // Where the scan goes on: the top after a change, else past the rule just run.
        let mut from = 0;
        loop {
            let Some(case) = self.cases.get(&id).filter(|c| !c.closed && !c.deleted) else {
                return; // triggers never run on closed or trashed cases
            };
            let ctx = Ctx {
                now: at,
                before: self.baselines.get(&id),
                created: self.touched.get(&id).is_some_and(|t| t.created),
            };
            // The compact prefilters first: most rules stop there.
            let due = rules
                .prefilters()
                .iter()
                .enumerate()
                .skip(from)
                .filter(|(i, p)| {
                    p.kind == RuleKind::Trigger
                        && p.enabled
                        && p.admits(case)
                        && !done.has(*i)
                        && !self.rule_state.is_disabled(*i)
                })
                .filter_map(|(i, _)| rules.get(i).map(|rule| (i, rule)))
                .find(|(_, rule)| rules::guard_holds(&rule.when, case, &ctx));
            let Some((i, rule)) = due else {
                return;
            };
            self.stats.bump(i, 0);
            from = i + 1;
            let (outcome, _) = rules::evaluate(self, rule, case, &ctx);
            match outcome {
                Outcome::Quiet => self.evaluated_within_limits(i),
                Outcome::Failed {
                    code,
                    message,
                    at: pos,
                } => {
                    done.add(i);
                    self.rule_failed(at, id, i, rule, (code, message, pos), out);
                }
                Outcome::Fired(firing) => {
                    done.add(i);
                    self.evaluated_within_limits(i);
                    if self.rule_fired(at, id, i, rule, firing, work, out) {
                        from = 0;
                    }
                }
            }
        }
    }

    /// The sweep at `at`: each automation in list order over the cases its guard's index
    /// names (all cases when it names none), ascending; each firing is a step of its own
    /// with the case's triggers.
    pub(crate) fn sweep(&mut self, at: Instant, out: &mut Vec<Event>) {
        let rules = self.config.rules.clone();
        for (i, rule) in rules.iter().enumerate() {
            if rule.kind != RuleKind::Automation || !rule.enabled {
                continue;
            }
            // A firing changes cases but never adds or removes one: slots stay put.
            let visit = self.candidates(&rule.when);
            for k in 0..visit.len() {
                if self.rule_state.is_disabled(i) {
                    break;
                }
                let case = match &visit {
                    Visit::Ids(ids) => self.cases.get(&ids[k]),
                    Visit::Slots(_) => self.cases.at(k),
                };
                let Some(case) = case.filter(|c| !c.closed && !c.deleted) else {
                    continue;
                };
                let ctx = Ctx {
                    now: at,
                    before: None,
                    created: false,
                };
                if !rules::guard_holds(&rule.when, case, &ctx) {
                    continue;
                }
                let id = case.id;
                self.stats.bump(i, 0);
                let (outcome, _) = rules::evaluate(self, rule, case, &ctx);
                if !matches!(
                    outcome,
                    Outcome::Failed {
                        code: ErrorCode::ScriptLimit,
                        ..
                    }
                ) {
                    self.evaluated_within_limits(i);
                }
                let mut work = std::mem::take(&mut self.work);
                match outcome {
                    Outcome::Quiet => {
                        self.work = work;
                        continue;
                    }
                    Outcome::Failed {
                        code,
                        message,
                        at: pos,
                    } => {
                        self.rule_failed(at, id, i, rule, (code, message, pos), out);
                    }
                    Outcome::Fired(_)
                        if self.rule_state.firings_of(i, id) >= MAX_AUTOMATION_FIRINGS =>
                    {
                        let failure = (ErrorCode::LimitExceeded, capped(rule, id), None);
                        self.rule_failed(at, id, i, rule, failure, out);
                    }
                    Outcome::Fired(firing) => {
                        if self.rule_fired(at, id, i, rule, firing, &mut work, out) {
                            work.push_front(Work::Triggers(id));
                        }
                    }
                }
                self.finish_step(at, work, out);
            }
        }
    }

    /// The cases an automation's guard lets through an index, ascending: the smallest of
    /// the sets its `category`, `status`, `assignee`, `group`, `tags_any` and `tags_all`
    /// keys name; every case when it names none of them (or names an absent assignee or
    /// group), in memory order when that is id order.
    fn candidates(&self, guard: &[Test]) -> Visit {
        let index = &self.index;
        let mut best: Option<IdSet> = None;
        for test in guard {
            let set = match test {
                Test::Category(categories) => self.in_categories(categories),
                Test::Status(list) => union(&index.by_status, list.iter().map(|s| s.as_str())),
                Test::Assignee(list) if list.iter().all(Option::is_some) => union(
                    &index.by_assignee,
                    list.iter().flatten().map(String::as_str),
                ),
                Test::Group(list) if list.iter().all(Option::is_some) => {
                    union(&index.by_group, list.iter().flatten().map(String::as_str))
                }
                Test::TagsAny(tags) => union(&index.by_tag, tags.iter()),
                // Every listed tag's set holds all the cases the test lets through.
                Test::TagsAll(tags) if !tags.is_empty() => tags
                    .iter()
                    .map(|t| self.index.by_tag.get(t).cloned().unwrap_or_default())
                    .reduce(|all, set| all & set)
                    .unwrap_or_default(),
                _ => continue,
            };
            if best.as_ref().is_none_or(|b| set.len() < b.len()) {
                best = Some(set);
            }
        }
        match best {
            Some(set) => Visit::Ids(set.iter().collect()),
            None if self.cases.in_id_order() => Visit::Slots(self.cases.len()),
            None => Visit::Ids(self.ids.iter().collect()),
        }
    }

    /// Commits a rule's firing on case `id`: `rule_fired`, its changes, its notifications.
    /// Returns whether it changed the case.
    #[allow(clippy::too_many_arguments)]
    fn rule_fired(
        &mut self,
        at: Instant,
        id: CaseId,
        i: usize,
        rule: &Rule,
        firing: Firing,
        work: &mut VecDeque<Work>,
        out: &mut Vec<Event>,
    ) -> bool {
        self.stats.bump(i, 1);
        let changes_case = !firing.decision.changes.is_empty();
        let version = if changes_case {
            self.step_version(id)
        } else {
            self.cases.get(&id).map_or(0, |c| c.version)
        };
        let fired = EventKind::RuleFired {
            rule: rule.name.clone(),
            kind: rule.kind,
        };
        out.reserve(firing.events());
        self.emit(at, Some(id), Some(version), fired, out);
        for change in firing.decision.changes {
            for kind in change.kinds {
                self.emit(at, Some(id), Some(version), kind, out);
            }
        }
        for (target, message) in firing.notifications {
            let kind = EventKind::Notification {
                rule: rule.name.clone(),
                target,
                message,
            };
            self.emit(at, Some(id), Some(version), kind, out);
        }
        work.extend(firing.decision.resolved_problem.map(Work::Cascade));
        changes_case
    }

    /// An evaluation of rule `i` that hit no script limit: its run of limit failures ends.
    fn evaluated_within_limits(&mut self, i: usize) {
        if !self.rule_state.limit_failures.is_empty() {
            self.rule_state.limit_failures.remove(&(i as u32));
        }
    }

    /// Commits a rule's failure on case `id`: `rule_failed`, and `rule_disabled` right
    /// after the 10th script limit in a row.
    fn rule_failed(
        &mut self,
        at: Instant,
        id: CaseId,
        i: usize,
        rule: &Rule,
        (code, message, pos): (ErrorCode, String, Option<Pos>),
        out: &mut Vec<Event>,
    ) {
        self.stats.bump(i, 2);
        let version = self.cases.get(&id).map(|c| c.version);
        let kind = EventKind::RuleFailed {
            rule: rule.name.clone(),
            kind: rule.kind,
            code,
            message,
            line: pos.map(|p| p.0),
            column: pos.map(|p| p.1),
        };
        self.emit(at, Some(id), version, kind, out);
        let in_a_row = self.rule_state.limit_failures.get(&(i as u32)).copied();
        if in_a_row.is_some_and(|n| n >= MAX_LIMIT_FAILURES) {
            let kind = EventKind::RuleDisabled {
                rule: rule.name.clone(),
                kind: rule.kind,
            };
            self.emit(at, Some(id), version, kind, out);
        }
    }

    /// Folds a rule's event into the rules' state.
    pub(crate) fn fold_rule_event(&mut self, event: &Event) {
        let place = |name: &Arc<str>| self.config.rules.place(name).map(|i| i as u32);
        match (&event.kind, event.case) {
            (
                EventKind::RuleFired {
                    rule,
                    kind: RuleKind::Automation,
                },
                Some(case),
            ) => {
                if let Some(i) = place(rule) {
                    let n = self.rule_state.firings.entry((i, case)).or_insert(0);
                    // At most MAX_AUTOMATION_FIRINGS: the cap stops firings, a restore refuses more.
                    *n = n.saturating_add(1);
                }
            }
            (EventKind::RuleFailed { rule, code, .. }, _) => {
                if let Some(i) = place(rule) {
                    if *code == ErrorCode::ScriptLimit {
                        let n = self.rule_state.limit_failures.entry(i).or_insert(0);
                        *n = n.saturating_add(1);
                    } else {
                        self.rule_state.limit_failures.remove(&i);
                    }
                }
            }
            // A trigger's firing ends its run of limit failures, if it had one.
            (EventKind::RuleFired { rule, .. }, _)
                if !self.rule_state.limit_failures.is_empty() =>
            {
                if let Some(i) = place(rule) {
                    self.rule_state.limit_failures.remove(&i);
                }
            }
            (EventKind::RuleDisabled { rule, .. }, _) => {
                if let Some(i) = place(rule) {
                    self.rule_state.disabled.push(i);
                    self.rule_state.limit_failures.remove(&i);
                }
            }
            (EventKind::RulesReplaced { rules }, _) => {
                // Checked when replaced or replayed: they parse.
                if let Ok(rules) = self.config.parse_rules(&Value::from(rules.clone())) {
                    self.config.rules = rules;
                }
                self.rule_state = RuleState::default();
                self.stats = Stats::default();
                self.reschedule_sweeps(event.at);
            }
            _ => {}
        }
    }

    /// Sets the next sweep to the first multiple of the interval strictly after `at`, or
    /// none when no automation is enabled.
    pub(crate) fn reschedule_sweeps(&mut self, at: Instant) {
        self.next_sweep = self
            .config
            .rules
            .has(RuleKind::Automation)
            .then_some(())
            .and_then(|()| rules::sweep_after(at, self.config.automation_interval_minutes));
    }
}

fn capped(rule: &Rule, case: CaseId) -> String {
    format!(
        "automation `{}` fired {MAX_AUTOMATION_FIRINGS} times on case {case}, its limit",
        rule.name
    )
}

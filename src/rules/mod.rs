//! The rule engine's pure half (docs/rules.md): whether a rule's guard
//! holds on a case, and what its actions would do. Actions go through the lifecycle's
//! deciders like an agent's change (`lifecycle::edit`, source `Rule`), so they pass the
//! same checks, the edit lock excepted. The desk runs triggers and sweeps
//! (`desk/rules.rs`) and folds what this decides.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::case::{Case, CaseType, Name, Priority, Tags};
use crate::config::{Action, Actions, Field, Fields, Input, Piece, Pos, Rule, RuleKind, Test};
use crate::error::ErrorCode;
use crate::event::{CloseCause, EventKind};
use crate::lifecycle::{self, Change, Decision, Edit, Source, State};
use crate::status::{Category, StatusId};
use crate::time::Date;
use crate::time::Instant;

/// Most times one automation may fire on one case (docs/rules.md, The 100-firing cap).
pub const MAX_AUTOMATION_FIRINGS: u32 = 100;

/// Script limits in a row after which a rule is disabled (docs/rules.md, Disabling).
pub const MAX_LIMIT_FAILURES: u32 = 10;

/// The first sweep instant strictly after `t`: a multiple of the interval since the epoch
/// (docs/rules.md, Automations). `None` when that instant cannot be represented: no sweep
/// is moved earlier to fit (it was `t` itself, which made the sweep loop run forever at
/// the end of time).
pub(crate) fn sweep_after(t: Instant, interval_minutes: u32) -> Option<Instant> {
    let step = i64::from(interval_minutes.max(1)) * 60;
    let next = (t.unix_seconds().div_euclid(step) + 1) * step;
    Instant::from_unix_seconds(next)
}

/// A case as it was at the start of a step, for `changed` guards (and scripts'
/// `changed()` and `previous()`): the fields the rules compare with it
/// (`Rules::baseline_fields`), taken before the step's first change of the case.
///
/// It keeps those fields and every field stored in the case itself (all but `subject`,
/// `tags` and the names: status, requester, submitter, assignee and group). Copying a
/// name increments a count beside the name's text, elsewhere in memory: on a large desk
/// that is a cache miss per name, which a step whose triggers compare only inline fields
/// does not pay. A name it does not keep holds a placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Baseline {
    /// The fields it keeps.
    kept: Fields,
    /// The case at the start of the step, the fields outside `kept` left empty.
    case: Case,
}

thread_local! {
    /// The placeholder of a name a baseline does not keep: one per thread, so that taking
    /// it touches one warm count that no other thread shares.
    static NO_NAME: Name = Name::from("");
}

impl Baseline {
    /// The whole case at the start of the step, when every field was kept (as it is for a
    /// script that calls `changed` or `previous`).
    pub(crate) fn whole(&self) -> Option<&Case> {
        (self.kept == Fields::ALL).then_some(&self.case)
    }

    /// The fields stored in the case itself.
    const INLINE: Fields = Fields::ALL
        .without(Field::Subject)
        .without(Field::Tags)
        .without(Field::Status)
        .without(Field::Requester)
        .without(Field::Submitter)
        .without(Field::Assignee)
        .without(Field::Group);

    /// The case as it is now, keeping at least `fields`.
    pub(crate) fn of(case: &Case, fields: Fields) -> Baseline {
        let kept = fields.union(Baseline::INLINE);
        let keeps = |f: Field| kept.has(f);
        let name = |f: Field, n: &Name| {
            if keeps(f) {
                n.clone()
            } else {
                NO_NAME.with(Name::clone)
            }
        };
        let optional = |f: Field, n: &Option<Name>| if keeps(f) { n.clone() } else { None };
        Baseline {
            kept,
            case: Case {
                subject: if keeps(Field::Subject) {
                    case.subject.clone()
                } else {
                    None
                },
                tags: if keeps(Field::Tags) {
                    case.tags.clone()
                } else {
                    Tags::default()
                },
                status: if keeps(Field::Status) {
                    case.status.clone()
                } else {
                    StatusId::from_name(NO_NAME.with(Name::clone))
                },
                requester: name(Field::Requester, &case.requester),
                submitter: name(Field::Submitter, &case.submitter),
                assignee: optional(Field::Assignee, &case.assignee),
                group: optional(Field::Group, &case.group),
                ..*case
            },
        }
    }

    /// The case at the start of the step, when the baseline keeps `field`: `previous`
    /// reads `field` from it.
    pub(crate) fn keeping(&self, field: Field) -> Option<&Case> {
        self.kept.has(field).then_some(&self.case)
    }
}

/// What a guard sees besides the case: the evaluation instant and, for a trigger, the
/// step so far.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ctx<'a> {
    pub(crate) now: Instant,
    /// The case at the start of the step; `None` when the step created it (or outside a
    /// step).
    pub(crate) before: Option<&'a Baseline>,
    /// Whether the step created the case.
    pub(crate) created: bool,
}

/// Whether every test of a guard holds.
pub(crate) fn guard_holds(guard: &[Test], case: &Case, ctx: &Ctx<'_>) -> bool {
    guard.iter().all(|t| holds(t, case, ctx))
}

/// The first test of a guard that does not hold, with the case's value for it.
pub(crate) fn first_failure<'g>(
    guard: &'g [Test],
    case: &Case,
    ctx: &Ctx<'_>,
) -> Option<(&'g Test, Value)> {
    let t = guard.iter().find(|t| !holds(t, case, ctx))?;
    let value = match t {
        Test::Category(_) => json!(case.category),
        Test::Status(_) => json!(case.status),
        Test::Type(_) => json!(case.case_type),
        Test::Priority(_) => json!(case.priority),
        Test::Channel(_) => json!(case.channel),
        Test::Assignee(_) | Test::Assigned(_) => json!(case.assignee),
        Test::Group(_) => json!(case.group),
        Test::Overdue(_) => json!(case.overdue),
        Test::TagsAll(_) | Test::TagsAny(_) | Test::TagsNone(_) => json!(case.tags),
        Test::Measure(m, _) => json!(m.of(case, ctx.now)),
        Test::Created(_) => json!(ctx.created),
        // The fields that did change in the step, none of them named.
        Test::Changed(_) => {
            let changed: Vec<&str> = Field::ALL
                .into_iter()
                .filter(|f| changed(*f, case, ctx))
                .map(Field::as_str)
                .collect();
            json!(changed)
        }
    };
    Some((t, value))
}

fn holds(test: &Test, case: &Case, ctx: &Ctx<'_>) -> bool {
    let named =
        |list: &[Option<String>], value: Option<&str>| list.iter().any(|n| n.as_deref() == value);
    match test {
        Test::Category(list) => list.contains(&case.category),
        Test::Status(list) => list.contains(&case.status),
        Test::Type(list) => list.contains(&case.case_type),
        Test::Priority(list) => list.contains(&case.priority),
        Test::Channel(list) => list.contains(&case.channel),
        Test::Assignee(list) => named(list, case.assignee.as_deref()),
        Test::Group(list) => named(list, case.group.as_deref()),
        Test::Assigned(want) => case.assignee.is_some() == *want,
        Test::Overdue(want) => case.overdue == *want,
        Test::TagsAll(tags) => tags.iter().all(|t| case.tags.contains(t)),
        Test::TagsAny(tags) => tags.iter().any(|t| case.tags.contains(t)),
        Test::TagsNone(tags) => !tags.iter().any(|t| case.tags.contains(t)),
        Test::Measure(m, bound) => m.of(case, ctx.now).is_some_and(|n| bound.holds(n)),
        Test::Created(want) => ctx.created == *want,
        Test::Changed(fields) => fields.iter().any(|f| changed(*f, case, ctx)),
    }
}

/// Whether `field` differs from its value at the start of the step. On creation every
/// field that is not absent counts as changed. A field the baseline does not keep reads
/// as unchanged; it keeps every field a `changed` guard names (`Rules::baseline_fields`).
fn changed(field: Field, case: &Case, ctx: &Ctx<'_>) -> bool {
    match ctx.before {
        Some(before) => before
            .keeping(field)
            .is_some_and(|before| !same(field, before, case)),
        None if ctx.created => present(field, case),
        None => false,
    }
}

/// Whether `field` has the same value in `a` and `b` (compared in place: a trigger pass
/// asks this often, and the view's JSON would allocate).
fn same(field: Field, a: &Case, b: &Case) -> bool {
    match field {
        Field::Id => a.id == b.id,
        Field::Type => a.case_type == b.case_type,
        Field::Subject => a.subject == b.subject,
        Field::Priority => a.priority == b.priority,
        Field::Status => a.status == b.status,
        Field::Category => a.category == b.category,
        Field::Closed => a.closed == b.closed,
        Field::Requester => a.requester == b.requester,
        Field::Submitter => a.submitter == b.submitter,
        Field::Assignee => a.assignee == b.assignee,
        Field::Group => a.group == b.group,
        Field::Problem => a.problem == b.problem,
        Field::DueDate => a.due_date == b.due_date,
        Field::DueAt => a.due_at == b.due_at,
        Field::Tags => a.tags == b.tags,
        Field::Channel => a.channel == b.channel,
        Field::FollowUpOf => a.follow_up_of == b.follow_up_of,
        Field::Reopens => a.reopens == b.reopens,
        Field::CreatedAt => a.created_at == b.created_at,
        Field::UpdatedAt => a.updated_at == b.updated_at,
        Field::StatusChangedAt => a.status_changed_at == b.status_changed_at,
        Field::CategoryChangedAt => a.category_changed_at == b.category_changed_at,
        Field::AssignedAt => a.assigned_at == b.assigned_at,
        Field::ResolvedAt => a.resolved_at == b.resolved_at,
        Field::RepliedAt => a.replied_at == b.replied_at,
        Field::ClosedAt => a.closed_at == b.closed_at,
        Field::Overdue => a.overdue == b.overdue,
        Field::Deleted => a.deleted == b.deleted,
        Field::Version => a.version == b.version,
    }
}

/// Whether `field` has a value (is not absent) in the view: every field of a new case
/// but the absent optional ones counts as changed by its creation.
fn present(field: Field, case: &Case) -> bool {
    !field.value_in(case).is_null()
}

/// Appends a field as a `{field}` placeholder renders it: absent as empty, a boolean as
/// `true`/`false`, tags joined by `, `, an instant as in the view.
fn render(out: &mut String, case: &Case, field: Field) {
    // Writing to a `String` cannot fail.
    match field.value_in(case) {
        Value::Null => {}
        Value::String(s) => out.push_str(&s),
        Value::Array(items) => {
            for (k, item) in items.iter().enumerate() {
                if k > 0 {
                    out.push_str(", ");
                }
                match item.as_str() {
                    Some(s) => out.push_str(s),
                    None => _ = write!(out, "{item}"),
                }
            }
        }
        Value::Number(n) => _ = write!(out, "{n}"),
        other => _ = write!(out, "{other}"),
    }
}

/// A message with its placeholders filled in from `case`, in one allocation for most
/// messages (the text and a short value per placeholder).
fn message(pieces: &[Piece], case: &Case) -> String {
    let room = pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => t.len(),
            Piece::Field(_) => 16,
        })
        .sum();
    let mut out = String::with_capacity(room);
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(t),
            Piece::Field(f) => render(&mut out, case, *f),
        }
    }
    out
}

/// What a rule's actions would do to a case.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// The actions change nothing and notify no one: the rule has not fired.
    Quiet,
    /// The rule fires: these changes of the case, then these notifications.
    Fired(Firing),
    /// The rule fails and changes nothing: the code, the message, and the position in the
    /// script (`None` for a `then` table and for the cap).
    Failed {
        code: ErrorCode,
        message: String,
        at: Option<Pos>,
    },
}

/// A rule's firing: the case's changes (a `closed` included), the problem they resolve,
/// and the notifications, as (target, message).
#[derive(Debug)]
pub(crate) struct Firing {
    pub(crate) decision: Decision,
    pub(crate) notifications: Vec<(String, String)>,
}

impl Firing {
    /// How many events it records: `rule_fired`, its changes, its notifications.
    pub(crate) fn events(&self) -> usize {
        let changes: usize = self.decision.changes.iter().map(|c| c.kinds.len()).sum();
        1 + changes + self.notifications.len()
    }
}

/// What `rule` would do to `case` (live, not closed), all or nothing, and what its script
/// printed (empty for a `then` table).
pub(crate) fn evaluate(
    state: &impl State,
    rule: &Rule,
    case: &Case,
    ctx: &Ctx<'_>,
) -> (Outcome, String) {
    let Some(script) = &rule.script else {
        return (evaluate_then(state, rule, case), String::new());
    };
    let Some(sandbox) = state.config().rules.sandbox() else {
        // A rule set with a script always has a sandbox; failing beats a panic.
        let message = "the rule set has no script engine".to_owned();
        return (
            failed(ErrorCode::ScriptRuntime, message, None),
            String::new(),
        );
    };
    let input = Input {
        now: ctx.now,
        before: ctx.before.and_then(Baseline::whole),
        created: ctx.created,
    };
    match crate::config::run_script(sandbox, script, case, &input) {
        Ok(recorded) => (
            settle(state, rule, case, Plan::of(&recorded.actions)),
            recorded.trace,
        ),
        Err(f) => {
            let code = if f.limit {
                ErrorCode::ScriptLimit
            } else {
                ErrorCode::ScriptRuntime
            };
            (failed(code, f.message, f.at), f.trace)
        }
    }
}

fn failed(code: ErrorCode, message: String, at: Option<Pos>) -> Outcome {
    Outcome::Failed { code, message, at }
}

/// What a `then` table would do.
fn evaluate_then(state: &impl State, rule: &Rule, case: &Case) -> Outcome {
    let a: &Actions = &rule.then;
    let none = (0, 0);
    let plan = Plan {
        status: a.set_status.as_ref().map(|s| (&**s, none)),
        priority: a.set_priority.map(|p| (p, none)),
        case_type: a.set_type.map(|t| (t, none)),
        assignee: a.assign.as_ref().map(|x| (x.as_deref(), none)),
        group: a.set_group.as_ref().map(|x| (x.as_deref(), none)),
        due_date: a.set_due_date.map(|d| (d, none)),
        tags: PlanTags::Table(&a.add_tags, &a.remove_tags),
        notifications: a
            .notify
            .iter()
            .map(|n| (n.target.clone(), message(&n.message, case)))
            .collect(),
        close: a.close.then_some(none),
    };
    settle(state, rule, case, plan)
}

/// The actions a rule asks for, the last asked for each field winning, each with the
/// position that asked for it (`(0, 0)` for a `then` table, which has none). It borrows
/// its names from the rule's table or the script's recorded actions.
#[derive(Debug)]
struct Plan<'a> {
    status: Option<(&'a str, Pos)>,
    priority: Option<(Option<Priority>, Pos)>,
    case_type: Option<(Option<CaseType>, Pos)>,
    assignee: Option<(Option<&'a str>, Pos)>,
    group: Option<(Option<&'a str>, Pos)>,
    due_date: Option<(Option<Date>, Pos)>,
    tags: PlanTags<'a>,
    notifications: Vec<(String, String)>,
    close: Option<Pos>,
}

/// The tags a plan adds and removes.
#[derive(Debug)]
enum PlanTags<'a> {
    /// A `then` table's lists, as loaded (normalized, without positions).
    Table(&'a Tags, &'a Tags),
    /// A script's: each tag's last action, added (true) or removed, with its position.
    Script(Vec<(&'a str, bool, Pos)>),
}

impl<'a> Plan<'a> {
    /// A script's recorded actions, in the order it recorded them.
    fn of(actions: &'a [(Action, Pos)]) -> Plan<'a> {
        let mut plan = Plan {
            status: None,
            priority: None,
            case_type: None,
            assignee: None,
            group: None,
            due_date: None,
            tags: PlanTags::Script(Vec::new()),
            notifications: Vec::new(),
            close: None,
        };
        let mut tags = Vec::new();
        for (action, at) in actions {
            let at = *at;
            match action {
                Action::Status(s) => plan.status = Some((s, at)),
                Action::Priority(p) => plan.priority = Some((*p, at)),
                Action::Type(t) => plan.case_type = Some((*t, at)),
                Action::Assign(a) => plan.assignee = Some((a.as_deref(), at)),
                Action::Group(g) => plan.group = Some((g.as_deref(), at)),
                Action::DueDate(d) => plan.due_date = Some((*d, at)),
                Action::AddTag(t) | Action::RemoveTag(t) => {
                    tags.retain(|(x, _, _)| x != t);
                    tags.push((t.as_str(), matches!(action, Action::AddTag(_)), at));
                }
                Action::Notify { target, message } => {
                    plan.notifications.push((target.clone(), message.clone()));
                }
                Action::Close => plan.close = Some(at),
            }
        }
        plan.tags = PlanTags::Script(tags);
        plan
    }

    /// Whether it asks for nothing at all.
    fn is_empty(&self) -> bool {
        let no_tags = match &self.tags {
            PlanTags::Table(add, remove) => add.is_empty() && remove.is_empty(),
            PlanTags::Script(tags) => tags.is_empty(),
        };
        self.status.is_none()
            && self.priority.is_none()
            && self.case_type.is_none()
            && self.assignee.is_none()
            && self.group.is_none()
            && self.due_date.is_none()
            && no_tags
            && self.notifications.is_empty()
            && self.close.is_none()
    }

    /// The positions of its changes of fields, in script order.
    fn positions(&self) -> Vec<Pos> {
        let tags: &[(&str, bool, Pos)] = match &self.tags {
            PlanTags::Table(..) => &[],
            PlanTags::Script(tags) => tags,
        };
        let mut all: Vec<Pos> = [
            self.status.map(|x| x.1),
            self.priority.map(|x| x.1),
            self.case_type.map(|x| x.1),
            self.assignee.map(|x| x.1),
            self.group.map(|x| x.1),
            self.due_date.map(|x| x.1),
        ]
        .into_iter()
        .flatten()
        .chain(tags.iter().map(|t| t.2))
        .collect();
        all.sort_unstable();
        all.dedup();
        all
    }

    /// Its changes of fields asked for at or before `upto` in the script, checked as one
    /// edit by the rule.
    fn decide(
        &self,
        state: &impl State,
        rule: &Rule,
        case: &Case,
        upto: Pos,
    ) -> Result<Decision, crate::error::Error> {
        let keep = |at: Pos| at <= upto;
        let picked: (Tags, Tags);
        let (add_tags, remove_tags) = match &self.tags {
            // A table has no positions: all of it is asked for at once.
            PlanTags::Table(add, remove) => (*add, *remove),
            PlanTags::Script(tags) => {
                let pick = |added: bool| -> Tags {
                    let mut set = Tags::default();
                    for (t, _, _) in tags.iter().filter(|(_, a, at)| *a == added && keep(*at)) {
                        set.insert(t);
                    }
                    set
                };
                picked = (pick(true), pick(false));
                (&picked.0, &picked.1)
            }
        };
        let edit = Edit {
            status: self.status.filter(|x| keep(x.1)).map(|x| x.0),
            priority: self.priority.filter(|x| keep(x.1)).map(|x| x.0),
            case_type: self.case_type.filter(|x| keep(x.1)).map(|x| x.0),
            subject: None,
            assignee: self.assignee.filter(|x| keep(x.1)).map(|x| x.0),
            group: self.group.filter(|x| keep(x.1)).map(|x| x.0),
            problem: None,
            due_date: self.due_date.filter(|x| keep(x.1)).map(|x| x.0),
            add_tags,
            remove_tags,
        };
        lifecycle::edit(state, case, &edit, Source::Rule(&rule.name))
    }
}

/// What a plan does to `case`, all or nothing: its edit through the lifecycle's checks,
/// then `close`, then its notifications. A rejected action is reported at the position
/// of the first change, in script order, that the lifecycle refuses together with those
/// before it.
fn settle(state: &impl State, rule: &Rule, case: &Case, plan: Plan<'_>) -> Outcome {
    if plan.is_empty() {
        return Outcome::Quiet; // a script that recorded nothing: nothing to decide
    }
    let in_script = rule.script.is_some();
    let rejected = |message: String, at: Pos| {
        failed(ErrorCode::ActionRejected, message, in_script.then_some(at))
    };
    let mut decision = match plan.decide(state, rule, case, (u32::MAX, u32::MAX)) {
        Ok(decision) => decision,
        Err(e) => {
            let culprit = plan
                .positions()
                .into_iter()
                .find(|at| plan.decide(state, rule, case, *at).is_err())
                .unwrap_or((0, 0));
            return rejected(e.message().to_owned(), culprit);
        }
    };
    if let Some(at) = plan.close {
        if rule.kind == RuleKind::Trigger {
            return rejected("close: triggers cannot close a case".to_owned(), at);
        }
        let category = decision
            .changes
            .iter()
            .flat_map(|c| &c.kinds)
            .find_map(|k| match k {
                EventKind::StatusChanged { to_category, .. } => Some(*to_category),
                _ => None,
            })
            .unwrap_or(case.category);
        if category != Category::Resolved {
            return rejected(
                format!(
                    "close: case {} is in category {category}, not resolved",
                    case.id
                ),
                at,
            );
        }
        let closed = EventKind::Closed {
            cause: CloseCause::Rule,
            rule: Some(rule.name.to_string()),
        };
        match decision.changes.first_mut() {
            Some(change) => change.kinds.push(closed),
            None => decision.changes.push(Change::of(case.id, vec![closed])),
        }
    }
    if decision.changes.is_empty() && plan.notifications.is_empty() {
        return Outcome::Quiet;
    }
    Outcome::Fired(Firing {
        decision,
        notifications: plan.notifications,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::{CaseType, Channel, Priority};
    use crate::config::RuleKind;
    use crate::status::Catalog;
    use crate::time::Date;

    fn case() -> Case {
        let open = Catalog::default().default_status(Category::Open).clone();
        let at: Instant = "2026-03-02T09:00:00Z".parse().unwrap();
        Case::new(7, at, &open, "r".into(), "r".into())
    }

    /// Every field compares equal with itself and unequal once it changes, so `changed`
    /// guards see each field; a baseline asked to keep a field keeps its value (what
    /// `previous` reads), so `changed` sees it change.
    #[test]
    fn each_field_compares_in_place() {
        let mut a = case();
        // Values a baseline that dropped its owned fields would lose.
        a.subject = Some("printer".into());
        a.tags = ["hardware".to_owned()].into_iter().collect();
        let later: Instant = "2026-03-03T09:00:00Z".parse().unwrap();
        let resolved = Catalog::default()
            .default_status(Category::Resolved)
            .clone();
        for field in Field::ALL {
            assert!(same(field, &a, &a), "{}", field.as_str());
            let mut b = a.clone();
            match field {
                Field::Id => b.id = 8,
                Field::Type => b.case_type = Some(CaseType::Task),
                Field::Subject => b.subject = Some("x".into()),
                Field::Priority => b.priority = Some(Priority::High),
                Field::Status => b.status = resolved.id.clone(),
                Field::Category => b.category = Category::Resolved,
                Field::Closed => b.closed = true,
                Field::Requester => b.requester = "q".into(),
                Field::Submitter => b.submitter = "s".into(),
                Field::Assignee => b.assignee = Some("bob".into()),
                Field::Group => b.group = Some("g".into()),
                Field::Problem => b.problem = Some(1),
                Field::DueDate => b.due_date = Date::from_ymd(2026, 3, 10),
                Field::DueAt => b.due_at = Some(later),
                Field::Tags => b.tags = ["vip".to_owned()].into_iter().collect(),
                Field::Channel => b.channel = Channel::Email,
                Field::FollowUpOf => b.follow_up_of = Some(1),
                Field::Reopens => b.reopens = 1,
                Field::CreatedAt => b.created_at = later,
                Field::UpdatedAt => b.updated_at = later,
                Field::StatusChangedAt => b.status_changed_at = later,
                Field::CategoryChangedAt => b.category_changed_at = later,
                Field::AssignedAt => b.assigned_at = Some(later),
                Field::ResolvedAt => b.resolved_at = Some(later),
                Field::RepliedAt => b.replied_at = Some(later),
                Field::ClosedAt => b.closed_at = Some(later),
                Field::Overdue => b.overdue = true,
                Field::Deleted => b.deleted = true,
                Field::Version => b.version = 2,
            }
            assert!(!same(field, &a, &b), "{}", field.as_str());
            assert_ne!(field.value_in(&a), field.value_in(&b), "{}", field.as_str());
            let baseline = Baseline::of(&a, Fields::default().with(field));
            let kept = baseline.keeping(field).map(|c| field.value_in(c));
            assert_eq!(kept, Some(field.value_in(&a)), "{}", field.as_str());
            let ctx = Ctx {
                now: later,
                before: Some(&baseline),
                created: false,
            };
            assert!(!changed(field, &a, &ctx), "{}", field.as_str());
            assert!(changed(field, &b, &ctx), "{}", field.as_str());
        }
        assert_eq!(RuleKind::Trigger.as_str(), "trigger");
        assert_eq!(RuleKind::Automation.as_str(), "automation");
    }

    /// The compact prefilter agrees with the guard on the fields it covers: over every
    /// category, priority and type, it admits a case exactly when such a guard holds.
    #[test]
    fn prefilters_agree_with_their_guards() {
        let declared = serde_json::json!([
            {"name": "a", "kind": "trigger", "when": {"category": ["new", "resolved"]}, "then": {"add_tags": ["x"]}},
            {"name": "b", "kind": "trigger", "when": {"priority": ["none", "urgent"], "type": ["task"]}, "then": {"add_tags": ["x"]}},
            {"name": "c", "kind": "automation", "when": {"type": ["none", "problem"], "category": ["open"], "priority": ["low", "high"]}, "then": {"add_tags": ["x"]}},
            {"name": "d", "kind": "trigger", "then": {"add_tags": ["x"]}}
        ]);
        let config = crate::config::Config::default();
        let rules = config.parse_rules(&declared).unwrap();
        let now: Instant = "2026-03-02T09:00:00Z".parse().unwrap();
        let ctx = Ctx {
            now,
            before: None,
            created: false,
        };
        let priorities = [
            None,
            Some(Priority::Low),
            Some(Priority::Normal),
            Some(Priority::High),
            Some(Priority::Urgent),
        ];
        let types = [
            None,
            Some(CaseType::Question),
            Some(CaseType::Incident),
            Some(CaseType::Problem),
            Some(CaseType::Task),
        ];
        for category in Category::ALL {
            for priority in priorities {
                for case_type in types {
                    let mut c = case();
                    c.category = category;
                    c.priority = priority;
                    c.case_type = case_type;
                    for (rule, prefilter) in rules.iter().zip(rules.prefilters()) {
                        assert_eq!(
                            prefilter.admits(&c),
                            guard_holds(&rule.when, &c, &ctx),
                            "{} on {category} {priority:?} {case_type:?}",
                            rule.name
                        );
                    }
                }
            }
        }
    }

    /// A step keeps what the enabled triggers' `changed` guards name, whichever field it
    /// is, and nothing when none has one; the subject and tags (copied with an allocation)
    /// only when named.
    #[test]
    fn baselines_keep_what_changed_guards_name() {
        let config = crate::config::Config::default();
        let trigger = |changed: &[&str]| {
            json!({"name": format!("t-{}", changed.join("-")), "kind": "trigger",
                   "when": {"changed": changed}, "then": {"add_tags": ["x"]}})
        };
        let parse = |list: Value| config.parse_rules(&list).unwrap();
        for field in Field::ALL {
            let rules = parse(json!([trigger(&[field.as_str()])]));
            let fields = rules.baseline_fields();
            assert_eq!(fields, Fields::default().with(field), "{}", field.as_str());
        }
        let rules = parse(json!([trigger(&["subject"]), trigger(&["tags", "status"])]));
        let want = Fields::default()
            .with(Field::Subject)
            .with(Field::Tags)
            .with(Field::Status);
        assert_eq!(rules.baseline_fields(), want);
        let mut disabled = trigger(&["tags"]);
        disabled["enabled"] = json!(false);
        let none = parse(json!([
            disabled,
            {"name": "plain", "kind": "trigger", "when": {"priority": ["high"]}, "then": {"add_tags": ["x"]}},
            {"name": "sweep", "kind": "automation", "then": {"add_tags": ["x"]}}
        ]));
        assert!(none.baseline_fields().is_empty());
        // A script that asks about the step keeps every field; one that does not, none.
        let asks = parse(
            json!([{"name": "s", "kind": "trigger", "source": "if changed(\"subject\") { add_tag(\"x\"); }"}]),
        );
        assert_eq!(asks.baseline_fields(), Fields::ALL);
        let quiet = parse(json!([{"name": "s", "kind": "trigger", "source": "add_tag(\"x\");"}]));
        assert!(quiet.baseline_fields().is_empty());

        let mut a = case();
        a.subject = Some("printer".into());
        let inline = Baseline::of(&a, Fields::default());
        for outside in [Field::Subject, Field::Tags, Field::Status, Field::Requester]
            .into_iter()
            .chain([Field::Submitter, Field::Assignee, Field::Group])
        {
            assert!(inline.keeping(outside).is_none(), "{outside:?}");
        }
        assert!(
            inline.keeping(Field::Priority).is_some() && inline.keeping(Field::Version).is_some()
        );
        let named = Baseline::of(&a, Fields::default().with(Field::Requester));
        assert_eq!(
            named.keeping(Field::Requester).map(|c| &c.requester),
            Some(&a.requester)
        );
        assert!(
            Field::ALL
                .iter()
                .all(|f| Baseline::of(&a, Fields::ALL).keeping(*f).is_some())
        );
    }

    #[test]
    fn sweeps_fall_on_multiples_of_the_interval() {
        let t: Instant = "2026-03-02T09:00:00Z".parse().unwrap();
        let at = |s: &str| Some(s.parse::<Instant>().unwrap());
        assert_eq!(sweep_after(t, 60), at("2026-03-02T10:00:00Z"));
        assert_eq!(
            sweep_after(t.plus_seconds(1), 45),
            at("2026-03-02T09:45:00Z")
        );
        assert_eq!(sweep_after(t, 7), at("2026-03-02T09:07:00Z")); // 09:00 is a multiple of 7 minutes
    }
}

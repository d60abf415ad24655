//! The rule engine's pure half (docs/rules.md): whether a rule's guard
//! holds on a case, and what its actions would do. Actions go through the lifecycle's
//! deciders like an agent's change (`lifecycle::edit`, source `Rule`), so they pass the
//! same checks, the edit lock excepted. The desk runs triggers and sweeps
//! (`desk/rules.rs`) and folds what this decides.

use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::case::{Case, Tags};
use crate::config::{Actions, Field, Fields, Measure, Piece, Rule, Test};
use crate::error::ErrorCode;
use crate::event::{CloseCause, EventKind};
use crate::lifecycle::{self, Change, Decision, Edit, Source, State};
use crate::status::Category;
use crate::time::Instant;

/// Most times one automation may fire on one case (docs/rules.md, The 100-firing cap).
pub const MAX_AUTOMATION_FIRINGS: u32 = 100;

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
/// It keeps those fields and every field whose copy allocates nothing (all but `subject`
/// and `tags`: the other fields are inline or shared names), so a step whose triggers
/// compare only such fields copies the case without allocating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Baseline {
    /// The fields it keeps.
    kept: Fields,
    /// The case at the start of the step, the fields outside `kept` left empty.
    case: Case,
}

impl Baseline {
    /// The fields a copy of the case keeps without allocating.
    const FREE: Fields = Fields::ALL.without(Field::Subject).without(Field::Tags);

    /// The case as it is now, keeping at least `fields`.
    pub(crate) fn of(case: &Case, fields: Fields) -> Baseline {
        let kept = fields.union(Baseline::FREE);
        Baseline {
            kept,
            case: Case {
                subject: if kept.has(Field::Subject) {
                    case.subject.clone()
                } else {
                    None
                },
                tags: if kept.has(Field::Tags) {
                    case.tags.clone()
                } else {
                    Tags::default()
                },
                status: case.status.clone(),
                requester: case.requester.clone(),
                submitter: case.submitter.clone(),
                assignee: case.assignee.clone(),
                group: case.group.clone(),
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
        Test::Measure(m, _) => json!(measure(*m, case, ctx.now)),
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
        Test::Measure(m, bound) => measure(*m, case, ctx.now).is_some_and(|n| bound.holds(n)),
        Test::Created(want) => ctx.created == *want,
        Test::Changed(fields) => fields.iter().any(|f| changed(*f, case, ctx)),
    }
}

/// Whole hours from `from` to `to`, floored (negative when `to` is earlier).
fn hours(from: Instant, to: Instant) -> i64 {
    (to.unix_seconds() - from.unix_seconds()).div_euclid(3600)
}

/// A measure of the case at `now`, as scripts see it: whole hours, floored; `None` when
/// the instant it counts from is absent.
pub(crate) fn measure(m: Measure, case: &Case, now: Instant) -> Option<i64> {
    let since = |t: Option<Instant>| t.map(|t| hours(t, now));
    match m {
        Measure::HoursSinceCreated => since(Some(case.created_at)),
        Measure::HoursSinceUpdated => since(Some(case.updated_at)),
        Measure::HoursInStatus => since(Some(case.status_changed_at)),
        Measure::HoursInCategory => since(Some(case.category_changed_at)),
        Measure::HoursSinceAssigned => since(case.assigned_at),
        Measure::HoursSinceResolved => since(case.resolved_at),
        Measure::HoursSinceReply => since(case.replied_at),
        Measure::HoursUntilDue => case.due_at.map(|due| hours(now, due)),
        Measure::Reopens => Some(i64::from(case.reopens)),
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
    !field_value(case, field).is_null()
}

/// One field of the case view, as the view shows it.
pub(crate) fn field_value(case: &Case, field: Field) -> Value {
    match field {
        Field::Id => json!(case.id),
        Field::Type => json!(case.case_type),
        Field::Subject => json!(case.subject),
        Field::Priority => json!(case.priority),
        Field::Status => json!(case.status),
        Field::Category => json!(case.category),
        Field::Closed => json!(case.closed),
        Field::Requester => json!(case.requester),
        Field::Submitter => json!(case.submitter),
        Field::Assignee => json!(case.assignee),
        Field::Group => json!(case.group),
        Field::Problem => json!(case.problem),
        Field::DueDate => json!(case.due_date),
        Field::DueAt => json!(case.due_at),
        Field::Tags => json!(case.tags),
        Field::Channel => json!(case.channel),
        Field::FollowUpOf => json!(case.follow_up_of),
        Field::Reopens => json!(case.reopens),
        Field::CreatedAt => json!(case.created_at),
        Field::UpdatedAt => json!(case.updated_at),
        Field::StatusChangedAt => json!(case.status_changed_at),
        Field::CategoryChangedAt => json!(case.category_changed_at),
        Field::AssignedAt => json!(case.assigned_at),
        Field::ResolvedAt => json!(case.resolved_at),
        Field::RepliedAt => json!(case.replied_at),
        Field::ClosedAt => json!(case.closed_at),
        Field::Overdue => json!(case.overdue),
        Field::Deleted => json!(case.deleted),
        Field::Version => json!(case.version),
    }
}

/// Appends a field as a `{field}` placeholder renders it: absent as empty, a boolean as
/// `true`/`false`, tags joined by `, `, an instant as in the view.
fn render(out: &mut String, case: &Case, field: Field) {
    // Writing to a `String` cannot fail.
    match field_value(case, field) {
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
    /// The rule fails and changes nothing.
    Failed { code: ErrorCode, message: String },
}

/// A rule's firing: the case's changes (a `closed` included), the problem they resolve,
/// and the notifications, as (target, message).
#[derive(Debug)]
pub(crate) struct Firing {
    pub(crate) decision: Decision,
    pub(crate) notifications: Vec<(String, String)>,
}

/// What `rule`'s `then` table would do to `case` (live, not closed), all or nothing.
pub(crate) fn evaluate(state: &impl State, rule: &Rule, case: &Case) -> Outcome {
    let a: &Actions = &rule.then;
    let edit = Edit {
        status: a.set_status.as_deref(),
        priority: a.set_priority,
        case_type: a.set_type,
        subject: None,
        assignee: a.assign.as_ref().map(|x| x.as_deref()),
        group: a.set_group.as_ref().map(|x| x.as_deref()),
        problem: None,
        due_date: a.set_due_date,
        add_tags: &a.add_tags,
        remove_tags: &a.remove_tags,
    };
    let rejected = |message: String| Outcome::Failed {
        code: ErrorCode::ActionRejected,
        message,
    };
    let mut decision = match lifecycle::edit(state, case, &edit, Source::Rule(&rule.name)) {
        Ok(decision) => decision,
        Err(e) => return rejected(e.message().to_owned()),
    };
    if a.close {
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
            return rejected(format!(
                "close: case {} is in category {category}, not resolved",
                case.id
            ));
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
    let notifications: Vec<(String, String)> = a
        .notify
        .iter()
        .map(|n| (n.target.clone(), message(&n.message, case)))
        .collect();
    if decision.changes.is_empty() && notifications.is_empty() {
        return Outcome::Quiet;
    }
    Outcome::Fired(Firing {
        decision,
        notifications,
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
            assert_ne!(
                field_value(&a, field),
                field_value(&b, field),
                "{}",
                field.as_str()
            );
            let baseline = Baseline::of(&a, Fields::default().with(field));
            let kept = baseline.keeping(field).map(|c| field_value(c, field));
            assert_eq!(kept, Some(field_value(&a, field)), "{}", field.as_str());
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
        let catalog = Catalog::default();
        let declared = serde_json::json!([
            {"name": "a", "kind": "trigger", "when": {"category": ["new", "resolved"]}, "then": {"add_tags": ["x"]}},
            {"name": "b", "kind": "trigger", "when": {"priority": ["none", "urgent"], "type": ["task"]}, "then": {"add_tags": ["x"]}},
            {"name": "c", "kind": "automation", "when": {"type": ["none", "problem"], "category": ["open"], "priority": ["low", "high"]}, "then": {"add_tags": ["x"]}},
            {"name": "d", "kind": "trigger", "then": {"add_tags": ["x"]}}
        ]);
        let rules = crate::config::Rules::parse(&declared, &catalog).unwrap();
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
        let catalog = Catalog::default();
        let trigger = |changed: &[&str]| {
            json!({"name": format!("t-{}", changed.join("-")), "kind": "trigger",
                   "when": {"changed": changed}, "then": {"add_tags": ["x"]}})
        };
        let parse = |list: Value| crate::config::Rules::parse(&list, &catalog).unwrap();
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

        let mut a = case();
        a.subject = Some("printer".into());
        let free = Baseline::of(&a, Fields::default());
        assert!(free.keeping(Field::Subject).is_none() && free.keeping(Field::Tags).is_none());
        assert!(free.keeping(Field::Priority).is_some() && free.keeping(Field::Assignee).is_some());
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

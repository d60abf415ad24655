//! The account's automation rules as declared (docs/rules.md, Declaring rules): names,
//! kinds, guards (`when`) and declarative actions (`then`), parsed and checked when the
//! configuration loads, every problem reported at once. Evaluating them is the rule
//! engine's job (`crate::rules`).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::case::{
    Case, CaseType, Channel, MAX_NAME_CHARS, Priority, Tags, check_name, normalize_tags,
};
use crate::error::{Error, ErrorCode};
use crate::status::{Catalog, Category, StatusId};
use crate::time::{Date, Instant};

use super::script::{self, Limits, Sandbox, Script, ScriptLoader};

/// Longest rule name, in Unicode scalar values.
pub const MAX_RULE_NAME_CHARS: usize = 64;

/// When a rule runs (docs/rules.md, Triggers and Automations).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RuleKind {
    /// After every step that created or changed a case.
    Trigger,
    /// At every sweep, on every case that is neither closed nor trashed.
    Automation,
}

impl RuleKind {
    /// `"trigger"` or `"automation"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Trigger => "trigger",
            RuleKind::Automation => "automation",
        }
    }
}

/// One rule: a name, a kind, a guard and its actions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub(crate) name: Arc<str>,
    pub(crate) kind: RuleKind,
    pub(crate) enabled: bool,
    pub(crate) when: Vec<Test>,
    pub(crate) then: Actions,
    /// The compiled script, for a rule with `script` or `source` (then `then` is empty).
    pub(crate) script: Option<Script>,
    /// The declaration as given (a `script` file's text inlined as `source`), for
    /// `rules_replaced` events and snapshots.
    pub(crate) declared: Value,
}

impl Rule {
    /// The rule's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Trigger or automation.
    pub fn kind(&self) -> RuleKind {
        self.kind
    }

    /// Whether the rule runs (`enabled = false` keeps it loaded but idle).
    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// The rule as declared (a JSON object).
    pub fn declared(&self) -> &Value {
        &self.declared
    }

    /// The guard as the engine understood it: one `key value` per key, in the order the
    /// engine checks them (docs/rules.md, Evaluation order), lists normalized (tags
    /// lowercased and sorted, `"none"` for an absent value). Empty without a guard.
    ///
    /// # Example
    /// ```
    /// let config = caseflow::Config::from_toml(r#"
    ///     [[rules]]
    ///     name = "r"
    ///     kind = "trigger"
    ///     when = { tags_any = "VIP", priority = ["urgent", "none"], hours_in_status = { gte = 2 } }
    ///     then = { add_tags = ["x"] }
    /// "#).unwrap();
    /// let rule = config.rules().iter().next().unwrap();
    /// assert_eq!(rule.guard(), ["priority [urgent, none]", "hours_in_status >= 2", "tags_any [vip]"]);
    /// ```
    pub fn guard(&self) -> Vec<String> {
        self.when.iter().map(Test::describe).collect()
    }

    /// The fields this rule compares with the start of the step: those its `changed`
    /// guard names, or all of them for a script that calls `changed` or `previous`.
    pub(crate) fn baseline_fields(&self) -> Fields {
        if self.script.as_ref().is_some_and(|s| s.reads_baseline) {
            return Fields::ALL;
        }
        self.when
            .iter()
            .fold(Fields::default(), |set, test| match test {
                Test::Changed(fields) => fields.iter().fold(set, |set, f| set.with(*f)),
                _ => set,
            })
    }
}

/// An account's rules, in list order. Cloning shares them.
#[derive(Clone, Debug, Default)]
pub struct Rules {
    list: Arc<[Rule]>,
    /// The script engine the scripts run in, when any rule is a script.
    sandbox: Option<Arc<Sandbox>>,
    /// Per rule, in list order, what its guard asks of a case's inline fields.
    prefilters: Arc<[Prefilter]>,
    /// Whether an enabled trigger exists; an enabled automation.
    triggers: bool,
    automations: bool,
    /// The fields the enabled triggers compare with the start of the step.
    baseline: Fields,
}

impl PartialEq for Rules {
    /// The same rules in the same order (scripts compare by their text).
    fn eq(&self, other: &Rules) -> bool {
        self.list == other.list
    }
}

impl Eq for Rules {}

/// Problems found loading rules: `script_compile` when a script does not compile,
/// `invalid_config` otherwise.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    pub(crate) list: Vec<String>,
    pub(crate) compile: bool,
}

impl From<Problems> for Error {
    fn from(p: Problems) -> Error {
        let code = if p.compile {
            ErrorCode::ScriptCompile
        } else {
            ErrorCode::InvalidConfig
        };
        Error::with_problems(code, p.list)
    }
}

/// What loading a rule set needs besides the declarations.
pub(crate) struct Load<'a> {
    pub(crate) catalog: &'a Catalog,
    pub(crate) limits: &'a Limits,
    pub(crate) files: &'a dyn ScriptLoader,
}

impl Rules {
    /// The place in the list of the rule named `name`. An event this desk emitted shares
    /// the rule's name, so the names are first compared by address; a replayed event's
    /// by text.
    pub(crate) fn place(&self, name: &Arc<str>) -> Option<usize> {
        let list = self.list.iter();
        (list.clone().position(|r| Arc::ptr_eq(&r.name, name)))
            .or_else(|| list.clone().position(|r| r.name == *name))
    }

    /// Parses a list of rule declarations (the `rules` key, as JSON): guards and `then`
    /// tables against the catalog, scripts loaded and compiled in one sandbox.
    ///
    /// # Errors
    /// Every problem found: `rules: NAME: KEY: why` for declarations, guards and `then`
    /// tables; `FILE:LINE:COLUMN: rule NAME: message` for scripts.
    pub(crate) fn parse(value: &Value, load: &Load<'_>) -> Result<Rules, Problems> {
        let Some(list) = value.as_array() else {
            return Err(Problems {
                list: vec!["rules: must be a list of rule tables".to_owned()],
                compile: false,
            });
        };
        let mut problems = Problems::default();
        let mut rules: Vec<Rule> = Vec::with_capacity(list.len());
        let scripted = list
            .iter()
            .any(|d| d.get("script").is_some() || d.get("source").is_some());
        let sandbox = scripted.then(|| Arc::new(Sandbox::new(load.limits)));
        for (i, decl) in list.iter().enumerate() {
            match parse_rule(decl, load, sandbox.as_deref(), &mut problems) {
                Ok(rule) => {
                    if rules.iter().any(|r| r.name == rule.name) {
                        problems
                            .list
                            .push(format!("rules: {}: name: used by another rule", rule.name));
                    }
                    rules.push(rule);
                }
                Err(mut found) => {
                    let who = decl
                        .get("name")
                        .and_then(Value::as_str)
                        .map_or_else(|| format!("rule {}", i + 1), short);
                    problems
                        .list
                        .extend(found.drain(..).map(|p| format!("rules: {who}: {p}")));
                }
            }
        }
        if problems.list.is_empty() {
            let enabled = |kind| rules.iter().any(|r| r.enabled && r.kind == kind);
            let baseline = rules
                .iter()
                .filter(|r| r.enabled && r.kind == RuleKind::Trigger)
                .fold(Fields::default(), |set, r| set.union(r.baseline_fields()));
            Ok(Rules {
                sandbox,
                prefilters: rules.iter().map(Prefilter::of).collect(),
                triggers: enabled(RuleKind::Trigger),
                automations: enabled(RuleKind::Automation),
                baseline,
                list: rules.into(),
            })
        } else {
            Err(problems)
        }
    }

    /// The script engine, when any rule is a script.
    pub(crate) fn sandbox(&self) -> Option<&Sandbox> {
        self.sandbox.as_deref()
    }

    /// The rules, in list order.
    pub fn iter(&self) -> impl Iterator<Item = &Rule> {
        self.list.iter()
    }

    /// The rule at this place in the list.
    pub(crate) fn get(&self, place: usize) -> Option<&Rule> {
        self.list.get(place)
    }

    /// Per rule, in list order, what its guard asks of a case's inline fields.
    pub(crate) fn prefilters(&self) -> &[Prefilter] {
        &self.prefilters
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there is no rule.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Whether any enabled rule is of this kind.
    pub(crate) fn has(&self, kind: RuleKind) -> bool {
        match kind {
            RuleKind::Trigger => self.triggers,
            RuleKind::Automation => self.automations,
        }
    }

    /// The fields a step keeps of each case as it was at its start
    /// (`crate::rules::Baseline`): those the enabled triggers compare with it. None when
    /// no trigger compares any: the step keeps nothing.
    pub(crate) fn baseline_fields(&self) -> Fields {
        self.baseline
    }

    /// The declarations, as `rules_replaced` and snapshots carry them.
    pub(crate) fn declared(&self) -> Vec<Value> {
        self.list.iter().map(|r| r.declared.clone()).collect()
    }
}

/// What a rule's guard asks of a case's small inline fields (category, priority, type), as
/// bit sets, with the rule's kind and whether it is enabled: a compact array that a trigger
/// pass scans before it reads any rule, so that a rule whose guard excludes the case on
/// those fields costs a few instructions. A bit set of 0 asks nothing. It is a necessary
/// condition only: a rule it admits still has its whole guard checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Prefilter {
    pub(crate) kind: RuleKind,
    pub(crate) enabled: bool,
    categories: u8,
    priorities: u8,
    types: u8,
}

/// The bit of an optional value: 1 for none, then one per variant.
fn bit_of<T: Copy>(value: Option<T>, index: impl Fn(T) -> u8) -> u8 {
    value.map_or(1, |v| 2 << index(v))
}

impl Prefilter {
    fn of(rule: &Rule) -> Prefilter {
        let mut p = Prefilter {
            kind: rule.kind,
            enabled: rule.enabled,
            categories: 0,
            priorities: 0,
            types: 0,
        };
        for test in &rule.when {
            match test {
                Test::Category(list) => {
                    p.categories = list.iter().fold(0, |m, c| m | 1 << (*c as u8));
                }
                Test::Priority(list) => {
                    p.priorities = list.iter().fold(0, |m, v| m | bit_of(*v, |x| x as u8));
                }
                Test::Type(list) => {
                    p.types = list.iter().fold(0, |m, v| m | bit_of(*v, |x| x as u8));
                }
                _ => {}
            }
        }
        p
    }

    /// Whether the guard's category, priority and type tests can hold on `case`. A list
    /// left empty in the declaration holds for no case, and the whole guard says so.
    pub(crate) fn admits(&self, case: &crate::case::Case) -> bool {
        let has = |set: u8, bit: u8| set == 0 || set & bit != 0;
        has(self.categories, 1 << (case.category as u8))
            && has(self.priorities, bit_of(case.priority, |x| x as u8))
            && has(self.types, bit_of(case.case_type, |x| x as u8))
    }
}

/// A prefix of user text for a message: at most 64 characters.
fn short(s: &str) -> String {
    crate::error::clip(s).into_owned()
}

fn parse_rule(
    decl: &Value,
    load: &Load<'_>,
    sandbox: Option<&Sandbox>,
    compile_problems: &mut Problems,
) -> Result<Rule, Vec<String>> {
    let catalog = load.catalog;
    let Some(map) = decl.as_object() else {
        return Err(vec!["must be a table".to_owned()]);
    };
    let mut problems = Vec::new();
    let name = match map.get("name").and_then(Value::as_str) {
        Some(n) if (1..=MAX_RULE_NAME_CHARS).contains(&n.chars().count()) => Arc::from(n),
        Some(_) => {
            problems.push(format!(
                "name: must be 1 to {MAX_RULE_NAME_CHARS} characters"
            ));
            Arc::from("")
        }
        None => {
            problems.push("name: required, a string".to_owned());
            Arc::from("")
        }
    };
    let kind = match map.get("kind").map(RuleKind::deserialize) {
        Some(Ok(kind)) => Some(kind),
        Some(Err(_)) => {
            problems.push("kind: must be \"trigger\" or \"automation\"".to_owned());
            None
        }
        None => {
            problems.push("kind: required, \"trigger\" or \"automation\"".to_owned());
            None
        }
    };
    let enabled = match map.get("enabled") {
        None => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            problems.push("enabled: must be true or false".to_owned());
            true
        }
    };
    for key in map.keys() {
        if !matches!(
            key.as_str(),
            "name" | "kind" | "enabled" | "when" | "then" | "script" | "source"
        ) {
            problems.push(format!("{}: unknown key", short(key)));
        }
    }
    let bodies = ["script", "source", "then"]
        .iter()
        .filter(|k| map.contains_key(**k))
        .count();
    if bodies != 1 {
        problems.push("needs exactly one of `script`, `source` and `then`".to_owned());
    }
    let kind_or_trigger = kind.unwrap_or(RuleKind::Trigger);
    let mut declared = decl.clone();
    // The script's text, and the file its positions are in.
    let text = match (map.get("script"), map.get("source")) {
        (Some(Value::String(path)), None) => match load.files.load(path) {
            Ok(text) => Some((text, path.clone())),
            Err(why) => {
                problems.push(format!("script: {why}"));
                None
            }
        },
        (None, Some(Value::String(text))) => Some((text.clone(), load.files.config_name())),
        (Some(_), None) => {
            problems.push("script: must be a path, a string".to_owned());
            None
        }
        (None, Some(_)) => {
            problems.push("source: must be rhai source text, a string".to_owned());
            None
        }
        _ => None,
    };
    let script = match (text, sandbox) {
        (Some((text, file)), Some(sandbox)) => {
            match script::compile(sandbox, &name, kind_or_trigger == RuleKind::Trigger, &text) {
                Ok(script) => {
                    if let Some(d) = declared.as_object_mut() {
                        d.remove("script");
                        d.insert("source".to_owned(), Value::String(text));
                    }
                    Some(script)
                }
                Err(found) => {
                    compile_problems.compile = true;
                    compile_problems.list.extend(
                        found
                            .into_iter()
                            .map(|(at, why)| format!("{file}:{at}: rule {name}: {why}")),
                    );
                    None
                }
            }
        }
        _ => None,
    };
    let when = match map.get("when") {
        None => Vec::new(),
        Some(v) => parse_guard(v, kind_or_trigger, catalog).unwrap_or_else(|found| {
            problems.extend(found.into_iter().map(|p| format!("when: {p}")));
            Vec::new()
        }),
    };
    let then = match map.get("then") {
        None => Actions::default(),
        Some(v) => parse_actions(v, kind_or_trigger, catalog).unwrap_or_else(|found| {
            problems.extend(found.into_iter().map(|p| format!("then: {p}")));
            Actions::default()
        }),
    };
    match kind {
        Some(kind) if problems.is_empty() => Ok(Rule {
            name,
            kind,
            enabled,
            when,
            then,
            script,
            declared,
        }),
        _ => Err(problems),
    }
}

// ----- guards ---------------------------------------------------------------------------

/// A field of the case view, as `changed` guards and `{field}` placeholders name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // The fields of the case view (docs/cases.md).
pub enum Field {
    Id,
    Type,
    Subject,
    Priority,
    Status,
    Category,
    Closed,
    Requester,
    Submitter,
    Assignee,
    Group,
    Problem,
    DueDate,
    DueAt,
    Tags,
    Channel,
    FollowUpOf,
    Reopens,
    CreatedAt,
    UpdatedAt,
    StatusChangedAt,
    CategoryChangedAt,
    AssignedAt,
    ResolvedAt,
    RepliedAt,
    ClosedAt,
    Overdue,
    Deleted,
    Version,
}

/// A set of fields of the case view, one bit per field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Fields(u32);

// One bit per field of the view.
const _: () = assert!(Field::ALL.len() <= 32);

impl Fields {
    /// Every field of the case view.
    pub(crate) const ALL: Fields = Fields((1 << Field::ALL.len()) - 1);

    /// This set and `field`.
    pub(crate) const fn with(self, field: Field) -> Fields {
        Fields(self.0 | 1 << field as u32)
    }

    /// This set without `field`.
    pub(crate) const fn without(self, field: Field) -> Fields {
        Fields(self.0 & !(1 << field as u32))
    }

    /// The fields of either set.
    pub(crate) fn union(self, other: Fields) -> Fields {
        Fields(self.0 | other.0)
    }

    /// Whether `field` is in the set.
    pub(crate) fn has(self, field: Field) -> bool {
        self.0 & 1 << field as u32 != 0
    }

    /// Whether the set has no field.
    pub(crate) fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl Field {
    /// Every field, in the order of the case view.
    pub const ALL: [Field; 29] = [
        Field::Id,
        Field::Type,
        Field::Subject,
        Field::Priority,
        Field::Status,
        Field::Category,
        Field::Closed,
        Field::Requester,
        Field::Submitter,
        Field::Assignee,
        Field::Group,
        Field::Problem,
        Field::DueDate,
        Field::DueAt,
        Field::Tags,
        Field::Channel,
        Field::FollowUpOf,
        Field::Reopens,
        Field::CreatedAt,
        Field::UpdatedAt,
        Field::StatusChangedAt,
        Field::CategoryChangedAt,
        Field::AssignedAt,
        Field::ResolvedAt,
        Field::RepliedAt,
        Field::ClosedAt,
        Field::Overdue,
        Field::Deleted,
        Field::Version,
    ];

    /// The field's name in the case view.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Id => "id",
            Field::Type => "type",
            Field::Subject => "subject",
            Field::Priority => "priority",
            Field::Status => "status",
            Field::Category => "category",
            Field::Closed => "closed",
            Field::Requester => "requester",
            Field::Submitter => "submitter",
            Field::Assignee => "assignee",
            Field::Group => "group",
            Field::Problem => "problem",
            Field::DueDate => "due_date",
            Field::DueAt => "due_at",
            Field::Tags => "tags",
            Field::Channel => "channel",
            Field::FollowUpOf => "follow_up_of",
            Field::Reopens => "reopens",
            Field::CreatedAt => "created_at",
            Field::UpdatedAt => "updated_at",
            Field::StatusChangedAt => "status_changed_at",
            Field::CategoryChangedAt => "category_changed_at",
            Field::AssignedAt => "assigned_at",
            Field::ResolvedAt => "resolved_at",
            Field::RepliedAt => "replied_at",
            Field::ClosedAt => "closed_at",
            Field::Overdue => "overdue",
            Field::Deleted => "deleted",
            Field::Version => "version",
        }
    }

    /// The field with this view name.
    pub fn parse(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// One field of the case view, as the view shows it.
    pub(crate) fn value_in(self, case: &Case) -> Value {
        match self {
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
}

/// Whole hours from `from` to `to`, floored (negative when `to` is earlier).
fn hours(from: Instant, to: Instant) -> i64 {
    (to.unix_seconds() - from.unix_seconds()).div_euclid(3600)
}

/// A whole-hour count (or `reopens`) a guard bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Measure {
    HoursSinceCreated,
    HoursSinceUpdated,
    HoursInStatus,
    HoursInCategory,
    HoursSinceAssigned,
    HoursSinceResolved,
    HoursSinceReply,
    HoursUntilDue,
    Reopens,
}

impl Measure {
    /// The whole-hour measures (every one but `reopens`), as `ticket` shows them.
    pub(crate) const HOURS: [Measure; 8] = [
        Measure::HoursSinceCreated,
        Measure::HoursSinceUpdated,
        Measure::HoursInStatus,
        Measure::HoursInCategory,
        Measure::HoursSinceAssigned,
        Measure::HoursSinceResolved,
        Measure::HoursSinceReply,
        Measure::HoursUntilDue,
    ];

    const ALL: [(Measure, &'static str); 9] = [
        (Measure::HoursSinceCreated, "hours_since_created"),
        (Measure::HoursSinceUpdated, "hours_since_updated"),
        (Measure::HoursInStatus, "hours_in_status"),
        (Measure::HoursInCategory, "hours_in_category"),
        (Measure::HoursSinceAssigned, "hours_since_assigned"),
        (Measure::HoursSinceResolved, "hours_since_resolved"),
        (Measure::HoursSinceReply, "hours_since_reply"),
        (Measure::HoursUntilDue, "hours_until_due"),
        (Measure::Reopens, "reopens"),
    ];

    pub(crate) fn as_str(self) -> &'static str {
        Measure::ALL
            .iter()
            .find(|(m, _)| *m == self)
            .map_or("", |(_, name)| name)
    }

    /// A measure of the case at `now`, as scripts see it: whole hours, floored; `None` when
    /// the instant it counts from is absent.
    pub(crate) fn of(self, case: &Case, now: Instant) -> Option<i64> {
        let since = |t: Option<Instant>| t.map(|t| hours(t, now));
        match self {
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
}

/// Bounds on a measure: each given one must hold.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bound {
    pub(crate) gte: Option<i64>,
    pub(crate) gt: Option<i64>,
    pub(crate) lte: Option<i64>,
    pub(crate) lt: Option<i64>,
}

impl Bound {
    pub(crate) fn holds(&self, n: i64) -> bool {
        self.gte.is_none_or(|b| n >= b)
            && self.gt.is_none_or(|b| n > b)
            && self.lte.is_none_or(|b| n <= b)
            && self.lt.is_none_or(|b| n < b)
    }
}

/// One key of a guard. A guard holds when every test holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Test {
    Category(Vec<Category>),
    Status(Vec<StatusId>),
    Type(Vec<Option<CaseType>>),
    Priority(Vec<Option<Priority>>),
    Channel(Vec<Channel>),
    Assignee(Vec<Option<String>>),
    Group(Vec<Option<String>>),
    Assigned(bool),
    Overdue(bool),
    TagsAll(Tags),
    TagsAny(Tags),
    TagsNone(Tags),
    Measure(Measure, Bound),
    Created(bool),
    Changed(Vec<Field>),
}

impl Test {
    /// The guard key, as declared.
    pub(crate) fn key(&self) -> &'static str {
        match self {
            Test::Category(_) => "category",
            Test::Status(_) => "status",
            Test::Type(_) => "type",
            Test::Priority(_) => "priority",
            Test::Channel(_) => "channel",
            Test::Assignee(_) => "assignee",
            Test::Group(_) => "group",
            Test::Assigned(_) => "assigned",
            Test::Overdue(_) => "overdue",
            Test::TagsAll(_) => "tags_all",
            Test::TagsAny(_) => "tags_any",
            Test::TagsNone(_) => "tags_none",
            Test::Measure(m, _) => m.as_str(),
            Test::Created(_) => "created",
            Test::Changed(_) => "changed",
        }
    }

    /// The test as `key value`, for [`Rule::guard`].
    fn describe(&self) -> String {
        fn list<T>(items: &[T], show: impl Fn(&T) -> &str) -> String {
            let shown: Vec<&str> = items.iter().map(show).collect();
            format!("[{}]", shown.join(", "))
        }
        fn opt<T>(item: &Option<T>, show: impl Fn(&T) -> &str) -> &str {
            item.as_ref().map_or("none", show)
        }
        let value = match self {
            Test::Category(v) => list(v, |c| c.as_str()),
            Test::Status(v) => list(v, |s| s.as_str()),
            Test::Type(v) => list(v, |t| opt(t, |t| t.as_str())),
            Test::Priority(v) => list(v, |p| opt(p, |p| p.as_str())),
            Test::Channel(v) => list(v, |c| c.as_str()),
            Test::Assignee(v) | Test::Group(v) => list(v, |n| opt(n, String::as_str)),
            Test::Assigned(b) | Test::Overdue(b) | Test::Created(b) => b.to_string(),
            Test::TagsAll(t) | Test::TagsAny(t) | Test::TagsNone(t) => {
                list(&t.iter().collect::<Vec<_>>(), |t| t)
            }
            Test::Changed(v) => list(v, |f| f.as_str()),
            Test::Measure(_, b) => {
                let bounds = [(">=", b.gte), (">", b.gt), ("<=", b.lte), ("<", b.lt)];
                let shown: Vec<String> = bounds
                    .iter()
                    .filter_map(|(op, n)| n.map(|n| format!("{op} {n}")))
                    .collect();
                shown.join(" and ")
            }
        };
        format!("{} {value}", self.key())
    }

    /// Evaluation order: what costs least and excludes most comes first; `changed` (which
    /// compares with the start of the step) last.
    fn rank(&self) -> u8 {
        match self {
            Test::Category(_) | Test::Status(_) => 0,
            Test::Type(_) | Test::Priority(_) | Test::Channel(_) => 1,
            Test::Assigned(_) | Test::Overdue(_) | Test::Created(_) => 2,
            Test::Assignee(_) | Test::Group(_) => 3,
            Test::Measure(..) => 4,
            Test::TagsAll(_) | Test::TagsAny(_) | Test::TagsNone(_) => 5,
            Test::Changed(_) => 6,
        }
    }
}

/// A list of strings, or one string.
fn strings(v: &Value) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| {
                i.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| format!("`{}` is not a string", short(&i.to_string())))
            })
            .collect(),
        _ => Err("must be a list of strings".to_owned()),
    }
}

/// Parses each string of a list with `one`; "none" is the absent value where `none` is
/// allowed.
fn each<T>(v: &Value, what: &str, one: impl Fn(&str) -> Option<T>) -> Result<Vec<T>, String> {
    strings(v)?
        .iter()
        .map(|s| one(s).ok_or_else(|| format!("`{}` is not {what}", short(s))))
        .collect()
}

fn enum_word<T: for<'de> Deserialize<'de>>(s: &str) -> Option<T> {
    T::deserialize(Value::String(s.to_owned())).ok()
}

fn boolean(v: &Value) -> Result<bool, String> {
    v.as_bool()
        .ok_or_else(|| "must be true or false".to_owned())
}

fn name_or_none(s: &str) -> Option<Option<String>> {
    match s {
        "none" => Some(None),
        _ => check_name("name", s).ok().map(|()| Some(s.to_owned())),
    }
}

fn parse_bound(v: &Value) -> Result<Bound, String> {
    let Some(map) = v.as_object() else {
        return Err("must be a table of bounds: gte, gt, lte, lt".to_owned());
    };
    let mut bound = Bound::default();
    for (key, n) in map {
        let n = n.as_i64().ok_or_else(|| {
            format!(
                "{}: `{}` is not a whole number",
                short(key),
                short(&n.to_string())
            )
        })?;
        match key.as_str() {
            "gte" => bound.gte = Some(n),
            "gt" => bound.gt = Some(n),
            "lte" => bound.lte = Some(n),
            "lt" => bound.lt = Some(n),
            other => {
                return Err(format!(
                    "{}: unknown bound (gte, gt, lte, lt)",
                    short(other)
                ));
            }
        }
    }
    if bound == Bound::default() {
        return Err("needs at least one bound: gte, gt, lte, lt".to_owned());
    }
    Ok(bound)
}

fn parse_guard(v: &Value, kind: RuleKind, catalog: &Catalog) -> Result<Vec<Test>, Vec<String>> {
    let Some(map) = v.as_object() else {
        return Err(vec!["must be a table".to_owned()]);
    };
    let mut tests = Vec::new();
    let mut problems = Vec::new();
    for (key, v) in map {
        let test = match key.as_str() {
            "category" => each(v, "a category", Category::parse).map(Test::Category),
            "status" => each(v, "a status of this account", |s| {
                catalog.get(s).map(|st| st.id.clone())
            })
            .map(Test::Status),
            "type" => each(v, "a type or \"none\"", |s| match s {
                "none" => Some(None),
                _ => enum_word::<CaseType>(s).map(Some),
            })
            .map(Test::Type),
            "priority" => each(v, "a priority or \"none\"", |s| match s {
                "none" => Some(None),
                _ => enum_word::<Priority>(s).map(Some),
            })
            .map(Test::Priority),
            "channel" => each(v, "a channel", enum_word::<Channel>).map(Test::Channel),
            "assignee" => each(v, "an agent or \"none\"", name_or_none).map(Test::Assignee),
            "group" => each(v, "a group or \"none\"", name_or_none).map(Test::Group),
            "assigned" => boolean(v).map(Test::Assigned),
            "overdue" => boolean(v).map(Test::Overdue),
            "tags_all" | "tags_any" | "tags_none" => strings(v)
                .and_then(|t| normalize_tags(key, &t).map_err(|e| e.message().to_owned()))
                .map(|t| match key.as_str() {
                    "tags_all" => Test::TagsAll(t),
                    "tags_any" => Test::TagsAny(t),
                    _ => Test::TagsNone(t),
                }),
            "created" | "changed" if kind == RuleKind::Automation => {
                Err("only triggers have a step to look at (created, changed)".to_owned())
            }
            "created" => boolean(v).map(Test::Created),
            "changed" => each(v, "a field of the case view", Field::parse).map(Test::Changed),
            other => match Measure::ALL.iter().find(|(_, n)| *n == other) {
                Some((m, _)) => parse_bound(v).map(|b| Test::Measure(*m, b)),
                None => Err("unknown key".to_owned()),
            },
        };
        match test {
            Ok(t) => tests.push(t),
            Err(why) => problems.push(format!("{}: {why}", short(key))),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    tests.sort_by_key(Test::rank);
    Ok(tests)
}

// ----- actions --------------------------------------------------------------------------

/// A piece of a notification message: text, or a `{field}` placeholder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Piece {
    Text(String),
    Field(Field),
}

/// A `notify` action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Notify {
    pub(crate) target: String,
    pub(crate) message: Vec<Piece>,
}

/// A `then` table: the actions a rule records, each optional.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Actions {
    pub(crate) set_status: Option<StatusId>,
    pub(crate) set_priority: Option<Option<Priority>>,
    pub(crate) set_type: Option<Option<CaseType>>,
    /// `assign` (`Some(Some(agent))`) or `unassign = true` (`Some(None)`).
    pub(crate) assign: Option<Option<String>>,
    pub(crate) set_group: Option<Option<String>>,
    pub(crate) add_tags: Tags,
    pub(crate) remove_tags: Tags,
    pub(crate) set_due_date: Option<Option<Date>>,
    pub(crate) notify: Option<Notify>,
    pub(crate) close: bool,
}

/// Splits a message into text and `{field}` placeholders; a `{` that does not open a
/// placeholder is text.
fn parse_message(text: &str) -> Result<Vec<Piece>, String> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut literal = String::new();
    while let Some(open) = rest.find('{') {
        literal.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let name_len = after
            .find(|c: char| !(c.is_ascii_lowercase() || c == '_'))
            .unwrap_or(after.len());
        if name_len > 0 && after[name_len..].starts_with('}') {
            let name = &after[..name_len];
            let field = Field::parse(name)
                .ok_or_else(|| format!("`{{{}}}` names no field of the case view", short(name)))?;
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Field(field));
            rest = &after[name_len + 1..];
        } else {
            literal.push('{');
            rest = after;
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(pieces)
}

fn parse_actions(v: &Value, kind: RuleKind, catalog: &Catalog) -> Result<Actions, Vec<String>> {
    let Some(map) = v.as_object() else {
        return Err(vec!["must be a table".to_owned()]);
    };
    let mut a = Actions::default();
    let mut problems = Vec::new();
    let text = |v: &Value| {
        v.as_str()
            .map(str::to_owned)
            .ok_or("must be a string".to_owned())
    };
    for (key, v) in map {
        let result: Result<(), String> = match key.as_str() {
            // A deleted status is still in the catalog (a tombstone): a rule naming one
            // loads, and its action is rejected when it runs.
            "set_status" => text(v).and_then(|s| match catalog.get(&s) {
                Some(st) => {
                    a.set_status = Some(st.id.clone());
                    Ok(())
                }
                _ => Err(format!("`{}` is not a status of this account", short(&s))),
            }),
            "set_priority" => text(v).and_then(|s| match s.as_str() {
                "none" => {
                    a.set_priority = Some(None);
                    Ok(())
                }
                _ => enum_word::<Priority>(&s)
                    .map(|p| a.set_priority = Some(Some(p)))
                    .ok_or_else(|| format!("`{}` is not a priority or \"none\"", short(&s))),
            }),
            "set_type" => text(v).and_then(|s| match s.as_str() {
                "none" => {
                    a.set_type = Some(None);
                    Ok(())
                }
                _ => enum_word::<CaseType>(&s)
                    .map(|t| a.set_type = Some(Some(t)))
                    .ok_or_else(|| format!("`{}` is not a type or \"none\"", short(&s))),
            }),
            "assign" => text(v).and_then(|s| {
                check_name("assign", &s).map_err(|e| e.message().to_owned())?;
                if a.assign == Some(None) {
                    return Err("`assign` and `unassign` exclude each other".to_owned());
                }
                a.assign = Some(Some(s));
                Ok(())
            }),
            "unassign" => match v {
                Value::Bool(true) if matches!(a.assign, Some(Some(_))) => {
                    Err("`assign` and `unassign` exclude each other".to_owned())
                }
                Value::Bool(true) => {
                    a.assign = Some(None);
                    Ok(())
                }
                _ => Err("must be true".to_owned()),
            },
            "set_group" => text(v).and_then(|s| match s.as_str() {
                "none" => {
                    a.set_group = Some(None);
                    Ok(())
                }
                _ => check_name("set_group", &s)
                    .map(|()| a.set_group = Some(Some(s)))
                    .map_err(|e| e.message().to_owned()),
            }),
            "add_tags" | "remove_tags" => strings(v).and_then(|t| {
                let tags = normalize_tags(key, &t).map_err(|e| e.message().to_owned())?;
                if key == "add_tags" {
                    a.add_tags = tags;
                } else {
                    a.remove_tags = tags;
                }
                Ok(())
            }),
            "set_due_date" => text(v).and_then(|s| match s.as_str() {
                "none" => {
                    a.set_due_date = Some(None);
                    Ok(())
                }
                _ => s
                    .parse::<Date>()
                    .map(|d| a.set_due_date = Some(Some(d)))
                    .map_err(|e| e.to_string()),
            }),
            "notify" => parse_notify(v).map(|n| a.notify = Some(n)),
            "close" => match v {
                Value::Bool(true) if kind == RuleKind::Trigger => {
                    Err("only automations may close a case".to_owned())
                }
                Value::Bool(true) => {
                    a.close = true;
                    Ok(())
                }
                _ => Err("must be true".to_owned()),
            },
            _ => Err("unknown action".to_owned()),
        };
        if let Err(why) = result {
            problems.push(format!("{}: {why}", short(key)));
        }
    }
    if let Some(t) = a.add_tags.iter().find(|t| a.remove_tags.contains(t)) {
        problems.push(format!("tag `{t}` is both added and removed"));
    }
    if problems.is_empty() && a == Actions::default() {
        problems.push("names no action".to_owned());
    }
    if problems.is_empty() {
        Ok(a)
    } else {
        Err(problems)
    }
}

fn parse_notify(v: &Value) -> Result<Notify, String> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Raw {
        target: String,
        message: String,
    }
    let raw: Raw = Raw::deserialize(v).map_err(|e| short(&e.to_string()))?;
    if raw.target.is_empty() || raw.target.chars().count() > MAX_NAME_CHARS {
        return Err(format!("target must be 1 to {MAX_NAME_CHARS} characters"));
    }
    Ok(Notify {
        target: raw.target,
        message: parse_message(&raw.message)?,
    })
}

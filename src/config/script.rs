//! Rhai scripts for rules (docs/rules.md, Scripts): the one place the script engine is
//! built, the limits it runs under, the read-only `ticket` view, the actions a script
//! records, and the checks a script passes when its rule loads. What recorded actions do
//! to a case is the rule engine's job (`crate::rules`), through the lifecycle's checks.
//!
//! The sandbox is built at run time, not through rhai's cargo features (which cargo would
//! unify with a host's own rhai): `Engine::new_raw()` plus the packages a rule needs, no
//! module resolver, strict variables, deterministic limits, actions registered as volatile.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::Arc;

use rhai::packages::{
    ArithmeticPackage, BasicArrayPackage, BasicIteratorPackage, BasicMapPackage, BasicMathPackage,
    BasicStringPackage, LogicPackage, MoreStringPackage, Package,
};
use rhai::{
    AST, ASTNode, Caches, Dynamic, Engine, EvalAltResult, Expr, FuncRegistration,
    GlobalRuntimeState, ImmutableString, NativeCallContext, Position, Scope, Stmt,
};
use serde_json::{Map, Value};

use crate::case::{Case, CaseType, MAX_NAME_CHARS, Priority, check_name, normalize_tag};
use crate::time::{Date, Instant};

use super::rules::{Field, Measure};

// ----- limits ----------------------------------------------------------------------------

/// The limits every evaluation of a script runs under (docs/rules.md, Limits): all
/// deterministic, none a wall clock. The account configuration's `limits` table sets them,
/// each within its upper bound.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub(crate) max_operations: u64,
    pub(crate) max_call_depth: usize,
    pub(crate) max_expr_depth: usize,
    pub(crate) max_string_size: usize,
    pub(crate) max_array_size: usize,
    pub(crate) max_map_size: usize,
    pub(crate) max_functions: usize,
}

/// One limit: its key, its default, its least and greatest value.
struct LimitKey {
    key: &'static str,
    default: u64,
    min: u64,
    max: u64,
}

/// The keys of `limits`, their defaults and bounds. The upper bounds keep the worst
/// evaluation bounded (docs/rules.md, Limits) and the call and expression depths safe on
/// the thread stack DESIGN.md names.
const LIMIT_KEYS: [LimitKey; 7] = [
    LimitKey {
        key: "max_operations",
        default: 10_000,
        min: 1,
        max: 1_000_000,
    },
    LimitKey {
        key: "max_call_depth",
        default: 32,
        min: 1,
        max: 64,
    },
    LimitKey {
        key: "max_expr_depth",
        default: 64,
        min: 1,
        max: 128,
    },
    LimitKey {
        key: "max_string_size",
        default: 16 * 1024,
        min: 1,
        max: 1024 * 1024,
    },
    LimitKey {
        key: "max_array_size",
        default: 1024,
        min: 1,
        max: 65_536,
    },
    LimitKey {
        key: "max_map_size",
        default: 256,
        min: 1,
        max: 65_536,
    },
    LimitKey {
        key: "max_functions",
        default: 16,
        min: 0,
        max: 256,
    },
];

/// Most actions one evaluation may record (docs/rules.md, Limits): more is `script_limit`.
pub const MAX_ACTIONS: usize = 256;

/// Most bytes of `print` and `debug` output kept for one evaluation's trace; the rest is
/// cut with a marker.
pub const MAX_TRACE_BYTES: usize = 64 * 1024;

impl Default for Limits {
    fn default() -> Limits {
        Limits::from_values(|k| k.default)
    }
}

impl Limits {
    fn from_values(mut value: impl FnMut(&LimitKey) -> u64) -> Limits {
        let [ops, call, expr, string, array, map, functions] = LIMIT_KEYS.map(|k| value(&k));
        let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Limits {
            max_operations: ops,
            max_call_depth: size(call),
            max_expr_depth: size(expr),
            max_string_size: size(string),
            max_array_size: size(array),
            max_map_size: size(map),
            max_functions: size(functions),
        }
    }

    /// Parses a `limits` table: every key optional, each within its bounds.
    ///
    /// # Errors
    /// Every problem, each as `limits: KEY: why`.
    pub(crate) fn parse(value: &Value) -> Result<Limits, Vec<String>> {
        let Some(map) = value.as_object() else {
            return Err(vec!["limits: must be a table".to_owned()]);
        };
        let mut problems = Vec::new();
        for key in map.keys() {
            if !LIMIT_KEYS.iter().any(|k| k.key == key) {
                problems.push(format!("limits: {}: unknown key", crate::error::clip(key)));
            }
        }
        let limits = Limits::from_values(|k| match map.get(k.key) {
            None => k.default,
            Some(v) => match v.as_u64().filter(|n| (k.min..=k.max).contains(n)) {
                Some(n) => n,
                None => {
                    problems.push(format!(
                        "limits: {}: must be a whole number from {} to {}",
                        k.key, k.min, k.max
                    ));
                    k.default
                }
            },
        });
        if problems.is_empty() {
            Ok(limits)
        } else {
            Err(problems)
        }
    }

    /// The table as a configuration holds it: only the keys that differ from the default.
    pub(crate) fn to_value(self) -> Value {
        let values = [
            self.max_operations,
            self.max_call_depth as u64,
            self.max_expr_depth as u64,
            self.max_string_size as u64,
            self.max_array_size as u64,
            self.max_map_size as u64,
            self.max_functions as u64,
        ];
        let map: Map<String, Value> = LIMIT_KEYS
            .iter()
            .zip(values)
            .filter(|(k, v)| k.default != *v)
            .map(|(k, v)| (k.key.to_owned(), Value::from(v)))
            .collect();
        Value::Object(map)
    }

    /// Operations one evaluation may run.
    pub fn max_operations(&self) -> u64 {
        self.max_operations
    }

    /// Deepest nesting of function calls.
    pub fn max_call_depth(&self) -> usize {
        self.max_call_depth
    }

    /// Deepest nesting of expressions, checked when the script loads.
    pub fn max_expr_depth(&self) -> usize {
        self.max_expr_depth
    }

    /// Longest string, in bytes.
    pub fn max_string_size(&self) -> usize {
        self.max_string_size
    }

    /// Most items of an array.
    pub fn max_array_size(&self) -> usize {
        self.max_array_size
    }

    /// Most entries of a map.
    pub fn max_map_size(&self) -> usize {
        self.max_map_size
    }

    /// Most functions one script may define.
    pub fn max_functions(&self) -> usize {
        self.max_functions
    }
}

// ----- the engine --------------------------------------------------------------------------

/// The script engine of one rule set: built once per load, shared by its scripts.
pub(crate) struct Sandbox {
    engine: Engine,
    /// Every function name a script may call: the packages', the actions', `ticket`'s
    /// methods and the language's own (`print`, `Fn`, ...).
    known: BTreeSet<String>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sandbox")
    }
}

/// Functions the language itself provides, outside any package.
const LANGUAGE: [&str; 10] = [
    "print",
    "debug",
    "type_of",
    "Fn",
    "call",
    "curry",
    "is_def_var",
    "is_def_fn",
    "is_shared",
    "this",
];

/// Functions only a trigger may call: they describe the step.
const TRIGGER_ONLY: [&str; 3] = ["created", "changed", "previous"];

/// The case as a script sees it: read-only.
#[derive(Clone)]
pub(crate) struct Ticket(Arc<Case>);

impl Sandbox {
    /// The one place the script engine is built (docs/rules.md, Safety).
    pub(crate) fn new(limits: &Limits) -> Sandbox {
        let mut engine = Engine::new_raw();
        for package in [
            ArithmeticPackage::new().as_shared_module(),
            LogicPackage::new().as_shared_module(),
            BasicStringPackage::new().as_shared_module(),
            MoreStringPackage::new().as_shared_module(),
            BasicArrayPackage::new().as_shared_module(),
            BasicMapPackage::new().as_shared_module(),
            BasicIteratorPackage::new().as_shared_module(),
            BasicMathPackage::new().as_shared_module(),
        ] {
            engine.register_global_module(package);
        }
        engine
            .set_strict_variables(true)
            .set_max_operations(limits.max_operations)
            .set_max_call_levels(limits.max_call_depth)
            .set_max_expr_depths(limits.max_expr_depth, limits.max_expr_depth)
            .set_max_string_size(limits.max_string_size)
            .set_max_array_size(limits.max_array_size)
            .set_max_map_size(limits.max_map_size)
            .set_max_functions(limits.max_functions)
            .set_max_variables(256)
            .set_max_modules(0);
        engine.on_print(trace);
        engine.on_debug(|text, _, pos| trace(&format!("{}: {text}", place(pos))));
        register_ticket(&mut engine);
        register_actions(&mut engine);
        let mut known: BTreeSet<String> = engine
            .collect_fn_metadata(None, |info| Some(info.metadata.name.to_string()), true)
            .into_iter()
            .collect();
        known.extend(LANGUAGE.iter().map(|s| (*s).to_owned()));
        Sandbox { engine, known }
    }
}

/// `LINE:COLUMN` of a position (`0:0` when it has none).
fn place(pos: Position) -> String {
    format!(
        "{}:{}",
        pos.line().unwrap_or(0),
        pos.position().unwrap_or(0)
    )
}

fn int(n: u64) -> Dynamic {
    Dynamic::from_int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn text(s: &str) -> Dynamic {
    Dynamic::from(ImmutableString::from(s))
}

/// An enumeration's word as a script string, shared: each word is allocated once per
/// thread, not on every read of a property.
fn shared_word(w: &'static str) -> Dynamic {
    thread_local! {
        static WORDS: RefCell<Vec<(&'static str, ImmutableString)>> = const { RefCell::new(Vec::new()) };
    }
    WORDS.with(|words| {
        let mut words = words.borrow_mut();
        // The words are the enumerations' own constants: one pointer each.
        let found = words
            .iter()
            .find(|(k, _)| std::ptr::eq(*k, w))
            .map(|(_, v)| v.clone());
        let shared = found.unwrap_or_else(|| {
            let shared = ImmutableString::from(w);
            words.push((w, shared.clone()));
            shared
        });
        Dynamic::from(shared)
    })
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Dynamic) -> Dynamic {
    v.map_or(Dynamic::UNIT, f)
}

fn instant(t: Instant) -> Dynamic {
    Dynamic::from_int(t.unix_seconds())
}

/// A field of the case as the view shows it to a script: enumerations as their lowercase
/// words, instants as Unix seconds, tags as an array, an absent value as `()`.
fn property(case: &Case, field: Field) -> Dynamic {
    match field {
        Field::Id => int(case.id),
        Field::Type => opt(case.case_type, |t| shared_word(t.as_str())),
        Field::Subject => opt(case.subject.as_deref(), text),
        Field::Priority => opt(case.priority, |p| shared_word(p.as_str())),
        Field::Status => text(case.status.as_str()),
        Field::Category => shared_word(case.category.as_str()),
        Field::Closed => Dynamic::from_bool(case.closed),
        Field::Requester => text(&case.requester),
        Field::Submitter => text(&case.submitter),
        Field::Assignee => opt(case.assignee.as_deref(), text),
        Field::Group => opt(case.group.as_deref(), text),
        Field::Problem => opt(case.problem, int),
        Field::DueDate => opt(case.due_date, |d| text(&d.to_string())),
        Field::DueAt => opt(case.due_at, instant),
        Field::Tags => Dynamic::from_array(case.tags.iter().map(text).collect()),
        Field::Channel => shared_word(case.channel.as_str()),
        Field::FollowUpOf => opt(case.follow_up_of, int),
        Field::Reopens => Dynamic::from_int(i64::from(case.reopens)),
        Field::CreatedAt => instant(case.created_at),
        Field::UpdatedAt => instant(case.updated_at),
        Field::StatusChangedAt => instant(case.status_changed_at),
        Field::CategoryChangedAt => instant(case.category_changed_at),
        Field::AssignedAt => opt(case.assigned_at, instant),
        Field::ResolvedAt => opt(case.resolved_at, instant),
        Field::RepliedAt => opt(case.replied_at, instant),
        Field::ClosedAt => opt(case.closed_at, instant),
        Field::Overdue => Dynamic::from_bool(case.overdue),
        Field::Deleted => Dynamic::from_bool(case.deleted),
        Field::Version => int(case.version),
    }
}

/// Whether `ticket` shows `field` as a property (docs/rules.md, What a script sees):
/// every field of the view but `closed_at` and `deleted` (a script never sees a case in the
/// trash, and `closed` says whether it is closed).
fn is_property(field: Field) -> bool {
    !matches!(field, Field::ClosedAt | Field::Deleted)
}

fn register_ticket(engine: &mut Engine) {
    engine.register_type_with_name::<Ticket>("ticket");
    for field in Field::ALL.into_iter().filter(|f| is_property(*f)) {
        engine.register_get(field.as_str(), move |t: &mut Ticket| property(&t.0, field));
    }
    for m in Measure::HOURS {
        engine.register_get(m.as_str(), move |t: &mut Ticket| {
            let now = with_run(|r| r.now).unwrap_or(t.0.updated_at);
            opt(m.of(&t.0, now), Dynamic::from_int)
        });
    }
    engine.register_fn("has_tag", |t: &mut Ticket, tag: ImmutableString| {
        t.0.tags.contains(tag.as_str())
    });
}

// ----- recording actions -----------------------------------------------------------------

/// What a script asked for, in the order it asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Status(String),
    Priority(Option<Priority>),
    Type(Option<CaseType>),
    Assign(Option<String>),
    Group(Option<String>),
    AddTag(String),
    RemoveTag(String),
    DueDate(Option<Date>),
    Notify { target: String, message: String },
    Close,
}

/// A position in the script: line and column, from 1.
pub(crate) type Pos = (u32, u32);

fn pos_of(p: Position) -> Option<Pos> {
    let line = u32::try_from(p.line()?).ok()?;
    let column = u32::try_from(p.position().unwrap_or(0)).ok()?;
    Some((line, column))
}

/// One evaluation under way on this thread.
struct Run {
    now: Instant,
    before: Option<Arc<Case>>,
    created: bool,
    current: Arc<Case>,
    actions: Vec<(Action, Pos)>,
    trace: String,
}

/// What one evaluation on a thread leaves for the next to reuse: the scope, with its
/// constants and the ticket's copy of the case (`fill_scope`), and rhai's evaluation state
/// with the functions it resolved for the script that ran last (`Evaluator`).
#[derive(Default)]
struct Reuse {
    scope: Scope<'static>,
    evaluator: Option<Evaluator>,
}

/// rhai's state for evaluating one script: the global runtime state, set afresh for each
/// evaluation, and the cache of the functions the script's calls resolved to, kept while
/// the same script runs again (a sweep evaluates one automation over many cases). The
/// script is held, so that no other script can take its address while its resolutions are
/// kept: a script function it defined is never called from another script's cache.
struct Evaluator {
    script: Arc<AST>,
    global: GlobalRuntimeState,
    caches: Caches,
}

impl Evaluator {
    /// The state for an evaluation of `ast` on `engine`: the kept one, reset, or a new one
    /// kept in its place.
    fn ready<'e>(
        kept: &'e mut Option<Evaluator>,
        engine: &Engine,
        ast: &Arc<AST>,
    ) -> &'e mut Evaluator {
        if !kept.as_ref().is_some_and(|e| Arc::ptr_eq(&e.script, ast)) {
            *kept = None;
        }
        let e = kept.get_or_insert_with(|| Evaluator {
            script: Arc::clone(ast),
            global: engine.new_global_runtime_state(),
            caches: Caches::new(),
        });
        // As `Engine::run_ast_with_scope` starts an evaluation. Modules, imports and the
        // debugger are never used in the sandbox.
        let g = &mut e.global;
        g.num_operations = 0;
        g.level = 0;
        g.scope_level = 0;
        g.always_search_scope = false;
        g.source = None;
        g.constants = None;
        g.embedded_module_resolver = None;
        g.tag = Dynamic::UNIT;
        g.lib.clear();
        g.lib.push(ast.shared_lib().clone());
        // rhai pops the caches of blocks and functions as it leaves them, failing or not.
        e
    }

    fn run(
        &mut self,
        engine: &Engine,
        scope: &mut Scope<'static>,
    ) -> Result<(), Box<EvalAltResult>> {
        // The one way to evaluate with a state kept from the last evaluation (rhai's
        // `internals`); DESIGN.md, "Scripts".
        #[allow(deprecated)]
        engine
            .eval_statements_raw(
                &mut self.global,
                &mut self.caches,
                scope,
                self.script.statements(),
            )
            .map(|_| ())
    }
}

thread_local! {
    /// The evaluation under way on this thread, which actions and `print` record into.
    /// Evaluations never nest, and a desk is used from one thread at a time.
    static RUN: RefCell<Option<Run>> = const { RefCell::new(None) };
    static REUSE: RefCell<Reuse> = RefCell::new(Reuse::default());
}

fn with_run<T>(f: impl FnOnce(&mut Run) -> T) -> Option<T> {
    RUN.with(|r| r.borrow_mut().as_mut().map(f))
}

fn trace(line: &str) {
    with_run(|r| {
        if r.trace.len() >= MAX_TRACE_BYTES {
            return;
        }
        let room = MAX_TRACE_BYTES - r.trace.len();
        if line.len() < room {
            r.trace.push_str(line);
            r.trace.push('\n');
        } else {
            let mut cut = room;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            r.trace.push_str(&line[..cut]);
            r.trace.push_str("\n[trace cut at 64 KiB]\n");
        }
    });
}

type Fail = Box<EvalAltResult>;

fn runtime(message: String, pos: Position) -> Fail {
    Box::new(EvalAltResult::ErrorRuntime(message.into(), pos))
}

fn record(ctx: &NativeCallContext, action: Action) -> Result<(), Fail> {
    let pos = ctx.call_position();
    let at = pos_of(pos).unwrap_or((0, 0));
    let full = with_run(|r| {
        if r.actions.len() >= MAX_ACTIONS {
            return true;
        }
        r.actions.push((action, at));
        false
    });
    if full == Some(true) {
        return Err(Box::new(EvalAltResult::ErrorDataTooLarge(
            format!("More than {MAX_ACTIONS} recorded actions"),
            pos,
        )));
    }
    Ok(())
}

fn word<T>(
    what: &str,
    s: &str,
    pos: Position,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, Fail> {
    parse(s).ok_or_else(|| {
        runtime(
            format!(
                "{what}: `{}` is not one of its words",
                crate::error::clip(s)
            ),
            pos,
        )
    })
}

fn priority(s: &str) -> Option<Priority> {
    [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Urgent,
    ]
    .into_iter()
    .find(|p| p.as_str() == s)
}

fn case_type(s: &str) -> Option<CaseType> {
    [
        CaseType::Question,
        CaseType::Incident,
        CaseType::Problem,
        CaseType::Task,
    ]
    .into_iter()
    .find(|t| t.as_str() == s)
}

/// Registers a volatile function: rhai's optimizer must never run an action while it
/// compiles a script.
macro_rules! action {
    ($engine:expr, $name:literal, $f:expr) => {
        FuncRegistration::new($name)
            .with_volatility(true)
            .register_into_engine($engine, $f);
    };
}

type Done = Result<(), Fail>;
type Ctx<'a> = NativeCallContext<'a>;
type Str = ImmutableString;

fn register_actions(engine: &mut Engine) {
    action!(engine, "set_status", |c: Ctx, id: Str| -> Done {
        record(&c, Action::Status(id.to_string()))
    });
    action!(engine, "set_priority", |c: Ctx, p: Str| -> Done {
        let p = word("set_priority", &p, c.call_position(), priority)?;
        record(&c, Action::Priority(Some(p)))
    });
    action!(engine, "set_priority", |c: Ctx, _: ()| -> Done {
        record(&c, Action::Priority(None))
    });
    action!(engine, "set_type", |c: Ctx, t: Str| -> Done {
        let t = word("set_type", &t, c.call_position(), case_type)?;
        record(&c, Action::Type(Some(t)))
    });
    action!(engine, "set_type", |c: Ctx, _: ()| -> Done {
        record(&c, Action::Type(None))
    });
    action!(engine, "assign", |c: Ctx, agent: Str| -> Done {
        let agent = name("assign", &agent, c.call_position())?;
        record(&c, Action::Assign(Some(agent)))
    });
    action!(engine, "unassign", |c: Ctx| -> Done {
        record(&c, Action::Assign(None))
    });
    action!(engine, "set_group", |c: Ctx, g: Str| -> Done {
        let g = name("set_group", &g, c.call_position())?;
        record(&c, Action::Group(Some(g)))
    });
    action!(engine, "set_group", |c: Ctx, _: ()| -> Done {
        record(&c, Action::Group(None))
    });
    action!(engine, "add_tag", |c: Ctx, t: Str| -> Done {
        let t = tag("add_tag", &t, c.call_position())?;
        record(&c, Action::AddTag(t))
    });
    action!(engine, "remove_tag", |c: Ctx, t: Str| -> Done {
        let t = tag("remove_tag", &t, c.call_position())?;
        record(&c, Action::RemoveTag(t))
    });
    action!(engine, "set_due_date", |c: Ctx, d: Str| -> Done {
        let d = d
            .parse::<Date>()
            .map_err(|e| runtime(format!("set_due_date: {e}"), c.call_position()))?;
        record(&c, Action::DueDate(Some(d)))
    });
    action!(engine, "set_due_date", |c: Ctx, _: ()| -> Done {
        record(&c, Action::DueDate(None))
    });
    action!(engine, "notify", |c: Ctx,
                               target: Str,
                               message: Str|
     -> Done {
        // The same rule as a `then` table's target, which is checked when it loads.
        if target.is_empty() || target.chars().count() > MAX_NAME_CHARS {
            let why = format!("notify: the target must be 1 to {MAX_NAME_CHARS} characters");
            return Err(runtime(why, c.call_position()));
        }
        record(
            &c,
            Action::Notify {
                target: target.to_string(),
                message: message.to_string(),
            },
        )
    });
    action!(engine, "close", |c: Ctx| -> Done {
        record(&c, Action::Close)
    });
    action!(engine, "created", |_: Ctx| -> bool {
        with_run(|r| r.created).unwrap_or(false)
    });
    action!(engine, "changed", |c: Ctx,
                                name: Str|
     -> Result<bool, Fail> {
        let field = field(&name, c.call_position())?;
        Ok(with_run(|r| match &r.before {
            Some(before) => field.value_in(before) != field.value_in(&r.current),
            None => r.created && !field.value_in(&r.current).is_null(),
        })
        .unwrap_or(false))
    });
    action!(engine, "previous", |c: Ctx,
                                 name: Str|
     -> Result<Dynamic, Fail> {
        let field = field(&name, c.call_position())?;
        Ok(with_run(|r| opt(r.before.as_deref(), |b| property(b, field))).unwrap_or(Dynamic::UNIT))
    });
}

/// An agent or group id, checked as a command's are (1 to 128 characters).
fn name(what: &str, s: &str, pos: Position) -> Result<String, Fail> {
    check_name(what, s).map_err(|e| runtime(e.message().to_owned(), pos))?;
    Ok(s.to_owned())
}

fn tag(what: &str, t: &str, pos: Position) -> Result<String, Fail> {
    normalize_tag(what, t).map_err(|e| runtime(e.message().to_owned(), pos))
}

fn field(name: &str, pos: Position) -> Result<Field, Fail> {
    Field::parse(name).ok_or_else(|| {
        runtime(
            format!("`{}` is not a field of the case", crate::error::clip(name)),
            pos,
        )
    })
}

// ----- compiling -----------------------------------------------------------------------------

/// A rule's compiled script, shared by every clone of the rule set.
#[derive(Clone, Debug)]
pub(crate) struct Script {
    ast: Arc<AST>,
    /// The source text, as `rules_replaced` and snapshots carry it.
    pub(crate) source: Arc<str>,
    name: ImmutableString,
    /// Whether it calls `changed` or `previous` (and so needs the start-of-step case).
    pub(crate) reads_baseline: bool,
}

impl PartialEq for Script {
    fn eq(&self, other: &Script) -> bool {
        self.source == other.source
    }
}

impl Eq for Script {}

/// Compiles a rule's script and checks its calls (docs/rules.md, Load-time checks).
///
/// # Errors
/// Every problem found, each as `LINE:COLUMN` within the script and a message.
pub(crate) fn compile(
    sandbox: &Sandbox,
    name: &str,
    trigger: bool,
    source: &str,
) -> Result<Script, Vec<(String, String)>> {
    // Declared so that strict variables know them, and pushed as variables, not
    // constants: the optimizer must not bake one evaluation's values into the rule.
    // In the order of `CONSTANTS`.
    let mut scope = Scope::new();
    scope.push("rule", ());
    scope.push("now", 0_i64);
    scope.push("ticket", ());
    let ast = sandbox
        .engine
        .compile_with_scope(&scope, source)
        .map_err(|e| vec![(place(e.position()), e.err_type().to_string())])?;
    let defined: BTreeSet<String> = ast.iter_functions().map(|f| f.name.to_owned()).collect();
    let mut problems = Vec::new();
    let mut reads_baseline = false;
    ast.walk(&mut |path: &[ASTNode]| {
        let Some(node) = path.last() else {
            return true;
        };
        let (call, pos) = match node {
            ASTNode::Expr(Expr::FnCall(call, pos) | Expr::MethodCall(call, pos)) => {
                (&**call, *pos)
            }
            ASTNode::Stmt(Stmt::FnCall(call, pos)) => (&**call, *pos),
            ASTNode::Stmt(Stmt::Import(_, pos)) => {
                problems.push((place(*pos), "`import` is not allowed".to_owned()));
                return true;
            }
            // A closure that captures a variable shares it behind a lock, and rhai waits
            // out a contended lock by sleeping, which no limit counts (DESIGN.md, "Why may
            // a closure not capture variables?").
            ASTNode::Stmt(Stmt::Share(shared)) => {
                for (ident, _) in shared.iter() {
                    problems.push((
                        place(ident.pos),
                        format!(
                            "a closure may not capture `{}`: pass it as an argument",
                            crate::error::clip(ident.name.as_str())
                        ),
                    ));
                }
                return true;
            }
            _ => return true,
        };
        let called = call.name.as_str();
        let is_operator = !called.starts_with(|c: char| c.is_alphabetic() || c == '_');
        if !call.namespace.is_empty() {
            problems.push((
                place(pos),
                format!("`{}` calls into a module; rules have none", call.namespace),
            ));
        } else if called == "eval" {
            problems.push((place(pos), "`eval` is not allowed".to_owned()));
        } else if TRIGGER_ONLY.contains(&called) && !trigger {
            problems.push((
                place(pos),
                format!("`{called}` describes a trigger's step; automations cannot call it"),
            ));
        } else if !is_operator && !sandbox.known.contains(called) && !defined.contains(called) {
            problems.push((
                place(pos),
                format!(
                    "no function `{}` (not defined in the script, not an action, not in the sandbox)",
                    crate::error::clip(called)
                ),
            ));
        }
        reads_baseline |= called == "changed" || called == "previous";
        true
    });
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Script {
        ast: Arc::new(ast),
        source: Arc::from(source),
        name: ImmutableString::from(name),
        reads_baseline,
    })
}

// ----- running ---------------------------------------------------------------------------------

/// What one evaluation sees besides the case.
pub(crate) struct Input<'a> {
    pub(crate) now: Instant,
    pub(crate) before: Option<&'a Case>,
    pub(crate) created: bool,
}

/// What a script recorded, and its trace.
#[derive(Debug, Default)]
pub(crate) struct Recorded {
    pub(crate) actions: Vec<(Action, Pos)>,
    pub(crate) trace: String,
}

/// Why an evaluation failed: a limit (`script_limit`) or anything else (`script_runtime`),
/// with the message, the position and the trace so far.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) limit: bool,
    pub(crate) message: String,
    pub(crate) at: Option<Pos>,
    pub(crate) trace: String,
}

/// Runs a script on `case`: what it recorded, or why it failed. Changes nothing.
pub(crate) fn run(
    sandbox: &Sandbox,
    script: &Script,
    case: &Case,
    input: &Input<'_>,
) -> Result<Recorded, Failure> {
    // The thread's scope and state are used in place (they are large to move); nothing
    // the evaluation calls reaches them, and evaluations never nest.
    let (result, run) = REUSE.with(|r| {
        let mut reuse = r.borrow_mut();
        let Reuse { scope, evaluator } = &mut *reuse;
        let current = fill_scope(scope, case, input.now, &script.name);
        let before = if script.reads_baseline {
            input.before.map(|b| Arc::new(b.clone()))
        } else {
            None
        };
        RUN.with(|r| {
            *r.borrow_mut() = Some(Run {
                now: input.now,
                before,
                created: input.created,
                current,
                actions: Vec::new(),
                trace: String::new(),
            });
        });
        let result =
            Evaluator::ready(evaluator, &sandbox.engine, &script.ast).run(&sandbox.engine, scope);
        // The constants and the scope's memory serve the next evaluation on this thread;
        // the script's own variables go.
        scope.rewind(CONSTANTS.len());
        (result, RUN.with(|r| r.borrow_mut().take()))
    });
    let (actions, trace) = run.map(|r| (r.actions, r.trace)).unwrap_or_default();
    match result {
        Ok(()) => Ok(Recorded { actions, trace }),
        Err(e) => {
            let inner = innermost(&e);
            let limit = matches!(
                inner,
                EvalAltResult::ErrorTooManyOperations(_)
                    | EvalAltResult::ErrorTooManyVariables(_)
                    | EvalAltResult::ErrorTooManyModules(_)
                    | EvalAltResult::ErrorStackOverflow(_)
                    | EvalAltResult::ErrorDataTooLarge(..)
            );
            // What the script threw, as it wrote it; rhai's own words for anything else,
            // and for a throw of nothing (`throw;`, `throw ""`), so a message is never empty.
            let thrown = match inner {
                EvalAltResult::ErrorRuntime(value, _) => value
                    .clone()
                    .into_immutable_string()
                    .map_or_else(|_| value.to_string(), |s| s.to_string()),
                _ => String::new(),
            };
            let message = if thrown.is_empty() {
                strip_position(&inner.to_string())
            } else {
                thrown
            };
            let at = pos_of(inner.position()).or_else(|| pos_of(e.position()));
            Err(Failure {
                limit,
                message: crate::error::clip_long(&message),
                at,
                trace,
            })
        }
    }
}

/// The constants a script sees, in the order a thread's reused scope holds them. rhai
/// finds a variable the script did not declare by name, from the last entry back, so
/// `ticket`, read most, comes last.
const CONSTANTS: [&str; 3] = ["rule", "now", "ticket"];

/// Sets the scope's constants for an evaluation of `rule` on `case` at `now` and returns
/// the ticket's case. A scope left by an earlier evaluation on this thread keeps its
/// entries (their names are allocated once) and the ticket's copy of the case, refilled in
/// place unless something still holds it; any other scope is built afresh.
fn fill_scope(
    scope: &mut Scope<'static>,
    case: &Case,
    now: Instant,
    rule: &ImmutableString,
) -> Arc<Case> {
    let reusable = scope.len() == CONSTANTS.len()
        && scope
            .iter_raw() // last first
            .zip(CONSTANTS.iter().rev())
            .all(|((name, constant, value), want)| name == *want && constant && !value.is_shared());
    if reusable && let Some(Ticket(copy)) = scope.get_value_mut::<Ticket>("ticket") {
        match Arc::get_mut(copy) {
            Some(mine) => mine.copy_from(case),
            None => *copy = Arc::new(case.clone()),
        }
        let current = Arc::clone(copy);
        if let Some(t) = scope.get_value_mut::<i64>("now") {
            *t = now.unix_seconds();
        }
        if let Some(name) = scope.get_value_mut::<ImmutableString>("rule") {
            name.clone_from(rule);
        }
        return current;
    }
    let current = Arc::new(case.clone());
    scope.clear();
    scope.push_constant("rule", rule.clone());
    scope.push_constant("now", now.unix_seconds());
    scope.push_constant("ticket", Ticket(Arc::clone(&current)));
    current
}

/// The error inside the script functions an error passed through.
fn innermost(e: &EvalAltResult) -> &EvalAltResult {
    match e {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) => innermost(inner),
        other => other,
    }
}

/// A rhai message without the ` (line N, position M)` it appends: events carry the
/// position in their own fields.
fn strip_position(message: &str) -> String {
    match message.rfind(" (line ") {
        Some(at) if message.ends_with(')') => message[..at].to_owned(),
        _ => message.to_owned(),
    }
}

/// Rule sets are shared across threads: a host may hold one desk per thread.
const _: fn() = || {
    fn shared<T: Send + Sync>() {}
    shared::<Sandbox>();
    shared::<Script>();
};

// ----- where script files come from ------------------------------------------------------------

/// Where a configuration's `script` files come from (docs/rules.md, Declaring rules). A
/// service that keeps scripts in its database implements it; [`ScriptFiles`] reads them
/// from disk beside the configuration file.
pub trait ScriptLoader {
    /// The text of the script a rule names with `script = "PATH"`.
    ///
    /// # Errors
    /// Why it cannot be had, for a human: it is reported as the rule's problem.
    fn load(&self, path: &str) -> Result<String, String>;

    /// The name load-time problems give an inline `source` (the configuration file's).
    fn config_name(&self) -> String {
        "config".to_owned()
    }
}

/// Script files on disk, relative to the configuration file's folder.
#[derive(Clone, Debug)]
pub struct ScriptFiles {
    config: std::path::PathBuf,
}

impl ScriptFiles {
    /// Scripts beside this configuration file (which need not exist: a scenario file works
    /// too).
    pub fn beside(config: &std::path::Path) -> ScriptFiles {
        ScriptFiles {
            config: config.to_path_buf(),
        }
    }
}

impl ScriptLoader for ScriptFiles {
    fn load(&self, path: &str) -> Result<String, String> {
        let dir = self.config.parent().unwrap_or(std::path::Path::new(""));
        let file = dir.join(path);
        std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))
    }

    fn config_name(&self) -> String {
        self.config.display().to_string()
    }
}

/// No script files: a configuration given as text or a value names its scripts inline
/// (`source`), or loads through [`crate::Config::from_value_with`].
pub(crate) struct NoScriptFiles;

impl ScriptLoader for NoScriptFiles {
    fn load(&self, path: &str) -> Result<String, String> {
        Err(format!(
            "cannot read `{}`: this configuration was not loaded from a file; give the script \
             inline with `source`, or load it with Config::from_file or a ScriptLoader",
            crate::error::clip(path)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{Catalog, Category};

    /// An open case at 09:00, and the input of an evaluation then, outside a step.
    fn open_case() -> (Case, Input<'static>) {
        let open = Catalog::default().default_status(Category::Open).clone();
        let at: Instant = "2026-03-02T09:00:00Z".parse().unwrap();
        let case = Case::new(7, at, &open, "r".into(), "r".into());
        let input = Input {
            now: at,
            before: None,
            created: false,
        };
        (case, input)
    }

    fn compiled(sandbox: &Sandbox, name: &str, source: &str) -> Script {
        compile(sandbox, name, true, source)
            .map_err(|e| format!("{e:?}"))
            .unwrap()
    }

    /// An evaluation leaves its scope, with its copy of the case, for the next one on the
    /// thread, which refills it in place instead of allocating another; and its resolved
    /// functions for the next evaluation of the same script, and only of that one.
    #[test]
    fn the_scope_and_the_state_are_reused() {
        let sandbox = Sandbox::new(&Limits::default());
        let script = compiled(&sandbox, "r", "if ticket.priority == \"urgent\" { 1 }");
        let (case, input) = open_case();
        let copy = || {
            REUSE.with(|r| {
                r.borrow()
                    .scope
                    .get_value_ref::<Ticket>("ticket")
                    .map(|t| Arc::as_ptr(&t.0))
            })
        };
        let held = || {
            REUSE.with(|r| {
                r.borrow()
                    .evaluator
                    .as_ref()
                    .map(|e| Arc::as_ptr(&e.script))
            })
        };
        run(&sandbox, &script, &case, &input).unwrap();
        let first = copy();
        assert!(first.is_some());
        assert_eq!(held(), Some(Arc::as_ptr(&script.ast)));
        run(&sandbox, &script, &case, &input).unwrap();
        assert_eq!(copy(), first);
        // Another script starts with a state of its own.
        let other = compiled(&sandbox, "o", "fn f() { 1 } f();");
        run(&sandbox, &other, &case, &input).unwrap();
        assert_eq!(held(), Some(Arc::as_ptr(&other.ast)));
        assert_eq!(copy(), first);
    }

    /// Each evaluation counts its operations from zero: a script that uses over half the
    /// limit runs again and again on one thread, on the state the last run left.
    #[test]
    fn each_evaluation_counts_its_own_operations() {
        let sandbox = Sandbox::new(&Limits::default());
        let ops = Limits::default().max_operations();
        // About 7 operations a round: over half the limit (one eighth of it in rounds),
        // and twice as many rounds exceed it.
        let source = format!("let n = 0; while n < {} {{ n += 1; }}", ops / 8);
        let script = compiled(&sandbox, "busy", &source);
        let (case, input) = open_case();
        let over = format!("let n = 0; while n < {} {{ n += 1; }}", ops / 2);
        let too_long = compiled(&sandbox, "long", &over);
        assert!(run(&sandbox, &too_long, &case, &input).is_err_and(|f| f.limit));
        for _ in 0..3 {
            assert!(run(&sandbox, &script, &case, &input).is_ok());
        }
    }

    /// A script that fails inside its own functions leaves one cache of resolved
    /// functions on the thread's state, however often it runs.
    #[test]
    fn failures_inside_functions_leave_one_cache() {
        let sandbox = Sandbox::new(&Limits::default());
        let script = compiled(
            &sandbox,
            "f",
            "fn g(x) { if x > 0 { g(x - 1) } else { throw \"deep\" } } fn f() { g(5) } f();",
        );
        let (case, input) = open_case();
        for _ in 0..5 {
            assert!(run(&sandbox, &script, &case, &input).is_err_and(|f| !f.limit));
            let caches = REUSE.with(|r| {
                r.borrow()
                    .evaluator
                    .as_ref()
                    .map(|e| e.caches.fn_resolution_caches_len())
            });
            assert!(caches.is_some_and(|n| n <= 1), "{caches:?}");
        }
    }

    /// A scope is reused only as `fill_scope` leaves it: the three constants, in order,
    /// none shared (a shared value would make `get_value_mut` panic). Anything else is
    /// built afresh.
    #[test]
    fn only_a_scope_of_the_three_constants_is_reused() {
        let open = Catalog::default().default_status(Category::Open).clone();
        let at: Instant = "2026-03-02T09:00:00Z".parse().unwrap();
        let case = Case::new(7, at, &open, "r".into(), "r".into());
        let rule = ImmutableString::from("r");
        let fresh = |scope: &Scope<'static>| {
            scope.len() == 3
                && scope.iter_raw().zip(CONSTANTS.iter().rev()).all(
                    |((name, constant, value), want)| {
                        name == *want && constant && !value.is_shared()
                    },
                )
        };
        let ticket = || Ticket(Arc::new(case.clone()));
        let mut shared = Scope::new();
        shared.push_constant("rule", rule.clone());
        shared.push_constant("now", 0_i64);
        shared.push_constant_dynamic("ticket", Dynamic::from(ticket()).into_shared());
        let mut writable = Scope::new();
        writable.push_constant("rule", rule.clone());
        writable.push("now", 0_i64);
        writable.push_constant("ticket", ticket());
        let mut renamed = Scope::new();
        renamed.push_constant("rule", rule.clone());
        renamed.push_constant("when", 0_i64);
        renamed.push_constant("ticket", ticket());
        let mut longer = Scope::new();
        longer.push_constant("x", 1_i64);
        longer.push_constant("rule", rule.clone());
        longer.push_constant("now", 0_i64);
        longer.push_constant("ticket", ticket());
        for mut scope in [shared, writable, renamed, longer] {
            let kept = scope
                .get("ticket")
                .filter(|v| !v.is_shared())
                .and_then(|v| v.read_lock::<Ticket>().map(|t| Arc::as_ptr(&t.0)));
            let current = fill_scope(&mut scope, &case, at, &rule);
            assert!(fresh(&scope));
            assert_ne!(Some(Arc::as_ptr(&current)), kept);
        }
    }

    /// A script's own function is resolved in its own script: two scripts defining `f`
    /// differently, run in turn on one thread, each call their own.
    #[test]
    fn each_script_calls_its_own_functions() {
        let sandbox = Sandbox::new(&Limits::default());
        let make = |name: &str, tag: &str| {
            let source = format!("fn f() {{ \"{tag}\" }} add_tag(f());");
            compiled(&sandbox, name, &source)
        };
        let (a, b) = (make("a", "from-a"), make("b", "from-b"));
        let (case, input) = open_case();
        for _ in 0..3 {
            for (script, want) in [(&a, "from-a"), (&b, "from-b")] {
                let recorded = run(&sandbox, script, &case, &input).unwrap();
                assert!(
                    matches!(&recorded.actions[..], [(Action::AddTag(t), _)] if t == want),
                    "{:?}",
                    recorded.actions
                );
            }
        }
    }
}

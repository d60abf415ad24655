//! Fuzzing rule scripts (issue 11; DESIGN.md, "How are scripts fuzzed?"): a proptest
//! generator of rhai source, mostly well-formed and hostile (loops, recursion, closures,
//! function pointers, growth, edge values, `throw`, every action with good and bad
//! arguments, every `ticket` property) mixed with token soup and cut or spliced programs.
//! Each source is loaded as a trigger and as an automation and, when it loads, run on a
//! small desk through creates, updates and sweeps. What must hold: no panic; a load
//! failure is `script_compile` or `invalid_config` with a message; every `rule_failed`
//! has a rule failure's code; a case the rule failed on is what the same step gives
//! without the rule; the desk still serves a command, explains the rule, and restores from
//! its snapshot to an equal desk (replay is not checked: DESIGN.md says why). "No hang
//! past the limits" cannot be timed here (tests read no clock): some cases run under a
//! small `max_operations` and other small limits instead.
//!
//! CI runs a few cases; `PROPTEST_CASES=N` runs more (the long run DESIGN.md records).

use std::cell::RefCell;
use std::collections::BTreeSet;

use caseflow::{Command, Config, Desk, ErrorCode, Event, EventKind, Instant};
use proptest::prelude::*;
use proptest::sample::{Index, select};
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

// ----- the generator ---------------------------------------------------------------------

type Gen = BoxedStrategy<String>;

/// Owned copies of a pool's words.
fn one_of(words: &'static [&'static str]) -> Gen {
    select(words).prop_map(str::to_owned).boxed()
}

const INTS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "3",
    "42",
    "1000",
    "100000",
    "9223372036854775807",
    "-9223372036854775808",
    "0x7fff_ffff_ffff_ffff",
    "-0",
];

const FLOATS: &[&str] = &["0.0", "1.5", "-2.5", "1e308", "1e-308"];

/// Strings every action takes or refuses: statuses, priorities, types, agents, tags,
/// dates, field names, and some that are none of these.
const STRINGS: &[&str] = &[
    "\"\"",
    "\"x\"",
    "\"vip\"",
    "\"new\"",
    "\"open\"",
    "\"pending\"",
    "\"on_hold\"",
    "\"resolved\"",
    "\"no-such-status\"",
    "\"low\"",
    "\"normal\"",
    "\"high\"",
    "\"urgent\"",
    "\"Urgent\"",
    "\"question\"",
    "\"incident\"",
    "\"problem\"",
    "\"task\"",
    "\"bob\"",
    "\"tier2\"",
    "\"2026-03-10\"",
    "\"2026-02-30\"",
    "\"0000-01-01\"",
    "\"status\"",
    "\"priority\"",
    "\"tags\"",
    "\"assignee\"",
    "\"colour\"",
    "\"  Two Words  \"",
    "\"a,b\"",
    "\"é\\u0000\"",
    "'x'",
    "' '",
];

/// `ticket`'s properties and hour measures, and names it does not have.
const PROPERTIES: &[&str] = &[
    "id",
    "type",
    "subject",
    "priority",
    "status",
    "category",
    "closed",
    "requester",
    "submitter",
    "assignee",
    "group",
    "problem",
    "due_date",
    "tags",
    "channel",
    "follow_up_of",
    "reopens",
    "overdue",
    "version",
    "created_at",
    "updated_at",
    "status_changed_at",
    "category_changed_at",
    "assigned_at",
    "resolved_at",
    "replied_at",
    "due_at",
    "hours_since_created",
    "hours_since_updated",
    "hours_in_status",
    "hours_in_category",
    "hours_since_assigned",
    "hours_since_resolved",
    "hours_since_reply",
    "hours_until_due",
    "nothing",
    "deleted",
];

const BINARY: &[&str] = &[
    "+", "-", "*", "/", "%", "**", "<<", ">>", "&", "|", "^", "==", "!=", "<", "<=", ">", ">=",
    "&&", "||", "..", "..=", "??", "in",
];

/// Methods with no argument, one, and two; a few that no package defines.
const METHODS_0: &[&str] = &[
    "len",
    "is_empty",
    "sort",
    "reverse",
    "pop",
    "shift",
    "clear",
    "keys",
    "values",
    "to_upper",
    "to_lower",
    "trim",
    "chars",
    "to_string",
    "to_debug",
    "abs",
    "sqrt",
    "floor",
    "to_int",
    "to_float",
    "dedup",
    "frobnicate",
];
const METHODS_1: &[&str] = &[
    "push",
    "contains",
    "index_of",
    "split",
    "append",
    "remove",
    "get",
    "map",
    "filter",
    "reduce",
    "some",
    "all",
    "sort",
    "starts_with",
    "ends_with",
    "sub_string",
    "truncate",
    "extract",
    "drain",
    "retain",
    "has_tag",
    "call",
    "curry",
    "chop",
    "crop",
    "fill_with",
];
const METHODS_2: &[&str] = &[
    "pad",
    "sub_string",
    "insert",
    "splice",
    "extract",
    "replace",
    "index_of",
    "set",
    "call",
];

/// Functions called by name: the packages', the language's, the step's, the script's own
/// (`g`, `r`), and some the sandbox leaves out.
const FUNCTIONS_1: &[&str] = &[
    "print",
    "debug",
    "type_of",
    "to_string",
    "parse_int",
    "parse_float",
    "abs",
    "sqrt",
    "Fn",
    "is_def_var",
    "r",
    "sleep",
    "exit",
    "parse_json",
];
const FUNCTIONS_2: &[&str] = &["range", "max", "min", "call", "g", "curry", "is_def_fn"];

/// Names a function pointer may hold.
const POINTED: &[&str] = &[
    "\"g\"",
    "\"r\"",
    "\"add_tag\"",
    "\"set_status\"",
    "\"close\"",
    "\"sleep\"",
    "\"timestamp\"",
    "\"eval\"",
    "\"print\"",
    "\"nope\"",
];

/// Every action of SCRIPTING.md with its arity.
const ACTIONS: &[(&str, usize)] = &[
    ("set_status", 1),
    ("set_priority", 1),
    ("set_type", 1),
    ("assign", 1),
    ("unassign", 0),
    ("set_group", 1),
    ("add_tag", 1),
    ("remove_tag", 1),
    ("set_due_date", 1),
    ("notify", 2),
    ("close", 0),
];

/// Variables a script's top level declares, and a function's parameters.
const TOP: &[&str] = &["a", "s", "v", "m", "f"];
const PARAMS: &[&str] = &["x", "n"];

/// The declarations of the top level's variables.
const PREAMBLE: &str = "let a = 0;\nlet s = \"x\";\nlet v = [];\nlet m = #{};\nlet f = |x| x;\n";

fn leaf(vars: &'static [&'static str]) -> Gen {
    prop_oneof![
        3 => one_of(INTS),
        1 => one_of(FLOATS),
        3 => one_of(STRINGS),
        1 => one_of(&["()", "true", "false", "now", "rule", "ticket"]),
        3 => one_of(PROPERTIES).prop_map(|p| format!("ticket.{p}")),
        1 => one_of(POINTED).prop_map(|p| format!("Fn({p})")),
        4 => one_of(vars),
    ]
    .boxed()
}

fn expr(vars: &'static [&'static str]) -> Gen {
    leaf(vars)
        .prop_recursive(4, 32, 4, move |e| {
            let args = |n: std::ops::Range<usize>| {
                prop::collection::vec(e.clone(), n).prop_map(|v| v.join(", "))
            };
            prop_oneof![
                4 => (e.clone(), one_of(BINARY), e.clone())
                    .prop_map(|(a, op, b)| format!("({a} {op} {b})")),
                1 => (one_of(&["-", "!", "+"]), e.clone()).prop_map(|(op, a)| format!("{op}({a})")),
                1 => args(0..4).prop_map(|a| format!("[{a}]")),
                1 => prop::collection::vec(e.clone(), 0..3).prop_map(|values| {
                    let kv: Vec<String> =
                        values.iter().enumerate().map(|(i, v)| format!("k{i}: {v}")).collect();
                    format!("#{{{}}}", kv.join(", "))
                }),
                2 => (e.clone(), prop_oneof![3 => one_of(INTS), 1 => e.clone()])
                    .prop_map(|(a, i)| format!("{a}[{i}]")),
                1 => (e.clone(), one_of(PROPERTIES)).prop_map(|(a, p)| format!("{a}.{p}")),
                2 => (e.clone(), one_of(METHODS_0)).prop_map(|(a, m)| format!("{a}.{m}()")),
                3 => (e.clone(), one_of(METHODS_1), e.clone())
                    .prop_map(|(a, m, b)| format!("{a}.{m}({b})")),
                2 => (e.clone(), one_of(METHODS_2), args(2..3))
                    .prop_map(|(a, m, b)| format!("{a}.{m}({b})")),
                2 => (one_of(FUNCTIONS_1), e.clone()).prop_map(|(f, a)| format!("{f}({a})")),
                2 => (one_of(FUNCTIONS_2), args(2..3)).prop_map(|(f, a)| format!("{f}({a})")),
                1 => (cond(e.clone()), e.clone(), e.clone())
                    .prop_map(|(c, a, b)| format!("if {c} {{ {a} }} else {{ {b} }}")),
                1 => (e.clone(), e.clone(), e.clone())
                    .prop_map(|(c, a, b)| format!("switch {c} {{ 1 => {a}, \"x\" => {b}, _ => () }}")),
                1 => e.clone().prop_map(|a| format!("`<${{{a}}}>`")),
                1 => closure(),
                1 => (e.clone(), args(0..3)).prop_map(|(a, b)| format!("{a}.call({b})")),
            ]
        })
        .boxed()
}

/// A closure that captures nothing: a captured variable becomes a shared value, and under
/// rhai's `sync` feature every data race on one sleeps 50 ms (DESIGN.md, "How are scripts
/// fuzzed?"), which would stall a long run.
fn closure() -> Gen {
    one_of(&[
        "(|x| x)",
        "(|x| x + 1)",
        "(|x| x.len())",
        "(|x| x == 1)",
        "(|x| `${x}`)",
        "(|x| add_tag(x))",
        "(|x, y| x * y)",
        "(|x| { print(x); x })",
    ])
}

const COMPARE: &[&str] = &["==", "!=", "<", "<=", ">", ">="];

/// A condition: mostly a comparison or a question about the case, since rhai refuses a
/// literal of another type as a condition when the script loads.
fn cond(e: Gen) -> Gen {
    prop_oneof![
        4 => (e.clone(), one_of(COMPARE), e.clone()).prop_map(|(a, op, b)| format!("{a} {op} {b}")),
        2 => one_of(STRINGS).prop_map(|t| format!("ticket.has_tag({t})")),
        1 => one_of(&["true", "false", "created()", "ticket.closed", "ticket.overdue"]),
        1 => e,
    ]
    .boxed()
}

/// What a `for` loop walks: mostly ranges, arrays and strings.
fn iterable(e: Gen) -> Gen {
    prop_oneof![
        2 => (e.clone(), e.clone()).prop_map(|(lo, hi)| format!("range({lo}, {hi})")),
        2 => (one_of(INTS), one_of(INTS)).prop_map(|(lo, hi)| format!("{lo}..{hi}")),
        1 => one_of(&["ticket.tags", "s", "v", "[1, 2, 3]", "\"abc\""]),
        1 => e,
    ]
    .boxed()
}

/// An action call with arguments that are mostly words it knows or refuses.
fn action(vars: &'static [&'static str]) -> Gen {
    let arg = prop_oneof![4 => one_of(STRINGS), 1 => Just("()".to_owned()), 2 => expr(vars)];
    (select(ACTIONS), prop::collection::vec(arg, 3), 0..10u8)
        .prop_map(|((name, arity), args, skew)| {
            // Now and then one argument too many or too few.
            let n = match skew {
                0 => arity + 1,
                1 => arity.saturating_sub(1),
                _ => arity,
            };
            format!("{name}({});", args[..n].join(", "))
        })
        .boxed()
}

fn simple_stmt(vars: &'static [&'static str]) -> Gen {
    let e = expr(vars);
    prop_oneof![
        2 => (one_of(vars), e.clone()).prop_map(|(v, x)| format!("let {v} = {x};")),
        2 => (one_of(vars), one_of(&["=", "+=", "-=", "*=", "/=", "%=", "<<=", "**="]), e.clone())
            .prop_map(|(v, op, x)| format!("{v} {op} {x};")),
        1 => (one_of(vars), e.clone()).prop_map(|(v, x)| format!("{v}.push({x});")),
        1 => (one_of(vars), e.clone(), e.clone()).prop_map(|(v, i, x)| format!("{v}[{i}] = {x};")),
        1 => (one_of(vars), e.clone(), e.clone())
            .prop_map(|(v, n, x)| format!("{v}.pad({n}, {x});")),
        1 => (one_of(vars), e.clone()).prop_map(|(v, x)| format!("{v} += {v} + {x};")),
        6 => action(vars),
        1 => e.clone().prop_map(|x| format!("throw {x};")),
        2 => (one_of(&["print", "debug"]), e.clone()).prop_map(|(p, x)| format!("{p}({x});")),
        1 => (one_of(PROPERTIES), e.clone()).prop_map(|(p, x)| format!("ticket.{p} = {x};")),
        1 => e.clone().prop_map(|x| format!("return {x};")),
        1 => one_of(&["ticket = 1;", "now = 0;", "rule += 1;"]),
        2 => e.prop_map(|x| format!("{x};")),
    ]
    .boxed()
}

fn block(vars: &'static [&'static str]) -> Gen {
    simple_stmt(vars)
        .prop_recursive(3, 16, 3, move |b| {
            let body = prop::collection::vec(b, 0..4).prop_map(|s| s.join("\n"));
            let e = expr(vars);
            let c = cond(e.clone());
            // A loop's body may leave it.
            let exit = prop_oneof![
                2 => Just(String::new()),
                1 => (c.clone(), one_of(&["break", "continue"]))
                    .prop_map(|(c, x)| format!("\nif {c} {{ {x}; }}")),
            ];
            prop_oneof![
                2 => (c.clone(), body.clone(), body.clone())
                    .prop_map(|(c, x, y)| format!("if {c} {{\n{x}\n}} else {{\n{y}\n}}")),
                1 => (c.clone(), body.clone(), exit.clone())
                    .prop_map(|(c, x, z)| format!("while {c} {{\n{x}{z}\n}}")),
                1 => (body.clone(), exit.clone()).prop_map(|(x, z)| format!("loop {{\n{x}{z}\n}}")),
                2 => (one_of(vars), iterable(e.clone()), body.clone(), exit.clone())
                    .prop_map(|(v, i, x, z)| format!("for {v} in {i} {{\n{x}{z}\n}}")),
                1 => (body.clone(), c.clone())
                    .prop_map(|(x, c)| format!("do {{\n{x}\n}} while {c};")),
                1 => (body.clone(), body.clone())
                    .prop_map(|(x, y)| format!("try {{\n{x}\n}} catch (err) {{\n{y}\n}}")),
                1 => body.clone().prop_map(|x| format!("{{\n{x}\n}}")),
                2 => body,
            ]
        })
        .boxed()
}

/// The script's functions `g(x, n)` and `r(n)` (which expressions call), each written
/// or one of the classic hostile recursions, and now and then left out.
fn functions() -> Gen {
    let g = prop_oneof![
        4 => (block(PARAMS), expr(PARAMS))
            .prop_map(|(b, e)| format!("fn g(x, n) {{\n{b}\n{e}\n}}")),
        1 => Just("fn g(x, n) { add_tag(x); g(x, n + 1) }".to_owned()),
        1 => Just("fn g(x, n) { if n > 0 { g(x, n - 1); g(x, n - 1); } x }".to_owned()),
        1 => Just(String::new()),
    ];
    let r = prop_oneof![
        4 => (block(PARAMS), expr(PARAMS))
            .prop_map(|(b, e)| format!("fn r(n) {{\nlet x = n;\n{b}\n{e}\n}}")),
        1 => Just("fn r(n) { if n <= 0 { 0 } else { r(n - 1) + r(n - 1) } }".to_owned()),
        1 => Just("fn r(n) { r(n + 1) }".to_owned()),
        1 => Just(String::new()),
    ];
    (g, r).prop_map(|(g, r)| format!("{g}\n{r}")).boxed()
}

/// A mostly well-formed script: functions, the top level's declarations (now and then
/// left out), statements.
fn program() -> Gen {
    (
        functions(),
        0..10u8,
        prop::collection::vec(block(TOP), 1..4),
    )
        .prop_map(|(fns, preamble, body)| {
            let preamble = if preamble > 0 { PREAMBLE } else { "" };
            format!("{fns}\n{preamble}{}\n", body.join("\n"))
        })
        .boxed()
}

/// Fields a trigger may ask about, and one it may not.
const FIELDS: &[&str] = &[
    "\"status\"",
    "\"priority\"",
    "\"tags\"",
    "\"assignee\"",
    "\"type\"",
    "\"reopens\"",
    "\"colour\"",
];

/// Each action with the words it takes, and one or two it refuses.
const TAME_ACTIONS: &[(&str, &[&str])] = &[
    (
        "set_status",
        &[
            "\"open\"",
            "\"pending\"",
            "\"on_hold\"",
            "\"resolved\"",
            "\"new\"",
            "\"gone\"",
        ],
    ),
    (
        "set_priority",
        &[
            "\"low\"",
            "\"normal\"",
            "\"high\"",
            "\"urgent\"",
            "()",
            "\"Urgent\"",
        ],
    ),
    (
        "set_type",
        &[
            "\"question\"",
            "\"incident\"",
            "\"problem\"",
            "\"task\"",
            "()",
        ],
    ),
    ("assign", &["\"bob\"", "\"ann\"", "\"\""]),
    ("unassign", &[""]),
    ("set_group", &["\"tier2\"", "()"]),
    ("add_tag", &["\"vip\"", "\"x\"", "\"Two Words\"", "\"a,b\""]),
    ("remove_tag", &["\"vip\"", "\"x\""]),
    ("set_due_date", &["\"2026-03-10\"", "()", "\"2026-02-30\""]),
    ("notify", &["\"leads\", `case ${ticket.id}`", "\"\", \"\""]),
    ("close", &[""]),
];

fn tame_action() -> Gen {
    (select(TAME_ACTIONS), any::<Index>())
        .prop_map(|((name, words), i)| format!("{name}({});", i.get(words)))
        .boxed()
}

/// A script an administrator might write: actions with words they know or refuse, behind
/// conditions on the case and the step. These mostly run to the end, so their actions
/// reach the lifecycle (which fires the rule or rejects them).
fn tame() -> Gen {
    let property = one_of(PROPERTIES).prop_map(|p| format!("ticket.{p}"));
    let test = prop_oneof![
        3 => (property, one_of(COMPARE), prop_oneof![one_of(STRINGS), one_of(INTS), one_of(&["()"])])
            .prop_map(|(p, op, x)| format!("{p} {op} {x}")),
        2 => one_of(STRINGS).prop_map(|t| format!("ticket.has_tag({t})")),
        1 => one_of(FIELDS).prop_map(|f| format!("changed({f})")),
        1 => one_of(FIELDS).prop_map(|f| format!("previous({f}) != ()")),
        1 => one_of(&["created()", "ticket.hours_since_created >= 1", "now % 7200 == 0"]),
    ];
    let stmt = prop_oneof![
        2 => tame_action(),
        2 => (test, prop::collection::vec(tame_action(), 1..3))
            .prop_map(|(c, a)| format!("if {c} {{\n{}\n}}", a.join("\n"))),
    ];
    prop::collection::vec(stmt, 1..5)
        .prop_map(|s| format!("{PREAMBLE}{}\n", s.join("\n")))
        .boxed()
}

/// Tokens of rhai and near it, for soup and splicing.
const TOKENS: &[&str] = &[
    "let",
    "const",
    "if",
    "else",
    "while",
    "loop",
    "for",
    "in",
    "do",
    "until",
    "break",
    "continue",
    "return",
    "throw",
    "try",
    "catch",
    "fn",
    "private",
    "switch",
    "import",
    "export",
    "as",
    "global",
    "eval",
    "Fn",
    "call",
    "curry",
    "this",
    "true",
    "false",
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    ";",
    ",",
    ".",
    "::",
    "=>",
    "=",
    "==",
    "+=",
    "**",
    "?",
    "?.",
    "?[",
    "..",
    "!",
    "&&",
    "||",
    "|",
    "<<",
    "#{",
    "`",
    "${",
    "\"",
    "'",
    "@",
    "$",
    "\\",
    "//",
    "/*",
    "*/",
    "a",
    "s",
    "x",
    "ticket",
    "now",
    "rule",
    "set_status",
    "add_tag",
    "notify",
    "close",
    "print",
    "sleep",
    "timestamp",
    "9223372036854775807",
    "0",
    "1e400",
    "\"x\"",
    "'é'",
    "()",
    "\u{0}",
    "\u{feff}",
];

fn soup() -> Gen {
    prop::collection::vec(prop_oneof![5 => one_of(TOKENS), 1 => "\\PC{0,6}"], 0..40)
        .prop_map(|tokens| tokens.join(" "))
        .boxed()
}

/// A program cut short, or with a token spliced in.
fn mangled() -> Gen {
    (program(), any::<Index>(), one_of(TOKENS), any::<bool>())
        .prop_map(|(mut source, at, token, cut)| {
            let mut at = at.index(source.len() + 1);
            while !source.is_char_boundary(at) {
                at -= 1;
            }
            if cut {
                source.truncate(at);
            } else {
                source.insert_str(at, &token);
            }
            source
        })
        .boxed()
}

fn source() -> Gen {
    prop_oneof![5 => program(), 2 => tame(), 1 => soup(), 2 => mangled()].boxed()
}

/// The `limits` table: none, a small operation budget, or every limit small.
fn limits() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        3 => Just(None),
        2 => (1u64..400).prop_map(|n| Some(json!({"max_operations": n}))),
        1 => (1u64..400, 1u64..4, 8u64..40, 1u64..64, 1u64..8, 1u64..4, 0u64..3).prop_map(
            |(ops, call, expr, string, array, map, functions)| Some(json!({
                "max_operations": ops, "max_call_depth": call, "max_expr_depth": expr,
                "max_string_size": string, "max_array_size": array, "max_map_size": map,
                "max_functions": functions,
            }))
        ),
    ]
    .boxed()
}

// ----- running one source --------------------------------------------------------------------

/// What a run of the fuzzer saw, printed at its end (with `--nocapture`).
#[derive(Debug, Default)]
struct Seen {
    sources: usize,
    loads: usize,
    refused: usize,
    fired: usize,
    failed: [usize; 4],
}

/// The codes a `rule_failed` may carry.
const RULE_FAILURES: [ErrorCode; 4] = [
    ErrorCode::ScriptRuntime,
    ErrorCode::ScriptLimit,
    ErrorCode::ActionRejected,
    ErrorCode::LimitExceeded,
];

/// One step of the small desk: a command at an instant, or an advance (a sweep, an overdue
/// task, an auto-close).
enum Step {
    Do(&'static str, Value),
    Advance(&'static str),
}

/// A question, a task that falls due, an incident that gets resolved, an update, sweeps
/// every hour, the overdue task's triggers and an auto-close.
fn steps() -> Vec<Step> {
    vec![
        Step::Do(
            "2026-03-02T08:10:00Z",
            json!({"op": "create", "submitter": "ann", "type": "question", "priority": "low",
                   "tags": ["vip"], "subject": "Printer on fire"}),
        ),
        Step::Do(
            "2026-03-02T08:20:00Z",
            json!({"op": "create", "submitter": "bob", "type": "task", "due_date": "2026-03-02",
                   "assignee": "carl", "group": "tier1"}),
        ),
        Step::Do(
            "2026-03-02T08:30:00Z",
            json!({"op": "create", "submitter": "dee", "type": "incident", "status": "open",
                   "channel": "email"}),
        ),
        Step::Do(
            "2026-03-02T08:40:00Z",
            json!({"op": "update", "case": 1, "status": "pending", "assignee": "bob"}),
        ),
        Step::Do(
            "2026-03-02T08:50:00Z",
            json!({"op": "update", "case": 3, "status": "resolved", "assignee": "eve"}),
        ),
        Step::Advance("2026-03-02T13:00:00Z"),
        Step::Do(
            "2026-03-02T13:10:00Z",
            json!({"op": "update", "case": 1, "priority": "urgent", "add_tags": ["x"]}),
        ),
        Step::Advance("2026-03-03T10:00:00Z"),
    ]
}

/// The events of a step, whether or not its command was accepted.
fn take(desk: &mut Desk, step: &Step) -> Vec<Event> {
    match step {
        Step::Do(at, command) => {
            let command = Command::from_value(command).unwrap();
            desk.execute(t(at), &command)
                .unwrap_or_else(|rejection| rejection.events)
        }
        Step::Advance(at) => desk.advance_to(t(at)).unwrap(),
    }
}

fn config(kind: &str, source: &str, limits: Option<&Value>) -> Value {
    let mut value = json!({
        "automation_interval_minutes": 60,
        "auto_close_after_days": 1,
        "rules": [{"name": "fuzz", "kind": kind, "source": source}],
    });
    if let Some(limits) = limits {
        value["limits"] = limits.clone();
    }
    value
}

/// Loads `source` as a trigger and as an automation and runs each that loads on the small
/// desk, checking what the module's doc says.
fn check(source: &str, limits: Option<&Value>, seen: &mut Seen) -> Result<(), TestCaseError> {
    for kind in ["trigger", "automation"] {
        let config = match Config::from_value(&config(kind, source, limits)) {
            Ok(config) => config,
            Err(e) => {
                prop_assert!(
                    [ErrorCode::ScriptCompile, ErrorCode::InvalidConfig].contains(&e.code()),
                    "{kind}: loading gave {:?}: {e}",
                    e.code()
                );
                prop_assert!(!e.message().is_empty(), "{kind}: an empty message");
                seen.refused += 1;
                continue;
            }
        };
        seen.loads += 1;
        run_desk(kind, config, seen)?;
    }
    Ok(())
}

fn run_desk(kind: &str, config: Config, seen: &mut Seen) -> Result<(), TestCaseError> {
    let mut desk = Desk::new(config, t("2026-03-02T08:00:00Z"));
    for (n, step) in steps().iter().enumerate() {
        // The same step on an identical desk with no rules.
        let mut plain = desk.clone();
        plain.replace_rules(desk.now(), &json!([])).unwrap();
        take(&mut plain, step);
        let events = take(&mut desk, step);
        let mut fired = BTreeSet::new();
        let mut failed = BTreeSet::new();
        for e in &events {
            match &e.kind {
                EventKind::RuleFired { .. } => {
                    seen.fired += 1;
                    fired.extend(e.case);
                }
                EventKind::RuleFailed {
                    code,
                    message,
                    line,
                    ..
                } => {
                    let i = RULE_FAILURES.iter().position(|c| c == code);
                    prop_assert!(i.is_some(), "{kind}, step {n}: rule_failed with {code:?}");
                    seen.failed[i.unwrap_or(0)] += 1;
                    prop_assert!(!message.is_empty(), "{kind}, step {n}: no message");
                    // The firing cap has no line, and a script limit that strikes inside a
                    // native call may have none (DESIGN.md, "How are scripts fuzzed?").
                    prop_assert!(
                        line.is_some()
                            || [ErrorCode::LimitExceeded, ErrorCode::ScriptLimit].contains(code),
                        "{kind}, step {n}: {code:?} without a line: {message}"
                    );
                    failed.extend(e.case);
                }
                _ => {}
            }
        }
        // A case the rule failed on (and did not fire on, in an earlier step of this
        // call) is what the step made of it without the rule.
        for id in failed.difference(&fired) {
            let got = desk.case(*id).map(|c| c.to_json());
            let want = plain.case(*id).map(|c| c.to_json());
            prop_assert_eq!(
                got,
                want,
                "{}, step {}: the failed rule changed case {}",
                kind,
                n,
                id
            );
        }
    }
    for case in desk.cases() {
        let explained = desk.explain(case.id(), "fuzz", desk.now());
        prop_assert!(explained.is_ok(), "{kind}: explain: {explained:?}");
    }
    let restored = Desk::restore(&desk.snapshot());
    prop_assert!(
        matches!(&restored, Ok(d) if *d == desk),
        "{kind}: restore differs: {restored:?}"
    );
    let next = Command::from_value(&json!({"op": "create", "submitter": "zed"})).unwrap();
    let served = desk.execute(t("2026-03-03T11:00:00Z"), &next);
    prop_assert!(
        served.is_ok(),
        "{kind}: the desk refused a create: {served:?}"
    );
    Ok(())
}

/// How many sources a run tries: `PROPTEST_CASES` when set, else few enough for CI.
fn cases() -> u32 {
    if std::env::var_os("PROPTEST_CASES").is_some() {
        ProptestConfig::default().cases
    } else {
        64
    }
}

#[test]
fn arbitrary_scripts_fail_cleanly() {
    let mut runner = TestRunner::new(ProptestConfig {
        cases: cases(),
        source_file: Some(file!()),
        ..ProptestConfig::default()
    });
    let seen = RefCell::new(Seen::default());
    let result = runner.run(&(source(), limits()), |(source, limits)| {
        let mut seen = seen.borrow_mut();
        seen.sources += 1;
        if seen.sources % 10_000 == 0 {
            eprintln!("fuzz_scripts: {seen:?}");
        }
        check(&source, limits.as_ref(), &mut seen)
    });
    eprintln!("fuzz_scripts: {:?}", seen.borrow());
    if let Err(e) = result {
        panic!("{e}");
    }
}

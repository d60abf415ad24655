//! Rhai scripts (SCRIPTING.md; docs/rules.md, Scripts): what a script sees and does, the
//! load-time checks, runtime failures with their positions, and the hostile-script suite:
//! each hostile script ends with its exact code, leaves the case as it was, and the desk
//! goes on serving commands.

use caseflow::{Command, Config, Desk, ErrorCode, Event, EventKind, Explanation, Instant};
use serde_json::{Value, json};

pub(crate) fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

/// A case's tags.
fn tags(desk: &Desk, id: u64) -> Vec<String> {
    desk.case(id).unwrap().tags().map(str::to_owned).collect()
}

/// One field of a case's view.
fn field(desk: &Desk, id: u64, key: &str) -> Value {
    desk.case(id).unwrap().to_json()[key].clone()
}

fn cmd(v: Value) -> Command {
    Command::from_value(&v).unwrap()
}

/// A desk whose only rule is this script, as a trigger.
fn desk_with(kind: &str, source: &str) -> Result<Desk, caseflow::Error> {
    let config = Config::from_value(&json!({
        "automation_interval_minutes": 60,
        "rules": [{"name": "r", "kind": kind, "source": source}]
    }))?;
    Ok(Desk::new(config, t("2026-03-02T08:00:00Z")))
}

/// The one `rule_failed` among events: (code, message, line, column).
fn failure(events: &[Event]) -> Option<(ErrorCode, String, Option<u32>, Option<u32>)> {
    events.iter().find_map(|e| match &e.kind {
        EventKind::RuleFailed {
            code,
            message,
            line,
            column,
            ..
        } => Some((*code, message.clone(), *line, *column)),
        _ => None,
    })
}

/// Runs `source` as a trigger on a case's update, then checks it failed with `code`, left
/// the case as the update made it, and that the desk still serves commands. Returns the
/// failure's message.
fn fails_as_trigger(source: &str, code: ErrorCode) -> String {
    let mut desk = desk_with("trigger", "if ticket.priority == \"high\" {\n    ();\n}").unwrap();
    desk.execute(
        t("2026-03-02T09:00:00Z"),
        &cmd(json!({"op": "create", "submitter": "ann", "tags": ["a"]})),
    )
    .unwrap();
    // The hostile rule arrives by replacement, so the create above ran without it.
    desk.replace_rules(
        t("2026-03-02T09:00:00Z"),
        &json!([{"name": "r", "kind": "trigger", "source": source}]),
    )
    .unwrap();
    let events = desk
        .execute(
            t("2026-03-02T09:30:00Z"),
            &cmd(json!({"op": "update", "case": 1, "priority": "low"})),
        )
        .unwrap();
    let (got, message, line, _) = failure(&events).unwrap_or_else(|| {
        panic!("no rule_failed for {source}: {events:?}");
    });
    assert_eq!(got, code, "{source}: {message}");
    assert!(line.is_some(), "{source}: a script failure has a line");
    // The case is as the update left it: the rule changed nothing.
    assert_eq!(field(&desk, 1, "priority"), "low");
    assert_eq!(tags(&desk, 1), ["a"]);
    assert_eq!(field(&desk, 1, "version"), 2);
    assert!(
        events
            .iter()
            .all(|e| !matches!(e.kind, EventKind::RuleFired { .. })),
        "{source}"
    );
    // The desk serves the next command.
    desk.execute(
        t("2026-03-02T09:31:00Z"),
        &cmd(json!({"op": "update", "case": 1, "assignee": "bob"})),
    )
    .unwrap();
    assert_eq!(field(&desk, 1, "assignee"), "bob");
    message
}

/// Loading `source` as a rule fails with `script_compile` and a message naming the place;
/// returns the message.
fn refused_at_load(kind: &str, source: &str) -> String {
    let err = desk_with(kind, source).unwrap_err();
    assert_eq!(err.code(), ErrorCode::ScriptCompile, "{source}: {err}");
    assert!(
        err.message().starts_with("config:") && err.message().contains(": rule r: "),
        "{}",
        err.message()
    );
    err.message().to_owned()
}

#[test]
fn hostile_loops_and_recursion_hit_limits() {
    for source in [
        "loop {}",
        "loop { add_tag(\"x\"); }",
        "while true {}",
        "while true { set_priority(\"urgent\"); }",
        "fn f(x) { f(x + 1) }\nf(0);",
        "fn f(n) { if n == 0 { 0 } else { f(n - 1) + f(n - 1) } }\nf(40);",
        "let f = |g, n| g.call(g, n + 1);\nf.call(f, 0);",
        "for i in range(-9223372036854775808, 9223372036854775807) {}",
        "for i in 0..100000 { add_tag(\"x\"); }",
        "for i in 0..100000 { notify(\"t\", \"m\"); }",
    ] {
        fails_as_trigger(source, ErrorCode::ScriptLimit);
    }
}

#[test]
fn hostile_growth_hits_size_limits() {
    for source in [
        "let s = \"x\";\nloop { s += s; }",
        "let s = \"\";\ns.pad(100000, 'x');",
        "let a = [];\nloop { a.push(1); }",
        "let a = [];\na.pad(100000, 0);",
        "let m = #{};\nlet i = 0;\nloop { m[`k${i}`] = i; i += 1; }",
        "let a = [];\na.pad(1024, 5);\nloop { a.sort(); a.reverse(); }",
        "let s = \"x\";\ns.pad(16000, 'x');\nloop { s.index_of(\"y\"); s.contains(\"zz\"); }",
        "let a = [];\na.pad(1024, 1);\nlet b = a + a;",
    ] {
        fails_as_trigger(source, ErrorCode::ScriptLimit);
    }
}

#[test]
fn runtime_errors_are_script_runtime_at_their_line() {
    let message = fails_as_trigger("let x = 1;\nthrow \"boom\";", ErrorCode::ScriptRuntime);
    assert_eq!(message, "boom");
    for source in [
        "let x = 9223372036854775807;\nx + 1;",
        "let x = 0;\n1 / x;",
        "set_priority(5);",
        "add_tag(1);",
        "set_priority(\"bogus\");",
        "set_due_date(\"2026-02-30\");",
        "ticket.priority = \"low\";",
        "call(Fn(\"sleep\"), 1);",
        "Fn(\"exit\").call();",
        "changed(\"colour\");",
        "notify(\"\", \"to no one\");",
        "let t = \"x\";\nt.pad(129, 'x');\nnotify(t, \"to a name too long\");",
        "ticket.nothing",
    ] {
        fails_as_trigger(source, ErrorCode::ScriptRuntime);
    }
    // The line and column are those of the failing call, within the script.
    let mut desk = desk_with("trigger", "let a = 1;\n\n    set_priority(\"bogus\");").unwrap();
    let events = desk
        .execute(
            t("2026-03-02T09:00:00Z"),
            &cmd(json!({"op": "create", "submitter": "ann"})),
        )
        .unwrap();
    let (code, message, line, column) = failure(&events).unwrap();
    assert_eq!(code, ErrorCode::ScriptRuntime);
    assert_eq!((line, column), (Some(3), Some(5)), "{message}");
    assert!(message.contains("bogus"), "{message}");
    // rhai's own messages come without the position it appends: the event carries it.
    let message = fails_as_trigger("let x = 0;\n1 / x;", ErrorCode::ScriptRuntime);
    assert!(message.contains("zero"), "{message}");
    assert!(!message.contains("(line "), "{message}");
}

#[test]
fn hostile_sources_are_refused_at_load() {
    let deep_parens = format!("{}1{}", "(".repeat(200), ")".repeat(200));
    let deep_arrays = format!("let a = {}1{};", "[".repeat(200), "]".repeat(200));
    let many_fns: String = (0..17).map(|i| format!("fn f{i}() {{ {i} }}\n")).collect();
    for source in [
        "eval(\"1\");",
        "import \"x\" as y;",
        "sleep(1);",
        "let t = timestamp();",
        "exit();",
        "parse_json(\"{}\");",
        "asign(\"bob\");",
        "_undefined();",
        "let x = y + 1;",
        "if {",
        "x::f();",
        // Closures that capture variables (DESIGN.md, "Why may a closure not capture
        // variables?"): one calling itself through the variable it captured, and the
        // fuzzer's stall, whose contended lock made rhai sleep past every limit.
        "let f = ();\nf = |n| f.call(n + 1);\nf.call(0);",
        "let v = [1, 2, 3];\nfor i in 0..20 { try { v.map(|x| v.len()); } catch {} }",
        deep_parens.as_str(),
        deep_arrays.as_str(),
        many_fns.as_str(),
    ] {
        refused_at_load("trigger", source);
    }
    // A typo is named with its line and column within the script.
    let message = refused_at_load("trigger", "let a = 1;\n  asign(\"bob\");");
    assert!(message.starts_with("config:2:3: rule r: "), "{message}");
    assert!(message.contains("asign"), "{message}");
    // Triggers only: an automation cannot ask about a step.
    refused_at_load("automation", "if changed(\"status\") { add_tag(\"x\"); }");
    refused_at_load("automation", "if created() { add_tag(\"x\"); }");
    // 16 functions load, and functions the script defines may be called.
    let sixteen: String = (0..16).map(|i| format!("fn f{i}() {{ {i} }}\n")).collect();
    desk_with("trigger", &format!("{sixteen}f3();")).unwrap();
    desk_with("trigger", "fn _helper() { 1 }\n_helper();").unwrap();
}

#[test]
fn every_load_problem_is_reported_at_once() {
    let err = Config::from_value(&json!({"rules": [
        {"name": "a", "kind": "trigger", "source": "asign(1);\nsleep(2);"},
        {"name": "b", "kind": "trigger", "source": "if {"},
        {"name": "c", "kind": "automation", "source": "add_tag(\"x\");"},
    ]}))
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ScriptCompile);
    let problems = err.problems();
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems[0].starts_with("config:1:1: rule a: "),
        "{problems:?}"
    );
    assert!(
        problems[1].starts_with("config:2:1: rule a: "),
        "{problems:?}"
    );
    assert!(problems[2].starts_with("config:1:"), "{problems:?}");
    assert!(problems[2].contains("rule b"), "{problems:?}");
}

#[test]
fn a_script_sees_the_case_and_the_step() {
    let source = r#"
        if created() { add_tag("created"); }
        if changed("priority") && previous("priority") == "low" { add_tag("was-low"); }
        if ticket.id == 1 && ticket.type == () && ticket.status == "new" && ticket.category == "new"
            && ticket.requester == "ann" && ticket.channel == "email" && !ticket.closed
            && ticket.tags.len() >= 0 && ticket.created_at == 1772442000 && now >= ticket.created_at
            && ticket.hours_since_created == (now - ticket.created_at) / 3600
            && ticket.hours_since_resolved == () && rule == "r" {
            add_tag("seen");
        }
    "#;
    let mut desk = desk_with("trigger", source).unwrap();
    desk.execute(
        t("2026-03-02T09:00:00Z"),
        &cmd(json!({"op": "create", "submitter": "ann", "channel": "email", "priority": "low"})),
    )
    .unwrap();
    assert_eq!(tags(&desk, 1), ["created", "seen"]);
    desk.execute(
        t("2026-03-02T11:30:00Z"),
        &cmd(json!({"op": "update", "case": 1, "priority": "high"})),
    )
    .unwrap();
    assert_eq!(tags(&desk, 1), ["created", "seen", "was-low"]);
}

#[test]
fn later_actions_win_and_a_rejected_action_names_its_line() {
    let mut desk = desk_with(
        "trigger",
        "set_priority(\"low\");\nset_priority(\"high\");\nadd_tag(\"x\");\nremove_tag(\"x\");\nadd_tag(\"y\");",
    )
    .unwrap();
    desk.execute(
        t("2026-03-02T09:00:00Z"),
        &cmd(json!({"op": "create", "submitter": "ann"})),
    )
    .unwrap();
    assert_eq!(field(&desk, 1, "priority"), "high");
    assert_eq!(tags(&desk, 1), ["y"]);

    // A due date on a question is refused at the line that recorded it; nothing applies.
    let mut desk = desk_with(
        "trigger",
        "add_tag(\"x\");\nset_type(\"question\");\nset_due_date(\"2026-03-10\");",
    )
    .unwrap();
    let events = desk
        .execute(
            t("2026-03-02T09:00:00Z"),
            &cmd(json!({"op": "create", "submitter": "ann"})),
        )
        .unwrap();
    let (code, _, line, column) = failure(&events).unwrap();
    assert_eq!(code, ErrorCode::ActionRejected);
    assert_eq!((line, column), (Some(3), Some(1)));
    assert!(tags(&desk, 1).is_empty());

    // close() in a trigger is refused at its line.
    let mut desk = desk_with("trigger", "add_tag(\"x\");\nclose();").unwrap();
    let events = desk
        .execute(
            t("2026-03-02T09:00:00Z"),
            &cmd(json!({"op": "create", "submitter": "ann"})),
        )
        .unwrap();
    let (code, _, line, _) = failure(&events).unwrap();
    assert_eq!((code, line), (ErrorCode::ActionRejected, Some(2)));
}

#[test]
fn recording_current_values_is_not_firing() {
    let mut desk = desk_with("trigger", "set_priority(ticket.priority);\nadd_tag(\"a\");").unwrap();
    let events = desk
        .execute(
            t("2026-03-02T09:00:00Z"),
            &cmd(json!({"op": "create", "submitter": "ann", "priority": "low", "tags": ["a"]})),
        )
        .unwrap();
    assert!(
        events
            .iter()
            .all(|e| !matches!(e.kind, EventKind::RuleFired { .. }))
    );
}

#[test]
fn print_goes_to_the_trace_bounded() {
    let mut desk = desk_with(
        "trigger",
        "print(`hello ${ticket.id}`);\ndebug(42);\nadd_tag(\"x\");",
    )
    .unwrap();
    let events = desk
        .execute(
            t("2026-03-02T09:00:00Z"),
            &cmd(json!({"op": "create", "submitter": "ann"})),
        )
        .unwrap();
    assert!(
        events
            .iter()
            .all(|e| !e.to_json().to_string().contains("hello"))
    );
    // explain returns it.
    desk.execute(
        t("2026-03-02T09:01:00Z"),
        &cmd(json!({"op": "update", "case": 1, "remove_tags": ["x"]})),
    )
    .unwrap();
    // (The trigger put `x` back after the update, so it would change nothing now.)
    let Explanation::NoChange { trace } = desk.explain(1, "r", t("2026-03-02T09:02:00Z")).unwrap()
    else {
        panic!("no change");
    };
    assert_eq!(trace, "hello 1\n2:1: 42\n");

    // Flooding is cut at 64 KiB, with a marker.
    let desk = {
        let mut d = desk_with(
            "trigger",
            "let s = \"y\";\ns.pad(1000, 'y');\nloop { print(s); }",
        )
        .unwrap();
        d.execute(
            t("2026-03-02T09:00:00Z"),
            &cmd(json!({"op": "create", "submitter": "ann"})),
        )
        .unwrap();
        d
    };
    let Explanation::WouldFail { code, trace, .. } =
        desk.explain(1, "r", t("2026-03-02T09:02:00Z")).unwrap()
    else {
        panic!("would fail");
    };
    assert_eq!(code, ErrorCode::ScriptLimit);
    assert!(
        trace.len() <= caseflow::MAX_TRACE_BYTES + 64,
        "{}",
        trace.len()
    );
    assert!(trace.ends_with("[trace cut at 64 KiB]\n"));
}

#[test]
fn ten_limit_failures_in_a_row_disable_the_rule_mid_sweep() {
    let mut desk = desk_with("automation", "if ticket.has_tag(\"spin\") { loop {} }").unwrap();
    for i in 0..15 {
        let tags = if i == 4 { json!([]) } else { json!(["spin"]) };
        desk.execute(
            t("2026-03-02T08:30:00Z"),
            &cmd(json!({"op": "create", "submitter": "ann", "tags": tags})),
        )
        .unwrap();
    }
    let events = desk.advance_to(t("2026-03-02T09:00:00Z")).unwrap();
    let failed: Vec<u64> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::RuleFailed { .. }))
        .filter_map(|e| e.case)
        .collect();
    // Cases 1-4 fail, case 5 is quiet (the run starts again), 6-15 fail: the tenth in a
    // row is case 15.
    assert_eq!(failed, (1..=4).chain(6..=15).collect::<Vec<u64>>());
    let disabled: Vec<&Event> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::RuleDisabled { .. }))
        .collect();
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].case, Some(15));
    assert_eq!(
        desk.explain(1, "r", t("2026-03-02T09:00:00Z")).unwrap(),
        Explanation::Disabled
    );
    // Later sweeps skip it.
    let events = desk.advance_to(t("2026-03-02T10:00:00Z")).unwrap();
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn a_disabled_rule_stops_in_the_middle_of_a_sweep() {
    let mut desk = desk_with("automation", "loop {}").unwrap();
    for _ in 0..12 {
        desk.execute(
            t("2026-03-02T08:30:00Z"),
            &cmd(json!({"op": "create", "submitter": "ann"})),
        )
        .unwrap();
    }
    let events = desk.advance_to(t("2026-03-02T09:00:00Z")).unwrap();
    let failed = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::RuleFailed { .. }))
        .count();
    assert_eq!(failed, 10, "cases 11 and 12 are not evaluated");
    let stats = desk.rule_stats();
    assert_eq!(stats[0].evaluations, 10);
    // Replay and a snapshot carry the disabled rule.
    let restored = Desk::restore(&desk.snapshot()).unwrap();
    assert_eq!(restored, desk);
}

#[test]
fn limits_are_configurable_within_bounds() {
    let config = Config::from_value(&json!({
        "limits": {"max_operations": 50},
        "rules": [{"name": "r", "kind": "trigger", "source": "let x = 0;\nfor i in 0..100 { x += i; }\nadd_tag(\"x\");"}]
    }))
    .unwrap();
    assert_eq!(config.limits().max_operations(), 50);
    let mut desk = Desk::new(config, t("2026-03-02T08:00:00Z"));
    let events = desk
        .execute(
            t("2026-03-02T09:00:00Z"),
            &cmd(json!({"op": "create", "submitter": "ann"})),
        )
        .unwrap();
    assert_eq!(failure(&events).unwrap().0, ErrorCode::ScriptLimit);
    // The snapshot keeps the limits.
    let restored = Desk::restore(&desk.snapshot()).unwrap();
    assert_eq!(restored.config().limits().max_operations(), 50);
    for bad in [
        json!({"max_operations": 0}),
        json!({"max_operations": 1_000_001}),
        json!({"max_call_depth": 65}),
        json!({"max_expr_depth": 0}),
        json!({"colour": 1}),
        json!({"max_string_size": "big"}),
    ] {
        let err = Config::from_value(&json!({ "limits": bad })).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidConfig, "{bad}");
        assert!(err.message().contains("limits: "), "{err}");
    }
}

#[test]
fn script_files_load_beside_the_configuration() {
    let dir = std::env::temp_dir().join(format!("caseflow-scripts-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(dir.join("rules/tag.rhai"), "add_tag(\"from-file\");").unwrap();
    std::fs::write(dir.join("rules/bad.rhai"), "\n  asign(1);").unwrap();
    let config_path = dir.join("account.toml");
    std::fs::write(
        &config_path,
        "[[rules]]\nname = \"tag\"\nkind = \"trigger\"\nscript = \"rules/tag.rhai\"\n",
    )
    .unwrap();
    let config = Config::from_file(&config_path).unwrap();
    let mut desk = Desk::new(config, t("2026-03-02T08:00:00Z"));
    desk.execute(
        t("2026-03-02T09:00:00Z"),
        &cmd(json!({"op": "create", "submitter": "ann"})),
    )
    .unwrap();
    assert_eq!(tags(&desk, 1), ["from-file"]);
    // Replay rebuilds the rule from the text the configuration carries.
    let value = desk.config().to_value();
    assert_eq!(value["rules"][0]["source"], "add_tag(\"from-file\");");
    // A script's problem names the script file; a missing file names the file.
    std::fs::write(
        &config_path,
        "[[rules]]\nname = \"bad\"\nkind = \"trigger\"\nscript = \"rules/bad.rhai\"\n\
         [[rules]]\nname = \"gone\"\nkind = \"trigger\"\nscript = \"rules/gone.rhai\"\n",
    )
    .unwrap();
    let err = Config::from_file(&config_path).unwrap_err();
    assert!(
        err.problems()
            .iter()
            .any(|p| p.starts_with("rules/bad.rhai:2:3: rule bad: ")),
        "{err}"
    );
    assert!(err.message().contains("gone.rhai"), "{err}");
    // An inline script's problem names the configuration file.
    std::fs::write(
        &config_path,
        "[[rules]]\nname = \"inline\"\nkind = \"trigger\"\nsource = \"asign(1);\"\n",
    )
    .unwrap();
    let err = Config::from_file(&config_path).unwrap_err();
    assert!(
        err.message()
            .starts_with(&format!("{}:1:1: rule inline: ", config_path.display())),
        "{err}"
    );
    // A configuration given as text has no files to read.
    let err = Config::from_value(
        &json!({"rules": [{"name": "f", "kind": "trigger", "script": "f.rhai"}]}),
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig);
    assert!(
        err.message().contains("f.rhai") && err.message().contains("source"),
        "{err}"
    );
    // A host's loader: scripts from anywhere.
    struct Db;
    impl caseflow::ScriptLoader for Db {
        fn load(&self, path: &str) -> Result<String, String> {
            match path {
                "db:1" => Ok("add_tag(\"db\");".to_owned()),
                _ => Err(format!("no script {path}")),
            }
        }
    }
    let config = Config::from_toml_with(
        "[[rules]]\nname = \"x\"\nkind = \"trigger\"\nscript = \"db:1\"\n",
        &Db,
    )
    .unwrap();
    assert_eq!(config.rules().len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// At the upper bounds of the depth limits, the deepest recursion and the deepest
/// expression still end as `script_limit` on a small stack (the bounds are what DESIGN.md's
/// stack figure is measured with).
fn deepest_limits() {
    let config = |source: &str| {
        Config::from_value(&json!({
            "limits": {"max_call_depth": 64, "max_expr_depth": 128, "max_operations": 1_000_000},
            "rules": [{"name": "r", "kind": "trigger", "source": source}]
        }))
    };
    let nested = |depth: usize| format!("let x = {}1{};", "(".repeat(depth), ")".repeat(depth));
    // Parentheses 60 deep load under an expression depth of 128; 200 deep do not.
    assert!(config(&nested(60)).is_ok());
    assert_eq!(
        config(&nested(200)).unwrap_err().code(),
        ErrorCode::ScriptCompile
    );
    for source in [
        "fn f(x) { f(x + 1) }
f(0);"
            .to_owned(),
        "let f = |g, n| g.call(g, n + 1);
f.call(f, 0);"
            .to_owned(),
        format!(
            "fn f(x) {{ {} f(x + 1) }}
f(0);",
            nested(40)
        ),
    ] {
        let mut desk = Desk::new(config(&source).unwrap(), t("2026-03-02T08:00:00Z"));
        let events = desk
            .execute(
                t("2026-03-02T09:00:00Z"),
                &cmd(json!({"op": "create", "submitter": "ann"})),
            )
            .unwrap();
        assert_eq!(
            failure(&events).unwrap().0,
            ErrorCode::ScriptLimit,
            "{source}"
        );
    }
}

#[test]
fn the_deepest_limits_hit_limits() {
    deepest_limits();
}

/// The hostile suite on a thread with a small stack: the call and expression depth limits
/// keep the native stack in bounds (DESIGN.md, "What thread stack do scripts need?").
#[test]
fn the_hostile_suite_runs_on_a_small_stack() {
    std::thread::Builder::new()
        .stack_size(SMALL_STACK)
        .spawn(|| {
            hostile_loops_and_recursion_hit_limits();
            hostile_growth_hits_size_limits();
            hostile_sources_are_refused_at_load();
            deepest_limits();
        })
        .unwrap()
        .join()
        .unwrap();
}

/// The stack the hostile suite is run on: DESIGN.md, "What thread stack do scripts need?"
const SMALL_STACK: usize = 512 * 1024;

/// One evaluation's copy of the case is refilled for the next (DESIGN.md, "How does a
/// script see the case?"): every evaluation sees its own case, never a leftover of the
/// one before, however their subjects and tags differ.
#[test]
fn each_evaluation_sees_its_own_case() {
    let mut desk = desk_with(
        "automation",
        "notify(\"t\", `${ticket.id} ${ticket.subject} ${ticket.tags} ${ticket.priority} ${ticket.assignee}`);",
    )
    .unwrap();
    let cases = [
        json!({"op": "create", "submitter": "a", "subject": "a long subject line", "tags": ["x", "y", "z"], "priority": "high", "assignee": "bob"}),
        json!({"op": "create", "submitter": "b"}),
        json!({"op": "create", "submitter": "c", "subject": "s", "tags": ["q"]}),
    ];
    for c in cases {
        desk.execute(t("2026-03-02T08:30:00Z"), &cmd(c)).unwrap();
    }
    let events = desk.advance_to(t("2026-03-02T09:00:00Z")).unwrap();
    let messages: Vec<String> = events
        .iter()
        .filter(|e| e.kind.name() == "notification")
        .map(|e| e.to_json()["message"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        messages,
        [
            "1 a long subject line [\"x\", \"y\", \"z\"] high bob",
            "2  []  ",
            "3 s [\"q\"]  ",
        ]
    );
}

/// The documented defaults and upper bounds of `limits` (docs/rules.md, Limits).
#[test]
fn limits_have_their_documented_defaults_and_bounds() {
    let limits = caseflow::Limits::default();
    assert_eq!(
        (
            limits.max_operations(),
            limits.max_call_depth(),
            limits.max_expr_depth(),
            limits.max_string_size(),
            limits.max_array_size(),
            limits.max_map_size(),
            limits.max_functions()
        ),
        (10_000, 32, 64, 16_384, 1_024, 256, 16)
    );
    assert_eq!(caseflow::MAX_TRACE_BYTES, 65_536);
    assert_eq!(caseflow::MAX_ACTIONS, 256);
    let highest = json!({"max_operations": 1_000_000, "max_call_depth": 64,
        "max_expr_depth": 128, "max_string_size": 1_048_576, "max_array_size": 65_536,
        "max_map_size": 65_536, "max_functions": 256});
    let config = Config::from_value(&json!({ "limits": highest })).unwrap();
    let l = config.limits();
    assert_eq!(
        (
            l.max_operations(),
            l.max_call_depth(),
            l.max_expr_depth(),
            l.max_string_size(),
            l.max_array_size(),
            l.max_map_size(),
            l.max_functions()
        ),
        (1_000_000, 64, 128, 1_048_576, 65_536, 65_536, 256)
    );
    assert_eq!(config.to_value()["limits"], highest);
    for (key, over) in highest.as_object().unwrap() {
        let over = over.as_u64().unwrap() + 1;
        let err = Config::from_value(&json!({ "limits": { key.as_str(): over } })).unwrap_err();
        assert!(err.message().contains(key.as_str()), "{err}");
    }
    // A rule set with scripts shows its engine in debug output, not its internals.
    let config =
        Config::from_value(&json!({"rules": [{"name": "r", "kind": "trigger", "source": "1"}]}))
            .unwrap();
    assert!(format!("{:?}", config.rules()).contains("Sandbox"));
}

/// A trace cut at 64 KiB in the middle of a character cuts before it.
#[test]
fn a_trace_is_cut_on_a_character_boundary() {
    let desk = {
        let mut d = desk_with(
            "trigger",
            "let s = \"é\";\ns.pad(3000, 'é');\nloop { print(`a${s}`); }",
        )
        .unwrap();
        d.execute(
            t("2026-03-02T09:00:00Z"),
            &cmd(json!({"op": "create", "submitter": "ann"})),
        )
        .unwrap();
        d
    };
    let Explanation::WouldFail { trace, .. } =
        desk.explain(1, "r", t("2026-03-02T09:02:00Z")).unwrap()
    else {
        panic!("would fail");
    };
    assert!(trace.ends_with("\n[trace cut at 64 KiB]\n"));
    let kept = trace.len() - "\n[trace cut at 64 KiB]\n".len();
    assert!(
        (caseflow::MAX_TRACE_BYTES - 1..=caseflow::MAX_TRACE_BYTES).contains(&kept),
        "{kept}"
    );
}

/// Two rule sets are equal when their scripts' texts are.
#[test]
fn rule_sets_compare_by_their_scripts() {
    let with = |source: &str| {
        Config::from_value(&json!({"rules": [{"name": "r", "kind": "trigger", "source": source}]}))
            .unwrap()
    };
    assert_eq!(with("add_tag(\"a\");"), with("add_tag(\"a\");"));
    assert_ne!(with("add_tag(\"a\");"), with("add_tag(\"b\");"));
}

// ----- found by the fuzzer (tests/fuzz_scripts.rs) ----------------------------------------

/// `assign("")` was recorded and applied, so the case held an empty assignee that no
/// command can give, and the desk's snapshot no longer restored. An agent or group id
/// from a script is checked as a command's is.
#[test]
fn fuzz_found_empty_agent_and_group_ids_are_refused() {
    let long = format!("assign(\"{}\");", "b".repeat(129));
    for source in ["assign(\"\");", "set_group(\"\");", long.as_str()] {
        let message = fails_as_trigger(source, ErrorCode::ScriptRuntime);
        assert!(message.contains("must be 1 to 128 characters"), "{message}");
    }
    let mut desk = desk_with("trigger", "assign(\"\");").unwrap();
    desk.execute(
        t("2026-03-02T09:00:00Z"),
        &cmd(json!({"op": "create", "submitter": "ann"})),
    )
    .unwrap();
    assert_eq!(Desk::restore(&desk.snapshot()).unwrap(), desk);
}

/// `throw;` gave a `rule_failed` with an empty message. A throw of nothing is rhai's
/// "Runtime error".
#[test]
fn fuzz_found_a_throw_of_nothing_has_a_message() {
    for source in ["throw;", "throw ();", "throw \"\";", "throw [].chop(0);"] {
        let message = fails_as_trigger(source, ErrorCode::ScriptRuntime);
        assert_eq!(message, "Runtime error", "{source}");
    }
}

/// A rule that closes a case and notifies emits `closed`, then `notification`: replay
/// takes that log back (the fuzzer found it refused).
#[test]
fn fuzz_found_replay_takes_a_notification_after_a_rule_closed_the_case() {
    let config = Config::from_value(&json!({"rules": [{"name": "r", "kind": "automation",
        "source": "set_status(\"resolved\");\nclose();\nnotify(\"leads\", \"m\");"}]}))
    .unwrap();
    let start = t("2026-03-02T08:00:00Z");
    let mut desk = Desk::new(config.clone(), start);
    let mut events = desk
        .execute(
            t("2026-03-02T08:30:00Z"),
            &cmd(json!({"op": "create", "submitter": "ann", "assignee": "bob"})),
        )
        .unwrap();
    events.extend(desk.advance_to(t("2026-03-02T09:00:00Z")).unwrap());
    let names: Vec<&str> = events.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        names,
        [
            "created",
            "rule_fired",
            "status_changed",
            "closed",
            "notification"
        ]
    );
    let mut replayed = Desk::replay(config.clone(), start, &events).unwrap();
    replayed.advance_to(desk.now()).unwrap();
    assert_eq!(replayed, desk);
    // A notification on a case closed in an earlier step still does not fit.
    let mut late = events.clone();
    let mut stray = events[4].clone();
    stray.at = t("2026-03-02T09:30:00Z");
    stray.seq += 1;
    late.push(stray);
    let err = Desk::replay(config, start, &late).unwrap_err();
    assert!(err.message().contains("it is closed"), "{err}");
}

/// `explain` takes the case as it is for the start of the step: to a script that compares
/// with it, nothing has changed and `previous` is the value now.
#[test]
fn explain_sees_the_case_as_the_start_of_its_step() {
    let mut desk = desk_with(
        "trigger",
        "if previous(\"priority\") == ticket.priority && !changed(\"priority\") { add_tag(\"same\"); }",
    )
    .unwrap();
    desk.execute(
        t("2026-03-02T09:00:00Z"),
        &cmd(json!({"op": "create", "submitter": "ann", "priority": "high"})),
    )
    .unwrap();
    // The trigger ran on the creation, when `previous` had nothing to give.
    assert!(tags(&desk, 1).is_empty());
    let verdict = desk.explain(1, "r", t("2026-03-02T09:01:00Z")).unwrap();
    assert!(
        matches!(verdict, Explanation::WouldFire { .. }),
        "{verdict:?}"
    );
}

/// A trigger's firing ends its run of limit failures, and replay rebuilds that from the
/// `rule_fired` event: the replayed desk equals the desk.
#[test]
fn replay_ends_a_run_of_limit_failures_at_a_firing() {
    let start = t("2026-03-02T08:00:00Z");
    let config = Config::from_value(&json!({
        "rules": [{"name": "r", "kind": "trigger",
                   "source": "if ticket.priority == \"low\" { loop {} }\nadd_tag(\"seen\");"}]
    }))
    .unwrap();
    let mut desk = Desk::new(config.clone(), start);
    let mut log = desk
        .execute(
            t("2026-03-02T09:00:00Z"),
            &cmd(json!({"op": "create", "submitter": "ann", "priority": "low"})),
        )
        .unwrap();
    assert_eq!(failure(&log).map(|f| f.0), Some(ErrorCode::ScriptLimit));
    log.extend(
        desk.execute(
            t("2026-03-02T09:01:00Z"),
            &cmd(json!({"op": "update", "case": 1, "priority": "high"})),
        )
        .unwrap(),
    );
    assert_eq!(tags(&desk, 1), ["seen"]);
    let replayed = Desk::replay(config, start, &log).unwrap();
    assert!(replayed == desk, "{}", replayed.snapshot());
}

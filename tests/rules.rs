//! Automation rules (DOMAIN.md section 7; see tests/lib.rs): properties over random
//! workloads run with a pack of triggers and automations, and the rules' state across
//! replay, snapshots and replacement.

use std::collections::BTreeMap;

use caseflow::{Config, Desk, ErrorCode, Event, EventKind, Explanation, Instant, RuleKind};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::properties::{Trace, ops, restore_and_continue, setup, simulate_config, start};

/// Rules an administrator might write, that fire often on the random workloads: triggers
/// that restart each other, notify, react to creation, reopening and overdue tasks, and
/// automations on hour bounds, one that closes, and two that undo each other (so the
/// 100-firing cap is reached on long runs).
pub(crate) fn rule_pack() -> Value {
    json!([
        {"name": "vip-urgent", "kind": "trigger",
         "when": {"tags_any": ["vip"], "priority": ["none", "low", "normal"]},
         "then": {"set_priority": "urgent",
                  "notify": {"target": "leads", "message": "case {id} ({tags}) is urgent"}}},
        {"name": "mark-urgent", "kind": "trigger",
         "when": {"priority": ["urgent"], "tags_none": ["escalated"]},
         "then": {"add_tags": ["escalated"]}},
        {"name": "reopened", "kind": "trigger", "when": {"changed": ["reopens"]},
         "then": {"notify": {"target": "agents", "message": "case {id} reopened ({reopens})"}}},
        {"name": "new-task", "kind": "trigger", "when": {"created": true, "type": ["task"]},
         "then": {"add_tags": ["todo"]}},
        {"name": "overdue-urgent", "kind": "trigger",
         "when": {"overdue": true, "priority": ["none", "low", "normal", "high"]},
         "then": {"set_priority": "urgent"}},
        {"name": "stale-new", "kind": "automation",
         "when": {"category": ["new"], "hours_since_created": {"gte": 2}, "tags_none": ["stale"]},
         "then": {"add_tags": ["stale"]}},
        {"name": "auto-assign", "kind": "automation",
         "when": {"category": ["new"], "hours_since_created": {"gte": 5}},
         "then": {"assign": "bob"}},
        {"name": "close-resolved", "kind": "automation",
         "when": {"category": ["resolved"], "hours_since_resolved": {"gte": 30}},
         "then": {"close": true}},
        {"name": "flip", "kind": "automation", "when": {"tags_any": ["flip"]},
         "then": {"remove_tags": ["flip"]}},
        {"name": "flop", "kind": "automation",
         "when": {"tags_none": ["flip"], "category": ["pending", "on_hold"]},
         "then": {"add_tags": ["flip"]}},
        {"name": "script-trigger", "kind": "trigger",
         "source": "if changed(\"status\") && previous(\"category\") == \"pending\" {\n  add_tag(`from-${previous(\"status\")}`);\n  notify(\"agents\", `case ${ticket.id} left pending`);\n}\nif ticket.id % 5 == 0 && ticket.priority == () { set_priority(\"low\"); }"},
        {"name": "script-throws", "kind": "trigger",
         "source": "if ticket.id % 7 == 3 && ticket.tags.len() > 1 { throw `case ${ticket.id} has tags`; }"},
        {"name": "script-automation", "kind": "automation", "when": {"category": ["open", "pending"]},
         "source": "if ticket.hours_since_updated >= 3 && !ticket.has_tag(\"nudged\") {\n  add_tag(\"nudged\");\n  if ticket.assignee == () { set_group(\"triage\"); }\n}"}
    ])
}

/// Rules that always fail: two whose actions the lifecycle refuses (a due date on a
/// question), and two scripts that record actions, then throw.
fn failing_rules() -> [Value; 4] {
    let then = json!({"set_type": "question", "set_due_date": "2026-03-10"});
    let source = "add_tag(\"broken\");\nset_priority(\"urgent\");\nthrow \"broken\";";
    [
        json!({"name": "broken-trigger", "kind": "trigger", "then": then}),
        json!({"name": "broken-automation", "kind": "automation", "then": then}),
        json!({"name": "broken-script-trigger", "kind": "trigger", "source": source}),
        json!({"name": "broken-script-automation", "kind": "automation", "source": source}),
    ]
}

fn with_rules(mut config: Value, rules: Value) -> Config {
    config["rules"] = rules;
    Config::from_value(&config).unwrap()
}

/// `prop_assert!`, with the commands the trace ran appended to the message.
macro_rules! check {
    ($trace:expr, $cond:expr, $($msg:tt)+) => {
        prop_assert!($cond, "{}\n{}", format!($($msg)+), $trace.log)
    };
}

fn all_events(trace: &Trace) -> Vec<Event> {
    trace
        .steps
        .iter()
        .flat_map(|s| s.events().iter().cloned())
        .collect()
}

/// An event as JSON without its `seq`.
fn unsequenced(e: &Event) -> Value {
    let mut v = e.to_json();
    v.as_object_mut().map(|m| m.remove("seq"));
    v
}

proptest! {
    /// Replaying every event of a desk with rules (through JSON) rebuilds an equal desk,
    /// its rules' state included.
    #[test]
    fn replay_rebuilds_a_desk_with_rules(setup in setup(), ops in ops()) {
        let config = with_rules(setup.value(), rule_pack());
        let trace = simulate_config(config.clone(), &ops);
        let events: Vec<Event> = all_events(&trace)
            .iter()
            .map(|e| serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap())
            .collect();
        let replayed = Desk::replay(config, start(), &events);
        check!(trace, replayed.is_ok(), "replay: {replayed:?}");
        let mut replayed = replayed.unwrap();
        replayed.advance_to(trace.desk.now()).unwrap();
        check!(trace, replayed == trace.desk, "replayed desk differs");
    }

    /// A rule that fails changes nothing: the same workload with two always-failing rules
    /// added gives the same events but their `rule_failed`, and the same cases.
    #[test]
    fn a_failing_rule_changes_nothing(setup in setup(), ops in ops(), at in 0usize..=10) {
        let plain = simulate_config(with_rules(setup.value(), rule_pack()), &ops);
        let mut rules = rule_pack().as_array().unwrap().clone();
        let [trigger, automation, script_trigger, script_automation] = failing_rules();
        rules.insert(at.min(rules.len()), trigger);
        rules.insert((at * 7 % 11).min(rules.len()), automation);
        rules.insert((at * 3 % 13).min(rules.len()), script_trigger);
        rules.insert((at * 5 % 14).min(rules.len()), script_automation);
        let failing = simulate_config(with_rules(setup.value(), Value::from(rules)), &ops);
        let kept: Vec<Value> = all_events(&failing)
            .iter()
            .filter(|e| !matches!(&e.kind, EventKind::RuleFailed { rule, .. } if rule.starts_with("broken-")))
            .map(unsequenced)
            .collect();
        let want: Vec<Value> = all_events(&plain).iter().map(unsequenced).collect();
        check!(plain, kept == want, "events differ with failing rules");
        let views = |d: &Desk| d.cases().map(|c| c.to_json()).collect::<Vec<_>>();
        check!(plain, views(&plain.desk) == views(&failing.desk), "cases differ with failing rules");
    }

    /// Within a command's own step, each trigger fires at most once on each case, so a
    /// trigger pass ends within N+1 rounds for N triggers.
    #[test]
    fn each_trigger_fires_once_per_step(setup in setup(), ops in ops()) {
        let config = with_rules(setup.value(), rule_pack());
        let trace = simulate_config(config, &ops);
        for (n, step) in trace.steps.iter().enumerate() {
            let Ok(events) = &step.result else { continue };
            let advanced = step.before.clone().advance_to(step.at).unwrap().len();
            // The command's step ends where a deadline's step (an overdue task, an
            // auto-close) begins.
            let own = events[advanced..].iter().take_while(|e| !matches!(e.kind,
                EventKind::TaskOverdue { .. } | EventKind::Closed { .. }));
            let mut fired: BTreeMap<(u64, String), usize> = BTreeMap::new();
            for e in own {
                if let EventKind::RuleFired { rule, kind: RuleKind::Trigger } = &e.kind {
                    *fired.entry((e.case.unwrap(), rule.to_string())).or_default() += 1;
                }
            }
            check!(trace, fired.values().all(|k| *k == 1), "step {n}: {fired:?}");
        }
    }

    /// A snapshot of a desk with rules restores its rules and their state, and the restored
    /// desk behaves the same.
    #[test]
    fn a_restored_desk_with_rules_behaves_the_same(setup in setup(), ops in ops(), cut in 0usize..60) {
        let (mut original, mut restored) =
            restore_and_continue(with_rules(setup.value(), rule_pack()), &ops, cut)?;
        let later = original.now().plus_seconds(5 * 86_400);
        prop_assert_eq!(original.advance_to(later), restored.advance_to(later), "advancing differs");
        prop_assert!(restored == original, "the desks differ after advancing");
    }
}

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

fn run(desk: &mut Desk, at: &str, cmd: Value) -> Vec<Event> {
    desk.execute_json(t(at), &cmd)
        .unwrap_or_else(|r| panic!("{cmd}: {}", r.error))
}

fn flip_flop() -> Config {
    Config::from_value(&json!({"rules": [
        {"name": "flip", "kind": "automation", "when": {"tags_any": ["flip"]},
         "then": {"remove_tags": ["flip"]}},
        {"name": "flop", "kind": "automation", "when": {"tags_none": ["flip"]},
         "then": {"add_tags": ["flip"]}}
    ]}))
    .unwrap()
}

#[test]
fn the_firing_cap_survives_replay_and_restore_and_resets_with_new_rules() {
    let mut desk = Desk::new(flip_flop(), t("2026-03-02T08:30:00Z"));
    let mut log = run(
        &mut desk,
        "2026-03-02T08:30:00Z",
        json!({"op": "create", "id": 1, "submitter": "r"}),
    );
    // Sweeps every hour: flop, flip, flop, ... each fires on one sweep in two.
    log.extend(desk.advance_to(t("2026-03-10T12:00:00Z")).unwrap());
    let fired = |log: &[Event], name: &str| {
        log.iter()
            .filter(|e| matches!(&e.kind, EventKind::RuleFired { rule, .. } if &**rule == name))
            .count()
    };
    assert_eq!(fired(&log, "flop"), 100);
    assert_eq!(fired(&log, "flip"), 100);
    let capped: Vec<&Event> = log
        .iter()
        .filter(|e| {
            matches!(
                &e.kind,
                EventKind::RuleFailed {
                    code: ErrorCode::LimitExceeded,
                    ..
                }
            )
        })
        .collect();
    assert!(!capped.is_empty());
    assert_eq!(capped[0].to_json()["rule"], "flop");
    assert_eq!(capped[0].to_json()["line"], Value::Null);

    let replayed = Desk::replay(flip_flop(), t("2026-03-02T08:30:00Z"), &log).unwrap();
    assert_eq!(replayed, desk);
    let mut restored = Desk::restore(&desk.snapshot()).unwrap();
    assert_eq!(restored, desk);
    // Still capped after a restore: the next sweep fails again.
    let next = restored.advance_to(t("2026-03-10T14:00:00Z")).unwrap();
    assert!(
        next.iter().all(|e| e.kind.name() == "rule_failed"),
        "{next:?}"
    );
    assert_eq!(next.len(), 2);

    // New rules start afresh, from the step that replaced them, recorded in the log.
    let replaced = restored
        .replace_rules(
            t("2026-03-10T14:30:00Z"),
            &json!(
                flip_flop()
                    .rules()
                    .iter()
                    .map(|r| r.declared().clone())
                    .collect::<Vec<_>>()
            ),
        )
        .unwrap();
    assert_eq!(replaced.last().unwrap().kind.name(), "rules_replaced");
    let after = restored.advance_to(t("2026-03-10T15:00:00Z")).unwrap();
    assert_eq!(
        fired(&after, "flop") + fired(&after, "flip"),
        1,
        "{after:?}"
    );
    let mut full = log.clone();
    full.extend(next);
    full.extend(replaced);
    full.extend(after);
    let replayed = Desk::replay(flip_flop(), t("2026-03-02T08:30:00Z"), &full).unwrap();
    assert_eq!(replayed, restored);
}

#[test]
fn replacing_rules_with_bad_declarations_changes_nothing() {
    let mut desk = Desk::new(flip_flop(), t("2026-03-02T08:30:00Z"));
    run(
        &mut desk,
        "2026-03-02T08:30:00Z",
        json!({"op": "create", "id": 1, "submitter": "r"}),
    );
    let before = desk.clone();
    let bad = json!([{"name": "x", "kind": "trigger", "then": {"close": true}}]);
    let err = desk
        .replace_rules(t("2026-03-02T08:40:00Z"), &bad)
        .unwrap_err();
    assert_eq!(err.error.code(), ErrorCode::InvalidConfig);
    assert!(
        err.error.message().contains("rules: x: then: close"),
        "{}",
        err.error
    );
    let mut advanced = before.clone();
    advanced.advance_to(t("2026-03-02T08:40:00Z")).unwrap();
    assert_eq!(desk, advanced);
}

#[test]
fn explain_names_the_failing_guard_key_or_what_the_rule_would_do() {
    let config = Config::from_value(&json!({"rules": [
        {"name": "escalate", "kind": "automation",
         "when": {"category": ["new"], "priority": ["urgent"], "hours_since_created": {"gte": 1}},
         "then": {"set_group": "tier2", "add_tags": ["escalated"],
                  "notify": {"target": "tier2-leads", "message": "case {id} is urgent"}}},
        {"name": "bad-due", "kind": "trigger", "then": {"set_due_date": "2026-03-10"}}
    ]}))
    .unwrap();
    let mut desk = Desk::new(config, t("2026-03-02T08:30:00Z"));
    run(
        &mut desk,
        "2026-03-02T08:30:00Z",
        json!({"op": "create", "id": 1, "submitter": "r", "priority": "high"}),
    );
    let explain = |desk: &Desk, at: &str| desk.explain(1, "escalate", t(at)).unwrap();
    assert_eq!(
        explain(&desk, "2026-03-02T09:00:00Z"),
        Explanation::GuardFails {
            key: "priority".into(),
            value: json!("high")
        }
    );
    run(
        &mut desk,
        "2026-03-02T08:40:00Z",
        json!({"op": "update", "case": 1, "priority": "urgent"}),
    );
    assert_eq!(
        explain(&desk, "2026-03-02T09:29:59Z"),
        Explanation::GuardFails {
            key: "hours_since_created".into(),
            value: json!(0)
        }
    );
    let Explanation::WouldFire { events, .. } = explain(&desk, "2026-03-02T09:30:00Z") else {
        panic!("would not fire")
    };
    let names: Vec<&str> = events.iter().map(EventKind::name).collect();
    assert_eq!(
        names,
        [
            "rule_fired",
            "group_changed",
            "tags_changed",
            "notification"
        ]
    );
    assert_eq!(
        desk.explain(1, "bad-due", t("2026-03-02T09:30:00Z"))
            .unwrap(),
        Explanation::WouldFail {
            code: ErrorCode::ActionRejected,
            message: "only tasks carry a due date".into(),
            line: None,
            column: None,
            trace: String::new(),
        }
    );
    assert_eq!(
        desk.explain(1, "nope", t("2026-03-02T09:30:00Z"))
            .unwrap_err()
            .code(),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        desk.explain(9, "escalate", t("2026-03-02T09:30:00Z"))
            .unwrap_err()
            .code(),
        ErrorCode::CaseNotFound
    );

    // A dry run shows the sweep's events and changes nothing.
    let before = desk.clone();
    let events = desk
        .dry_run(t("2026-03-02T10:00:00Z"), &caseflow::Command::Advance {})
        .unwrap();
    assert!(events.iter().any(|e| e.kind.name() == "notification"));
    assert_eq!(desk, before);
    assert_eq!(desk.case(1).unwrap().group(), None);

    // Statistics: the automation fired once at the 10:00 sweep; the trigger failed after
    // the create, the update and the automation's update.
    desk.advance_to(t("2026-03-02T10:00:00Z")).unwrap();
    let stats = desk.rule_stats();
    assert_eq!(
        (stats[0].evaluations, stats[0].firings, stats[0].failures),
        (1, 1, 0)
    );
    assert_eq!(
        (stats[1].evaluations, stats[1].firings, stats[1].failures),
        (3, 0, 3)
    );
}

#[test]
fn a_snapshot_and_the_events_after_it_recover_the_desk() {
    let mut desk = Desk::new(flip_flop(), t("2026-03-02T08:30:00Z"));
    run(
        &mut desk,
        "2026-03-02T08:30:00Z",
        json!({"op": "create", "id": 1, "submitter": "r", "assignee": "bob"}),
    );
    desk.advance_to(t("2026-03-02T12:00:00Z")).unwrap();
    let snapshot = desk.snapshot();
    let mut later = run(
        &mut desk,
        "2026-03-02T12:30:00Z",
        json!({"op": "update", "case": 1, "status": "resolved"}),
    );
    later.extend(desk.advance_to(t("2026-03-03T09:00:00Z")).unwrap());
    let mut recovered = Desk::restore(&snapshot).unwrap();
    recovered.apply_events(&later).unwrap();
    recovered.advance_to(desk.now()).unwrap();
    assert_eq!(recovered, desk);
    // The same events again are refused: their seq is behind the desk's.
    let err = recovered.apply_events(&later).unwrap_err();
    assert!(err.message().contains("follows seq"), "{}", err.message());
}

/// A rule naming a status that a `configure` deletes later still loads: the desk exports its
/// configuration, snapshots and restores, and the rule's action is refused when it runs.
#[test]
fn a_rule_naming_a_deleted_status_survives_export_and_restore() {
    let config = Config::from_value(&json!({
        "statuses": [{"id": "waiting", "category": "pending", "label": "Waiting"}],
        "rules": [{"name": "park", "kind": "trigger", "when": {"tags_any": ["park"]},
                   "then": {"set_status": "waiting"}}]
    }))
    .unwrap();
    let mut desk = Desk::new(config, t("2026-03-02T08:00:00Z"));
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "configure", "delete_status": {"id": "waiting"}}),
    );
    let restored = Desk::restore(&desk.snapshot()).unwrap();
    assert_eq!(restored, desk);
    assert_eq!(
        Config::from_value(&desk.config().to_value()).unwrap(),
        *desk.config()
    );
    let events = run(
        &mut desk,
        "2026-03-02T10:00:00Z",
        json!({"op": "create", "id": 1,
        "submitter": "r", "assignee": "bob", "tags": ["park"]}),
    );
    let failed = events
        .iter()
        .find(|e| e.kind.name() == "rule_failed")
        .unwrap();
    assert_eq!(failed.to_json()["code"], "action_rejected");
    assert_eq!(desk.case(1).unwrap().status(), "open");
}

/// Sweeps are scheduled only while an enabled automation exists; triggers alone, or a
/// disabled automation, leave nothing to wait for.
#[test]
fn sweeps_wait_only_for_enabled_automations() {
    let trigger = json!({"name": "t", "kind": "trigger", "then": {"add_tags": ["x"]}});
    let idle =
        json!({"name": "a", "kind": "automation", "enabled": false, "then": {"add_tags": ["y"]}});
    let active = json!({"name": "b", "kind": "automation", "then": {"add_tags": ["z"]}});
    let desk = |rules: Value| {
        let config = Config::from_value(&json!({"rules": rules})).unwrap();
        assert_eq!(config.rules().len(), rules.as_array().unwrap().len());
        Desk::new(config, t("2026-03-02T08:30:00Z"))
    };
    assert_eq!(desk(json!([trigger.clone()])).next_deadline(), None);
    assert_eq!(
        desk(json!([trigger.clone(), idle.clone()])).next_deadline(),
        None
    );
    assert_eq!(
        desk(json!([trigger, idle, active])).next_deadline(),
        Some(t("2026-03-02T09:00:00Z"))
    );
    assert!(Config::default().rules().is_empty());
}

/// Braces that do not hold a field name are text in a message.
#[test]
fn braces_that_name_no_field_are_text() {
    let config = Config::from_value(&json!({"rules": [{"name": "n", "kind": "trigger",
        "then": {"notify": {"target": "t", "message": "a {} b {id c {id} {Id} {"}}}]}))
    .unwrap();
    let mut desk = Desk::new(config, t("2026-03-02T08:30:00Z"));
    let events = run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "create", "id": 4, "submitter": "r"}),
    );
    let note = events
        .iter()
        .find(|e| e.kind.name() == "notification")
        .unwrap();
    assert_eq!(note.to_json()["message"], "a {} b {id c 4 {Id} {");
    let bad = Config::from_value(&json!({"rules": [{"name": "n", "kind": "trigger",
        "then": {"notify": {"target": "t", "message": "{colour}"}}}]}))
    .unwrap_err();
    assert!(
        bad.message().contains("`{colour}` names no field"),
        "{}",
        bad.message()
    );
}

/// A disabled rule is explained as such, whatever its guard.
#[test]
fn explain_says_a_rule_is_disabled() {
    let config = Config::from_value(&json!({"rules": [{"name": "off", "kind": "automation",
        "enabled": false, "when": {"priority": ["urgent"]}, "then": {"add_tags": ["x"]}}]}))
    .unwrap();
    let mut desk = Desk::new(config, t("2026-03-02T08:30:00Z"));
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "create", "id": 1, "submitter": "r"}),
    );
    assert_eq!(
        desk.explain(1, "off", t("2026-03-02T10:00:00Z")).unwrap(),
        Explanation::Disabled
    );
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "delete", "case": 1}),
    );
    let config = Config::from_value(&json!({"rules": [{"name": "on", "kind": "automation",
        "then": {"add_tags": ["x"]}}]}))
    .unwrap();
    let mut other = Desk::new(config, t("2026-03-02T08:30:00Z"));
    run(
        &mut other,
        "2026-03-02T09:00:00Z",
        json!({"op": "create", "id": 1, "submitter": "r"}),
    );
    run(
        &mut other,
        "2026-03-02T09:00:00Z",
        json!({"op": "delete", "case": 1}),
    );
    assert_eq!(
        other.explain(1, "on", t("2026-03-02T09:00:00Z")).unwrap(),
        Explanation::NotEligible
    );
}

/// A step keeps, of the case as it was at its start, what the triggers' `changed` guards
/// name: with a single trigger watching one field, every update is seen by it exactly
/// when it changes that field, the subject and tags (kept only when named) included.
#[test]
fn a_changed_guard_sees_its_field_whatever_else_the_rules_watch() {
    let updates = [
        ("subject", json!({"subject": "printer on fire"})),
        ("tags", json!({"add_tags": ["vip"]})),
        ("priority", json!({"priority": "high"})),
        ("type", json!({"type": "incident"})),
        ("assignee", json!({"assignee": "ann"})),
        ("group", json!({"group": "tier2"})),
        ("status", json!({"status": "pending"})),
    ];
    let watch = |field: &str| {
        json!({"name": format!("on-{field}"), "kind": "trigger",
               "when": {"changed": [field], "created": false},
               "then": {"notify": {"target": "log", "message": "{id}"}}})
    };
    for (watched, _) in &updates {
        let config = with_rules(json!({}), json!([watch(watched)]));
        let mut desk = Desk::new(config, t("2026-03-02T08:00:00Z"));
        run(
            &mut desk,
            "2026-03-02T09:00:00Z",
            json!({"op": "create", "id": 1, "submitter": "sue", "assignee": "bob",
                   "subject": "printer", "tags": ["hardware"], "priority": "low"}),
        );
        for (field, change) in &updates {
            let mut update = json!({"op": "update", "case": 1});
            update
                .as_object_mut()
                .unwrap()
                .extend(change.as_object().unwrap().clone());
            let events = run(&mut desk, "2026-03-02T10:00:00Z", update);
            let fired = events.iter().any(|e| e.kind.name() == "rule_fired");
            assert_eq!(
                fired,
                field == watched,
                "on-{watched} after changing {field}"
            );
        }
    }
}

/// A trigger fires at most once per step however long the list: the 130th trigger, which
/// changes the case and then would notify again on the restarted pass, fires once.
#[test]
fn a_trigger_far_down_a_long_list_fires_once_per_step() {
    let mut rules: Vec<Value> = (0..129)
        .map(|i| {
            json!({"name": format!("idle-{i}"), "kind": "trigger", "when": {"priority": ["urgent"]},
                   "then": {"add_tags": ["never"]}})
        })
        .collect();
    rules.push(json!({"name": "last", "kind": "trigger", "when": {"changed": ["priority"]},
                      "then": {"add_tags": ["repriced"], "notify": {"target": "log", "message": "{id}"}}}));
    let mut desk = Desk::new(
        with_rules(json!({}), json!(rules)),
        t("2026-03-02T08:00:00Z"),
    );
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "create", "id": 1, "submitter": "sue"}),
    );
    let events = run(
        &mut desk,
        "2026-03-02T10:00:00Z",
        json!({"op": "update", "case": 1, "priority": "high"}),
    );
    let fired: Vec<&Event> = events
        .iter()
        .filter(|e| e.kind.name() == "rule_fired")
        .collect();
    assert_eq!(fired.len(), 1, "{events:?}");
}

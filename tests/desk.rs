//! The desk's bookkeeping (see tests/lib.rs): indexes and deadlines in step with the
//! trash and with closing, and messages that name what was wrong.

use caseflow::{Category, Config, Desk, ErrorCode, Instant, NewStatusPolicy};
use serde_json::{Value, json};

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

fn run(desk: &mut Desk, at: &str, cmd: Value) {
    desk.execute_json(t(at), &cmd)
        .unwrap_or_else(|r| panic!("{cmd}: {}", r.error));
}

#[test]
fn a_trashed_case_moved_by_a_status_delete_stays_out_of_queries() {
    let config = Config::from_value(
        &json!({"statuses": [{"id": "working", "category": "open", "label": "Working"}]}),
    )
    .unwrap();
    let mut desk = Desk::new(config, t("2026-03-02T08:00:00Z"));
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "create", "id": 1, "submitter": "r1", "assignee": "bob", "status": "working"}),
    );
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "create", "id": 2, "submitter": "r2", "assignee": "bob", "status": "working"}),
    );
    run(
        &mut desk,
        "2026-03-02T10:00:00Z",
        json!({"op": "delete", "case": 2}),
    );
    run(
        &mut desk,
        "2026-03-02T11:00:00Z",
        json!({"op": "configure", "delete_status": {"id": "working", "remap_to": "open"}}),
    );

    // Both moved (the trashed one too, so that it can be restored), only the live one is found.
    assert_eq!(desk.case(2).unwrap().status(), "open");
    assert_eq!(desk.ids_with_status("open"), vec![1]);
    assert_eq!(desk.ids_in_category(Category::Open), vec![1]);
    assert!(desk.ids_with_status("working").is_empty());
    assert_eq!(desk.ids_assigned_to("bob"), vec![1]);
    assert_eq!(
        desk.count_by_category()[Category::Open as usize],
        (Category::Open, 1)
    );
    assert_eq!(desk.trashed().collect::<Vec<_>>(), vec![2]);

    run(
        &mut desk,
        "2026-03-02T12:00:00Z",
        json!({"op": "restore", "case": 2}),
    );
    assert_eq!(desk.ids_with_status("open"), vec![1, 2]);
    assert_eq!(desk.ids_assigned_to("bob"), vec![1, 2]);
}

/// A closed case has nothing left to wait for. Built by an import (not by an auto-close
/// while advancing), so that a desk which re-armed it would fail here instead of looping.
#[test]
fn a_closed_case_holds_no_armed_deadline() {
    let mut desk = Desk::new(Config::default(), t("2026-03-02T08:00:00Z"));
    let view = json!({"id": 1, "type": "task", "subject": null, "priority": null,
        "status": "resolved", "closed": true, "requester": "r1", "submitter": "r1",
        "assignee": "bob", "group": null, "problem": null, "due_date": "2026-03-20",
        "tags": [], "channel": "api", "follow_up_of": null, "reopens": 0,
        "created_at": "2026-03-01T09:00:00Z", "updated_at": "2026-03-02T07:00:00Z",
        "status_changed_at": "2026-03-02T07:00:00Z", "category_changed_at": "2026-03-02T07:00:00Z",
        "assigned_at": "2026-03-01T09:00:00Z", "resolved_at": "2026-03-02T07:00:00Z",
        "replied_at": null, "closed_at": "2026-03-02T07:30:00Z", "overdue": false, "version": 4});
    run(
        &mut desk,
        "2026-03-02T08:00:00Z",
        json!({"op": "import", "view": view}),
    );
    assert!(desk.case(1).unwrap().closed());
    assert_eq!(desk.armed_deadlines(), 0);
    assert_eq!(desk.next_deadline(), None);
    // Nor after a change of period or zone, which re-arm waiting cases.
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "configure", "auto_close_after_days": 28, "timezone": "Asia/Tokyo"}),
    );
    assert_eq!(desk.armed_deadlines(), 0);

    // The same through a restore.
    let restored = Desk::restore(&desk.snapshot()).unwrap();
    assert_eq!(restored.armed_deadlines(), 0);
    assert_eq!(restored.next_deadline(), None);

    // A trashed case waits for nothing either, until it is restored.
    run(
        &mut desk,
        "2026-03-02T10:00:00Z",
        json!({"op": "create", "id": 2, "submitter": "r2", "assignee": "bob", "status": "resolved"}),
    );
    assert_eq!(desk.armed_deadlines(), 1);
    run(
        &mut desk,
        "2026-03-02T10:00:00Z",
        json!({"op": "delete", "case": 2}),
    );
    assert_eq!(desk.armed_deadlines(), 0);
}

#[test]
fn transition_errors_name_the_category_and_the_policy() {
    let mut desk = Desk::new(Config::default(), t("2026-03-02T08:00:00Z"));
    let cmd = json!({"op": "create", "id": 1, "submitter": "r1", "status": "pending"});
    let err = desk
        .execute_json(t("2026-03-02T09:00:00Z"), &cmd)
        .unwrap_err()
        .error;
    assert_eq!(err.code(), ErrorCode::InvalidTransition);
    assert_eq!(
        err.message(),
        "an unassigned case cannot be in category pending (policy new_iff_unassigned)"
    );
    for category in Category::ALL {
        assert_eq!(category.to_string(), category.as_str());
        assert_eq!(Category::parse(&category.to_string()), Some(category));
    }
    assert_eq!(Category::OnHold.to_string(), "on_hold");
}

#[test]
fn the_configuration_reports_its_new_status_policy() {
    assert_eq!(
        Config::default().new_status(),
        NewStatusPolicy::NewIffUnassigned
    );
    let config = Config::from_toml("new_status = \"new_only_at_start\"").unwrap();
    assert_eq!(config.new_status(), NewStatusPolicy::NewOnlyAtStart);
    let mut desk = Desk::new(config, t("2026-03-02T08:00:00Z"));
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "configure", "new_status": "new_iff_unassigned"}),
    );
    assert_eq!(
        desk.config().new_status(),
        NewStatusPolicy::NewIffUnassigned
    );
}

#[test]
fn getters_show_the_case_and_the_configuration() {
    let config = Config::from_value(&json!({"groups": {"tier1": ["bob", "carol"]}})).unwrap();
    let groups = config.groups().unwrap();
    assert_eq!(groups["tier1"].iter().collect::<Vec<_>>(), ["bob", "carol"]);
    assert!(Config::default().groups().is_none());
    let mut desk = Desk::new(config, t("2026-03-02T08:00:00Z"));
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "create", "id": 1, "submitter": "r1",
        "requester": "q1", "subject": "Printer", "assignee": "bob", "group": "tier1",
        "tags": ["VIP", "billing"]}),
    );
    let case = desk.case(1).unwrap();
    assert_eq!(case.tags().collect::<Vec<_>>(), ["billing", "vip"]);
    assert_eq!((case.submitter(), case.requester()), ("r1", "q1"));
    assert_eq!(
        (case.subject(), case.assignee(), case.group()),
        (Some("Printer"), Some("bob"), Some("tier1"))
    );
    assert_eq!((case.status(), case.category()), ("open", Category::Open));
}

#[test]
fn a_command_names_its_case() {
    let named = |json: Value| caseflow::Command::from_value(&json).unwrap().case();
    assert_eq!(
        named(json!({"op": "update", "case": 7, "priority": "high"})),
        Some(7)
    );
    for op in [
        "requester_reply",
        "close",
        "delete",
        "restore",
        "purge",
        "follow_up",
    ] {
        assert_eq!(named(json!({"op": op, "case": 8})), Some(8), "{op}");
    }
    assert_eq!(
        named(json!({"op": "resolve_by_problem", "case": 9, "problem": 1})),
        Some(9)
    );
    assert_eq!(named(json!({"op": "create", "submitter": "r"})), None);
    assert_eq!(named(json!({"op": "advance"})), None);
    assert_eq!(
        named(json!({"op": "configure", "auto_close_after_days": 2})),
        None
    );
}

#[test]
fn every_error_code_maps_to_an_http_status() {
    use caseflow::ErrorCode::*;
    let want = [
        (InvalidInput, 400),
        (ManualCloseForbidden, 403),
        (CaseNotFound, 404),
        (CaseExists, 409),
        (CaseClosed, 409),
        (CaseNotClosed, 409),
        (CaseResolved, 409),
        (ProblemResolved, 409),
        (ProblemHasIncidents, 409),
        (StaleTime, 409),
        (VersionConflict, 409),
        (StatusInUse, 409),
        (DefaultStatus, 409),
        (InvalidTransition, 422),
        (UnknownStatus, 422),
        (InactiveStatus, 422),
        (AssigneeRequired, 422),
        (NotAnIncident, 422),
        (NotAProblem, 422),
        (DueDateRequiresTask, 422),
        (UnknownAgent, 422),
        (UnknownGroup, 422),
        (AssigneeNotInGroup, 422),
        (InvalidConfig, 422),
        (LimitExceeded, 422),
        (ScriptCompile, 422),
        (ScriptRuntime, 422),
        (ScriptLimit, 422),
        (ActionRejected, 422),
    ];
    for (code, status) in want {
        assert_eq!(code.http_status(), status, "{code}");
    }
}

/// No message echoes unbounded input: a 10 MB tag, status, name, key, time zone, date,
/// instant or TOML line comes back as a short prefix ending in `…`.
#[test]
fn messages_echo_at_most_a_short_prefix() {
    let huge = "X".repeat(10_000_000);
    let at: Instant = "2026-03-02T09:00:00Z".parse().unwrap();
    let mut desk = Desk::new(Config::default(), at);
    let short = |message: &str| {
        assert!(
            message.len() < 600,
            "{} bytes: {}…",
            message.len(),
            &message[..200]
        );
        assert!(message.contains("XXXX…"), "{message}");
    };
    let commands = [
        json!({"op": "create", "submitter": "r", "tags": [huge]}),
        json!({"op": "create", "submitter": "r", "status": huge}),
        json!({"op": "create", "submitter": "r", "due_date": huge}),
        json!({"op": "create", "submitter": "r", huge.clone(): 1}),
        json!({"op": huge}),
        json!({"op": "create", "submitter": "r", "priority": huge}),
        json!({"op": "configure", "timezone": huge}),
        json!({"op": "configure", "add_status": {"id": huge, "category": "open", "label": "x"}}),
        json!({"op": "configure", "auto_close_after_days": huge}),
        json!({"op": "configure", huge.clone(): 1}),
    ];
    for cmd in &commands {
        let err = desk.execute_json(at, cmd).unwrap_err().error;
        short(err.message());
    }
    let err = caseflow::Command::from_json(&format!(
        "{{\"op\": \"create\", \"submitter\": \"r\", \"tags\": [\"{huge}\"]}}"
    ))
    .map(|c| desk.execute(at, &c).unwrap_err().error)
    .unwrap_or_else(|e| e);
    short(err.message());
    let err = Config::from_toml(&format!("timezone = \"UTC\" {huge}\n")).unwrap_err();
    assert!(err.message().len() < 300, "{}", &err.message()[..300]);
    assert!(err.message().contains("line 1"), "{}", err.message());
    let err = Config::from_json(&format!(
        "{{\"statuses\": [{{\"id\": \"{huge}\", \"category\": \"open\", \"label\": \"{huge}\"}}]}}"
    ))
    .unwrap_err();
    assert!(err.message().len() < 600, "{}", &err.message()[..300]);
    let err = format!("{huge}Z")
        .parse::<Instant>()
        .unwrap_err()
        .to_string();
    short(&err);
}

/// A key given twice in a command or a configuration is refused, not kept last.
#[test]
fn duplicate_json_keys_are_refused() {
    let err = caseflow::Command::from_json(
        r#"{"op": "update", "case": 1, "status": "open", "status": "resolved"}"#,
    )
    .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(
        err.message().contains("duplicate key `status`"),
        "{}",
        err.message()
    );
    let err = caseflow::Command::from_json(r#"{"op": "configure", "add_status": {"id": "a", "id": "b", "category": "open", "label": "x"}}"#)
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    let err = Config::from_json(r#"{"timezone": "UTC", "timezone": "Europe/Lisbon"}"#).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig);
    assert!(
        err.message().contains("duplicate key `timezone`"),
        "{}",
        err.message()
    );
    let scenario = r#"{"name": "twice", "start": "2026-03-02T09:00:00Z", "steps": [
        {"at": "2026-03-02T09:00:00Z", "do": {"op": "create", "submitter": "a", "submitter": "b"}}]}"#;
    let err = caseflow::run_scenario(scenario).unwrap_err();
    assert!(err.contains("duplicate key `submitter`"), "{err}");
}

/// A host may hold desks across threads (README.md, Embedding).
#[test]
fn a_desk_is_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Desk>();
    send_sync::<caseflow::Event>();
    send_sync::<caseflow::Command>();
}

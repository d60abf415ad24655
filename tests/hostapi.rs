//! The host API's serde shapes: commands, follow-ons, configurations and errors round-trip
//! through JSON, and serde refuses what `Command::from_value` refuses, with its message.

use caseflow::{Command, Config, Desk, Error, ErrorCode};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::properties::{command, junk_command, ops, setup, simulate_config, start};

/// JSON -> Command -> JSON -> Command gives the same command, through `from_value` and
/// through serde alike; a refused JSON is refused by serde with the same message.
fn round_trips(value: &Value) -> Result<(), String> {
    match Command::from_value(value) {
        Ok(cmd) => {
            let json = serde_json::to_value(&cmd).map_err(|e| format!("{value}: {e}"))?;
            let again = Command::from_value(&json).map_err(|e| format!("{json}: {e}"))?;
            let by_serde: Command =
                serde_json::from_value(json.clone()).map_err(|e| format!("{json}: {e}"))?;
            let from_text =
                Command::from_json(&json.to_string()).map_err(|e| format!("{json}: {e}"))?;
            let json_again = serde_json::to_value(&again).map_err(|e| e.to_string())?;
            if again != cmd || by_serde != cmd || from_text != cmd || json_again != json {
                return Err(format!(
                    "{value} -> {json} -> {json_again} changed the command"
                ));
            }
        }
        Err(e) => match serde_json::from_value::<Command>(value.clone()) {
            Ok(cmd) => return Err(format!("{value} refused ({e}) but serde read {cmd:?}")),
            Err(serde) if serde.to_string() != e.to_string() => {
                return Err(format!("{value}: serde says `{serde}`, from_value `{e}`"));
            }
            Err(_) => {}
        },
    }
    Ok(())
}

proptest! {
    /// Every command the generators produce (and random junk) round-trips, and every
    /// configuration a desk reaches by `configure`s exports and reads back equal.
    #[test]
    fn commands_and_configurations_round_trip(
        setup in setup(),
        ops in ops(),
        junk in prop::collection::vec(junk_command(), 1..20),
    ) {
        let trace = simulate_config(setup.config(), &ops);
        for step in &trace.steps {
            prop_assert!(round_trips(&step.cmd).is_ok(), "{:?}", round_trips(&step.cmd));
            let config = step.after.config();
            let value = config.to_value();
            prop_assert_eq!(&Config::from_value(&value).unwrap(), config, "{}", value);
            let by_serde: Config = serde_json::from_value(value.clone()).unwrap();
            prop_assert_eq!(&by_serde, config);
        }
        for cmd in &junk {
            prop_assert!(round_trips(cmd).is_ok(), "{:?}", round_trips(cmd));
        }
        // The commands of the last desk, generated again against it, round-trip too.
        for (_, op) in &ops {
            let cmd = command(&trace.desk, op);
            prop_assert!(round_trips(&cmd).is_ok(), "{:?}", round_trips(&cmd));
        }
    }
}

#[test]
fn every_kind_of_command_round_trips() {
    for cmd in [
        json!({"op": "create", "id": 4, "submitter": "ceo", "requester": "cfo", "type": "task",
               "subject": "s", "priority": "high", "status": "open", "assignee": "bob",
               "group": "tier1", "due_date": "2026-03-10", "tags": ["vip"], "channel": "email"}),
        json!({"op": "create", "submitter": "ceo", "type": "incident", "problem": 2}),
        json!({"op": "update", "case": 1, "expected_version": 3, "status": "pending",
               "priority": null, "type": null, "subject": null, "assignee": null, "group": null,
               "problem": null, "due_date": null, "add_tags": ["a"], "remove_tags": ["b"]}),
        json!({"op": "update", "case": 1, "priority": "low", "subject": "x", "problem": 9}),
        json!({"op": "requester_reply", "case": 1}),
        json!({"op": "close", "case": 1}),
        json!({"op": "follow_up", "case": 1}),
        json!({"op": "follow_up", "case": 1, "id": 8}),
        json!({"op": "resolve_by_problem", "case": 3, "problem": 2}),
        json!({"op": "delete", "case": 1}),
        json!({"op": "restore", "case": 1}),
        json!({"op": "purge", "case": 1}),
        json!({"op": "advance"}),
        json!({"op": "configure", "timezone": "Europe/Lisbon", "auto_close_after_days": 3,
               "new_status": "new_only_at_start", "automation_interval_minutes": 15,
               "groups": {"tier1": ["bob"]},
               "statuses": [{"id": "waiting", "category": "pending", "label": "Waiting",
                             "end_user_label": "Soon", "active": true, "default": true}],
               "add_status": {"id": "parts", "category": "on_hold", "label": "Parts", "active": false},
               "update_status": {"id": "open", "label": "Open!", "end_user_label": null, "active": true},
               "set_default": "waiting", "delete_status": {"id": "pending", "remap_to": "waiting"}}),
        json!({"op": "configure", "groups": null}),
        json!({"op": "configure"}),
    ] {
        round_trips(&cmd).unwrap();
    }
    // Exactly the shape from_json reads, absent keys left out.
    let cmd = Command::from_value(&json!({"op": "follow_up", "case": 1})).unwrap();
    assert_eq!(
        serde_json::to_value(&cmd).unwrap(),
        json!({"op": "follow_up", "case": 1})
    );
    let cmd = Command::from_value(&json!({"op": "configure", "groups": null})).unwrap();
    assert_eq!(
        serde_json::to_value(&cmd).unwrap(),
        json!({"op": "configure", "groups": null})
    );
}

#[test]
fn imports_round_trip_with_and_without_derived_fields() {
    let mut desk = Desk::new(Config::default(), start());
    let create = json!({"op": "create", "id": 5, "submitter": "r", "type": "task",
                        "due_date": "2026-03-10", "assignee": "bob", "status": "resolved"});
    desk.execute_json(start(), &create).unwrap();
    let view = desk.case(5).unwrap().to_json();
    let mut bare = view.clone();
    for key in ["category", "due_at", "deleted", "overdue"] {
        bare.as_object_mut().unwrap().remove(key);
    }
    for (id, view) in [(6, view), (7, bare)] {
        let mut view = view;
        view["id"] = json!(id);
        let cmd = json!({"op": "import", "view": view});
        round_trips(&cmd).unwrap();
        let parsed = Command::from_value(&cmd).unwrap();
        let mut json = serde_json::to_value(&parsed).unwrap();
        // `overdue` defaults to false; the rest is the view as given.
        json["view"].as_object_mut().unwrap().remove("overdue");
        let mut given = cmd.clone();
        given["view"].as_object_mut().unwrap().remove("overdue");
        assert_eq!(json, given);
        desk.execute(start(), &serde_json::from_value(json).unwrap())
            .unwrap();
    }
}

/// A command inside a host's own type, with the engine's checks and messages.
#[test]
fn a_command_lives_inside_a_host_type() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Envelope {
        shard: u32,
        command: Command,
    }
    let text = r#"{"shard": 2, "command": {"op": "configure", "add_status":
        {"id": "waiting", "category": "pending", "label": "Waiting"}}}"#;
    let envelope: Envelope = serde_json::from_str(text).unwrap();
    assert!(matches!(envelope.command, Command::Configure(_)));
    let again: Envelope = serde_json::from_str(&serde_json::to_string(&envelope).unwrap()).unwrap();
    assert_eq!(again, envelope);

    for (bad, message) in [
        (
            r#"{"shard": 2, "command": {"op": "configure", "colour": 1}}"#,
            "invalid_config: colour: unknown key",
        ),
        (
            r#"{"shard": 2, "command": {"op": "close", "case": 1, "case": 2}}"#,
            "duplicate key `case`",
        ),
        (
            r#"{"shard": 2, "command": {"op": "explode"}}"#,
            "invalid_input: command: unknown variant `explode`",
        ),
    ] {
        let err = serde_json::from_str::<Envelope>(bad)
            .unwrap_err()
            .to_string();
        assert!(err.contains(message), "{err}");
    }
}

#[test]
fn a_configuration_with_rules_and_a_changed_catalog_exports_whole() {
    let config = Config::from_value(&json!({
        "timezone": "America/New_York", "auto_close_after_days": 7,
        "new_status": "new_only_at_start", "automation_interval_minutes": 30,
        "groups": {"tier1": ["bob", "carol"], "empty": []},
        "statuses": [
            {"id": "waiting", "category": "pending", "label": "Waiting", "default": true},
            {"id": "pending", "category": "pending", "label": "Pending (old)", "active": false},
            {"id": "open", "category": "open", "label": "Opened", "end_user_label": "Working"},
            {"id": "gone", "category": "on_hold", "label": "Gone", "deleted": true},
            {"id": "new", "category": "new", "label": "New", "deleted": true, "active": false},
            {"id": "fresh", "category": "new", "label": "Fresh", "default": true}
        ],
        "rules": crate::rules::rule_pack(),
    }))
    .unwrap();
    let catalog = config.catalog();
    assert_eq!(catalog.default_of(caseflow::Category::Pending), "waiting");
    assert!(!catalog.get("pending").unwrap().active);
    assert!(catalog.get("gone").unwrap().deleted && catalog.get("new").unwrap().deleted);
    let value = config.to_value();
    assert_eq!(Config::from_value(&value).unwrap(), config);
    assert_eq!(value["rules"], crate::rules::rule_pack());
    // As TOML too: the export holds no null.
    let toml = toml::to_string(&config).unwrap();
    assert_eq!(Config::from_toml(&toml).unwrap(), config, "{toml}");
    // A new account exports its scalar keys only.
    assert_eq!(
        Config::default().to_value(),
        json!({"timezone": "UTC", "auto_close_after_days": 4, "new_status": "new_iff_unassigned",
               "automation_interval_minutes": 60})
    );
}

#[test]
fn restated_built_ins_and_tombstones_are_checked() {
    for (bad, want) in [
        (
            json!([{"id": "open", "category": "pending", "label": "Open"}]),
            "statuses: built-in status `open` is in category open, not pending",
        ),
        (
            json!([{"id": "open", "category": "open", "label": "Open", "active": false}]),
            "statuses: status `open` is its category's default and cannot be deactivated",
        ),
        (
            json!([{"id": "w", "category": "open", "label": "W", "default": true, "deleted": true}]),
            "statuses: status `w` is inactive and cannot be a default",
        ),
        (
            json!([{"id": "w", "category": "open", "label": "W", "deleted": 1}]),
            "statuses: entry 1: deleted: must be true or false",
        ),
    ] {
        let err = Config::from_value(&json!({ "statuses": bad })).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidConfig);
        assert!(
            err.problems().iter().any(|p| p == want),
            "{:?}",
            err.problems()
        );
    }
    // A configure's statuses still declare custom statuses only.
    let err = Command::from_json(
        r#"{"op": "configure", "statuses": [{"id": "w", "category": "open", "label": "W", "deleted": true}]}"#,
    )
    .unwrap_err();
    assert!(err.message().contains("unknown field `deleted`"), "{err}");
}

#[test]
fn errors_round_trip() {
    let several = Config::from_json(r#"{"timezone": "Mars/Base", "colour": 1}"#).unwrap_err();
    let one = Error::new(ErrorCode::CaseNotFound, "there is no case 9");
    for err in [several, one] {
        let json = serde_json::to_value(&err).unwrap();
        assert_eq!(json["code"], err.code().as_str());
        assert_eq!(json["message"], err.message());
        assert_eq!(json["problems"], json!(err.problems()));
        assert_eq!(serde_json::from_value::<Error>(json).unwrap(), err);
    }
    let bad = json!({"code": "case_not_found", "message": "m", "extra": 1});
    assert!(serde_json::from_value::<Error>(bad).is_err());
    let minimal = json!({"code": "stale_time", "message": "too late"});
    let err: Error = serde_json::from_value(minimal).unwrap();
    assert_eq!(err.to_string(), "stale_time: too late");
}

#[test]
fn a_built_configuration_equals_its_toml() {
    use caseflow::{Category, NewStatusPolicy, StatusDecl};
    let built = Config::builder()
        .timezone("Europe/Lisbon")
        .auto_close_after_days(2)
        .new_status(NewStatusPolicy::NewOnlyAtStart)
        .automation_interval_minutes(30)
        .groups([("tier1".to_owned(), ["bob".to_owned()].into())].into())
        .status(StatusDecl {
            default: true,
            end_user_label: Some("In progress".into()),
            ..StatusDecl::new("awaiting_parts", Category::OnHold, "Awaiting parts")
        })
        .rule(json!({"name": "tag", "kind": "trigger", "then": {"add_tags": ["seen"]}}))
        .build()
        .unwrap();
    let toml = Config::from_toml(
        r#"
        timezone = "Europe/Lisbon"
        auto_close_after_days = 2
        new_status = "new_only_at_start"
        automation_interval_minutes = 30
        groups = { tier1 = ["bob"] }
        [[statuses]]
        id = "awaiting_parts"
        category = "on_hold"
        label = "Awaiting parts"
        end_user_label = "In progress"
        default = true
        [[rules]]
        name = "tag"
        kind = "trigger"
        then = { add_tags = ["seen"] }
        "#,
    )
    .unwrap();
    assert_eq!(built, toml);
    // Every problem at once, with from_value's messages.
    let err = Config::builder()
        .timezone("Mars/Olympus")
        .auto_close_after_days(29)
        .status(StatusDecl::new("BAD", Category::Open, ""))
        .rule(json!({"name": "r", "kind": "sometimes"}))
        .build()
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig);
    assert_eq!(err.problems().len(), 6, "{:?}", err.problems());
}

#[test]
fn a_patch_built_in_rust_is_a_configure_command() {
    use caseflow::{Category, ConfigPatch, StatusDecl, StatusDelete, StatusUpdate};
    let built = ConfigPatch::default()
        .timezone("America/New_York")
        .unwrap()
        .auto_close_after_days(3)
        .groups(None)
        .status(StatusDecl::new("triage", Category::New, "Triage"))
        .add_status(StatusDecl::new("waiting", Category::Pending, "Waiting"))
        .update_status(StatusUpdate {
            label: Some("Opened".into()),
            ..StatusUpdate::new("open")
        })
        .set_default("waiting")
        .delete_status(StatusDelete {
            id: "pending".into(),
            remap_to: Some("waiting".into()),
        });
    let parsed = Command::from_json(
        r#"{"op": "configure", "timezone": "America/New_York", "auto_close_after_days": 3,
            "groups": null, "statuses": [{"id": "triage", "category": "new", "label": "Triage"}],
            "add_status": {"id": "waiting", "category": "pending", "label": "Waiting"},
            "update_status": {"id": "open", "label": "Opened"}, "set_default": "waiting",
            "delete_status": {"id": "pending", "remap_to": "waiting"}}"#,
    )
    .unwrap();
    assert_eq!(Command::Configure(built.clone()), parsed);
    let mut desk = Desk::new(Config::default(), start());
    desk.execute(start(), &Command::Configure(built)).unwrap();
    assert_eq!(
        desk.config().catalog().default_of(Category::Pending),
        "waiting"
    );

    // Values a parser would refuse are refused when executed, every problem listed, and
    // change nothing.
    assert!(ConfigPatch::default().timezone("Mars/Base").is_err());
    let bad = ConfigPatch::default()
        .auto_close_after_days(0)
        .automation_interval_minutes(5000)
        .add_status(StatusDecl::new("open", Category::Open, "Again"));
    let before = desk.clone();
    let err = desk.execute(start(), &Command::Configure(bad)).unwrap_err();
    assert_eq!(err.error.code(), ErrorCode::InvalidConfig);
    assert_eq!(err.error.problems().len(), 3, "{:?}", err.error.problems());
    assert_eq!(desk, before);
}

/// `Config::from_file` reads TOML, or JSON by the `.json` extension, and names a file it
/// cannot read.
#[test]
fn configurations_load_from_files() {
    let dir = std::env::temp_dir().join(format!("caseflow-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("account.toml");
    std::fs::write(&toml, "auto_close_after_days = 3").unwrap();
    assert_eq!(Config::from_file(&toml).unwrap().auto_close_after_days(), 3);
    let json = dir.join("account.json");
    std::fs::write(&json, r#"{"auto_close_after_days": 5}"#).unwrap();
    assert_eq!(Config::from_file(&json).unwrap().auto_close_after_days(), 5);
    // JSON text in a TOML file is a TOML error.
    std::fs::write(&toml, r#"{"auto_close_after_days": 5}"#).unwrap();
    assert!(
        Config::from_file(&toml)
            .unwrap_err()
            .message()
            .contains("TOML")
    );
    let missing = dir.join("missing.toml");
    let err = Config::from_file(&missing).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidConfig);
    assert!(err.message().contains("missing.toml"), "{}", err.message());
    std::fs::remove_dir_all(&dir).unwrap();
}

//! `rules-examples/`: the example account loads with every rule, every scenario under
//! `rules-examples/scenarios` passes, and each scenario declares its rules (and any other
//! configuration key it sets) exactly as the account does, so the two cannot drift apart.

use std::path::{Path, PathBuf};

use caseflow::{Category, Config, ScriptFiles};
use serde_json::Value;

fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("rules-examples")
}

fn account() -> Config {
    Config::from_file(&examples().join("account.toml")).unwrap()
}

/// The account's rules, in list order: triggers, then automations.
const RULES: [&str; 13] = [
    "tag-vip",
    "assign-social",
    "route-by-keywords",
    "round-robin-tier1",
    "raise-priority-on-reopens",
    "notify-assignee-on-reopen",
    "notify-incident-requesters",
    "clear-reminder",
    "escalate-urgent",
    "remind-pending",
    "auto-resolve-pending",
    "warn-task-due",
    "close-resolved-spam",
];

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The scenario files, in path order.
fn scenario_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples().join("scenarios"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    files
}

#[test]
fn the_example_account_loads_every_rule() {
    let config = account();
    let names: Vec<&str> = config.rules().iter().map(|r| r.name()).collect();
    assert_eq!(names, RULES);
    assert!(config.rules().iter().all(|r| r.enabled()));
    // Some rules are scripts (a `script` file, inlined as `source` once loaded), some
    // `then` tables.
    let scripts = config
        .rules()
        .iter()
        .filter(|r| r.declared().get("source").is_some())
        .count();
    let tables = config
        .rules()
        .iter()
        .filter(|r| r.declared().get("then").is_some())
        .count();
    assert_eq!((scripts, tables), (8, 5));
    assert_eq!(config.timezone(), "America/New_York");
    assert!(config.groups().is_some());
    assert_eq!(
        config.catalog().default_of(Category::Pending),
        "awaiting_customer"
    );
}

#[test]
fn every_example_scenario_passes() {
    let report = caseflow::run_scenarios(&[examples().join("scenarios")]);
    assert!(report.outcomes.len() >= RULES.len(), "\n{report}");
    assert_eq!(report.failed(), 0, "\n{report}");
}

#[test]
fn scenarios_declare_the_account_rules_as_the_account_does() {
    let account = account();
    let account_value = account.to_value();
    for file in scenario_files() {
        let scenario = read_json(&file);
        let declared = &scenario["config"];
        let config = Config::from_value_with(declared, &ScriptFiles::beside(&file))
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(!config.rules().is_empty(), "{}: no rule", file.display());
        for rule in config.rules().iter() {
            let theirs = account
                .rules()
                .iter()
                .find(|r| r.name() == rule.name())
                .unwrap_or_else(|| {
                    panic!("{}: {} is not an account rule", file.display(), rule.name())
                });
            assert_eq!(
                rule.declared(),
                theirs.declared(),
                "{}: {} differs from account.toml",
                file.display(),
                rule.name()
            );
        }
        // Any other key the scenario sets is the account's value for it.
        let value = config.to_value();
        for key in declared.as_object().unwrap().keys() {
            if key != "rules" {
                assert_eq!(
                    value[key],
                    account_value[key],
                    "{}: {key} differs from account.toml",
                    file.display()
                );
            }
        }
    }
    // The whole-account scenario declares the whole account, rules in the same order.
    let file = examples().join("scenarios").join("account.json");
    let scenario = read_json(&file);
    let whole = Config::from_value_with(&scenario["config"], &ScriptFiles::beside(&file)).unwrap();
    assert_eq!(whole, account);
    // One scenario per rule, named after it and declaring it.
    for name in RULES {
        let file = examples().join("scenarios").join(format!("{name}.json"));
        let scenario = read_json(&file);
        let rules = scenario["config"]["rules"].as_array().unwrap();
        assert!(
            rules.iter().any(|r| r["name"] == name),
            "{}: does not declare {name}",
            file.display()
        );
    }
}

/// Guards keep rules from running on the cases they exclude: over three sweeps of the
/// account, `escalate-urgent`'s script runs only on the urgent new case, and the other
/// automations, whose guards hold on no case, never run.
#[test]
fn guards_keep_the_example_rules_off_the_cases_they_exclude() {
    use caseflow::{Command, Desk, Instant};
    let t = |s: &str| s.parse::<Instant>().unwrap();
    let mut desk = Desk::new(account(), t("2026-03-02T08:00:00Z"));
    for (id, priority) in [(1, "high"), (2, "urgent")] {
        let create =
            serde_json::json!({"op": "create", "id": id, "submitter": "kim", "priority": priority});
        desk.execute(
            t("2026-03-02T08:30:00Z"),
            &Command::from_value(&create).unwrap(),
        )
        .unwrap();
    }
    desk.advance_to(t("2026-03-02T11:00:00Z")).unwrap();
    let all = desk.rule_stats();
    let stats: Vec<(&str, u64, u64)> = all
        .iter()
        .filter(|s| s.evaluations > 0)
        .map(|s| (s.rule.as_str(), s.evaluations, s.firings))
        .collect();
    // tag-vip's guard is `created = true`: its script runs on each creation, and finds no
    // VIP. escalate-urgent runs at the 09:00, 10:00 and 11:00 sweeps on case 2 only, and
    // fires at 10:00.
    assert_eq!(stats, [("tag-vip", 2, 0), ("escalate-urgent", 3, 1)]);
    assert_eq!(desk.case(2).unwrap().group(), Some("tier2"));
    assert_eq!(desk.case(1).unwrap().group(), None);
}

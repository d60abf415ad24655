//! The `caseflow` command line, run as a subprocess (see tests/lib.rs).

use std::process::Command;

fn caseflow() -> Command {
    Command::new(env!("CARGO_BIN_EXE_caseflow"))
}

fn scenario(name: &str) -> String {
    format!("{}/tests/scenarios/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn scenario_prints_one_line_per_file_and_the_tally() {
    let out = caseflow()
        .args(["scenario", &scenario("create_defaults.json")])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("ok "), "{text}");
    assert!(text.trim_end().ends_with("1 passed, 0 failed"), "{text}");
}

#[test]
fn a_failing_scenario_fails_the_process() {
    let failing = format!(
        "{}/tests/fixtures/failing/wrong_field.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = caseflow().args(["scenario", &failing]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("FAILED"), "{text}");
}

#[test]
fn a_usage_error_exits_with_code_2() {
    let out = caseflow().args(["scenario"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

fn fixture(text: &str, name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("caseflow-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

const SMALL: [&str; 4] = ["--cases", "400", "--days", "7"];

/// `simulate --json` of the small workload with this seed, the timings left out.
fn summary(seed: &str) -> serde_json::Value {
    let mut json = summary_of(&[&SMALL[..], &["--seed", seed]].concat());
    json.as_object_mut().unwrap().remove("timings").unwrap();
    json
}

#[test]
fn simulate_gives_the_same_summary_for_the_same_seed() {
    let first = summary("11");
    assert_eq!(first, summary("11"));
    assert_ne!(first, summary("12"));
    assert_eq!(first["account"], "built-in default");
    assert!(first["events"].as_u64().unwrap() > 1_000, "{first}");
    let fired: u64 = first["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["firings"].as_u64().unwrap())
        .sum();
    assert!(fired > 0, "{first}");
}

#[test]
fn simulate_prints_a_table_and_writes_events_and_a_report() {
    let events = fixture("", "events.jsonl");
    let report = fixture("", "report.html");
    let out = caseflow()
        .args(["simulate", "--quiet"])
        .args(SMALL)
        .args(["--events-out", events.to_str().unwrap()])
        .args(["--report", report.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    for row in [
        "cases closed at the end",
        "time to first assignment: median",
        "rule page-urgent (trigger)",
        "peak memory",
    ] {
        assert!(text.contains(row), "{row}: {text}");
    }
    // As many event lines as the summary counts, each an event.
    let json = summary("1");
    let lines: Vec<String> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len() as u64, json["events"].as_u64().unwrap());
    let first: serde_json::Value = serde_json::from_str(&lines[0]).unwrap();
    assert_eq!(first["type"], "created");
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert_eq!(html.matches("<svg").count(), 3, "three charts");
    assert!(html.contains("Rule firings per rule"));
}

#[test]
fn simulate_replays_a_recorded_workload() {
    let workload = fixture(
        concat!(
            r#"{"at": "2026-03-02T09:00:00Z", "do": {"op": "create", "submitter": "a"}}"#,
            "\n\n",
            r#"{"at": "2026-03-02T10:00:00Z", "do": {"op": "update", "case": 1, "assignee": "bob", "status": "resolved"}}"#,
            "\n",
            r#"{"at": "2026-03-02T11:00:00Z", "do": {"op": "update", "case": 9, "priority": "low"}}"#,
            "\n",
        ),
        "workload.jsonl",
    );
    let config = fixture("auto_close_after_days = 1\n", "replay.toml");
    let json = summary_of(&[
        "--workload",
        workload.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    assert_eq!(json["commands"], 3);
    assert_eq!(json["refused"]["case_not_found"], 1);
    assert_eq!(json["cases"]["resolved"], 1);
    assert_eq!(json["time_to_first_assignment"]["median_minutes"], 60);
}

fn summary_of(args: &[&str]) -> serde_json::Value {
    let out = caseflow()
        .args(["simulate", "--quiet", "--json"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn compare_of_an_account_with_itself_shows_no_differences() {
    let account = fixture(
        include_str!("../src/bin/caseflow/default_account.toml"),
        "same.toml",
    );
    let out = caseflow()
        .args(["simulate", "--quiet"])
        .args(SMALL)
        .args(["--compare", account.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(
        text.trim_end().ends_with("no differences (timings aside)"),
        "{text}"
    );
    // A shorter auto-close period does show.
    let shorter = include_str!("../src/bin/caseflow/default_account.toml")
        .replace("auto_close_after_days = 4", "auto_close_after_days = 1");
    let other = fixture(&shorter, "shorter.toml");
    let out = caseflow()
        .args(["simulate", "--quiet"])
        .args(SMALL)
        .args(["--compare", other.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("differences (timings aside)") && !text.contains("no differences"),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("closed by auto-close") && l.contains('+')),
        "{text}"
    );
}

#[test]
fn check_reports_every_problem_and_explains_rules() {
    let broken = fixture(
        r#"
timezone = "Mars/Olympus"
[[rules]]
name = "escalate"
kind = "trigger"
when = { priority = ["asap"] }
then = { add_tags = ["x"] }
"#,
        "broken.toml",
    );
    let out = caseflow()
        .args(["check", broken.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(1), "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with(broken.to_str().unwrap())),
        "{text}"
    );
    assert!(text.contains("timezone"), "{text}");
    assert!(
        text.contains("rules: escalate: when: priority: `asap` is not a priority"),
        "{text}"
    );

    let good = scenario("../../src/bin/caseflow/default_account.toml");
    let out = caseflow()
        .args(["check", &good, "--explain"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("ok: 9 statuses, 3 groups, 9 rules"), "{text}");
    assert!(
        text.contains("rule close-spam (automation, disabled)"),
        "{text}"
    );
    assert!(
        text.contains(
            "  when: priority [none, low, normal]\n  when: created true\n  when: tags_any [vip]"
        ),
        "{text}"
    );
}

#[test]
fn scenario_verbose_prints_each_step_and_its_events() {
    let out = caseflow()
        .args(["scenario", "--verbose", &scenario("create_defaults.json")])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{text}");
    assert!(text.contains("  step 1 at "), "{text}");
    assert!(
        text.contains(r#"    {"at":"#) && text.contains(r#""type":"created""#),
        "{text}"
    );
}

#[test]
fn a_missing_file_is_one_line_on_stderr() {
    for args in [
        vec!["check", "/nonexistent/account.toml"],
        vec!["simulate", "--config", "/nonexistent/account.toml"],
        vec!["simulate", "--workload", "/nonexistent/workload.jsonl"],
    ] {
        let out = caseflow().args(&args).output().unwrap();
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(
            err.starts_with("caseflow: error: cannot read /nonexistent/"),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn a_malformed_workload_line_is_named() {
    let workload = fixture(
        "{\"at\": \"2026-03-02T09:00:00Z\", \"do\": {\"op\": \"create\", \"submitter\": \"a\"}}\n{\"at\": \"2026-03-02T10:00:00Z\", \"do\": {\"op\": \"fly\"}}\n",
        "malformed.jsonl",
    );
    let out = caseflow()
        .args([
            "simulate",
            "--quiet",
            "--workload",
            workload.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("malformed.jsonl:2: `do`: invalid_input"),
        "{err}"
    );
}

#[test]
fn bad_options_are_usage_errors() {
    for args in [
        vec!["simulate", "--cases", "many"],
        vec!["simulate", "--frobnicate"],
        vec!["simulate", "--workload", "w.jsonl", "--seed", "3"],
        vec!["check"],
    ] {
        let out = caseflow().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
    }
    // A value clap accepts but the workload refuses is a plain error.
    let out = caseflow()
        .args(["simulate", "--days", "0"])
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("days: 0 is not from 1 to 3650"), "{err}");
}

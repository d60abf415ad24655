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

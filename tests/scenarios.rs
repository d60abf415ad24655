//! Scenario files are data: every file under `tests/scenarios` must pass, and the runner
//! must catch every kind of mismatch (the files under `tests/fixtures/failing` must fail).

use std::path::{Path, PathBuf};

fn dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(name)
}

#[test]
fn every_scenario_passes() {
    let report = caseflow::run_scenarios(&[dir("scenarios")]);
    assert!(
        report.outcomes.len() >= 25,
        "only {} scenarios",
        report.outcomes.len()
    );
    assert_eq!(report.failed(), 0, "\n{report}");
}

#[test]
fn the_runner_reports_each_failure_with_its_step() {
    let report = caseflow::run_scenarios(&[dir("fixtures/failing")]);
    assert!(report.outcomes.len() >= 5);
    for outcome in &report.outcomes {
        let failure = outcome
            .failure
            .as_deref()
            .unwrap_or_else(|| panic!("{} passed", outcome.name));
        // Each fixture names the message it must fail with in its description.
        let file =
            std::fs::read_to_string(dir("fixtures/failing").join(format!("{}.json", outcome.name)))
                .unwrap();
        let value: serde_json::Value = serde_json::from_str(&file).unwrap();
        let want = value["description"].as_str().unwrap();
        assert!(
            failure.contains(want),
            "{}: `{failure}` lacks `{want}`",
            outcome.name
        );
    }
    assert!(
        report
            .to_string()
            .ends_with(&format!("0 passed, {} failed", report.outcomes.len()))
    );
}

/// A directory that links to itself is read once: the runner does not follow symlinked
/// directories.
#[cfg(unix)]
#[test]
fn the_runner_does_not_follow_symlinked_directories() {
    let root = std::env::temp_dir().join(format!("caseflow-symlink-loop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).unwrap();
    let scenario = dir("scenarios").join("create_defaults.json");
    std::fs::copy(&scenario, root.join("only.json")).unwrap();
    std::os::unix::fs::symlink(".", root.join("again")).unwrap();
    std::os::unix::fs::symlink(&root, root.join("absolute")).unwrap();
    std::fs::create_dir(root.join("sub")).unwrap();
    std::os::unix::fs::symlink("..", root.join("sub").join("up")).unwrap();
    let report = caseflow::run_scenarios(std::slice::from_ref(&root));
    let _ = std::fs::remove_dir_all(&root);
    assert_eq!(report.outcomes.len(), 1, "\n{report}");
    assert_eq!(report.failed(), 0, "\n{report}");
}

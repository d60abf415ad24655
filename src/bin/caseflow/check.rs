//! `caseflow check CONFIG [--explain]`: does an account configuration load, and how the
//! engine understood its rules.

use std::fmt::Write;
use std::path::Path;
use std::process::ExitCode;

use caseflow::Config;

use crate::Output;

/// Prints every problem of the configuration at `path`, one per line as `FILE: problem`,
/// or what it holds (and with `explain`, each rule with its kind, enabled flag and
/// guard). Exit code 0 only when it loads; a file that cannot be read is an error.
pub fn run(path: &Path, explain: bool) -> Result<Output, String> {
    let mut text = String::new();
    std::fs::metadata(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let config = match Config::from_file(path) {
        Ok(config) => config,
        Err(e) => {
            let lines: Vec<String> = e
                .problems()
                .iter()
                .map(|problem| format!("{}: {problem}", path.display()))
                .collect();
            return Ok(Output {
                text: lines.join("\n"),
                code: ExitCode::FAILURE,
            });
        }
    };
    let statuses = config.catalog().iter().filter(|s| !s.deleted).count();
    let groups = config.groups().map_or(0, |g| g.len());
    let _ = writeln!(
        text,
        "{}: ok: {statuses} statuses, {groups} groups, {} rules",
        path.display(),
        config.rules().len()
    );
    if explain {
        for rule in config.rules().iter() {
            let state = if rule.enabled() {
                "enabled"
            } else {
                "disabled"
            };
            let _ = writeln!(
                text,
                "rule {} ({}, {state})",
                rule.name(),
                rule.kind().as_str()
            );
            let guard = rule.guard();
            if guard.is_empty() {
                let _ = writeln!(text, "  when: always");
            }
            for test in guard {
                let _ = writeln!(text, "  when: {test}");
            }
            let declared = rule.declared();
            match (
                declared.get("then"),
                declared.get("source").and_then(|s| s.as_str()),
            ) {
                (Some(then), _) => {
                    let _ = writeln!(text, "  then: {then}");
                }
                (None, Some(source)) => {
                    let _ = writeln!(text, "  script:");
                    for line in source.trim_end().lines() {
                        let _ = writeln!(text, "    {line}");
                    }
                }
                (None, None) => {}
            }
        }
    }
    Ok(Output {
        text: text.trim_end().to_owned(),
        code: ExitCode::SUCCESS,
    })
}

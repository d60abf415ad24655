//! The scenario runner (docs/scenarios.md): drives a desk through commands and
//! time and checks what comes out.

use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::config::{Config, NoScriptFiles, ScriptFiles, ScriptLoader};
use crate::desk::{Desk, Rejection};
use crate::error::{Error, ErrorCode};
use crate::event::Event;
use crate::time::Instant;

/// The result of one scenario.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioOutcome {
    /// The scenario's `name` (or its file's path when it has none or could not be read).
    pub name: String,
    /// What went wrong, as `step N: what differed`; `None` when it passed.
    pub failure: Option<String>,
    /// Each command step run, as a line `step N at INSTANT: OP: ok` (or `: CODE: message`
    /// when refused) followed by one line per event it caused, the event's JSON indented:
    /// what `caseflow scenario --verbose` prints.
    pub trace: Vec<String>,
}

impl fmt::Display for ScenarioOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.failure {
            None => write!(f, "ok {}", self.name),
            Some(why) => write!(f, "FAILED {}: {why}", self.name),
        }
    }
}

/// The outcomes of a run over files and directories.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScenarioReport {
    /// One outcome per scenario file, in the order run.
    pub outcomes: Vec<ScenarioOutcome>,
}

impl ScenarioReport {
    /// How many passed.
    pub fn passed(&self) -> usize {
        self.outcomes.iter().filter(|o| o.failure.is_none()).count()
    }

    /// How many failed or could not be read.
    pub fn failed(&self) -> usize {
        self.outcomes.len() - self.passed()
    }
}

impl fmt::Display for ScenarioReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for o in &self.outcomes {
            writeln!(f, "{o}")?;
        }
        write!(f, "{} passed, {} failed", self.passed(), self.failed())
    }
}

/// Runs every scenario named: files, and every `*.json` file under directories, in path
/// order (a directory named here is read even through a symlink; symlinked directories
/// under it are not followed).
///
/// # Example
/// ```no_run
/// let report = caseflow::run_scenarios(&["tests/scenarios".into()]);
/// println!("{report}");
/// assert_eq!(report.failed(), 0);
/// ```
pub fn run_scenarios(paths: &[PathBuf]) -> ScenarioReport {
    let mut files = Vec::new();
    let mut outcomes = Vec::new();
    for path in paths {
        if path.is_dir() {
            if let Err(e) = collect_json(path, &mut files) {
                outcomes.push(unreadable(path, &e.to_string()));
            }
        } else {
            files.push(path.clone());
        }
    }
    outcomes.extend(files.iter().map(|f| run_scenario_file(f)));
    ScenarioReport { outcomes }
}

/// The `*.json` files under `dir`, in path order. Symlinked directories are not followed
/// (a link to `.` would run every file again and again); symlinked files are read.
fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let kind = entry.file_type()?; // the entry itself, not what a symlink points to
        let path = entry.path();
        if kind.is_dir() {
            collect_json(&path, &mut found)?;
        } else if kind.is_symlink() && path.is_dir() {
            continue;
        } else if path.extension().is_some_and(|e| e == "json") {
            found.push(path);
        }
    }
    found.sort();
    out.extend(found);
    Ok(())
}

fn unreadable(path: &Path, why: &str) -> ScenarioOutcome {
    ScenarioOutcome {
        name: path.display().to_string(),
        failure: Some(why.to_owned()),
        trace: Vec::new(),
    }
}

/// Runs one scenario file.
pub fn run_scenario_file(path: &Path) -> ScenarioOutcome {
    match std::fs::read_to_string(path) {
        Ok(text) => run_scenario_with(&text, &ScriptFiles::beside(path))
            .unwrap_or_else(|why| unreadable(path, &why)),
        Err(e) => unreadable(path, &format!("cannot read: {e}")),
    }
}

/// Runs one scenario given as JSON text.
///
/// # Errors
/// A message when the text is not a scenario at all (malformed JSON, unknown keys).
pub fn run_scenario(text: &str) -> Result<ScenarioOutcome, String> {
    run_scenario_with(text, &NoScriptFiles)
}

/// Runs one scenario given as JSON text, reading the `script` files its rules name through
/// `files` ([`ScriptFiles::beside`] the scenario file, for one on disk).
///
/// # Errors
/// A message when the text is not a scenario at all (malformed JSON, unknown keys).
pub fn run_scenario_with(text: &str, files: &dyn ScriptLoader) -> Result<ScenarioOutcome, String> {
    // Strict: a key given twice in `do`, `config` or anywhere else is refused, not kept last.
    let value = crate::json::parse_strict(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let top = value.as_object().ok_or("a scenario is a JSON object")?;
    for key in top.keys() {
        if ![
            "name",
            "description",
            "config",
            "start",
            "steps",
            "expect_config_error",
        ]
        .contains(&key.as_str())
        {
            return Err(format!(
                "unknown top-level key `{}`",
                crate::error::clip(key)
            ));
        }
    }
    let name = top
        .get("name")
        .and_then(Value::as_str)
        .ok_or("a scenario needs a `name`")?;
    let mut trace = Vec::new();
    let failure = Runner::run(top, files, &mut trace).err();
    Ok(ScenarioOutcome {
        name: name.to_owned(),
        failure,
        trace,
    })
}

struct Runner<'t> {
    desk: Desk,
    last_events: Vec<Event>,
    trace: &'t mut Vec<String>,
    /// The number of the step under way, from 1.
    step: usize,
}

impl Runner<'_> {
    fn run(
        top: &Map<String, Value>,
        files: &dyn ScriptLoader,
        trace: &mut Vec<String>,
    ) -> Result<(), String> {
        let empty = Value::Object(Map::new());
        let config = Config::from_value_with(top.get("config").unwrap_or(&empty), files);
        let config = match (
            config,
            top.get("expect_config_error").and_then(Value::as_str),
        ) {
            (Err(e), Some(code)) if e.code().as_str() == code => return Ok(()),
            (Err(e), _) => return Err(format!("config: {e}")),
            (Ok(_), Some(code)) => return Err(format!("config loaded, expected {code}")),
            (Ok(c), None) => c,
        };
        let empty = Vec::new();
        let steps = match top.get("steps") {
            Some(Value::Array(steps)) => steps,
            None => &empty,
            Some(_) => return Err("`steps` must be an array".to_owned()),
        };
        let start = match top.get("start") {
            Some(v) => instant(v, "start")?,
            None => steps
                .iter()
                .find_map(|s| s.get("at"))
                .map(|v| instant(v, "start"))
                .transpose()?
                .ok_or("no `start` and no command step to take it from")?,
        };
        let mut runner = Runner {
            desk: Desk::new(config, start),
            last_events: Vec::new(),
            trace,
            step: 0,
        };
        for (i, step) in steps.iter().enumerate() {
            runner.step = i + 1;
            runner
                .step(step)
                .map_err(|why| format!("step {}: {why}", i + 1))?;
        }
        Ok(())
    }

    fn step(&mut self, step: &Value) -> Result<(), String> {
        let obj = step.as_object().ok_or("a step is a JSON object")?;
        if obj.contains_key("do") {
            return self.command(obj);
        }
        if let Some(expect) = obj.get("expect") {
            only_keys(obj, &["expect"])?;
            return self.expect(expect);
        }
        if let Some(patterns) = obj.get("expect_events") {
            only_keys(obj, &["expect_events"])?;
            let patterns = patterns
                .as_array()
                .ok_or("`expect_events` must be an array")?;
            let events: Vec<Value> = self.last_events.iter().map(Event::to_json).collect();
            let mut rest = events.iter();
            for (i, p) in patterns.iter().enumerate() {
                if !rest.any(|e| matches(p, e)) {
                    return Err(format!(
                        "expected event #{} {p} (in order) among {}",
                        i + 1,
                        Value::Array(events.clone())
                    ));
                }
            }
            return Ok(());
        }
        if let Some(pattern) = obj.get("expect_no_event") {
            only_keys(obj, &["expect_no_event"])?;
            if let Some(e) = self
                .last_events
                .iter()
                .map(Event::to_json)
                .find(|e| matches(pattern, e))
            {
                return Err(format!("unexpected event {e}"));
            }
            return Ok(());
        }
        Err(format!("unknown step {step}"))
    }

    fn command(&mut self, obj: &Map<String, Value>) -> Result<(), String> {
        only_keys(obj, &["at", "do", "expect_error"])?;
        let at = obj.get("at").ok_or("a command step needs `at`")?;
        let expected = match obj.get("expect_error") {
            None => None,
            Some(Value::String(code)) => Some(code.as_str()),
            Some(other) => return Err(format!("`expect_error` must be a code, not {other}")),
        };
        // A command whose instant is malformed is the command's own `invalid_input`.
        let result = match instant(at, "at") {
            Ok(at) => self.desk.execute_json(at, &obj["do"]),
            Err(why) => Err(Rejection {
                error: Error::new(ErrorCode::InvalidInput, why),
                events: Vec::new(),
            }),
        };
        let op = obj["do"].get("op").and_then(Value::as_str).unwrap_or("?");
        let outcome = match &result {
            Ok(_) => "ok".to_owned(),
            Err(rejection) => rejection.error.to_string(),
        };
        self.trace.push(format!(
            "step {} at {}: {op}: {outcome}",
            self.step,
            at.as_str().unwrap_or("?")
        ));
        let events = match &result {
            Ok(events) => events,
            Err(rejection) => &rejection.events,
        };
        self.trace
            .extend(events.iter().map(|e| format!("  {}", e.to_json())));
        match (result, expected) {
            (Ok(events), None) => {
                self.last_events = events;
                Ok(())
            }
            (Ok(events), Some(code)) => {
                self.last_events = events;
                Err(format!("expected error {code}, but the command succeeded"))
            }
            (Err(rejection), expected) => {
                self.last_events = rejection.events;
                match expected {
                    Some(code) if code == rejection.error.code().as_str() => Ok(()),
                    Some(code) => Err(format!("expected error {code}, got {}", rejection.error)),
                    None => Err(format!("command rejected: {}", rejection.error)),
                }
            }
        }
    }

    fn expect(&self, expect: &Value) -> Result<(), String> {
        let obj = expect.as_object().ok_or("`expect` must be an object")?;
        let id = obj
            .get("case")
            .and_then(Value::as_u64)
            .ok_or("`expect` needs a `case` id")?;
        let view = self
            .desk
            .case(id)
            .filter(|c| !c.deleted())
            .map(|c| c.to_json());
        if let Some(exists) = obj.get("exists") {
            let exists = exists.as_bool().ok_or("`exists` must be true or false")?;
            if exists != view.is_some() {
                return Err(format!("case {id}: expected exists = {exists}"));
            }
        }
        let fields: Vec<_> = obj
            .iter()
            .filter(|(k, _)| *k != "case" && *k != "exists")
            .collect();
        if fields.is_empty() {
            return Ok(());
        }
        let view = view.ok_or_else(|| format!("case {id} has no view"))?;
        for (key, want) in fields {
            match view.get(key) {
                Some(got) if got == want => {}
                Some(got) => return Err(format!("case {id}: {key} is {got}, expected {want}")),
                None => return Err(format!("case {id}: the view has no field `{key}`")),
            }
        }
        Ok(())
    }
}

fn only_keys(obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown key `{}` in step", crate::error::clip(k))),
        None => Ok(()),
    }
}

fn instant(v: &Value, what: &str) -> Result<Instant, String> {
    v.as_str()
        .ok_or_else(|| format!("`{what}` must be an instant string"))?
        .parse()
        .map_err(|e| format!("`{what}`: {e}"))
}

/// Partial match: every key of an object pattern must match; arrays and scalars are equal.
fn matches(pattern: &Value, value: &Value) -> bool {
    match (pattern, value) {
        (Value::Object(p), Value::Object(v)) => p
            .iter()
            .all(|(k, pv)| v.get(k).is_some_and(|vv| matches(pv, vv))),
        _ => pattern == value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_match_partially_and_arrays_exactly() {
        let event = json!({"type": "tags_changed", "added": ["a", "b"], "view": {"id": 1, "x": 2}});
        assert!(matches(&json!({"type": "tags_changed"}), &event));
        assert!(matches(&json!({"view": {"id": 1}}), &event));
        assert!(!matches(&json!({"added": ["a"]}), &event));
        assert!(!matches(&json!({"missing": null}), &event));
    }
}

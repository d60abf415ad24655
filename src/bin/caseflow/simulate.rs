//! `caseflow simulate`: one desk driven through a workload as a host would drive it.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};

use caseflow::workload::{Params, Timed, Workload};
use caseflow::{Command, Config, Desk, Event, Instant, SECONDS_PER_DAY, ScriptLoader};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;

use crate::summary::{Summary, Tally, Timings, compare};

/// The account `simulate` runs without `--config`: `rules-examples/`, built in.
const DEFAULT_ACCOUNT: &str = include_str!("../../../rules-examples/account.toml");

/// The scripts `rules-examples/account.toml` names, built in.
const DEFAULT_SCRIPTS: [(&str, &str); 8] = [
    (
        "escalate_urgent.rhai",
        include_str!("../../../rules-examples/escalate_urgent.rhai"),
    ),
    (
        "notify_assignee_on_reopen.rhai",
        include_str!("../../../rules-examples/notify_assignee_on_reopen.rhai"),
    ),
    (
        "notify_incident_requesters.rhai",
        include_str!("../../../rules-examples/notify_incident_requesters.rhai"),
    ),
    (
        "remind_pending.rhai",
        include_str!("../../../rules-examples/remind_pending.rhai"),
    ),
    (
        "round_robin_tier1.rhai",
        include_str!("../../../rules-examples/round_robin_tier1.rhai"),
    ),
    (
        "route_by_keywords.rhai",
        include_str!("../../../rules-examples/route_by_keywords.rhai"),
    ),
    (
        "tag_vip.rhai",
        include_str!("../../../rules-examples/tag_vip.rhai"),
    ),
    (
        "warn_task_due.rhai",
        include_str!("../../../rules-examples/warn_task_due.rhai"),
    ),
];

/// Reads the built-in account's scripts.
struct BuiltIn;

impl ScriptLoader for BuiltIn {
    fn load(&self, path: &str) -> Result<String, String> {
        DEFAULT_SCRIPTS
            .iter()
            .find(|(name, _)| *name == path)
            .map(|(_, text)| (*text).to_owned())
            .ok_or_else(|| format!("the built-in account has no script {path}"))
    }

    fn config_name(&self) -> String {
        "rules-examples/account.toml".to_owned()
    }
}

/// What `simulate` was asked.
#[derive(clap::Args)]
pub struct Options {
    /// The account configuration (TOML, or JSON by extension); the built-in account
    /// without it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// How many cases arrive.
    #[arg(long, default_value_t = 100_000, conflicts_with = "workload")]
    pub cases: u64,
    /// How many simulated days.
    #[arg(long, default_value_t = 60, conflicts_with = "workload")]
    pub days: u32,
    /// The workload's seed.
    #[arg(long, default_value_t = 1, conflicts_with = "workload")]
    pub seed: u64,
    /// Write every event to this file, as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub events_out: Option<PathBuf>,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// Replay a recorded command stream (JSON lines `{"at": ..., "do": {...}}`).
    #[arg(long, value_name = "FILE")]
    pub workload: Option<PathBuf>,
    /// Run the same workload through this account too and compare.
    #[arg(long, value_name = "OTHER_CONFIG")]
    pub compare: Option<PathBuf>,
    /// Write a self-contained HTML report with charts.
    #[arg(long, value_name = "FILE.html")]
    pub report: Option<PathBuf>,
}

pub(crate) fn load(path: Option<&Path>) -> Result<(Config, String), String> {
    match path {
        None => Config::from_toml_with(DEFAULT_ACCOUNT, &BuiltIn)
            .map(|c| (c, "built-in default".to_owned()))
            .map_err(|e| format!("the built-in account: {e}")),
        Some(p) => std::fs::metadata(p)
            .map_err(|e| format!("cannot read {}: {e}", p.display()))
            .and_then(|_| Config::from_file(p).map_err(|e| format!("{}: {e}", p.display())))
            .map(|c| (c, p.display().to_string())),
    }
}

/// Runs `simulate`; returns what to print on stdout.
pub fn run(opts: &Options) -> Result<String, String> {
    let (config, account) = load(opts.config.as_deref())?;
    let other = opts.compare.as_deref().map(|p| load(Some(p))).transpose()?;
    let a = simulate(&config, &config, account, opts, opts.events_out.as_deref())?;
    let b = match other {
        Some((other, name)) => Some(simulate(&config, &other, name, opts, None)?),
        None => None,
    };
    if let Some(path) = &opts.report {
        let html = crate::report::html(&a, b.as_ref())?;
        std::fs::write(path, html).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let out = match (&b, opts.json) {
        (None, true) => serde_json::to_string_pretty(&a).map_err(|e| e.to_string())?,
        (None, false) => a.table().to_string(),
        (Some(b), json) => {
            let (table, differences) = compare(&a, b);
            if json {
                let both = serde_json::json!({"a": a, "b": b, "differences": differences});
                serde_json::to_string_pretty(&both).map_err(|e| e.to_string())?
            } else if differences == 0 {
                format!("{table}\nno differences (timings aside)")
            } else {
                format!("{table}\n{differences} differences (timings aside)")
            }
        }
    };
    Ok(out)
}

/// Where the commands come from: the synthetic generator (planned for `plan`, the first
/// account, so that a comparison feeds both accounts the same commands) or a file.
/// The commands, the first instant, the end (none for a file: its last command) and what
/// the workload is.
type Source = (Commands, Instant, Option<Instant>, String);
type Commands = Box<dyn Iterator<Item = Result<Timed, String>>>;

fn source(plan: &Config, opts: &Options) -> Result<Source, String> {
    match &opts.workload {
        None => {
            let params = Params {
                cases: opts.cases,
                days: opts.days,
                seed: opts.seed,
                ..Params::default()
            };
            let workload = Workload::new(plan, &params).map_err(|e| e.to_string())?;
            let end = workload.end();
            let what = format!(
                "synthetic: {} cases, {} days, seed {}",
                opts.cases, opts.days, opts.seed
            );
            Ok((Box::new(workload.map(Ok)), params.start, Some(end), what))
        }
        Some(path) => {
            let mut lines = recorded(path)?.peekable();
            let start = match lines.peek() {
                Some(Ok(first)) => first.at,
                Some(Err(e)) => return Err(e.clone()),
                None => return Err(format!("{}: no command", path.display())),
            };
            Ok((
                Box::new(lines),
                start,
                None,
                format!("file: {}", path.display()),
            ))
        }
    }
}

/// The commands of a JSON-lines file, `{"at": ..., "do": {...}}` per line (blank lines
/// skipped); a line that is not one is an error naming its line.
fn recorded(path: &Path) -> Result<impl Iterator<Item = Result<Timed, String>> + 'static, String> {
    let file = File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let name = path.display().to_string();
    let lines = BufReader::new(file).lines().enumerate();
    Ok(lines.filter_map(move |(i, line)| {
        let at = |why: String| format!("{name}:{}: {why}", i + 1);
        let line = match line {
            Ok(line) if line.trim().is_empty() => return None,
            Ok(line) => line,
            Err(e) => return Some(Err(at(format!("cannot read: {e}")))),
        };
        Some(parse_line(&line).map_err(at))
    }))
}

fn parse_line(line: &str) -> Result<Timed, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not valid JSON: {e}"))?;
    let obj = value.as_object().ok_or("a line must be a JSON object")?;
    if let Some(key) = obj.keys().find(|k| *k != "at" && *k != "do") {
        return Err(format!("unknown key `{key}`"));
    }
    let at = obj
        .get("at")
        .and_then(Value::as_str)
        .ok_or("`at` must be an instant string")?
        .parse::<Instant>()
        .map_err(|e| format!("`at`: {e}"))?;
    let command = Command::from_value(obj.get("do").ok_or("a line needs `do`")?)
        .map_err(|e| format!("`do`: {e}"))?;
    Ok(Timed { at, command })
}

pub(crate) fn progress(quiet: bool, length: Option<u64>) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    match length {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {percent}% of the simulated time, {msg}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}

/// A desk, its tally and where its events go, driven through time.
struct Run {
    desk: Desk,
    tally: Tally,
    out: Option<(BufWriter<File>, String)>,
    /// The end of the simulated day under way.
    day_end: Instant,
}

impl Run {
    fn record(&mut self, events: &[Event]) -> Result<(), String> {
        for e in events {
            self.tally.event(e);
        }
        if let Some((w, name)) = &mut self.out {
            for e in events {
                serde_json::to_writer(&mut *w, e)
                    .map_err(|err| err.to_string())
                    .and_then(|()| w.write_all(b"\n").map_err(|err| err.to_string()))
                    .map_err(|err| format!("cannot write {name}: {err}"))?;
            }
        }
        Ok(())
    }

    /// Runs every deadline and sweep due up to `until`, at its own instant, as a host's
    /// timer would, closing each simulated day on the way.
    fn run_until(&mut self, until: Instant) -> Result<(), String> {
        loop {
            let step = self
                .desk
                .next_deadline()
                .filter(|d| *d <= until.min(self.day_end));
            let events = match step {
                Some(deadline) => self.desk.advance_to(deadline),
                None if self.day_end <= until => self.desk.advance_to(self.day_end),
                None => return Ok(()),
            }
            .map_err(|e| e.to_string())?;
            self.record(&events)?;
            if step.is_none() {
                self.close_day();
            }
        }
    }

    fn close_day(&mut self) {
        let day = self.day_end.plus_seconds(-SECONDS_PER_DAY).to_string();
        self.tally.end_day(day[..10].to_owned(), &self.desk);
        self.day_end = self.day_end.plus_seconds(SECONDS_PER_DAY);
    }
}

fn simulate(
    plan: &Config,
    config: &Config,
    account: String,
    opts: &Options,
    events_out: Option<&Path>,
) -> Result<Summary, String> {
    let (commands, start, end, workload) = source(plan, opts)?;
    let out = match events_out {
        Some(p) => Some((
            BufWriter::new(
                File::create(p).map_err(|e| format!("cannot write {}: {e}", p.display()))?,
            ),
            p.display().to_string(),
        )),
        None => None,
    };
    let bar = progress(
        opts.quiet,
        end.map(|e| (e.unix_seconds() - start.unix_seconds()).unsigned_abs()),
    );
    let mut run = Run {
        desk: Desk::new(config.clone(), start),
        tally: Tally::default(),
        out,
        day_end: start.plus_seconds(SECONDS_PER_DAY),
    };
    // The command line times itself for its report (wall time, events per second); the
    // library never reads a clock.
    #[allow(clippy::disallowed_methods)]
    let clock = std::time::Instant::now();
    let mut last = start;
    for timed in commands {
        let timed = timed?;
        if timed.at >= run.desk.now() {
            run.run_until(timed.at)?;
        }
        let events = match run.desk.execute(timed.at, &timed.command) {
            Ok(events) => events,
            Err(rejection) => {
                run.tally.refusal(rejection.error.code());
                rejection.events
            }
        };
        run.record(&events)?;
        run.tally.commands += 1;
        last = last.max(timed.at);
        if run.tally.commands.is_multiple_of(4096) {
            bar.set_position((timed.at.unix_seconds() - start.unix_seconds()).unsigned_abs());
            bar.set_message(format!(
                "{} commands, {} events",
                run.tally.commands, run.tally.events
            ));
        }
    }
    let end = end.unwrap_or(last);
    run.run_until(end)?;
    let events = run.desk.advance_to(end).map_err(|e| e.to_string())?;
    run.record(&events)?;
    if run.day_end.plus_seconds(-SECONDS_PER_DAY) < end {
        run.close_day();
    }
    if let Some((mut w, name)) = run.out.take() {
        w.flush().map_err(|e| format!("cannot write {name}: {e}"))?;
    }
    bar.finish_and_clear();
    let wall = clock.elapsed().as_secs_f64();
    let timings = Timings {
        wall_seconds: wall,
        events_per_second: run.tally.events as f64 / wall.max(1e-9),
        peak_memory: peak_memory(),
    };
    Ok(run.tally.finish(&run.desk, account, workload, timings))
}

/// The process's peak resident memory, from `VmHWM` in /proc/self/status (Linux), or
/// `"unknown"`.
fn peak_memory() -> String {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            Some(format!("{:.0} MiB", kib as f64 / 1024.0))
        })
        .unwrap_or_else(|| "unknown".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built-in account is `rules-examples/account.toml` with its scripts, all of them.
    #[test]
    fn the_built_in_account_is_the_examples_account() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules-examples");
        let on_disk = Config::from_file(&dir.join("account.toml")).unwrap();
        let (built_in, _) = load(None).unwrap();
        assert_eq!(built_in, on_disk);
        let mut scripts: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".rhai"))
            .collect();
        scripts.sort();
        let built: Vec<&str> = DEFAULT_SCRIPTS.iter().map(|(n, _)| *n).collect();
        assert_eq!(built, scripts);
    }
}

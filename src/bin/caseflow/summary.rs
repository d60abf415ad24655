//! What a simulation measured: the tally of its events, the summary it prints (a table,
//! or JSON) and two summaries side by side (`--compare`).

use std::collections::{BTreeMap, HashMap};

use caseflow::{CaseId, Category, CloseCause, Desk, Event, EventKind, RuleStats, StatusCause};
use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

/// The summary of one run. Everything but `timings` follows from the account, the
/// workload and the seed.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub account: String,
    pub workload: String,
    pub commands: u64,
    /// Refused commands by error code.
    pub refused: BTreeMap<String, u64>,
    /// Cases at the end by category (closed ones apart), and closed.
    pub cases: BTreeMap<String, u64>,
    pub auto_closed: u64,
    pub closed_by_rule: u64,
    /// Problems whose resolution resolved incidents, and those incidents.
    pub cascades: u64,
    pub cascade_incidents: u64,
    /// `task_overdue` events.
    pub overdue_tasks: u64,
    /// From creation to the first assignee, for cases created unassigned.
    pub time_to_first_assignment: Spread,
    /// From creation to the first entry into `resolved`.
    pub time_to_resolution: Spread,
    pub rules: Vec<RuleStats>,
    pub events: u64,
    pub timings: Timings,
    /// Per simulated day, for the report.
    #[serde(skip)]
    pub daily: Daily,
}

/// The median and 90th percentile of durations, in minutes, over `count` cases.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Spread {
    pub count: u64,
    pub median_minutes: Option<u64>,
    pub p90_minutes: Option<u64>,
}

/// What differs from run to run on the same input.
#[derive(Clone, Debug, Serialize)]
pub struct Timings {
    pub wall_seconds: f64,
    pub events_per_second: f64,
    /// The process's peak resident memory (`VmHWM`), or `"unknown"`.
    pub peak_memory: String,
}

/// Per simulated day: the backlog at the day's start, and what happened during it.
#[derive(Clone, Debug, Default)]
pub struct Daily {
    pub days: Vec<String>,
    /// Cases not closed by category (the five categories in order), at each day's end.
    pub backlog: [Vec<u64>; 5],
    pub resolutions: Vec<u64>,
    pub auto_closes: Vec<u64>,
}

/// Counts events as they come.
#[derive(Default)]
pub struct Tally {
    pub commands: u64,
    pub refused: BTreeMap<String, u64>,
    pub events: u64,
    closed: u64,
    auto_closed: u64,
    closed_by_rule: u64,
    cascades: u64,
    cascade_incidents: u64,
    overdue_tasks: u64,
    last_cascade: Option<(CaseId, i64)>,
    /// Cases still waiting for a first assignee or a first resolution: their creation.
    waiting_assignee: HashMap<CaseId, i64>,
    waiting_resolution: HashMap<CaseId, i64>,
    to_assignment: Vec<u32>,
    to_resolution: Vec<u32>,
    pub daily: Daily,
    resolutions_today: u64,
    auto_closes_today: u64,
}

fn minutes(from: i64, to: i64) -> u32 {
    u32::try_from((to - from).max(0) / 60).unwrap_or(u32::MAX)
}

impl Tally {
    pub fn event(&mut self, event: &Event) {
        self.events += 1;
        let case = event.case.unwrap_or(0);
        let at = event.at.unix_seconds();
        match &event.kind {
            EventKind::Created { view } | EventKind::Imported { view } => {
                let created = view.created_at().unix_seconds();
                if view.assignee().is_none() {
                    self.waiting_assignee.insert(case, created);
                }
                if view.category() == Category::Resolved {
                    self.to_resolution.push(minutes(created, at));
                } else {
                    self.waiting_resolution.insert(case, created);
                }
            }
            EventKind::AssigneeChanged { to: Some(_), .. } => {
                if let Some(created) = self.waiting_assignee.remove(&case) {
                    self.to_assignment.push(minutes(created, at));
                }
            }
            EventKind::StatusChanged {
                to_category: Category::Resolved,
                from_category,
                cause,
                problem,
                ..
            } if *from_category != Category::Resolved => {
                self.resolutions_today += 1;
                if let Some(created) = self.waiting_resolution.remove(&case) {
                    self.to_resolution.push(minutes(created, at));
                }
                if *cause == StatusCause::ProblemResolved {
                    self.cascade_incidents += 1;
                    let key = (problem.unwrap_or(0), at);
                    if self.last_cascade != Some(key) {
                        self.last_cascade = Some(key);
                        self.cascades += 1;
                    }
                }
            }
            EventKind::Closed { cause, .. } => {
                self.closed += 1;
                self.waiting_assignee.remove(&case);
                match cause {
                    CloseCause::AutoClose => {
                        self.auto_closed += 1;
                        self.auto_closes_today += 1;
                    }
                    CloseCause::Rule => self.closed_by_rule += 1,
                }
            }
            EventKind::Purged {} => {
                self.waiting_assignee.remove(&case);
                self.waiting_resolution.remove(&case);
            }
            EventKind::TaskOverdue { .. } => self.overdue_tasks += 1,
            _ => {}
        }
    }

    pub fn refusal(&mut self, code: caseflow::ErrorCode) {
        *self.refused.entry(code.as_str().to_owned()).or_default() += 1;
    }

    /// Closes the day `day` (`YYYY-MM-DD`): the backlog as the desk holds it now.
    pub fn end_day(&mut self, day: String, desk: &Desk) {
        let d = &mut self.daily;
        d.days.push(day);
        for (i, (category, count)) in desk.count_by_category().into_iter().enumerate() {
            let mut count = count as u64;
            if category == Category::Resolved {
                count = count.saturating_sub(self.closed);
            }
            d.backlog[i].push(count);
        }
        d.resolutions
            .push(std::mem::take(&mut self.resolutions_today));
        d.auto_closes
            .push(std::mem::take(&mut self.auto_closes_today));
    }

    pub fn finish(
        self,
        desk: &Desk,
        account: String,
        workload: String,
        timings: Timings,
    ) -> Summary {
        let closed = desk.cases().filter(|c| c.closed() && !c.deleted()).count() as u64;
        let mut cases: BTreeMap<String, u64> = BTreeMap::new();
        for (category, count) in desk.count_by_category() {
            let mut count = count as u64;
            if category == Category::Resolved {
                count = count.saturating_sub(closed);
            }
            cases.insert(category.as_str().to_owned(), count);
        }
        cases.insert("closed".to_owned(), closed);
        Summary {
            account,
            workload,
            commands: self.commands,
            refused: self.refused,
            cases,
            auto_closed: self.auto_closed,
            closed_by_rule: self.closed_by_rule,
            cascades: self.cascades,
            cascade_incidents: self.cascade_incidents,
            overdue_tasks: self.overdue_tasks,
            time_to_first_assignment: spread(self.to_assignment),
            time_to_resolution: spread(self.to_resolution),
            rules: desk.rule_stats(),
            events: self.events,
            timings,
            daily: self.daily,
        }
    }
}

/// The median and 90th percentile (nearest rank).
fn spread(mut minutes: Vec<u32>) -> Spread {
    minutes.sort_unstable();
    let rank = |p: usize| {
        let n = minutes.len();
        (n > 0).then(|| u64::from(minutes[((n * p).div_ceil(100)).clamp(1, n) - 1]))
    };
    Spread {
        count: minutes.len() as u64,
        median_minutes: rank(50),
        p90_minutes: rank(90),
    }
}

fn duration(minutes: Option<u64>) -> String {
    match minutes {
        None => "-".to_owned(),
        Some(m) if m < 60 => format!("{m} min"),
        Some(m) if m < 48 * 60 => format!("{:.1} h", m as f64 / 60.0),
        Some(m) => format!("{:.1} days", m as f64 / 1440.0),
    }
}

/// One line of the table: what, the value, and whether it is a timing (which differs
/// from run to run and is left out of comparisons).
pub struct Row {
    pub label: String,
    pub value: String,
    pub timing: bool,
}

impl Summary {
    pub fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        let mut row = |label: String, value: String| {
            rows.push(Row {
                label,
                value,
                timing: false,
            })
        };
        row("account".into(), self.account.clone());
        row("workload".into(), self.workload.clone());
        row("commands".into(), self.commands.to_string());
        for (code, n) in &self.refused {
            row(format!("refused: {code}"), n.to_string());
        }
        for category in Category::ALL
            .map(Category::as_str)
            .iter()
            .chain(&["closed"])
        {
            let n = self.cases.get(*category).copied().unwrap_or(0);
            row(format!("cases {category} at the end"), n.to_string());
        }
        row("closed by auto-close".into(), self.auto_closed.to_string());
        row("closed by rules".into(), self.closed_by_rule.to_string());
        row("cascades".into(), self.cascades.to_string());
        row(
            "incidents resolved by cascades".into(),
            self.cascade_incidents.to_string(),
        );
        row("tasks overdue".into(), self.overdue_tasks.to_string());
        for (what, s) in [
            ("first assignment", &self.time_to_first_assignment),
            ("resolution", &self.time_to_resolution),
        ] {
            row(
                format!("time to {what}: median"),
                duration(s.median_minutes),
            );
            row(
                format!("time to {what}: 90th percentile"),
                duration(s.p90_minutes),
            );
        }
        for r in &self.rules {
            row(
                format!("rule {} ({})", r.rule, r.kind.as_str()),
                format!("{} fired, {} failed", r.firings, r.failures),
            );
        }
        row("events".into(), self.events.to_string());
        let t = &self.timings;
        for (label, value) in [
            ("wall time", format!("{:.1} s", t.wall_seconds)),
            ("events per second", format!("{:.0}", t.events_per_second)),
            ("peak memory", t.peak_memory.clone()),
        ] {
            rows.push(Row {
                label: label.into(),
                value,
                timing: true,
            });
        }
        rows
    }

    pub fn table(&self) -> Table {
        let mut table = Table::new();
        table
            .load_style(UTF8_FULL_CONDENSED)
            .set_header(["", "value"]);
        for r in self.rows() {
            table.add_row([r.label, r.value]);
        }
        table
    }
}

/// Two summaries side by side, with a column that shows each difference; and how many
/// rows differ (timings aside).
pub fn compare(a: &Summary, b: &Summary) -> (Table, usize) {
    let (ra, rb) = (a.rows(), b.rows());
    let mut labels: Vec<(&str, bool)> = ra.iter().map(|r| (r.label.as_str(), r.timing)).collect();
    for r in &rb {
        if !ra.iter().any(|x| x.label == r.label) {
            labels.push((&r.label, r.timing));
        }
    }
    let value = |rows: &[Row], label: &str| {
        rows.iter()
            .find(|r| r.label == label)
            .map_or("-".to_owned(), |r| r.value.clone())
    };
    let mut table = Table::new();
    table
        .load_style(UTF8_FULL_CONDENSED)
        .set_header(["", "A", "B", "difference"]);
    let mut differences = 0;
    for (label, timing) in labels {
        if label == "account" {
            table.add_row([
                label.to_owned(),
                a.account.clone(),
                b.account.clone(),
                String::new(),
            ]);
            continue;
        }
        let (va, vb) = (value(&ra, label), value(&rb, label));
        let diff = if timing || va == vb {
            String::new()
        } else {
            differences += 1;
            match (va.parse::<i64>(), vb.parse::<i64>()) {
                (Ok(x), Ok(y)) => format!("{:+}", y - x),
                _ => "differs".to_owned(),
            }
        };
        table.add_row([label.to_owned(), va, vb, diff]);
    }
    (table, differences)
}

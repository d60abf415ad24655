//! A seeded synthetic workload: the commands a support team's day brings, at their
//! instants, for one account (feature `workload`).
//!
//! [`Workload`] is an iterator of [`Timed`] commands in time order. It plans each case's
//! life when the case arrives (its assignment, the agent's and the requester's moves, its
//! resolution, maybe a reopening) and hands out the planned commands as their instants
//! come, so it holds only the cases still in progress, never the whole stream. The same
//! configuration, [`Params`] and seed give the same commands.
//!
//! # Example
//! ```
//! use caseflow::workload::{Params, Workload};
//! use caseflow::{Config, Desk};
//!
//! let config = Config::default();
//! let params = Params { cases: 200, days: 7, ..Params::default() };
//! let mut desk = Desk::new(config.clone(), params.start);
//! let workload = Workload::new(&config, &params).unwrap();
//! let end = workload.end();
//! for timed in workload {
//!     desk.execute(timed.at, &timed.command).unwrap();
//! }
//! desk.advance_to(end).unwrap();
//! assert_eq!(desk.cases().count(), 200);
//! ```

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use chrono::{Datelike, TimeZone, Timelike, Weekday};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::case::{CaseId, CaseType, Channel, Priority};
use crate::command::{Command, Create, Update};
use crate::config::Config;
use crate::error::{Error, ErrorCode};
use crate::status::{Category, StatusId};
use crate::time::{Date, Instant};

/// Most cases a workload may create.
pub const MAX_CASES: u64 = 100_000_000;
/// Longest workload, in days.
pub const MAX_DAYS: u32 = 3_650;

const HOUR: i64 = 3_600;
const DAY: i64 = 86_400;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Params {
    /// How many cases arrive (follow-on moves of those cases come on top).
    pub cases: u64,
    /// How many days the workload spans, from `start`; nothing is planned at or after its
    /// end.
    pub days: u32,
    /// The seed of the random choices.
    pub seed: u64,
    /// The first instant: best a local midnight, so that days are the account's days.
    pub start: Instant,
}

impl Default for Params {
    /// 100,000 cases over 60 days from Monday 2026-03-02T00:00:00Z, seed 1.
    fn default() -> Params {
        Params {
            cases: 100_000,
            days: 60,
            seed: 1,
            start: Instant::from_unix_seconds(1_772_409_600).unwrap_or(Instant::latest_step()),
        }
    }
}

/// One command at its instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Timed {
    /// When the host executes it.
    pub at: Instant,
    /// What it asks.
    pub command: Command,
}

/// Whether a desk refusing a generated command with `code` is what the generator
/// expects.
///
/// The generator plans each case's life without seeing the desk; without rules every
/// planned command is accepted. An account's rules may change a case in between (resolve
/// or close it, move it to another group, take its assignee away, change its type), and
/// then a planned command may be refused with one of these codes: `case_closed`,
/// `case_resolved`, `invalid_transition`, `assignee_required`, `assignee_not_in_group`,
/// `unknown_agent`, `not_an_incident`, `due_date_requires_task` and `problem_resolved`.
/// Any other refusal is a fault of the generator or of the engine.
pub fn expected_refusal(code: ErrorCode) -> bool {
    matches!(
        code,
        ErrorCode::CaseClosed
            | ErrorCode::CaseResolved
            | ErrorCode::InvalidTransition
            | ErrorCode::AssigneeRequired
            | ErrorCode::AssigneeNotInGroup
            | ErrorCode::UnknownAgent
            | ErrorCode::NotAnIncident
            | ErrorCode::DueDateRequiresTask
            | ErrorCode::ProblemResolved
    )
}

/// A seeded stream of timed commands for one account: an [`Iterator`] of [`Timed`] in
/// time order (commands at one instant in the order planned).
///
/// What it generates (DESIGN.md, "What does the synthetic workload look like?", gives the
/// proportions and why):
///
/// - arrivals with business-hour and weekday peaks in the account's time zone, spread so
///   that exactly [`Params::cases`] cases arrive over [`Params::days`];
/// - channels, priorities and types in fixed proportions; a subject, sometimes a `vip` or
///   `billing` tag; a group of the account's directory (or `tier1`/`tier2` without one);
/// - assignment to a member of the group after a delay by priority, agents' moves during
///   business hours (urgent cases at any hour); phone and chat cases often created
///   assigned;
/// - pending periods ended by the requester's reply (or not), on-hold periods, replies
///   while open, resolution into one of the account's resolved statuses, and reopenings
///   by a requester's reply before the case auto-closes;
/// - problems that stay open for days and gather incidents (older problems gather more),
///   resolved together by the problem's cascade;
/// - tasks with a due date, some resolved after it (overdue).
///
/// Case ids are given in the `create` commands: arrival order, from 1.
#[derive(Debug)]
pub struct Workload {
    rng: ChaCha8Rng,
    start: i64,
    end: i64,
    auto_close: i64,
    /// Per hour of the span: arrival weight, and the hour (index) at or after it at which
    /// agents work.
    weights: Vec<f64>,
    working: Vec<usize>,
    /// The hours whose arrivals are in the queue, and how many cases arrived so far.
    next_hour: usize,
    arrived: u64,
    total: u64,
    weight_sum: f64,
    weight_before: f64,
    queue: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    requesters: u64,
    teams: Vec<(String, Vec<String>)>,
    statuses: [Vec<StatusId>; 5],
    zone: chrono_tz::Tz,
    /// Problems open for incidents: id and planned resolution (seconds).
    problems: Vec<(CaseId, i64)>,
}

#[derive(Debug)]
struct Pending {
    at: i64,
    seq: u64,
    case: CaseId,
    action: Action,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Pending) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Pending) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Pending) -> Ordering {
        (self.at, self.seq).cmp(&(other.at, other.seq))
    }
}

#[derive(Debug)]
enum Action {
    Arrive,
    Assign(String),
    Status(StatusId),
    Reply,
}

/// Pick by weight: the first entry whose cumulative weight passes `u` (weights sum to 1).
fn pick<T: Copy>(u: f64, table: &[(T, f64)]) -> Option<T> {
    let mut acc = 0.0;
    for &(value, weight) in table {
        acc += weight;
        if u < acc {
            return Some(value);
        }
    }
    table.last().map(|&(v, _)| v)
}

const TYPES: [(Option<CaseType>, f64); 5] = [
    (Some(CaseType::Question), 0.38),
    (Some(CaseType::Incident), 0.30),
    (Some(CaseType::Problem), 0.02),
    (Some(CaseType::Task), 0.10),
    (None, 0.20),
];
const PRIORITIES: [(Option<Priority>, f64); 5] = [
    (Some(Priority::Low), 0.15),
    (Some(Priority::Normal), 0.55),
    (Some(Priority::High), 0.22),
    (Some(Priority::Urgent), 0.06),
    (None, 0.02),
];
const CHANNELS: [(Channel, f64); 8] = [
    (Channel::Email, 0.42),
    (Channel::Web, 0.22),
    (Channel::Chat, 0.12),
    (Channel::Phone, 0.10),
    (Channel::Api, 0.06),
    (Channel::Voicemail, 0.03),
    (Channel::Twitter, 0.03),
    (Channel::Facebook, 0.02),
];
const SUBJECTS: [&str; 8] = [
    "Cannot log in",
    "Invoice does not match the order",
    "Export fails with an error",
    "How do I add a user?",
    "Page loads slowly",
    "Refund request",
    "Password reset email never arrives",
    "Integration returns 500",
];

/// Arrival weight of a local hour: business hours with a late-morning and an
/// early-afternoon peak, quieter evenings, quiet nights; weekdays over weekends.
fn arrival_weight(weekday: Weekday, hour: u32) -> f64 {
    let by_hour = match hour {
        10 | 11 | 14 | 15 => 1.3,
        8..=17 => 1.0,
        18..=21 => 0.35,
        _ => 0.12,
    };
    let by_day = match weekday {
        Weekday::Mon => 1.15,
        Weekday::Tue | Weekday::Wed | Weekday::Thu => 1.0,
        Weekday::Fri => 0.9,
        Weekday::Sat => 0.3,
        Weekday::Sun => 0.25,
    };
    by_hour * by_day
}

/// Whether agents work in this local hour: 08:00 to 18:00, Monday to Friday.
fn agents_work(weekday: Weekday, hour: u32) -> bool {
    (8..18).contains(&hour) && !matches!(weekday, Weekday::Sat | Weekday::Sun)
}

impl Workload {
    /// A workload for an account with this configuration: its time zone, auto-close
    /// period, group directory and statuses.
    ///
    /// # Errors
    /// `invalid_input` when `cases` is above [`MAX_CASES`], `days` is 0 or above
    /// [`MAX_DAYS`], the span ends after [`Instant::latest_step`], or the account's
    /// group directory names no agent to assign cases to.
    pub fn new(config: &Config, params: &Params) -> Result<Workload, Error> {
        if params.cases > MAX_CASES {
            return Err(Error::input(format!(
                "cases: {} is more than {MAX_CASES}",
                params.cases
            )));
        }
        if params.days == 0 || params.days > MAX_DAYS {
            return Err(Error::input(format!(
                "days: {} is not from 1 to {MAX_DAYS}",
                params.days
            )));
        }
        let start = params.start.unix_seconds();
        let end = start + i64::from(params.days) * DAY;
        if end > Instant::latest_step().unix_seconds() {
            return Err(Error::input("the workload would end after the latest step"));
        }
        let teams: Vec<(String, Vec<String>)> = match &config.groups {
            Some(groups) => groups
                .iter()
                .filter(|(_, members)| !members.is_empty())
                .map(|(g, m)| (g.clone(), m.iter().cloned().collect()))
                .collect(),
            None => ["tier1", "tier2"]
                .iter()
                .enumerate()
                .map(|(t, g)| {
                    let agents = (1..=6).map(|a| format!("agent-{}", t * 6 + a)).collect();
                    ((*g).to_owned(), agents)
                })
                .collect(),
        };
        if teams.is_empty() {
            return Err(Error::input(
                "the account's group directory has no agent to assign cases to",
            ));
        }
        let statuses = Category::ALL.map(|c| {
            config
                .catalog
                .iter()
                .filter(|s| s.category == c && s.active && !s.deleted)
                .map(|s| s.id.clone())
                .collect()
        });
        let zone = config.timezone;
        let hours = params.days as usize * 24;
        let mut weights = Vec::with_capacity(hours);
        let mut works = Vec::with_capacity(hours);
        for h in 0..hours {
            let local = zone.timestamp_opt(start + h as i64 * HOUR, 0).single();
            let (weekday, hour) = local.map_or((Weekday::Mon, 12), |t| (t.weekday(), t.hour()));
            weights.push(arrival_weight(weekday, hour));
            works.push(agents_work(weekday, hour));
        }
        // The first working hour at or after each hour (`hours` when none is left).
        let mut working = vec![hours; hours];
        let mut next = hours;
        for h in (0..hours).rev() {
            if works[h] {
                next = h;
            }
            working[h] = next;
        }
        let weight_sum = weights.iter().sum();
        Ok(Workload {
            rng: ChaCha8Rng::seed_from_u64(params.seed),
            start,
            end,
            auto_close: i64::from(config.auto_close_after_days) * DAY,
            weights,
            working,
            next_hour: 0,
            arrived: 0,
            total: params.cases,
            weight_sum,
            weight_before: 0.0,
            queue: BinaryHeap::new(),
            seq: 0,
            requesters: (params.cases / 3).max(1),
            teams,
            statuses,
            zone,
            problems: Vec::new(),
        })
    }

    /// The end of the span: `start` plus `days`. A host runs its desk up to it after the
    /// last command, so that what falls due in the span fires.
    pub fn end(&self) -> Instant {
        Instant::from_unix_seconds(self.end).unwrap_or(Instant::latest_step())
    }

    /// Queues the arrivals of the next hour of the span.
    fn next_arrivals(&mut self) {
        let h = self.next_hour;
        self.next_hour += 1;
        self.weight_before += self.weights[h];
        // Cases arrived by the end of this hour, in proportion to the weight so far; the
        // last hour rounds to the total exactly.
        let by_now = if self.next_hour == self.weights.len() {
            self.total
        } else {
            (((self.total as f64) * self.weight_before / self.weight_sum).round() as u64)
                .min(self.total)
        };
        let count = by_now.saturating_sub(self.arrived);
        let hour_start = self.start + h as i64 * HOUR;
        let mut offsets: Vec<i64> = (0..count).map(|_| self.rng.random_range(0..HOUR)).collect();
        offsets.sort_unstable();
        for offset in offsets {
            self.arrived += 1;
            self.push(hour_start + offset, self.arrived, Action::Arrive);
        }
    }

    fn push(&mut self, at: i64, case: CaseId, action: Action) {
        if at < self.end {
            self.seq += 1;
            self.queue.push(Reverse(Pending {
                at,
                seq: self.seq,
                case,
                action,
            }));
        }
    }

    /// A delay drawn from an exponential distribution with this mean, in seconds (at
    /// least one second, at most 30 means).
    fn delay(&mut self, mean: f64) -> i64 {
        let u: f64 = self.rng.random();
        ((-mean * (1.0 - u).ln()) as i64).clamp(1, (mean * 30.0) as i64 + 1)
    }

    /// When an agent acts, `delay` seconds after `after`: during working hours, unless the
    /// case is urgent.
    fn agent_time(&mut self, after: i64, mean: f64, urgent: bool) -> i64 {
        let at = after + self.delay(mean);
        if urgent || at >= self.end {
            return at;
        }
        let hour = ((at - self.start) / HOUR) as usize;
        match self.working.get(hour) {
            Some(&w) if w == hour => at,
            Some(&w) if w < self.working.len() => {
                self.start + w as i64 * HOUR + self.rng.random_range(0..HOUR)
            }
            _ => self.end,
        }
    }

    fn status(&mut self, category: Category) -> Option<StatusId> {
        let list = &self.statuses[category.index()];
        match list.len() {
            0 => None,
            n => Some(list[self.rng.random_range(0..n)].clone()),
        }
    }

    /// Plans a case arriving at `at`: its `create`, and its later moves into the queue.
    fn arrive(&mut self, at: i64, id: CaseId) -> Command {
        let case_type = pick(self.rng.random(), &TYPES).flatten();
        let priority = pick(self.rng.random(), &PRIORITIES).flatten();
        let channel = pick(self.rng.random(), &CHANNELS).unwrap_or(Channel::Email);
        let subject = SUBJECTS[self.rng.random_range(0..SUBJECTS.len())];
        // The first team takes more of the work than the others.
        let team = if self.rng.random_bool(0.5) {
            0
        } else {
            self.rng.random_range(0..self.teams.len())
        };
        let agent = {
            let members = &self.teams[team].1;
            members[self.rng.random_range(0..members.len())].clone()
        };
        let mut tags = Vec::new();
        if self.rng.random_bool(0.05) {
            tags.push("vip".to_owned());
        }
        if subject.starts_with("Invoice") || subject.starts_with("Refund") {
            tags.push("billing".to_owned());
        }
        let urgent = priority == Some(Priority::Urgent);
        let live = matches!(channel, Channel::Phone | Channel::Chat);
        let assigned_now = live && self.rng.random_bool(0.6);
        let requester = self.rng.random_range(1..=self.requesters);
        let mut create = Create {
            id: Some(id),
            submitter: format!("customer-{requester}"),
            case_type,
            subject: Some(subject.to_owned()),
            priority,
            group: Some(self.teams[team].0.clone()),
            assignee: assigned_now.then(|| agent.clone()),
            tags,
            channel: Some(channel),
            ..Create::default()
        };
        // Mean delays by priority: to the first assignment, and of each piece of work.
        let (first, work) = match priority {
            Some(Priority::Urgent) => (0.25 * HOUR as f64, 4.0 * HOUR as f64),
            Some(Priority::High) => (1.0 * HOUR as f64, 12.0 * HOUR as f64),
            Some(Priority::Low) => (8.0 * HOUR as f64, 3.0 * DAY as f64),
            _ => (3.0 * HOUR as f64, 1.5 * DAY as f64),
        };
        let mut cursor = at;
        if !assigned_now {
            cursor = self.agent_time(at, first, urgent);
        }
        match case_type {
            Some(CaseType::Problem) => {
                if !assigned_now {
                    self.push(cursor, id, Action::Assign(agent));
                }
                let resolve = self.agent_time(cursor + DAY, 3.0 * DAY as f64, urgent);
                self.problems.push((id, resolve));
                self.resolve(id, resolve);
                return Command::Create(create);
            }
            Some(CaseType::Incident) if self.rng.random_bool(0.45) => {
                if let Some((problem, resolve)) = self.open_problem(at) {
                    // Resolved by its problem's cascade; assigned if the agent is quicker.
                    create.problem = Some(problem);
                    if !assigned_now && cursor < resolve {
                        self.push(cursor, id, Action::Assign(agent));
                    }
                    return Command::Create(create);
                }
            }
            Some(CaseType::Task) => {
                let due = at + self.rng.random_range(DAY..7 * DAY);
                create.due_date = self.local_date(due);
            }
            _ => {}
        }
        if !assigned_now {
            self.push(cursor, id, Action::Assign(agent));
        }
        cursor = self.work(id, cursor, work, urgent);
        let resolved = self.agent_time(cursor, work, urgent);
        self.resolve(id, resolved);
        if self.rng.random_bool(0.09) {
            // The requester answers within the auto-close period: a reopening.
            let reply = resolved
                + self
                    .rng
                    .random_range(HOUR..(self.auto_close * 4 / 5).max(HOUR + 1));
            self.push(reply, id, Action::Reply);
            let again = self.agent_time(reply, work, urgent);
            self.resolve(id, again);
        }
        Command::Create(create)
    }

    /// Plans the work between the assignment (`cursor`) and the resolution: up to three
    /// rounds of pending, on-hold or the requester writing again. Returns when the last
    /// round ends.
    fn work(&mut self, id: CaseId, mut cursor: i64, mean: f64, urgent: bool) -> i64 {
        for _ in 0..3 {
            let u: f64 = self.rng.random();
            if u < 0.30 {
                let Some(pending) = self.status(Category::Pending) else {
                    break;
                };
                cursor = self.agent_time(cursor, mean / 2.0, urgent);
                self.push(cursor, id, Action::Status(pending));
                if self.rng.random_bool(0.85) {
                    cursor += self.delay(20.0 * HOUR as f64);
                    self.push(cursor, id, Action::Reply);
                } else {
                    // No answer: the agent resolves it days later.
                    return cursor + 5 * DAY;
                }
            } else if u < 0.40 {
                let (Some(hold), Some(open)) =
                    (self.status(Category::OnHold), self.status(Category::Open))
                else {
                    break;
                };
                cursor = self.agent_time(cursor, mean / 2.0, urgent);
                self.push(cursor, id, Action::Status(hold));
                cursor = self.agent_time(cursor, 2.0 * DAY as f64, urgent);
                self.push(cursor, id, Action::Status(open));
            } else if u < 0.50 {
                cursor += self.delay(6.0 * HOUR as f64);
                self.push(cursor, id, Action::Reply);
            } else {
                break;
            }
        }
        cursor
    }

    fn resolve(&mut self, id: CaseId, at: i64) {
        if let Some(resolved) = self.status(Category::Resolved) {
            self.push(at, id, Action::Status(resolved));
        }
    }

    /// A problem still open an hour after `at`, older ones likelier: the incidents of an
    /// outage gather on the problem filed first.
    fn open_problem(&mut self, at: i64) -> Option<(CaseId, i64)> {
        self.problems.retain(|&(_, resolve)| resolve > at + HOUR);
        if self.problems.is_empty() {
            return None;
        }
        let u: f64 = self.rng.random();
        let i = ((self.problems.len() as f64) * u * u) as usize;
        self.problems.get(i).copied()
    }

    fn local_date(&self, at: i64) -> Option<Date> {
        let local = self.zone.timestamp_opt(at, 0).single()?;
        Date::from_ymd(local.year(), local.month(), local.day())
    }
}

impl Iterator for Workload {
    type Item = Timed;

    fn next(&mut self) -> Option<Timed> {
        loop {
            let hour_start = self.start + self.next_hour as i64 * HOUR;
            let due = self
                .queue
                .peek()
                .is_some_and(|Reverse(p)| p.at < hour_start);
            if !due && self.next_hour < self.weights.len() {
                self.next_arrivals();
                continue;
            }
            let Reverse(p) = self.queue.pop()?;
            let command = match p.action {
                Action::Arrive => self.arrive(p.at, p.case),
                Action::Assign(agent) => Command::Update(Update {
                    case: p.case,
                    assignee: Some(Some(agent)),
                    ..Update::default()
                }),
                Action::Status(status) => Command::Update(Update {
                    case: p.case,
                    status: Some(status.to_string()),
                    ..Update::default()
                }),
                Action::Reply => Command::RequesterReply { case: p.case },
            };
            let at = Instant::from_unix_seconds(p.at)?;
            return Some(Timed { at, command });
        }
    }
}

//! Time done right (DOMAIN.md sections 5 and 6; see tests/lib.rs).
//!
//! 1. `due_at` is 12:00 local on `due_date`, checked against a hand-made table of zones whose
//!    offsets are known (DST days, half-hour DST, UTC+14, UTC-12, skipped days, a noon gap).
//! 2. The same rule as a property over every zone chrono-tz knows and random dates.
//! 3. Time-slicing invariance: one command sequence run (a) with time advanced only by the
//!    commands, (b) with `advance_to` at random intermediate instants, (c) with no-op commands
//!    at intermediate instants gives the same events and equal desks.
//! 4. Changing the time zone keeps `due_date`, recomputes `due_at` and emits only
//!    `config_changed`.
//! 5. A trashed task follows a time zone change too (it is not closed), so its snapshot
//!    restores.

use caseflow::{Case, CaseId, Config, Date, Desk, Event, EventKind, Instant, SECONDS_PER_DAY};
use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::{TZ_VARIANTS, Tz};
use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Value, json};

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

fn zone(name: &str) -> Tz {
    name.parse::<Tz>().unwrap()
}

// ----- 1. the table ---------------------------------------------------------------------

/// (zone, due_date, due_at): each due_at worked out by hand from the offset in force at
/// local noon that day (the comment), never by chrono.
#[rustfmt::skip]
const NOON: [(&str, &str, &str); 43] = [
    ("UTC",                 "2026-03-10", "2026-03-10T12:00:00Z"), // +00:00
    ("America/New_York",    "2026-01-15", "2026-01-15T17:00:00Z"), // EST -05:00
    ("America/New_York",    "2026-03-07", "2026-03-07T17:00:00Z"), // EST -05:00, the day before DST
    ("America/New_York",    "2026-03-08", "2026-03-08T16:00:00Z"), // EDT -04:00: 02:00 -> 03:00 that morning
    ("America/New_York",    "2026-03-10", "2026-03-10T16:00:00Z"), // EDT -04:00, a normal day
    ("America/New_York",    "2026-10-31", "2026-10-31T16:00:00Z"), // EDT -04:00, the day before
    ("America/New_York",    "2026-11-01", "2026-11-01T17:00:00Z"), // EST -05:00: 02:00 -> 01:00 that morning
    ("Europe/Lisbon",       "2026-01-15", "2026-01-15T12:00:00Z"), // WET +00:00 (winter)
    ("Europe/Lisbon",       "2026-07-15", "2026-07-15T11:00:00Z"), // WEST +01:00 (summer)
    ("Europe/Lisbon",       "2026-03-29", "2026-03-29T11:00:00Z"), // WEST +01:00 from 01:00Z that day
    ("Europe/Lisbon",       "2026-10-25", "2026-10-25T12:00:00Z"), // WET +00:00 from 01:00Z that day
    ("Australia/Lord_Howe", "2026-01-15", "2026-01-15T01:00:00Z"), // +11:00 (half-hour DST on)
    ("Australia/Lord_Howe", "2026-07-15", "2026-07-15T01:30:00Z"), // +10:30 (standard)
    ("Australia/Lord_Howe", "2026-04-05", "2026-04-05T01:30:00Z"), // +10:30: 02:00 -> 01:30 that morning
    ("Australia/Lord_Howe", "2026-10-04", "2026-10-04T01:00:00Z"), // +11:00: 02:00 -> 02:30 that morning
    ("Asia/Kolkata",        "2026-03-10", "2026-03-10T06:30:00Z"), // IST +05:30
    ("Asia/Kathmandu",      "2026-03-10", "2026-03-10T06:15:00Z"), // +05:45
    ("America/St_Johns",    "2026-01-15", "2026-01-15T15:30:00Z"), // NST -03:30
    ("America/St_Johns",    "2026-07-15", "2026-07-15T14:30:00Z"), // NDT -02:30
    ("America/St_Johns",    "2026-03-08", "2026-03-08T14:30:00Z"), // NDT -02:30: 02:00 -> 03:00 that morning
    ("Pacific/Kiritimati",  "2026-03-10", "2026-03-09T22:00:00Z"), // +14:00: the previous UTC date
    ("Pacific/Kiritimati",  "1994-12-31", "1994-12-31T10:00:00Z"), // skipped: 30th 23:59:59 -10:00 -> 1995-01-01 00:00 +14:00
    ("Pacific/Tongatapu",   "2026-03-10", "2026-03-09T23:00:00Z"), // +13:00
    ("Pacific/Tongatapu",   "2016-12-15", "2016-12-14T22:00:00Z"), // +14:00 (DST 2016-11-06 .. 2017-01-15)
    ("Pacific/Auckland",    "2026-01-15", "2026-01-14T23:00:00Z"), // NZDT +13:00: the previous UTC date
    ("Pacific/Auckland",    "2026-07-15", "2026-07-15T00:00:00Z"), // NZST +12:00
    ("Pacific/Chatham",     "2026-01-15", "2026-01-14T22:15:00Z"), // +13:45
    ("Etc/GMT+12",          "2026-03-10", "2026-03-11T00:00:00Z"), // -12:00 (POSIX sign): the next UTC date
    ("Etc/GMT-14",          "2026-03-10", "2026-03-09T22:00:00Z"), // +14:00 (POSIX sign)
    ("Pacific/Apia",        "2011-12-29", "2011-12-29T22:00:00Z"), // -10:00 (DST)
    ("Pacific/Apia",        "2011-12-30", "2011-12-30T10:00:00Z"), // skipped: 29th 23:59:59 -10:00 -> 31st 00:00 +14:00
    ("Pacific/Apia",        "2011-12-31", "2011-12-30T22:00:00Z"), // +14:00 (DST)
    ("Pacific/Fakaofo",     "2011-12-30", "2011-12-30T11:00:00Z"), // skipped: 29th 23:59:59 -11:00 -> 31st 00:00 +13:00
    ("Pacific/Kwajalein",   "1993-08-21", "1993-08-21T12:00:00Z"), // skipped: 20th 23:59:59 -12:00 -> 22nd 00:00 +12:00
    ("Africa/Khartoum",     "2000-01-14", "2000-01-14T10:00:00Z"), // +02:00
    ("Africa/Khartoum",     "2000-01-15", "2000-01-15T10:00:00Z"), // gap at noon: 12:00 +02:00 -> 13:00 +03:00 = 10:00Z
    ("Africa/Khartoum",     "2000-01-16", "2000-01-16T09:00:00Z"), // +03:00
    ("UTC",                 "2026-02-28", "2026-02-28T12:00:00Z"), // +00:00
    // Gaps at noon west of UTC and before 1970: local mean time ended at 12:00 that day.
    ("America/Havana",      "1925-07-19", "1925-07-19T17:29:36Z"), // HMT -05:29:36 until 12:00, then -05:00: 12:00 + 5:29:36
    ("America/Puerto_Rico", "1899-03-28", "1899-03-28T16:24:25Z"), // LMT -04:24:25 until 12:00, then AST -04:00
    ("America/Adak",        "1900-08-20", "1900-08-20T23:46:38Z"), // LMT -11:46:38 until 12:00, then -11:00
    // Noon twice: the earlier instant.
    ("America/New_York",    "1883-11-18", "1883-11-18T16:56:02Z"), // LMT -04:56:02 until 12:03:58, then EST -05:00 (17:00Z)
    ("Pacific/Kwajalein",   "1969-09-30", "1969-09-30T01:00:00Z"), // +11:00 until Oct 1 00:00, then the 30th again at -12:00 (Oct 1 00:00Z)
];

#[test]
fn due_at_is_local_noon_in_known_zones() {
    let mut wrong = Vec::new();
    for (name, date, want) in NOON {
        let got = date
            .parse::<Date>()
            .unwrap()
            .noon_in(zone(name))
            .to_string();
        if got != want {
            wrong.push(format!("{name} {date}: got {got}, want {want}"));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

#[test]
fn a_desk_gives_tasks_the_same_due_at() {
    let mut wrong = Vec::new();
    for (name, date, want) in NOON {
        let config = Config::from_value(&json!({"timezone": name})).unwrap();
        let mut desk = Desk::new(config, t("1970-01-01T00:00:00Z"));
        let create = json!({"op": "create", "id": 1, "submitter": "sue", "type": "task",
                            "due_date": date});
        desk.execute_json(t("1970-01-01T00:00:00Z"), &create)
            .unwrap();
        let case = desk.case(1).unwrap();
        let view = case.to_json();
        if view["due_date"] != json!(date) || view["due_at"] != json!(want) {
            wrong.push(format!(
                "{name} {date}: view has due_date {}, due_at {}; want due_at {want}",
                view["due_date"], view["due_at"]
            ));
        }
    }
    assert!(wrong.is_empty(), "\n{}", wrong.join("\n"));
}

// ----- 2. every zone --------------------------------------------------------------------

/// The only dates of 1970..=2037 on which 12:00 does not exist in some zone (found by
/// scanning every zone and day once), and two earlier dates on which it happens twice
/// (none of 1970..=2037 has an ambiguous noon), so that every branch of the rule is tried.
#[rustfmt::skip]
const NOON_EDGE_DATES: [&str; 6] =
    ["1993-08-21", "1994-12-31", "2000-01-15", "2011-12-30", "1883-11-18", "1969-09-30"];

fn day() -> impl Strategy<Value = NaiveDate> {
    let first = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
    let last = NaiveDate::from_ymd_opt(2037, 12, 31).unwrap();
    let span = u64::try_from((last - first).num_days()).unwrap();
    prop_oneof![
        9 => (0..=span).prop_map(move |d| first + Days::new(d)),
        1 => proptest::sample::select(&NOON_EDGE_DATES[..]).prop_map(|d| d.parse().unwrap()),
    ]
}

fn wall(zone: Tz, seconds: i64) -> NaiveDateTime {
    DateTime::from_timestamp(seconds, 0)
        .unwrap()
        .with_timezone(&zone)
        .naive_local()
}

proptest! {
    #[test]
    fn due_at_is_noon_or_the_first_instant_after_the_gap_in_every_zone(day in day()) {
        let date: Date = day.format("%Y-%m-%d").to_string().parse().unwrap();
        let noon = day.and_hms_opt(12, 0, 0).unwrap();
        for zone in TZ_VARIANTS {
            let due_at = date.noon_in(zone).unix_seconds();
            match zone.from_local_datetime(&noon) {
                LocalResult::Single(_) => {
                    prop_assert_eq!(wall(zone, due_at), noon, "{} {}", zone.name(), day);
                }
                LocalResult::None => {
                    let (at, before) = (wall(zone, due_at), wall(zone, due_at - 1));
                    prop_assert!(
                        at > noon && before < noon,
                        "{} {}: noon is in a gap; due_at {} reads {} and one second earlier {}",
                        zone.name(), day, due_at, at, before
                    );
                }
                LocalResult::Ambiguous(earlier, _) => {
                    prop_assert_eq!(due_at, earlier.timestamp(), "{} {}", zone.name(), day);
                }
            }
        }
    }
}

// ----- 3. time-slicing invariance -------------------------------------------------------

#[rustfmt::skip]
const ZONES: [&str; 7] = [
    "UTC", "America/New_York", "Europe/Lisbon", "Australia/Lord_Howe", "Pacific/Kiritimati",
    "Etc/GMT+12", "Pacific/Chatham",
];
const AGENTS: [&str; 2] = ["bob", "carol"];
const TYPES: [Option<&str>; 4] = [Some("task"), Some("question"), Some("incident"), None];
const PRIORITIES: [Option<&str>; 3] = [Some("high"), Some("low"), None];

/// Near New York's (03-08), Lisbon's (03-29) and Lord Howe's (04-05) DST changes.
fn start() -> Instant {
    t("2026-03-05T00:00:00Z")
}

#[derive(Clone, Debug)]
struct Setup {
    days: u32,
    zone: usize,
    /// Run the rule pack of tests/rules.rs, automations sweeping every `rules` minutes.
    rules: Option<u32>,
}

impl Setup {
    fn config(&self) -> Config {
        let mut config = json!({"auto_close_after_days": self.days,
                                "timezone": ZONES[self.zone]});
        if let Some(minutes) = self.rules {
            config["rules"] = crate::rules::rule_pack();
            config["automation_interval_minutes"] = json!(minutes);
        }
        Config::from_value(&config).unwrap()
    }
}

fn setup() -> impl Strategy<Value = Setup> {
    let rules = proptest::option::of(prop_oneof![Just(60u32), 7u32..=240]);
    (1u32..=5, 0..ZONES.len(), rules).prop_map(|(days, zone, rules)| Setup { days, zone, rules })
}

/// A command, abstractly; `case` picks among the cases created before it (ids 1..=n).
#[derive(Clone, Debug)]
enum Op {
    /// A case; a task with a due date `due` days after the command's UTC date (may be -1).
    Create {
        task: bool,
        due: i64,
        assignee: Option<usize>,
        resolved: bool,
    },
    Assign(usize, Option<usize>),
    Resolve(usize),
    Reopen(usize),
    /// A new due date, days after the command's UTC date, or none.
    MoveDue(usize, Option<i64>),
    Type(usize, usize),
    Priority(usize, usize),
    Reply(usize),
    /// Trash a case; `restore` brings it back and re-arms its deadlines (DOMAIN.md 3.4).
    Delete(usize),
    Restore(usize),
    Configure(Option<u32>, Option<usize>),
    Advance,
}

fn op() -> impl Strategy<Value = Op> {
    let case = 0usize..16;
    let create = (
        proptest::bool::weighted(0.7),
        -1i64..=4,
        proptest::option::weighted(0.6, 0..AGENTS.len()),
        proptest::bool::weighted(0.3),
    )
        .prop_map(|(task, due, assignee, resolved)| Op::Create {
            task,
            due,
            assignee,
            resolved,
        });
    prop_oneof![
        8 => create,
        2 => (case.clone(), proptest::option::weighted(0.8, 0..AGENTS.len()))
            .prop_map(|(c, a)| Op::Assign(c, a)),
        4 => case.clone().prop_map(Op::Resolve),
        3 => case.clone().prop_map(Op::Reopen),
        4 => (case.clone(), proptest::option::weighted(0.85, -2i64..=4))
            .prop_map(|(c, d)| Op::MoveDue(c, d)),
        2 => (case.clone(), 0..TYPES.len()).prop_map(|(c, ty)| Op::Type(c, ty)),
        1 => (case.clone(), 0..PRIORITIES.len()).prop_map(|(c, p)| Op::Priority(c, p)),
        2 => case.clone().prop_map(Op::Reply),
        1 => case.clone().prop_map(Op::Delete),
        1 => case.prop_map(Op::Restore),
        2 => (
            proptest::option::weighted(0.6, 1u32..=5),
            proptest::option::weighted(0.6, 0..ZONES.len()),
        )
            .prop_map(|(d, z)| Op::Configure(d, z)),
        1 => Just(Op::Advance),
    ]
}

/// What desk (b) and (c) do between two commands: at each permille of the gap, (b) advances
/// and (c) runs the no-op. With `exact`, (b) also stops at every deadline, as a host
/// scheduler following `next_deadline` would.
#[derive(Clone, Debug)]
struct Slices {
    points: Vec<u16>,
    exact: bool,
    noops: Vec<(u16, Noop)>,
}

/// A command that changes nothing.
#[derive(Clone, Copy, Debug)]
enum Noop {
    Advance,
    /// An update naming a case's current priority.
    SamePriority(usize),
    /// An update naming a case's current due date.
    SameDue(usize),
    /// A configure naming the current period and time zone.
    SameConfig,
}

fn slices() -> impl Strategy<Value = Slices> {
    let noop = prop_oneof![
        Just(Noop::Advance),
        (0usize..16).prop_map(Noop::SamePriority),
        (0usize..16).prop_map(Noop::SameDue),
        Just(Noop::SameConfig),
    ];
    (
        vec(0u16..=1000, 0..4),
        any::<bool>(),
        vec((0u16..=1000, noop), 0..3),
    )
        .prop_map(|(mut points, exact, mut noops)| {
            points.sort_unstable();
            noops.sort_by_key(|(p, _)| *p);
            Slices {
                points,
                exact,
                noops,
            }
        })
}

/// Seconds before a command: often none, up to several days (so that many deadlines fall
/// in one skipped span).
fn gap() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => Just(0i64),
        2 => 1i64..=120,
        3 => 121i64..SECONDS_PER_DAY,
        3 => SECONDS_PER_DAY..=4 * SECONDS_PER_DAY,
    ]
}

type Step = (i64, Op, Slices);

fn steps() -> impl Strategy<Value = Vec<Step>> {
    vec((gap(), op(), slices()), 1..40)
}

/// A burst: many cases created and resolved within minutes, all with deadlines at the same
/// few instants, then long silences the slicing cuts into.
fn burst() -> impl Strategy<Value = Vec<Step>> {
    let quick = (0i64..=300, op(), slices());
    let slow = (
        3 * SECONDS_PER_DAY..=8 * SECONDS_PER_DAY,
        prop_oneof![Just(Op::Advance), op()],
        slices(),
    );
    (vec(quick, 6..30), vec(slow, 1..4)).prop_map(|(mut a, b)| {
        a.extend(b);
        a
    })
}

fn date_after(at: Instant, days: i64) -> String {
    let day = DateTime::from_timestamp(at.unix_seconds(), 0)
        .unwrap()
        .date_naive();
    let day = if days >= 0 {
        day + Days::new(days.unsigned_abs())
    } else {
        day - Days::new(days.unsigned_abs())
    };
    day.format("%Y-%m-%d").to_string()
}

/// The concrete commands: (instant, JSON). Creates never fail, so case ids are 1..=n.
fn commands(steps: &[Step]) -> Vec<(Instant, Value)> {
    let mut at = start();
    let mut created: u64 = 0;
    let mut out = Vec::new();
    for (gap, op, _) in steps {
        at = at.plus_seconds(*gap);
        let case = |i: &usize| -> CaseId { (*i as u64 % created.max(1)) + 1 };
        let update = |i: &usize, fields: Value| {
            let mut cmd = json!({"op": "update", "case": case(i)});
            for (k, v) in fields.as_object().unwrap() {
                cmd[k] = v.clone();
            }
            cmd
        };
        let cmd = match op {
            Op::Create {
                task,
                due,
                assignee,
                resolved,
            } => {
                created += 1;
                let mut cmd = json!({"op": "create", "submitter": "sue"});
                if *task {
                    cmd["type"] = json!("task");
                    cmd["due_date"] = json!(date_after(at, *due));
                }
                if let Some(a) = assignee {
                    cmd["assignee"] = json!(AGENTS[*a]);
                    if *resolved {
                        cmd["status"] = json!("resolved");
                    }
                }
                cmd
            }
            Op::Assign(i, a) => update(i, json!({"assignee": a.map(|a| AGENTS[a])})),
            Op::Resolve(i) => update(i, json!({"status": "resolved", "assignee": "bob"})),
            Op::Reopen(i) => update(i, json!({"status": "open", "assignee": "bob"})),
            Op::MoveDue(i, d) => update(i, json!({"due_date": d.map(|d| date_after(at, d))})),
            Op::Type(i, ty) => update(i, json!({"type": TYPES[*ty]})),
            Op::Priority(i, p) => update(i, json!({"priority": PRIORITIES[*p]})),
            Op::Reply(i) => json!({"op": "requester_reply", "case": case(i)}),
            Op::Delete(i) => json!({"op": "delete", "case": case(i)}),
            Op::Restore(i) => json!({"op": "restore", "case": case(i)}),
            Op::Configure(days, zone) => {
                let mut cmd = json!({"op": "configure"});
                if let Some(d) = days {
                    cmd["auto_close_after_days"] = json!(d);
                }
                if let Some(z) = zone {
                    cmd["timezone"] = json!(ZONES[*z]);
                }
                cmd
            }
            Op::Advance => json!({"op": "advance"}),
        };
        out.push((at, cmd));
    }
    out
}

/// The instant `permille` of the way from `from` to `to`.
fn between(from: Instant, to: Instant, permille: u16) -> Instant {
    let span = to.unix_seconds() - from.unix_seconds();
    from.plus_seconds(span * i64::from(permille) / 1000)
}

/// A no-op command against the desk as it is now (`advance` when the named case cannot
/// take it).
fn noop(desk: &Desk, noop: Noop) -> Value {
    let live = |i: usize| -> Option<&Case> {
        let n = desk.cases().count();
        let case = desk.cases().nth(i % n.max(1))?;
        (!case.closed() && !case.deleted()).then_some(case)
    };
    match noop {
        Noop::Advance => json!({"op": "advance"}),
        Noop::SamePriority(i) => match live(i) {
            Some(c) => json!({"op": "update", "case": c.id(),
                              "priority": c.priority().map(|p| p.as_str())}),
            None => json!({"op": "advance"}),
        },
        Noop::SameDue(i) => match live(i) {
            Some(c) => json!({"op": "update", "case": c.id(),
                              "due_date": c.due_date().map(|d| d.to_string())}),
            None => json!({"op": "advance"}),
        },
        Noop::SameConfig => json!({"op": "configure",
            "auto_close_after_days": desk.config().auto_close_after_days(),
            "timezone": desk.config().timezone()}),
    }
}

/// Everything a run produced: every event in order, and each real command's outcome.
#[derive(Debug, Default, PartialEq)]
struct Run {
    events: Vec<Event>,
    outcomes: Vec<Result<(), String>>,
}

impl Run {
    fn command(&mut self, desk: &mut Desk, at: Instant, cmd: &Value) {
        let outcome = match desk.execute_json(at, cmd) {
            Ok(events) => {
                self.events.extend(events);
                Ok(())
            }
            Err(rejection) => {
                self.events.extend(rejection.events);
                Err(rejection.error.code().as_str().to_owned())
            }
        };
        self.outcomes.push(outcome);
    }

    fn advance(&mut self, desk: &mut Desk, at: Instant) {
        self.events.extend(desk.advance_to(at).unwrap());
    }

    fn noop(&mut self, desk: &mut Desk, at: Instant, cmd: &Value) -> Result<(), String> {
        match desk.execute_json(at, cmd) {
            Ok(events) => {
                self.events.extend(events);
                Ok(())
            }
            Err(r) => Err(format!("no-op {cmd} at {at} rejected: {}", r.error)),
        }
    }
}

/// Runs the three desks and checks they agree; `Err` says where they did not.
fn check_slicing(setup: &Setup, steps: &[Step]) -> Result<(), TestCaseError> {
    let commands = commands(steps);
    let config = setup.config();
    let (mut a, mut b, mut c) = (
        Desk::new(config.clone(), start()),
        Desk::new(config.clone(), start()),
        Desk::new(config, start()),
    );
    let (mut ra, mut rb, mut rc) = (Run::default(), Run::default(), Run::default());
    let mut prev = start();
    for ((at, cmd), (_, _, slices)) in commands.iter().zip(steps) {
        // (a): the command alone moves time.
        ra.command(&mut a, *at, cmd);
        // (b): advance_to at intermediate instants (and at each deadline, with `exact`).
        for p in &slices.points {
            let mid = between(prev, *at, *p);
            if slices.exact {
                while let Some(d) = b.next_deadline().filter(|d| *d <= mid && *d > b.now()) {
                    rb.advance(&mut b, d);
                }
            }
            rb.advance(&mut b, mid);
        }
        if slices.exact {
            while let Some(d) = b.next_deadline().filter(|d| d <= at && *d > b.now()) {
                rb.advance(&mut b, d);
            }
        }
        rb.command(&mut b, *at, cmd);
        // (c): no-op commands at intermediate instants.
        for (p, n) in &slices.noops {
            let mid = between(prev, *at, *p);
            // Built against the desk as the command will find it, after its advance.
            let mut probe = c.clone();
            probe.advance_to(mid).unwrap();
            let cmd = noop(&probe, *n);
            rc.noop(&mut c, mid, &cmd).map_err(TestCaseError::fail)?;
        }
        rc.command(&mut c, *at, cmd);
        prev = *at;
    }
    let script = commands
        .iter()
        .zip(&ra.outcomes)
        .map(|((at, cmd), o)| format!("{at} {cmd} -> {o:?}"))
        .collect::<Vec<_>>()
        .join("\n");
    prop_assert_eq!(
        &ra.outcomes,
        &rb.outcomes,
        "outcomes (a) vs (b)\n{}",
        script
    );
    prop_assert_eq!(
        &ra.outcomes,
        &rc.outcomes,
        "outcomes (a) vs (c)\n{}",
        script
    );
    prop_assert_eq!(&ra.events, &rb.events, "events (a) vs (b)\n{}", script);
    prop_assert_eq!(&ra.events, &rc.events, "events (a) vs (c)\n{}", script);
    // Past every deadline the commands could have armed.
    let end = prev.plus_seconds(12 * SECONDS_PER_DAY);
    ra.advance(&mut a, end);
    rb.advance(&mut b, end);
    rc.advance(&mut c, end);
    prop_assert_eq!(
        &ra.events,
        &rb.events,
        "events to the end (a) vs (b)\n{}",
        script
    );
    prop_assert_eq!(
        &ra.events,
        &rc.events,
        "events to the end (a) vs (c)\n{}",
        script
    );
    prop_assert!(a == b, "desks (a) and (b) differ\n{}", script);
    prop_assert!(a == c, "desks (a) and (c) differ\n{}", script);
    // Nothing is left but the next sweep of the automations, if any.
    let next_sweep = setup.rules.map(|minutes| {
        let step = i64::from(minutes) * 60;
        let now = a.now().unix_seconds();
        Instant::from_unix_seconds((now.div_euclid(step) + 1) * step).unwrap()
    });
    prop_assert_eq!(a.next_deadline(), next_sweep);
    Ok(())
}

proptest! {
    #[test]
    fn slicing_time_changes_nothing(setup in setup(), steps in steps()) {
        check_slicing(&setup, &steps)?;
    }

    #[test]
    fn slicing_a_span_full_of_deadlines_changes_nothing(setup in setup(), steps in burst()) {
        check_slicing(&setup, &steps)?;
    }
}

/// A fixed case of the slicing check: twelve cases whose auto-closes and overdue tasks fall
/// at a few shared instants inside one ten-day silence, sliced at its edges and inside it.
#[test]
fn many_deadlines_in_one_skipped_span() {
    let mut steps = Vec::new();
    for i in 0..12 {
        let create = Op::Create {
            task: i % 2 == 0,
            due: i64::from(i % 3),
            assignee: Some(0),
            resolved: i % 3 == 0,
        };
        steps.push((0, create, no_slices()));
    }
    let slices = Slices {
        points: vec![0, 1, 250, 500, 999, 1000],
        exact: true,
        noops: vec![
            (0, Noop::SameConfig),
            (300, Noop::SamePriority(3)),
            (600, Noop::SameDue(4)),
            (1000, Noop::Advance),
        ],
    };
    steps.push((10 * SECONDS_PER_DAY, Op::Advance, slices));
    for zone in 0..ZONES.len() {
        for rules in [None, Some(60), Some(7)] {
            check_slicing(
                &Setup {
                    days: 1,
                    zone,
                    rules,
                },
                &steps,
            )
            .unwrap();
        }
    }
}

fn no_slices() -> Slices {
    Slices {
        points: Vec::new(),
        exact: false,
        noops: Vec::new(),
    }
}

// ----- 4. changing the time zone --------------------------------------------------------

fn run(desk: &mut Desk, at: &str, cmd: Value) -> Vec<Event> {
    desk.execute_json(t(at), &cmd)
        .unwrap_or_else(|r| panic!("{cmd} at {at}: {r}"))
}

/// A case's view without `due_at`, the one field a time-zone change may recompute.
fn without_due_at(case: &Case) -> Value {
    let mut view = case.to_json();
    view.as_object_mut().unwrap().remove("due_at");
    view
}

#[test]
fn changing_the_time_zone_recomputes_due_at_and_changes_no_case() {
    let config =
        Config::from_value(&json!({"timezone": "America/New_York", "auto_close_after_days": 28}))
            .unwrap();
    let start = t("2026-03-02T08:00:00Z");
    let mut desk = Desk::new(config.clone(), start);
    let mut all = Vec::new();
    let create = |id: u64, due: &str| json!({"op": "create", "id": id, "submitter": "sue", "type": "task", "due_date": due});
    // 1: due 2026-03-10, noon EDT (-4) = 16:00Z.
    all.extend(run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        create(1, "2026-03-10"),
    ));
    // 2: due 2026-03-03, noon EST (-5) = 17:00Z; overdue before the change.
    all.extend(run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        create(2, "2026-03-03"),
    ));
    // 3: due 2026-03-12 but resolved: no overdue deadline while resolved.
    all.extend(run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        create(3, "2026-03-12"),
    ));
    all.extend(run(
        &mut desk,
        "2026-03-02T10:00:00Z",
        json!({"op": "update", "case": 3, "assignee": "bob", "status": "resolved"}),
    ));
    // 4: not a task.
    all.extend(run(
        &mut desk,
        "2026-03-02T10:00:00Z",
        json!({"op": "create", "id": 4, "submitter": "sue", "type": "question"}),
    ));
    let overdue = desk.advance_to(t("2026-03-03T17:00:00Z")).unwrap();
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert!(matches!(overdue[0].kind, EventKind::TaskOverdue { .. }));
    assert_eq!(overdue[0].case, Some(2));
    all.extend(overdue);
    assert!(desk.case(2).unwrap().overdue());
    assert_eq!(
        desk.case(1).unwrap().due_at(),
        Some(t("2026-03-10T16:00:00Z"))
    );
    assert_eq!(desk.next_deadline(), Some(t("2026-03-10T16:00:00Z")));

    let before: Vec<Case> = desk.cases().cloned().collect();
    let change = t("2026-03-05T00:00:00Z");
    let events = desk
        .execute_json(
            change,
            &json!({"op": "configure", "timezone": "Asia/Tokyo"}),
        )
        .unwrap();
    // Only config_changed: no case event, no second task_overdue for case 2.
    assert_eq!(events.len(), 1, "{events:?}");
    let EventKind::ConfigChanged { changes } = &events[0].kind else {
        panic!("{events:?}");
    };
    assert_eq!(changes.timezone.as_deref(), Some("Asia/Tokyo"));
    assert_eq!(
        (events[0].case, events[0].version, events[0].at),
        (None, None, change)
    );
    all.extend(events);

    // Tokyo is +09:00 (no DST): noon is 03:00Z the same day.
    let want = [
        (1, Some("2026-03-10T03:00:00Z")),
        (2, Some("2026-03-03T03:00:00Z")),
        (3, Some("2026-03-12T03:00:00Z")),
        (4, None),
    ];
    for (old, (id, due_at)) in before.iter().zip(want) {
        let now = desk.case(id).unwrap();
        assert_eq!(now.due_date(), old.due_date(), "case {id}");
        assert_eq!(now.due_at(), due_at.map(t), "case {id}");
        assert_eq!(now.version(), old.version(), "case {id}");
        assert_eq!(now.updated_at(), old.updated_at(), "case {id}");
        assert_eq!(now.overdue(), old.overdue(), "case {id}");
        assert_eq!(without_due_at(now), without_due_at(old), "case {id}");
    }
    // The overdue deadline moved with due_at: not a second earlier, not at the old instant.
    assert_eq!(desk.next_deadline(), Some(t("2026-03-10T03:00:00Z")));
    assert!(
        desk.advance_to(t("2026-03-10T02:59:59Z"))
            .unwrap()
            .is_empty()
    );
    let fired = desk.advance_to(t("2026-03-10T03:00:00Z")).unwrap();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(
        fired[0].kind,
        EventKind::TaskOverdue {
            due_at: t("2026-03-10T03:00:00Z")
        }
    );
    assert_eq!(
        (fired[0].case, fired[0].version, fired[0].at),
        (Some(1), Some(2), t("2026-03-10T03:00:00Z"))
    );
    all.extend(fired);
    // Nothing at the old instant; case 2 never gets a second task_overdue; 3 stays resolved.
    let later = desk.advance_to(t("2026-03-13T00:00:00Z")).unwrap();
    assert!(later.is_empty(), "{later:?}");
    assert_eq!(desk.case(2).unwrap().version(), 2);

    // Back to New York: due_at recomputed again, still no case event and no second overdue.
    let back = desk
        .execute_json(
            t("2026-03-13T00:00:00Z"),
            &json!({"op": "configure", "timezone": "America/New_York"}),
        )
        .unwrap();
    assert_eq!(back.len(), 1, "{back:?}");
    all.extend(back);
    assert_eq!(
        desk.case(1).unwrap().due_at(),
        Some(t("2026-03-10T16:00:00Z"))
    );
    assert_eq!(
        desk.case(3).unwrap().due_at(),
        Some(t("2026-03-12T16:00:00Z"))
    );
    assert!(desk.case(1).unwrap().overdue());
    assert_eq!(desk.case(1).unwrap().version(), 2);

    // The events rebuild the same desk.
    let replayed = Desk::replay(config, start, &all).unwrap();
    assert!(replayed == desk, "replay differs");
}

#[test]
fn a_time_zone_change_that_moves_due_at_later_re_arms_a_task_not_yet_overdue() {
    // Kiritimati (+14): noon on 2026-03-10 is 2026-03-09T22:00Z. Etc/GMT+12 (-12): noon is
    // 2026-03-11T00:00Z, two UTC dates later.
    let config = Config::from_value(&json!({"timezone": "Pacific/Kiritimati"})).unwrap();
    let mut desk = Desk::new(config, t("2026-03-09T00:00:00Z"));
    run(
        &mut desk,
        "2026-03-09T00:00:00Z",
        json!({"op": "create", "id": 1, "submitter": "sue", "type": "task",
               "due_date": "2026-03-10"}),
    );
    assert_eq!(desk.next_deadline(), Some(t("2026-03-09T22:00:00Z")));
    let events = run(
        &mut desk,
        "2026-03-09T21:00:00Z",
        json!({"op": "configure", "timezone": "Etc/GMT+12"}),
    );
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(
        desk.case(1).unwrap().due_at(),
        Some(t("2026-03-11T00:00:00Z"))
    );
    assert_eq!(desk.case(1).unwrap().version(), 1);
    assert!(
        desk.advance_to(t("2026-03-10T23:59:59Z"))
            .unwrap()
            .is_empty()
    );
    let fired = desk.advance_to(t("2026-03-11T00:00:00Z")).unwrap();
    assert_eq!(fired.len(), 1, "{fired:?}");
    assert_eq!(fired[0].version, Some(2));
    assert_eq!(fired[0].at, t("2026-03-11T00:00:00Z"));
}

/// DOMAIN.md 5: a time zone change "recomputes `due_at` of every case that is not closed
/// (closed cases keep theirs)". A case in the trash is not closed: the desk's API shows it
/// (`Desk::case`, with `deleted` set), and its `due_at` should already follow the new zone,
/// not only once it is restored.
#[test]
fn a_trashed_task_follows_a_time_zone_change() {
    let mut desk = Desk::new(Config::default(), t("2026-03-02T08:00:00Z"));
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "create", "id": 1, "submitter": "sue", "type": "task",
               "due_date": "2026-03-10"}),
    );
    run(
        &mut desk,
        "2026-03-03T00:00:00Z",
        json!({"op": "delete", "case": 1}),
    );
    let events = run(
        &mut desk,
        "2026-03-04T00:00:00Z",
        json!({"op": "configure", "timezone": "Asia/Tokyo"}),
    );
    assert_eq!(events.len(), 1, "{events:?}");
    let case = desk.case(1).unwrap();
    assert!(case.deleted());
    assert_eq!(case.version(), 2);
    // Tokyo is +09:00: noon on 2026-03-10 is 03:00Z.
    assert_eq!(case.due_at(), Some(t("2026-03-10T03:00:00Z")));
}

/// The same rule, seen by a host: a snapshot of a desk holding a trashed task taken after
/// a time zone change restores (`Desk::restore` checks each case's `due_at` against the
/// zone, as `import` does).
#[test]
fn a_snapshot_with_a_trashed_task_restores_after_a_time_zone_change() {
    let mut desk = Desk::new(Config::default(), t("2026-03-02T08:00:00Z"));
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "create", "id": 1, "submitter": "sue", "type": "task",
               "due_date": "2026-03-10"}),
    );
    run(
        &mut desk,
        "2026-03-03T00:00:00Z",
        json!({"op": "delete", "case": 1}),
    );
    run(
        &mut desk,
        "2026-03-04T00:00:00Z",
        json!({"op": "configure", "timezone": "Asia/Tokyo"}),
    );
    let restored = Desk::restore(&desk.snapshot()).unwrap();
    assert!(restored == desk, "the restored desk differs");
}

/// Near the end of time nothing is clamped earlier: `advance_to` and `replace_rules` past
/// [`Instant::latest_step`] are `invalid_input`, and a sweep that would fall after the last
/// instant is not scheduled at all (it was scheduled at the desk's own instant, and then
/// advancing there swept forever).
#[test]
fn no_step_or_sweep_is_moved_earlier_at_the_end_of_time() {
    let latest = Instant::latest_step();
    assert_eq!(latest.to_string(), "9999-12-03T23:59:59Z");
    let mut desk = Desk::new(Config::default(), t("9999-12-01T00:00:00Z"));
    let err = desk.advance_to(latest.plus_seconds(1)).unwrap_err();
    assert_eq!(err.code(), caseflow::ErrorCode::InvalidInput);
    assert!(
        err.message().contains("could not be represented"),
        "{}",
        err.message()
    );
    let rules =
        serde_json::json!([{"name": "a", "kind": "automation", "then": {"add_tags": ["x"]}}]);
    let err = desk
        .replace_rules(latest.plus_seconds(1), &rules)
        .unwrap_err();
    assert_eq!(err.error.code(), caseflow::ErrorCode::InvalidInput);
    assert!(desk.advance_to(latest).is_ok());

    let config = Config::from_json(
        r#"{"rules": [{"name": "a", "kind": "automation", "then": {"add_tags": ["x"]}}]}"#,
    )
    .unwrap();
    let desk = Desk::new(config, t("9999-12-31T23:30:00Z"));
    assert_eq!(desk.next_deadline(), None);
}

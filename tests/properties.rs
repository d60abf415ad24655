//! Property tests (see tests/lib.rs): random desks driven by random command sequences,
//! checked against the invariants of DOMAIN.md and SCENARIOS.md.
//!
//! A sequence is generated as abstract operations; each is turned into a JSON command
//! against the desk as it is when it runs (case ids are picked among the existing ones,
//! sometimes unknown). Many commands are rejected, as they should be. A failing property
//! prints the concrete commands it ran (`at`, JSON, outcome).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use caseflow::{
    Case, CaseId, CaseType, Category, CloseCause, Config, Desk, Event, EventKind, Instant,
    Priority, Rejection, SECONDS_PER_DAY,
};
use proptest::option::weighted;
use proptest::prelude::*;
use serde_json::{Map, Value, json};

const AGENTS: [&str; 4] = ["bob", "carol", "dave", "eve"];
const GROUPS: [&str; 3] = ["tier1", "tier2", "nowhere"];
const TAGS: [&str; 6] = ["vip", "billing", "BUG", "a:b/c", "x-1", "Bad Tag"];
const ZONES: [&str; 5] = [
    "UTC",
    "America/New_York",
    "Pacific/Apia",
    "Pacific/Kiritimati",
    "Etc/GMT+12",
];
/// Every status a command may name: built-ins, the setup's customs, `configure`'s extras,
/// and one that never exists.
const STATUSES: [&str; 14] = [
    "new",
    "open",
    "pending",
    "on_hold",
    "resolved", // built-in
    "triage",
    "working",
    "waiting",
    "parts",
    "solved",
    "duplicate", // customs
    "extra_a",
    "extra_b",
    "bogus",
];
const CUSTOM: [(usize, &str); 6] = [
    (5, "new"),
    (6, "open"),
    (7, "pending"),
    (8, "on_hold"),
    (9, "resolved"),
    (10, "resolved"),
];
const UNKNOWN_ID: CaseId = 9999;

fn start() -> Instant {
    "2026-03-02T08:00:00Z".parse().unwrap()
}

// ----- generation ---------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Setup {
    new_only_at_start: bool,
    days: u32,
    /// Per custom status: 0 absent, 1 plain, 2 default of its category, 3 inactive.
    customs: Vec<u8>,
    groups: bool,
}

impl Setup {
    fn config(&self) -> Config {
        let statuses: Vec<Value> = CUSTOM
            .iter()
            .zip(&self.customs)
            .filter(|(_, flag)| **flag > 0)
            .map(|((i, category), flag)| {
                json!({"id": STATUSES[*i], "category": category, "label": STATUSES[*i],
                       "default": *flag == 2, "active": *flag != 3})
            })
            .collect();
        let mut value = json!({
            "new_status": if self.new_only_at_start { "new_only_at_start" } else { "new_iff_unassigned" },
            "auto_close_after_days": self.days,
            "statuses": statuses,
        });
        if self.groups {
            value["groups"] = json!({"tier1": ["bob", "carol"], "tier2": ["dave"]});
        }
        Config::from_value(&value).unwrap()
    }
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        any::<bool>(),
        prop_oneof![1u32..=4, 1u32..=28],
        proptest::collection::vec(0u8..4, CUSTOM.len()),
        any::<bool>(),
    )
        .prop_map(|(new_only_at_start, days, customs, groups)| Setup {
            new_only_at_start,
            days,
            customs,
            groups,
        })
}

/// A case named by a command, resolved against the desk when the command runs.
#[derive(Clone, Debug)]
enum Target {
    /// The i-th existing case (modulo their number).
    Any(usize),
    /// The i-th existing problem, or any case when there is none.
    Problem(usize),
    /// The i-th closed case, or any case when there is none.
    Closed(usize),
    Unknown,
}

/// Which status a `delete_status` names.
#[derive(Clone, Debug)]
enum Doomed {
    Named(usize),
    /// The status of the i-th case that is not closed.
    Held(usize),
}

/// Which `remap_to` a `delete_status` names.
#[derive(Clone, Debug)]
enum Remap {
    None,
    Named(usize),
    /// The i-th live status of the deleted one's category (maybe itself).
    Sibling(usize),
}

#[derive(Clone, Debug)]
enum Op {
    Create {
        id: Option<Target>,
        ty: Option<CaseType>,
        priority: Option<Priority>,
        assignee: Option<usize>,
        group: Option<usize>,
        status: Option<usize>,
        problem: Option<Target>,
        due: Option<u8>,
        tags: Vec<usize>,
        /// Send `problem` and `due_date` whatever the type (else only when it fits).
        stray: bool,
    },
    Update {
        case: Target,
        /// Some(true): the right expected_version; Some(false): a wrong one.
        version: Option<bool>,
        status: Option<usize>,
        assignee: Option<Option<usize>>,
        group: Option<Option<usize>>,
        ty: Option<Option<CaseType>>,
        priority: Option<Option<Priority>>,
        problem: Option<Option<Target>>,
        due: Option<Option<u8>>,
        add: Vec<usize>,
        remove: Vec<usize>,
    },
    Reply(Target),
    Close(Target),
    FollowUp(Target),
    Advance,
    Days(u32),
    AddStatus(usize, Category),
    SetDefault(usize),
    Activate(usize, bool),
    DeleteStatus(Doomed, Remap),
    Timezone(usize),
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        16 => (0usize..64).prop_map(Target::Any),
        4 => (0usize..64).prop_map(Target::Problem),
        2 => (0usize..64).prop_map(Target::Closed),
        1 => Just(Target::Unknown),
    ]
}

fn problem_target() -> impl Strategy<Value = Target> {
    prop_oneof![
        6 => (0usize..64).prop_map(Target::Problem),
        2 => (0usize..64).prop_map(Target::Any),
        1 => Just(Target::Unknown),
    ]
}

fn case_type() -> impl Strategy<Value = CaseType> {
    prop_oneof![
        1 => Just(CaseType::Question),
        3 => Just(CaseType::Incident),
        2 => Just(CaseType::Problem),
        2 => Just(CaseType::Task),
    ]
}

fn priority() -> impl Strategy<Value = Priority> {
    prop_oneof![
        Just(Priority::Low),
        Just(Priority::Normal),
        Just(Priority::High),
        Just(Priority::Urgent)
    ]
}

fn category() -> impl Strategy<Value = Category> {
    proptest::sample::select(Category::ALL.to_vec())
}

fn tags() -> impl Strategy<Value = Vec<usize>> {
    proptest::collection::vec(prop_oneof![30 => 0usize..5, 1 => Just(5usize)], 0..3)
}

fn create() -> impl Strategy<Value = Op> {
    (
        (
            weighted(0.1, target()),
            weighted(0.9, case_type()),
            weighted(0.3, priority()),
            weighted(0.6, 0usize..AGENTS.len()),
            weighted(0.15, 0usize..GROUPS.len()),
        ),
        (
            weighted(0.25, 0usize..STATUSES.len()),
            weighted(0.8, problem_target()),
            weighted(0.8, 0u8..40),
            tags(),
            proptest::bool::weighted(0.05),
        ),
    )
        .prop_map(
            |((id, ty, priority, assignee, group), (status, problem, due, tags, stray))| Op::Create {
                id,
                ty,
                priority,
                assignee,
                group,
                status,
                problem,
                due,
                tags,
                stray,
            },
        )
}

fn update() -> impl Strategy<Value = Op> {
    (
        (
            target(),
            weighted(0.15, any::<bool>()),
            weighted(0.55, 0usize..STATUSES.len()),
            weighted(0.35, weighted(0.75, 0usize..AGENTS.len())),
            weighted(0.1, weighted(0.6, 0usize..GROUPS.len())),
            weighted(0.15, weighted(0.85, case_type())),
        ),
        (
            weighted(0.15, weighted(0.8, priority())),
            weighted(0.2, weighted(0.8, problem_target())),
            weighted(0.15, weighted(0.7, 0u8..40)),
            tags(),
            weighted(0.2, proptest::collection::vec(0usize..5, 1..2)).prop_map(Option::unwrap_or_default),
        ),
    )
        .prop_map(
            |(
                (case, version, status, assignee, group, ty),
                (priority, problem, due, add, remove),
            )| {
                Op::Update {
                    case,
                    version,
                    status,
                    assignee,
                    group,
                    ty,
                    priority,
                    problem,
                    due,
                    add,
                    remove,
                }
            },
        )
}

fn op(period_changes: bool) -> impl Strategy<Value = Op> {
    let status = 0usize..STATUSES.len();
    prop_oneof![
        8 => create(),
        10 => update(),
        2 => target().prop_map(Op::Reply),
        1 => target().prop_map(Op::Close),
        2 => prop_oneof![4 => (0usize..64).prop_map(Target::Closed), 1 => target()].prop_map(Op::FollowUp),
        2 => Just(Op::Advance),
        1 => (1u32..=28).prop_map(move |d| if period_changes { Op::Days(d) } else { Op::Advance }),
        1 => (5usize..STATUSES.len(), category()).prop_map(|(s, c)| Op::AddStatus(s, c)),
        1 => status.clone().prop_map(Op::SetDefault),
        1 => (status.clone(), any::<bool>()).prop_map(|(s, a)| Op::Activate(s, a)),
        2 => (doomed(), remap()).prop_map(|(d, r)| Op::DeleteStatus(d, r)),
        1 => (0usize..ZONES.len()).prop_map(Op::Timezone),
    ]
}

fn doomed() -> impl Strategy<Value = Doomed> {
    prop_oneof![
        (0usize..STATUSES.len()).prop_map(Doomed::Named),
        (0usize..64).prop_map(Doomed::Held),
    ]
}

fn remap() -> impl Strategy<Value = Remap> {
    prop_oneof![
        1 => Just(Remap::None),
        1 => (0usize..STATUSES.len()).prop_map(Remap::Named),
        3 => (0usize..64).prop_map(Remap::Sibling),
    ]
}

/// Seconds to wait before each operation: often none, up to several days.
fn gap() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => Just(0i64),
        4 => 1i64..3_600,
        2 => 3_600i64..SECONDS_PER_DAY,
        1 => SECONDS_PER_DAY..5 * SECONDS_PER_DAY,
    ]
}

fn ops(period_changes: bool) -> impl Strategy<Value = Vec<(i64, Op)>> {
    proptest::collection::vec((gap(), op(period_changes)), 1..60)
}

// ----- running --------------------------------------------------------------------------

fn pick(desk: &Desk, target: &Target) -> CaseId {
    let ids: Vec<CaseId> = desk.cases().map(Case::id).collect();
    let nth = |list: &[CaseId], i: usize| list.get(i % list.len().max(1)).copied().unwrap_or(1);
    match target {
        Target::Any(i) => nth(&ids, *i),
        Target::Problem(i) => {
            let problems: Vec<CaseId> = desk
                .cases()
                .filter(|c| c.case_type() == Some(CaseType::Problem))
                .map(Case::id)
                .collect();
            if problems.is_empty() {
                nth(&ids, *i)
            } else {
                nth(&problems, *i)
            }
        }
        Target::Closed(i) => {
            let closed: Vec<CaseId> = desk.cases().filter(|c| c.closed()).map(Case::id).collect();
            if closed.is_empty() {
                nth(&ids, *i)
            } else {
                nth(&closed, *i)
            }
        }
        Target::Unknown => UNKNOWN_ID,
    }
}

fn date(d: u8) -> String {
    if d < 31 {
        format!("2026-03-{:02}", d + 1)
    } else {
        format!("2026-04-{:02}", d - 30)
    }
}

/// The JSON command for `op` against the desk as it is now.
fn command(desk: &Desk, op: &Op) -> Value {
    let names = |list: &[usize], pool: &[&str]| -> Vec<String> {
        list.iter().map(|i| pool[*i].to_owned()).collect()
    };
    match op {
        Op::Create {
            id,
            ty,
            priority,
            assignee,
            group,
            status,
            problem,
            due,
            tags,
            stray,
        } => {
            let mut m = Map::new();
            m.insert("op".into(), json!("create"));
            m.insert("submitter".into(), json!("r1"));
            match id {
                Some(Target::Unknown) => {
                    let max = desk.cases().map(Case::id).max().unwrap_or(0);
                    m.insert("id".into(), json!(max + 3));
                }
                Some(t) => {
                    m.insert("id".into(), json!(pick(desk, t)));
                }
                None => {}
            }
            let fields = [
                ("type", ty.map(|t| json!(t.as_str()))),
                ("priority", priority.map(|p| json!(p.as_str()))),
                ("assignee", assignee.map(|a| json!(AGENTS[a]))),
                ("group", group.map(|g| json!(GROUPS[g]))),
                ("status", status.map(|s| json!(STATUSES[s]))),
                (
                    "problem",
                    problem
                        .as_ref()
                        .filter(|_| *stray || *ty == Some(CaseType::Incident))
                        .map(|p| json!(pick(desk, p))),
                ),
                (
                    "due_date",
                    due.filter(|_| *stray || *ty == Some(CaseType::Task))
                        .map(|d| json!(date(d))),
                ),
            ];
            for (key, value) in fields {
                if let Some(v) = value {
                    m.insert(key.into(), v);
                }
            }
            if !tags.is_empty() {
                m.insert("tags".into(), json!(names(tags, &TAGS)));
            }
            Value::Object(m)
        }
        Op::Update {
            case,
            version,
            status,
            assignee,
            group,
            ty,
            priority,
            problem,
            due,
            add,
            remove,
        } => {
            let id = pick(desk, case);
            let mut m = Map::new();
            m.insert("op".into(), json!("update"));
            m.insert("case".into(), json!(id));
            if let Some(right) = version {
                let v = desk.case(id).map_or(1, Case::version);
                m.insert(
                    "expected_version".into(),
                    json!(if *right { v } else { v + 1 }),
                );
            }
            let fields = [
                ("status", status.map(|s| json!(STATUSES[s]))),
                ("assignee", assignee.map(|a| json!(a.map(|a| AGENTS[a])))),
                ("group", group.map(|g| json!(g.map(|g| GROUPS[g])))),
                ("type", ty.map(|t| json!(t.map(CaseType::as_str)))),
                ("priority", priority.map(|p| json!(p.map(Priority::as_str)))),
                (
                    "problem",
                    problem
                        .as_ref()
                        .map(|p| json!(p.as_ref().map(|p| pick(desk, p)))),
                ),
                ("due_date", due.map(|d| json!(d.map(date)))),
            ];
            for (key, value) in fields {
                if let Some(v) = value {
                    m.insert(key.into(), v);
                }
            }
            if !add.is_empty() {
                m.insert("add_tags".into(), json!(names(add, &TAGS)));
            }
            if !remove.is_empty() {
                m.insert("remove_tags".into(), json!(names(remove, &TAGS)));
            }
            Value::Object(m)
        }
        Op::Reply(t) => json!({"op": "requester_reply", "case": pick(desk, t)}),
        Op::Close(t) => json!({"op": "close", "case": pick(desk, t)}),
        Op::FollowUp(t) => json!({"op": "follow_up", "case": pick(desk, t)}),
        Op::Advance => json!({"op": "advance"}),
        Op::Days(d) => json!({"op": "configure", "auto_close_after_days": d}),
        Op::AddStatus(s, c) => json!({"op": "configure",
            "add_status": {"id": STATUSES[*s], "category": c, "label": "Added"}}),
        Op::SetDefault(s) => json!({"op": "configure", "set_default": STATUSES[*s]}),
        Op::Activate(s, a) => json!({"op": "configure",
            "update_status": {"id": STATUSES[*s], "active": a}}),
        Op::DeleteStatus(s, remap) => {
            let mut d = json!({"id": STATUSES[*s]});
            if let Some(r) = remap {
                d["remap_to"] = json!(STATUSES[*r]);
            }
            json!({"op": "configure", "delete_status": d})
        }
        Op::Timezone(z) => json!({"op": "configure", "timezone": ZONES[*z]}),
    }
}

struct Step {
    at: Instant,
    cmd: Value,
    before: Desk,
    result: Result<Vec<Event>, Rejection>,
    after: Desk,
}

impl Step {
    /// Every event the step emitted: a success's, or those a rejection carries.
    fn events(&self) -> &[Event] {
        match &self.result {
            Ok(events) => events,
            Err(rejection) => &rejection.events,
        }
    }
}

struct Trace {
    config: Config,
    steps: Vec<Step>,
    desk: Desk,
    /// The concrete commands run, one line each, for failure messages.
    log: String,
}

fn simulate(setup: &Setup, ops: &[(i64, Op)]) -> Trace {
    let config = setup.config();
    let mut desk = Desk::new(config.clone(), start());
    let mut t = start().unix_seconds();
    let mut steps = Vec::new();
    let mut log = String::from("commands run:\n");
    for (gap, op) in ops {
        t += gap;
        let at = Instant::from_unix_seconds(t).unwrap();
        let cmd = command(&desk, op);
        let before = desk.clone();
        let result = desk.execute_json(at, &cmd);
        let outcome = match &result {
            Ok(events) => format!("ok ({} events)", events.len()),
            Err(r) => format!("{} ({} events)", r.error.code().as_str(), r.events.len()),
        };
        writeln!(log, "  {at} {cmd} -> {outcome}").unwrap();
        steps.push(Step {
            at,
            cmd,
            before,
            result,
            after: desk.clone(),
        });
    }
    Trace {
        config,
        steps,
        desk,
        log,
    }
}

fn all_events(trace: &Trace) -> Vec<Event> {
    trace
        .steps
        .iter()
        .flat_map(|s| s.events().iter().cloned())
        .collect()
}

fn period(desk: &Desk) -> i64 {
    i64::from(desk.config().auto_close_after_days()) * SECONDS_PER_DAY
}

// ----- properties ----------------------------------------------------------------------

proptest! {
    /// 1. A closed case never changes again, and no event names it.
    #[test]
    fn a_closed_case_never_changes(setup in setup(), ops in ops(true)) {
        let trace = simulate(&setup, &ops);
        for (n, step) in trace.steps.iter().enumerate() {
            for case in step.before.cases().filter(|c| c.closed()) {
                let id = case.id();
                prop_assert!(step.after.case(id) == Some(case),
                    "step {n}: closed case {id} changed\n{}", trace.log);
                prop_assert!(step.events().iter().all(|e| e.case != Some(id)),
                    "step {n}: an event names closed case {id}\n{}", trace.log);
            }
        }
    }

    /// 2. The `new_status` policy holds after every step.
    #[test]
    fn the_new_status_policy_holds(setup in setup(), ops in ops(true)) {
        let trace = simulate(&setup, &ops);
        let mut left_new = BTreeSet::new();
        for (n, step) in trace.steps.iter().enumerate() {
            for e in step.events() {
                match &e.kind {
                    EventKind::Created { view } if view.category() != Category::New => {
                        left_new.extend(e.case);
                    }
                    EventKind::StatusChanged { from_category, to_category, .. }
                        if *from_category != Category::New || *to_category != Category::New =>
                    {
                        left_new.extend(e.case);
                    }
                    _ => {}
                }
            }
            for c in step.after.cases() {
                let (id, category, assigned) = (c.id(), c.category(), c.assignee().is_some());
                prop_assert!(!(category == Category::New && assigned),
                    "step {n}: case {id} is new with an assignee\n{}", trace.log);
                if setup.new_only_at_start {
                    prop_assert!(!(category == Category::New && left_new.contains(&id)),
                        "step {n}: case {id} returned to new\n{}", trace.log);
                } else if category != Category::Resolved {
                    prop_assert!((category == Category::New) == !assigned,
                        "step {n}: case {id} in {category}, assignee {:?}\n{}",
                        c.assignee(), trace.log);
                }
            }
        }
    }

    /// 3. Every case holds a status of the catalog with its category; a case that is not
    /// closed holds no deleted status.
    #[test]
    fn every_status_is_in_the_catalog(setup in setup(), ops in ops(true)) {
        let trace = simulate(&setup, &ops);
        for (n, step) in trace.steps.iter().enumerate() {
            let catalog = step.after.config().catalog();
            for c in step.after.cases() {
                let id = c.id();
                let status = catalog.get(c.status());
                prop_assert!(status.is_some(),
                    "step {n}: case {id} holds unknown status {}\n{}", c.status(), trace.log);
                let status = status.unwrap();
                prop_assert_eq!(status.category, c.category(),
                    "step {}: case {} category\n{}", n, id, trace.log);
                prop_assert!(c.closed() || !status.deleted,
                    "step {n}: open case {id} holds deleted status {}\n{}", c.status(), trace.log);
            }
        }
    }

    /// 4. `version` grows by one per step that changes a case; `seq` by one per event.
    #[test]
    fn versions_and_seqs_have_no_gaps(setup in setup(), ops in ops(true)) {
        let trace = simulate(&setup, &ops);
        let mut seq = 0;
        let mut last: HashMap<CaseId, u64> = HashMap::new();
        for (n, step) in trace.steps.iter().enumerate() {
            // Within one command, all non-deadline events belong to the command's step;
            // each auto-close or overdue event is a step of its own.
            let mut in_command_step = BTreeSet::new();
            for e in step.events() {
                seq += 1;
                prop_assert_eq!(e.seq, seq, "step {}: seq\n{}", n, trace.log);
                let Some(id) = e.case else {
                    let config = matches!(e.kind, EventKind::ConfigChanged { .. });
                    prop_assert!(config, "step {}: event {} names no case", n, e.seq);
                    prop_assert_eq!(e.version, None);
                    continue;
                };
                let prev = last.get(&id).copied().unwrap_or(0);
                let own_step = matches!(e.kind, EventKind::Closed { .. } | EventKind::TaskOverdue { .. });
                let want = if !own_step && in_command_step.contains(&id) { prev } else { prev + 1 };
                prop_assert_eq!(e.version, Some(want),
                    "step {}: event {} ({}) of case {}\n{}", n, e.seq, e.kind.name(), id, trace.log);
                if matches!(e.kind, EventKind::Created { .. }) {
                    prop_assert_eq!(prev, 0, "step {}: case {} created twice", n, id);
                }
                if !own_step {
                    in_command_step.insert(id);
                }
                last.insert(id, want);
            }
            prop_assert_eq!(step.after.seq(), seq, "step {}: desk seq\n{}", n, trace.log);
            for c in step.after.cases() {
                prop_assert_eq!(Some(c.version()), last.get(&c.id()).copied(),
                    "step {}: case {} version without events\n{}", n, c.id(), trace.log);
            }
        }
    }

    /// 5. A rejected command leaves the desk exactly as advancing to its instant would.
    #[test]
    fn a_rejection_is_an_advance(setup in setup(), ops in ops(true)) {
        let trace = simulate(&setup, &ops);
        for (n, step) in trace.steps.iter().enumerate() {
            let mut advanced = step.before.clone();
            let events = advanced.advance_to(step.at).unwrap();
            match &step.result {
                Err(r) => {
                    prop_assert!(step.after == advanced,
                        "step {n}: rejected ({}) {} changed the desk\n{}",
                        r.error.code().as_str(), step.cmd, trace.log);
                    prop_assert!(r.events == events,
                        "step {n}: rejection carries {:?}, advance gave {:?}\n{}",
                        r.events, events, trace.log);
                }
                Ok(all) => prop_assert!(all.starts_with(&events),
                    "step {n}: events do not start with the advance's\n{}", trace.log),
            }
        }
    }

    /// 6. A resolved case closes at exactly resolved_at + the period, as soon as the desk
    /// reaches it (no `auto_close_after_days` change in these sequences).
    #[test]
    fn auto_close_is_exact(setup in setup(), ops in ops(false)) {
        let mut trace = simulate(&setup, &ops);
        let period = period(&trace.desk);
        prop_assert_eq!(trace.desk.config().auto_close_after_days(), setup.days);
        let late = trace.desk.now().plus_seconds(29 * SECONDS_PER_DAY);
        let tail = trace.desk.advance_to(late).unwrap();
        let steps = trace.steps.iter().map(|s| (s.events(), &s.after));
        for (n, (events, desk)) in steps.chain([(&tail[..], &trace.desk)]).enumerate() {
            for e in events {
                if let EventKind::Closed { cause, .. } = e.kind {
                    prop_assert_eq!(cause, CloseCause::AutoClose);
                    let c = desk.case(e.case.unwrap()).unwrap();
                    let due = c.resolved_at().map(|r| r.plus_seconds(period));
                    prop_assert_eq!(Some(e.at), due, "step {}: case {} closed at\n{}", n, c.id(), trace.log);
                    prop_assert_eq!(c.closed_at(), due, "step {}: case {} closed_at\n{}", n, c.id(), trace.log);
                }
            }
            for c in desk.cases().filter(|c| c.category() == Category::Resolved && !c.closed()) {
                let due = c.resolved_at().unwrap().plus_seconds(period);
                prop_assert!(due > desk.now(),
                    "step {n}: case {} should have closed at {due}, desk at {}\n{}",
                    c.id(), desk.now(), trace.log);
            }
        }
        for c in trace.desk.cases().filter(|c| c.category() == Category::Resolved) {
            prop_assert!(c.closed(), "case {} still open at {late}\n{}", c.id(), trace.log);
        }
    }

    /// 7. Replaying every emitted event (directly, or through JSON) rebuilds an equal desk.
    #[test]
    fn replay_rebuilds_the_desk(setup in setup(), ops in ops(true)) {
        let trace = simulate(&setup, &ops);
        let events = all_events(&trace);
        let mut through_json = Vec::new();
        for e in &events {
            let text = serde_json::to_string(e).unwrap();
            let back: Event = serde_json::from_str(&text)
                .map_err(|err| TestCaseError::fail(format!("{text}: {err}")))?;
            prop_assert_eq!(&back, e, "JSON round trip of {}", text);
            through_json.push(back);
        }
        for log in [&events, &through_json] {
            let mut replayed = Desk::replay(trace.config.clone(), start(), log)
                .map_err(|err| TestCaseError::fail(format!("replay: {err}\n{}", trace.log)))?;
            replayed.advance_to(trace.desk.now()).unwrap();
            prop_assert!(replayed == trace.desk, "replayed desk differs\n{}", trace.log);
        }
    }

    /// 8. The incidents index agrees with a full scan; links point to problems; resolving a
    /// problem leaves none of its incidents unresolved.
    #[test]
    fn the_incidents_index_is_exact(setup in setup(), ops in ops(true)) {
        let trace = simulate(&setup, &ops);
        for (n, step) in trace.steps.iter().enumerate() {
            let desk = &step.after;
            let mut scan: BTreeMap<CaseId, Vec<CaseId>> = BTreeMap::new();
            for c in desk.cases() {
                if let Some(p) = c.problem() {
                    scan.entry(p).or_default().push(c.id());
                    prop_assert_eq!(c.case_type(), Some(CaseType::Incident),
                        "step {}: case {} has a problem\n{}", n, c.id(), trace.log);
                    let target = desk.case(p).map(Case::case_type);
                    prop_assert_eq!(target, Some(Some(CaseType::Problem)),
                        "step {}: case {} links to {}\n{}", n, c.id(), p, trace.log);
                }
            }
            for id in desk.cases().map(Case::id).chain([UNKNOWN_ID]) {
                let indexed: Vec<CaseId> = desk.incidents_of(id).collect();
                let want = scan.get(&id).cloned().unwrap_or_default();
                prop_assert_eq!(indexed, want, "step {}: incidents of {}\n{}", n, id, trace.log);
            }
            if step.cmd["op"] == "update" && step.result.is_ok() {
                let id = step.cmd["case"].as_u64().unwrap();
                let was = step.before.case(id).map(Case::category);
                let now = desk.case(id).unwrap();
                if now.case_type() == Some(CaseType::Problem)
                    && now.category() == Category::Resolved
                    && was != Some(Category::Resolved)
                {
                    for inc in desk.incidents_of(id) {
                        let category = desk.case(inc).unwrap().category();
                        prop_assert_eq!(category, Category::Resolved,
                            "step {}: problem {} resolved, incident {} left in {}\n{}",
                            n, id, inc, category, trace.log);
                    }
                }
            }
        }
    }
}

#[test]
fn zz_stats() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::default();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for _ in 0..256 {
        let s = setup().new_tree(&mut runner).unwrap().current();
        let o = ops(true).new_tree(&mut runner).unwrap().current();
        let trace = simulate(&s, &o);
        for step in &trace.steps {
            let op = step.cmd["op"].as_str().unwrap().to_owned();
            let key = match &step.result {
                Ok(_) => format!("{op} ok"),
                Err(r) => format!("{op} {}", r.error.code().as_str()),
            };
            *counts.entry(key).or_default() += 1;
            for e in step.events() {
                let k = match &e.kind {
                    EventKind::StatusChanged { cause, .. } => format!("ev status_changed {cause:?}"),
                    k => format!("ev {}", k.name()),
                };
                *counts.entry(k).or_default() += 1;
            }
        }
        let n = trace.desk.cases().count();
        *counts.entry(format!("cases {}", n / 10 * 10)).or_default() += 1;
    }
    for (k, v) in counts { println!("{k:50} {v}"); }
}

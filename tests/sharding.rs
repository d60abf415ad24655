//! Problems on one desk, their incidents on another: routing the cascade's follow-on
//! commands between desks gives the incidents the same views and events as one desk that
//! holds everything (DOMAIN.md section 4, ARCHITECTURE.md "Incidents and problems").

use caseflow::{Cascade, Command, Config, Desk, Event, FollowOn, Instant};
use serde_json::{Value, json};

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

fn run(desk: &mut Desk, at: &str, cmd: Value) -> Vec<Event> {
    desk.execute_json(t(at), &cmd)
        .unwrap_or_else(|r| panic!("{cmd}: {}", r.error))
}

/// An event without its desk-wide `seq`, which differs between desks by design.
fn unsequenced(events: &[Event]) -> Vec<Value> {
    events
        .iter()
        .map(|e| {
            let mut v = e.to_json();
            v.as_object_mut().unwrap().remove("seq");
            v
        })
        .collect()
}

const PROBLEMS: [u64; 2] = [1, 2];

fn config() -> Config {
    Config::from_json(
        r#"{"auto_close_after_days": 3,
            "statuses": [{"id": "awaiting_vendor", "category": "on_hold", "label": "Awaiting vendor"},
                         {"id": "fixed", "category": "resolved", "label": "Fixed", "default": true}]}"#,
    )
    .unwrap()
}

fn problems(desk: &mut Desk) {
    for id in PROBLEMS {
        run(
            desk,
            "2026-03-02T09:00:00Z",
            json!({"op": "create", "id": id, "submitter": "ops", "type": "problem", "assignee": "lead"}),
        );
    }
}

/// Incidents 10.. in every state a cascade meets; returns their ids.
fn incidents(desk: &mut Desk) -> Vec<u64> {
    let mut ids = Vec::new();
    let mut create = |desk: &mut Desk, id: u64, problem: u64, extra: Value| {
        let mut cmd = json!({"op": "create", "id": id, "submitter": format!("r{id}"), "type": "incident", "problem": problem});
        cmd.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        run(desk, "2026-03-02T09:30:00Z", cmd);
        ids.push(id);
    };
    create(desk, 10, 1, json!({}));
    create(desk, 11, 1, json!({"assignee": "bob", "status": "pending"}));
    create(
        desk,
        12,
        1,
        json!({"assignee": "bob", "status": "awaiting_vendor"}),
    );
    create(
        desk,
        13,
        1,
        json!({"assignee": "bob", "status": "resolved"}),
    );
    create(desk, 14, 1, json!({"assignee": "carol"}));
    create(desk, 15, 2, json!({"assignee": "carol"}));
    create(desk, 16, 2, json!({}));
    // 13 closes before the problem is resolved; 14 is unlinked again.
    run(
        desk,
        "2026-03-03T08:00:00Z",
        json!({"op": "update", "case": 14, "type": "question"}),
    );
    ids
}

#[test]
fn routed_cascades_equal_a_single_desk() {
    // One desk that holds everything.
    let mut single = Desk::new(config(), t("2026-03-02T08:00:00Z"));
    problems(&mut single);
    let ids = incidents(&mut single);

    // The same cases on two desks: problems here, incidents there.
    let mut problem_desk =
        Desk::new(config(), t("2026-03-02T08:00:00Z")).with_cascade(Cascade::Routed);
    let mut incident_desk =
        Desk::new(config(), t("2026-03-02T08:00:00Z")).with_cascade(Cascade::Routed);
    problems(&mut problem_desk);
    incidents(&mut incident_desk);
    // The host records the links where the problems live (validated there).
    for id in &ids {
        if let Some(p) = incident_desk.case(*id).unwrap().problem() {
            problem_desk.link_remote_incident(p, *id).unwrap();
        }
    }
    assert_eq!(
        problem_desk.incidents_of(1).collect::<Vec<_>>(),
        single.incidents_of(1).collect::<Vec<_>>()
    );

    for (problem, at) in [(1u64, "2026-03-06T10:00:00Z"), (2, "2026-03-07T10:00:00Z")] {
        let resolve = json!({"op": "update", "case": problem, "status": "resolved"});
        let single_events = run(&mut single, at, resolve.clone());
        let problem_events = run(&mut problem_desk, at, resolve);
        // The incident desk catches up to the same instant (auto-closes due meanwhile).
        let mut incident_events = incident_desk.advance_to(t(at)).unwrap();
        for follow_on in problem_desk.take_follow_ons() {
            assert_eq!(follow_on.at, t(at));
            // The host ships each follow-on to the incident's shard as JSON.
            let shipped = serde_json::to_string(&follow_on).unwrap();
            let follow_on: FollowOn = serde_json::from_str(&shipped).unwrap();
            incident_events.extend(
                incident_desk
                    .execute(follow_on.at, &follow_on.command)
                    .unwrap(),
            );
        }
        let (single_problem, single_incidents): (Vec<Event>, Vec<Event>) = single_events
            .into_iter()
            .partition(|e| PROBLEMS.contains(&e.case.unwrap()));
        assert_eq!(unsequenced(&single_problem), unsequenced(&problem_events));
        assert_eq!(
            unsequenced(&single_incidents),
            unsequenced(&incident_events)
        );
        assert!(
            !single_incidents.is_empty(),
            "the cascade of problem {problem} resolved nothing"
        );
    }
    // Later deadlines (each incident's own auto-close) agree too.
    let later = t("2026-03-20T00:00:00Z");
    let single_later = single.advance_to(later).unwrap();
    let incident_later = incident_desk.advance_to(later).unwrap();
    let problem_later = problem_desk.advance_to(later).unwrap();
    let (sp, si): (Vec<Event>, Vec<Event>) = single_later
        .into_iter()
        .partition(|e| PROBLEMS.contains(&e.case.unwrap()));
    assert_eq!(unsequenced(&si), unsequenced(&incident_later));
    assert_eq!(unsequenced(&sp), unsequenced(&problem_later));
    for id in ids {
        assert_eq!(single.case(id), incident_desk.case(id), "case {id}");
    }
    for id in PROBLEMS {
        assert_eq!(single.case(id), problem_desk.case(id), "problem {id}");
    }
}

#[test]
fn a_routed_problem_with_remote_incidents_keeps_its_type() {
    let mut desk =
        Desk::new(Config::default(), t("2026-03-02T08:00:00Z")).with_cascade(Cascade::Routed);
    problems(&mut desk);
    desk.link_remote_incident(1, 99).unwrap();
    let err = desk
        .execute_json(
            t("2026-03-02T10:00:00Z"),
            &json!({"op": "update", "case": 1, "type": "question"}),
        )
        .unwrap_err();
    assert_eq!(err.error.code().as_str(), "problem_has_incidents");
    assert!(desk.unlink_remote_incident(1, 99));
    run(
        &mut desk,
        "2026-03-02T10:00:00Z",
        json!({"op": "update", "case": 1, "type": "question"}),
    );
    // Only problems that are neither resolved nor closed accept links.
    assert_eq!(
        desk.link_remote_incident(1, 98)
            .unwrap_err()
            .code()
            .as_str(),
        "not_a_problem"
    );
    assert_eq!(
        desk.link_remote_incident(7, 98)
            .unwrap_err()
            .code()
            .as_str(),
        "case_not_found"
    );
}

#[test]
fn resolve_by_problem_touches_only_linked_open_incidents() {
    let mut desk =
        Desk::new(Config::default(), t("2026-03-02T08:00:00Z")).with_cascade(Cascade::Routed);
    problems(&mut desk);
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "create", "id": 5, "submitter": "r", "type": "incident", "problem": 1}),
    );
    // The problem is held here and still open: the command is refused.
    let err = desk
        .execute_json(
            t("2026-03-02T09:00:00Z"),
            &json!({"op": "resolve_by_problem", "case": 5, "problem": 1}),
        )
        .unwrap_err();
    assert_eq!(err.error.code().as_str(), "invalid_transition");
    for p in PROBLEMS {
        run(
            &mut desk,
            "2026-03-02T09:00:00Z",
            json!({"op": "update", "case": p, "status": "resolved"}),
        );
    }
    let follow_ons = desk.take_follow_ons();
    assert_eq!(follow_ons.len(), 1);
    assert_eq!(
        follow_ons[0].command,
        Command::ResolveByProblem {
            case: 5,
            problem: 1
        }
    );
    assert_eq!(
        desk.case(5).unwrap().status(),
        "new",
        "a routed desk does not cascade by itself"
    );
    // Linked to another problem: nothing happens.
    let none = run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "resolve_by_problem", "case": 5, "problem": 2}),
    );
    assert!(none.is_empty());
    let events = run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "resolve_by_problem", "case": 5, "problem": 1}),
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].to_json()["cause"], "problem_resolved");
    assert_eq!(events[0].to_json()["problem"], 1);
    // Already resolved: nothing again.
    assert!(
        run(
            &mut desk,
            "2026-03-02T09:00:01Z",
            json!({"op": "resolve_by_problem", "case": 5, "problem": 1})
        )
        .is_empty()
    );
    let err = desk
        .execute_json(
            t("2026-03-02T09:00:01Z"),
            &json!({"op": "resolve_by_problem", "case": 77, "problem": 1}),
        )
        .unwrap_err();
    assert_eq!(err.error.code().as_str(), "case_not_found");
}

#[test]
fn a_local_desk_refuses_remote_links_and_follow_ons() {
    let mut desk = Desk::new(Config::default(), t("2026-03-02T08:00:00Z"));
    problems(&mut desk);
    let err = desk.link_remote_incident(1, 99).unwrap_err();
    assert_eq!(err.code().as_str(), "invalid_input");
    assert!(err.message().contains("routed"), "{}", err.message());
    assert_eq!(desk.incidents_of(1).count(), 0);
    // Nothing was recorded: the problem may still change type.
    run(
        &mut desk,
        "2026-03-02T10:00:00Z",
        json!({"op": "update", "case": 1, "type": "question"}),
    );
    let err = desk
        .execute(
            t("2026-03-02T10:00:00Z"),
            &Command::ResolveByProblem {
                case: 2,
                problem: 1,
            },
        )
        .unwrap_err();
    assert_eq!(err.error.code().as_str(), "invalid_input");
    assert!(
        err.error.message().contains("routed"),
        "{}",
        err.error.message()
    );
}

#[test]
fn unlinking_a_remote_incident_never_touches_a_local_link() {
    let mut desk = Desk::new(config(), t("2026-03-02T08:00:00Z")).with_cascade(Cascade::Routed);
    problems(&mut desk);
    run(
        &mut desk,
        "2026-03-02T09:00:00Z",
        json!({"op": "create", "id": 50, "submitter": "r", "type": "incident", "problem": 1}),
    );
    desk.link_remote_incident(1, 7001).unwrap();
    assert_eq!(desk.incidents_of(1).collect::<Vec<_>>(), vec![50, 7001]);
    // Case 50 is this desk's: only an update unlinks it.
    assert!(!desk.unlink_remote_incident(1, 50));
    assert!(!desk.unlink_remote_incident(1, 7002));
    assert_eq!(desk.incidents_of(1).collect::<Vec<_>>(), vec![50, 7001]);
    assert!(desk.unlink_remote_incident(1, 7001));
    assert!(!desk.unlink_remote_incident(1, 7001));
    assert_eq!(desk.incidents_of(1).collect::<Vec<_>>(), vec![50]);
}

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

/// Whether a call's events forget a remote link.
fn unlinked(events: &[Event]) -> bool {
    events.iter().any(|e| e.kind.name() == "remote_unlinked")
}

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
            problem_desk
                .link_remote_incident(t("2026-03-03T08:00:00Z"), p, *id)
                .unwrap();
        }
    }
    assert_eq!(
        problem_desk.incidents_of(1).collect::<Vec<_>>(),
        single.incidents_of(1).collect::<Vec<_>>()
    );

    for (problem, at) in [(1u64, "2026-03-06T10:00:00Z"), (2, "2026-03-07T10:00:00Z")] {
        let resolve = json!({"op": "update", "case": problem, "status": "resolved"});
        let single_events = run(&mut single, at, resolve.clone());
        let mut problem_events = run(&mut problem_desk, at, resolve);
        // The routed cascade records one `follow_on` per linked incident instead.
        let follow_on_events = problem_events
            .iter()
            .filter(|e| e.kind.name() == "follow_on")
            .count();
        problem_events.retain(|e| e.kind.name() != "follow_on");
        // The incident desk catches up to the same instant (auto-closes due meanwhile).
        let mut incident_events = incident_desk.advance_to(t(at)).unwrap();
        let (follow_ons, taken) = problem_desk.take_follow_ons(t(at)).unwrap();
        assert_eq!(follow_ons.len(), follow_on_events);
        assert_eq!(taken.len(), 1, "{taken:?}");
        for follow_on in follow_ons {
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
    desk.link_remote_incident(t("2026-03-02T09:00:00Z"), 1, 99)
        .unwrap();
    let err = desk
        .execute_json(
            t("2026-03-02T10:00:00Z"),
            &json!({"op": "update", "case": 1, "type": "question"}),
        )
        .unwrap_err();
    assert_eq!(err.error.code().as_str(), "problem_has_incidents");
    assert!(unlinked(
        &desk
            .unlink_remote_incident(t("2026-03-02T10:00:00Z"), 1, 99)
            .unwrap()
    ));
    run(
        &mut desk,
        "2026-03-02T10:00:00Z",
        json!({"op": "update", "case": 1, "type": "question"}),
    );
    // Only problems that are neither resolved nor closed accept links.
    assert_eq!(
        desk.link_remote_incident(t("2026-03-02T10:00:00Z"), 1, 98)
            .unwrap_err()
            .error
            .code()
            .as_str(),
        "not_a_problem"
    );
    assert_eq!(
        desk.link_remote_incident(t("2026-03-02T10:00:00Z"), 7, 98)
            .unwrap_err()
            .error
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
    let (follow_ons, _) = desk.take_follow_ons(t("2026-03-02T09:00:00Z")).unwrap();
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
    let err = desk
        .link_remote_incident(t("2026-03-02T09:00:00Z"), 1, 99)
        .unwrap_err()
        .error;
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
    let at = t("2026-03-02T09:00:00Z");
    desk.link_remote_incident(at, 1, 7001).unwrap();
    assert_eq!(desk.incidents_of(1).collect::<Vec<_>>(), vec![50, 7001]);
    // Case 50 is this desk's: only an update unlinks it.
    let mut unlink = |incident| unlinked(&desk.unlink_remote_incident(at, 1, incident).unwrap());
    assert!(!unlink(50));
    assert!(!unlink(7002));
    assert!(unlink(7001));
    assert!(!unlink(7001));
    assert_eq!(desk.incidents_of(1).collect::<Vec<_>>(), vec![50]);
}

/// Events alone rebuild a routed desk: replaying a problem desk mid-way, with remote links
/// recorded and follow-ons pending, gives an equal desk (the pending follow-ons included),
/// and so does replaying both desks after the host took and delivered the follow-ons. A
/// local desk refuses a routed log.
#[test]
fn replaying_a_routed_pair_rebuilds_links_and_pending_follow_ons() {
    let start = t("2026-03-02T08:00:00Z");
    let routed = || Desk::new(config(), start).with_cascade(Cascade::Routed);
    let replayed = |log: &[Event]| {
        let mut desk = routed();
        desk.apply_events(log).unwrap();
        desk
    };
    let (mut problem_desk, mut incident_desk) = (routed(), routed());
    let (mut problem_log, mut incident_log) = (Vec::new(), Vec::new());
    for id in PROBLEMS {
        problem_log.extend(run(
            &mut problem_desk,
            "2026-03-02T09:00:00Z",
            json!({"op": "create", "id": id, "submitter": "ops", "type": "problem", "assignee": "lead"}),
        ));
    }
    for (id, problem) in [(10, 1), (11, 1), (12, 2), (13, 1)] {
        incident_log.extend(run(
            &mut incident_desk,
            "2026-03-02T09:30:00Z",
            json!({"op": "create", "id": id, "submitter": "r", "type": "incident", "problem": problem}),
        ));
        problem_log.extend(
            problem_desk
                .link_remote_incident(t("2026-03-02T09:30:00Z"), problem, id)
                .unwrap(),
        );
    }
    // Incident 13 is unlinked again on its desk; the host forgets it where the problem is.
    incident_log.extend(run(
        &mut incident_desk,
        "2026-03-02T10:00:00Z",
        json!({"op": "update", "case": 13, "problem": null}),
    ));
    let forgotten = problem_desk
        .unlink_remote_incident(t("2026-03-02T10:00:00Z"), 1, 13)
        .unwrap();
    assert!(unlinked(&forgotten));
    problem_log.extend(forgotten);
    // Both problems resolved: three follow-ons wait for the host (13 is no longer linked).
    for p in PROBLEMS {
        problem_log.extend(run(
            &mut problem_desk,
            "2026-03-02T11:00:00Z",
            json!({"op": "update", "case": p, "status": "resolved"}),
        ));
    }
    let names: Vec<&str> = problem_log.iter().map(|e| e.kind.name()).collect();
    assert_eq!(names.iter().filter(|n| **n == "remote_linked").count(), 4);
    assert_eq!(names.iter().filter(|n| **n == "follow_on").count(), 3);
    assert_eq!(
        replayed(&problem_log),
        problem_desk,
        "mid-way, follow-ons pending"
    );
    assert_eq!(replayed(&incident_log), incident_desk);
    let err = Desk::replay(config(), start, &problem_log).unwrap_err();
    assert!(err.message().contains("not routed"), "{}", err.message());

    // The host takes the follow-ons and delivers them.
    let (follow_ons, taken) = problem_desk
        .take_follow_ons(t("2026-03-02T11:00:00Z"))
        .unwrap();
    assert_eq!(follow_ons.len(), 3);
    problem_log.extend(taken);
    for follow_on in &follow_ons {
        incident_log.extend(
            incident_desk
                .execute(follow_on.at, &follow_on.command)
                .unwrap(),
        );
    }
    let (again, none) = problem_desk
        .take_follow_ons(t("2026-03-02T11:00:00Z"))
        .unwrap();
    assert!(again.is_empty() && none.is_empty());
    let problem_replayed = replayed(&problem_log);
    assert_eq!(
        problem_replayed, problem_desk,
        "after the follow-ons were taken"
    );
    assert_eq!(replayed(&incident_log), incident_desk);
    for id in [10, 11, 12] {
        assert_eq!(
            incident_desk.case(id).unwrap().category().as_str(),
            "resolved"
        );
    }
    // The snapshot of the replayed desk is the original's.
    assert_eq!(problem_replayed.snapshot(), problem_desk.snapshot());
    // A log that takes the follow-ons twice is refused.
    let mut twice = problem_log.clone();
    let mut copy = twice.last().unwrap().clone();
    copy.seq += 1;
    twice.push(copy);
    let err = routed().apply_events(&twice).unwrap_err();
    assert!(
        err.message().contains("and 0 are pending"),
        "{}",
        err.message()
    );
}

//! Snapshots and replay refuse broken input whole (DOMAIN.md section 6; issue "case
//! management for hosts").

use caseflow::{Config, Desk, ErrorCode, Event, EventKind, Instant, SNAPSHOT_VERSION};
use serde_json::json;

fn t(s: &str) -> Instant {
    s.parse().unwrap()
}

fn busy_desk() -> (Desk, Vec<Event>) {
    let mut desk = Desk::new(Config::default(), t("2026-03-02T08:00:00Z"));
    let mut log = Vec::new();
    let cmds = [
        json!({"op": "configure", "add_status": {"id": "waiting", "category": "pending", "label": "Waiting"}}),
        json!({"op": "create", "submitter": "r1", "assignee": "bob", "tags": ["vip"]}),
        json!({"op": "create", "submitter": "r2", "type": "task", "due_date": "2026-03-05"}),
        json!({"op": "create", "submitter": "r3", "type": "problem", "assignee": "bob"}),
        json!({"op": "create", "submitter": "r4", "type": "incident", "problem": 3}),
        json!({"op": "update", "case": 1, "status": "waiting"}),
        json!({"op": "update", "case": 3, "status": "resolved"}),
        json!({"op": "delete", "case": 2}),
        json!({"op": "configure", "delete_status": {"id": "waiting", "remap_to": "pending"}}),
    ];
    for (i, cmd) in cmds.iter().enumerate() {
        let at = t("2026-03-02T09:00:00Z").plus_seconds(i as i64 * 3600);
        log.extend(
            desk.execute_json(at, cmd)
                .unwrap_or_else(|r| panic!("{cmd}: {}", r.error)),
        );
    }
    log.extend(desk.advance_to(t("2026-03-08T00:00:00Z")).unwrap());
    (desk, log)
}

#[test]
fn a_snapshot_round_trips_and_stays_small() {
    let (desk, _) = busy_desk();
    let text = desk.snapshot();
    assert_eq!(Desk::restore(&text).unwrap(), desk);
    assert!(text.starts_with(&format!("caseflow-snapshot {SNAPSHOT_VERSION} ")));
}

/// Names and subjects that JSON must escape, shared names, and a requester who is not the
/// submitter all come back as they were (a restore reads names borrowed and shares them).
#[test]
fn escaped_and_shared_names_round_trip() {
    let mut desk = Desk::new(Config::default(), t("2026-03-02T08:00:00Z"));
    let odd = "Zoë \"the \\ boss\"\n\u{1}";
    let cmds = [
        json!({"op": "create", "submitter": odd, "assignee": odd, "group": odd, "subject": odd}),
        json!({"op": "create", "submitter": "agent smith", "requester": odd, "assignee": "bob"}),
        json!({"op": "create", "submitter": odd, "requester": "plain"}),
    ];
    for cmd in &cmds {
        desk.execute_json(t("2026-03-02T09:00:00Z"), cmd).unwrap();
    }
    let back = Desk::restore(&desk.snapshot()).unwrap();
    assert_eq!(back, desk);
    let first = back.case(1).unwrap();
    assert_eq!((first.requester(), first.assignee()), (odd, Some(odd)));
    assert_eq!(back.case(2).unwrap().requester(), odd);
    assert_eq!(back.case(3).unwrap().requester(), "plain");
    assert_eq!(back.ids_assigned_to(odd), vec![1]);
}

/// Every truncation of a case line, and every byte of it replaced by a character that
/// matters to JSON, is refused or read without a panic (the checksum is recomputed, so
/// the line reader itself sees the damage).
#[test]
fn a_damaged_case_line_never_panics() {
    let (desk, _) = busy_desk();
    let text = desk.snapshot();
    let line = text.lines().nth(2).unwrap(); // header, meta, then case 1
    let with_line = one_line_snapshots();
    assert!(
        Desk::restore(&with_line(line)).is_ok(),
        "the undamaged line restores"
    );
    let mut variants: Vec<String> = (0..line.len())
        .filter(|&n| line.is_char_boundary(n))
        .map(|n| line[..n].to_owned())
        .collect();
    for (n, _) in line.char_indices() {
        for c in ['"', '\\', ',', '[', ']', 'n', '-', '0', '9', 'é', ' '] {
            let mut damaged = line.to_owned();
            damaged.replace_range(
                n..n + line[n..].chars().next().unwrap().len_utf8(),
                &c.to_string(),
            );
            variants.push(damaged);
        }
    }
    for damaged in variants {
        let _ = Desk::restore(&with_line(&damaged));
    }
}

proptest::proptest! {
    /// Any text at all as a case line, checksum recomputed: refused or read, never a
    /// panic. Half the lines start as a case row, so the reader gets past the first field.
    #[test]
    fn any_case_line_is_refused_or_read_without_panic(
        tail in "\\PC{0,300}",
        row in proptest::bool::ANY,
    ) {
        let line = if row { format!("[1,null,{tail}") } else { tail };
        let _ = Desk::restore(&one_line_snapshots()(&line));
    }
}

/// Makes snapshots of `busy_desk` with a given line as their only case line, sealed with
/// a matching header so that a restore reads the line.
fn one_line_snapshots() -> impl Fn(&str) -> String {
    let (desk, _) = busy_desk();
    let text = desk.snapshot();
    let meta = text
        .lines()
        .nth(1)
        .unwrap()
        .replace("\"cases\":4", "\"cases\":1");
    move |line| reseal(&format!("{meta}\n{line}"))
}

/// A snapshot text with this body and a header that matches it: the format's checksum
/// (src/snapshot.rs), computed independently.
fn reseal(body: &str) -> String {
    let sum = body
        .as_bytes()
        .chunks(8)
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, chunk| {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            (h ^ u64::from_le_bytes(word))
                .wrapping_mul(0x0100_0000_01b3)
                .rotate_left(29)
        });
    format!(
        "caseflow-snapshot {SNAPSHOT_VERSION} {} {sum:016x}\n{body}",
        body.len()
    )
}

#[test]
fn a_typical_case_takes_under_300_bytes_of_snapshot() {
    let mut desk = Desk::new(Config::default(), t("2026-03-02T08:00:00Z"));
    for id in 1..=1000u64 {
        let cmd = json!({"op": "create", "submitter": format!("customer{id}"), "assignee": format!("agent{}", id % 300),
            "group": "tier1", "subject": "Cannot log in to the billing portal", "tags": ["billing"], "priority": "high"});
        desk.execute_json(t("2026-03-02T09:00:00Z"), &cmd).unwrap();
    }
    let per_case = desk.snapshot().len() / 1000;
    assert!(per_case < 300, "{per_case} bytes per case");
}

#[test]
fn a_broken_snapshot_is_refused_with_a_clear_error() {
    let (desk, _) = busy_desk();
    let text = desk.snapshot();
    let refuse = |broken: &str, want: &str| {
        let err = Desk::restore(broken).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert!(
            err.message().contains(want),
            "`{}` lacks `{want}`",
            err.message()
        );
    };
    refuse(&text[..text.len() - 10], "truncated");
    refuse(&text.replacen("\"vip\"", "\"vop\"", 1), "corrupted");
    // A snapshot of the first format (before rules) is refused, not guessed at.
    refuse(
        &text.replacen(
            &format!("caseflow-snapshot {SNAPSHOT_VERSION} "),
            "caseflow-snapshot 1 ",
            1,
        ),
        &format!("unknown version 1; this build reads versions 2 and {SNAPSHOT_VERSION}"),
    );
    refuse("", "no header");
    refuse("hello\n{}", "not a snapshot header");
    // A consistent-looking body with an inconsistent case (checksum recomputed): refused
    // by the same checks as an import.
    let (_, body) = text.split_once('\n').unwrap();
    // The checksum of the snapshot format, recomputed by a forger.
    let forged = reseal(&body.replacen("\"bob\"", "null", 1));
    refuse(&forged, "assign");
}

#[test]
fn replay_from_json_rebuilds_the_desk_and_reports_gaps() {
    let (desk, log) = busy_desk();
    let json: Vec<String> = log
        .iter()
        .map(|e| serde_json::to_string(e).unwrap())
        .collect();
    let parsed: Vec<Event> = json
        .iter()
        .map(|s| serde_json::from_str(s).unwrap())
        .collect();
    let mut replayed = Desk::replay(Config::default(), t("2026-03-02T08:00:00Z"), &parsed).unwrap();
    replayed.advance_to(desk.now()).unwrap();
    assert_eq!(replayed, desk);

    let mut gap = parsed.clone();
    gap.remove(3);
    let err = Desk::replay(Config::default(), t("2026-03-02T08:00:00Z"), &gap).unwrap_err();
    assert!(
        err.message().contains("seq 5 follows seq 3"),
        "{}",
        err.message()
    );
    let mut dup = parsed.clone();
    dup.insert(4, parsed[3].clone());
    let err = Desk::replay(Config::default(), t("2026-03-02T08:00:00Z"), &dup).unwrap_err();
    assert!(
        err.message().contains("seq 4 follows seq 4"),
        "{}",
        err.message()
    );
}

/// Replay checks each event against the case it applies to and names the event's `seq`:
/// a repeated change (its `from` no longer fits), a change of a trashed case, a version
/// that skips a step, a status change given to a case that holds another status.
#[test]
fn replay_refuses_events_that_do_not_fit_their_case() {
    let start = t("2026-03-02T08:00:00Z");
    let mut desk = Desk::new(Config::default(), start);
    let mut log = Vec::new();
    for (at, cmd) in [
        (
            "2026-03-02T09:00:00Z",
            json!({"op": "create", "id": 1, "submitter": "r1", "tags": ["vip"]}),
        ),
        (
            "2026-03-02T09:00:00Z",
            json!({"op": "create", "id": 2, "submitter": "r2", "assignee": "bob"}),
        ),
        (
            "2026-03-02T10:00:00Z",
            json!({"op": "update", "case": 1, "assignee": "carol", "add_tags": ["billing"]}),
        ),
        ("2026-03-02T11:00:00Z", json!({"op": "delete", "case": 2})),
    ] {
        log.extend(desk.execute_json(t(at), &cmd).unwrap());
    }
    assert_eq!(Desk::replay(Config::default(), start, &log).unwrap(), desk);
    let renumbered = |mut events: Vec<Event>| {
        for (n, e) in events.iter_mut().enumerate() {
            e.seq = n as u64 + 1;
        }
        events
    };
    let refused = |events: Vec<Event>, wanted: &str| {
        let err = Desk::replay(Config::default(), start, &renumbered(events)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert!(err.message().contains(wanted), "{}", err.message());
    };
    let kinds: Vec<&str> = log.iter().map(|e| e.kind.name()).collect();
    assert_eq!(
        kinds,
        [
            "created",
            "created",
            "assignee_changed",
            "tags_changed",
            "status_changed",
            "deleted"
        ]
    );
    // An assignee change from someone the case does not have.
    let mut forged = log.clone();
    if let EventKind::AssigneeChanged { from, .. } = &mut forged[2].kind {
        *from = Some("dave".into());
    }
    refused(
        forged,
        "event 3 (assignee_changed) does not fit case 1: its assignee is none, not `dave`",
    );
    // A tag change naming what cannot be a tag.
    for bad in ["Billing", "", "bill\ning"] {
        let mut forged = log.clone();
        if let EventKind::TagsChanged { added, .. } = &mut forged[3].kind {
            *added = vec![bad.to_owned()];
        }
        refused(forged, "event 4 (tags_changed) does not fit case 1: `");
    }
    // Each change twice, right after itself: out of a step's order.
    for (i, kind) in [(2, "assignee_changed"), (3, "tags_changed"), (5, "deleted")] {
        let mut twice = log.clone();
        twice.insert(i + 1, log[i].clone());
        let seq = i + 2;
        refused(twice, &format!("event {seq} ({kind}) about case"));
    }
    // The deletion again in a step of its own.
    let mut again = log.clone();
    let mut copy = log[5].clone();
    copy.version = Some(3);
    again.push(copy);
    refused(
        again,
        "event 7 (deleted) does not fit case 2: it is in the trash",
    );
    // A version that skips a step.
    let mut skips = log.clone();
    skips[5].version = Some(3);
    refused(
        skips,
        "event 6 gives case 2 version 3: the case is at version 1",
    );
    // The status change given to case 2, which is already open.
    let mut moved = log.clone();
    moved[4].case = Some(2);
    refused(
        moved,
        "event 5 (status_changed) does not fit case 2: it holds status `open` in open, not `new` in new",
    );
}

#[test]
fn replay_refuses_a_log_that_creates_an_existing_or_purged_id() {
    let start = t("2026-03-02T08:00:00Z");
    let mut desk = Desk::new(Config::default(), start);
    let mut log = Vec::new();
    for (at, cmd) in [
        (
            "2026-03-02T09:00:00Z",
            json!({"op": "create", "id": 1, "submitter": "r1"}),
        ),
        (
            "2026-03-02T09:00:00Z",
            json!({"op": "create", "id": 2, "submitter": "r2"}),
        ),
        ("2026-03-02T10:00:00Z", json!({"op": "delete", "case": 2})),
        ("2026-03-02T11:00:00Z", json!({"op": "purge", "case": 2})),
    ] {
        log.extend(desk.execute_json(t(at), &cmd).unwrap());
    }
    assert_eq!(Desk::replay(Config::default(), start, &log).unwrap(), desk);
    // The creation of case 1 again, and of the purged case 2 again, as the next event.
    for (case, of) in [(1, &log[0]), (2, &log[1])] {
        let mut again = of.clone();
        again.seq = log.len() as u64 + 1;
        again.at = t("2026-03-02T12:00:00Z");
        let mut bad = log.clone();
        bad.push(again);
        let err = Desk::replay(Config::default(), start, &bad).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidInput);
        assert!(
            err.message()
                .contains(&format!("creates case {case}, which exists or existed")),
            "{}",
            err.message()
        );
    }
}

/// `groups: null` removes the directory (DOMAIN.md section 8); the `config_changed` event
/// says so, and replaying the log or restoring a snapshot gives the same desk.
#[test]
fn removing_the_group_directory_replays_and_round_trips() {
    let start = t("2026-03-02T08:00:00Z");
    let config = Config::from_json(r#"{"groups": {"tier1": ["bob"]}}"#).unwrap();
    let mut desk = Desk::new(config.clone(), start);
    let mut log = Vec::new();
    for (at, cmd) in [
        (
            "2026-03-02T09:00:00Z",
            json!({"op": "create", "submitter": "r1", "group": "tier1", "assignee": "bob"}),
        ),
        (
            "2026-03-02T10:00:00Z",
            json!({"op": "configure", "groups": null}),
        ),
        (
            "2026-03-02T11:00:00Z",
            json!({"op": "create", "submitter": "r2", "group": "anyone", "assignee": "zed"}),
        ),
    ] {
        log.extend(
            desk.execute_json(t(at), &cmd)
                .unwrap_or_else(|r| panic!("{cmd}: {}", r.error)),
        );
    }
    assert_eq!(desk.config().groups(), None);
    let changed = log[1].to_json();
    assert_eq!(changed["type"], "config_changed");
    assert_eq!(changed["changes"], json!({"groups": null}));

    let parsed: Vec<Event> = log
        .iter()
        .map(|e| serde_json::from_str(&serde_json::to_string(e).unwrap()).unwrap())
        .collect();
    assert_eq!(parsed, log);
    let replayed = Desk::replay(config, start, &parsed).unwrap();
    assert_eq!(replayed, desk);
    assert_eq!(Desk::restore(&desk.snapshot()).unwrap(), desk);
}

/// Forges a snapshot of `desk` whose body has `from` replaced by `to` (once), checksum
/// recomputed.
fn forge(desk: &Desk, from: &str, to: &str) -> String {
    let text = desk.snapshot();
    let (_, body) = text.split_once('\n').unwrap();
    assert!(body.contains(from), "{from} not in {body}");
    reseal(&body.replacen(from, to, 1))
}

/// Counters a snapshot hands in must leave room to count: a `seq` at u64::MAX, a version
/// or reopens the next step could not count, or a firing count past the cap are refused,
/// never a panic or a wrap later (DESIGN.md, "Counters").
#[test]
fn a_snapshot_with_counters_that_cannot_count_is_refused() {
    let (desk, _) = busy_desk();
    let seq = format!("\"seq\":{},", desk.seq());
    let forged = forge(&desk, &seq, &format!("\"seq\":{},", u64::MAX));
    let err = Desk::restore(&forged).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.message().contains("seq"), "{}", err.message());
    // The largest accepted seq restores and the desk still counts on from it.
    let forged = forge(&desk, &seq, &format!("\"seq\":{},", caseflow::MAX_COUNTER));
    let mut back = Desk::restore(&forged).unwrap();
    let cmd = json!({"op": "create", "submitter": "r9"});
    let events = back.execute_json(t("2026-03-09T00:00:00Z"), &cmd).unwrap();
    assert_eq!(events[0].seq, caseflow::MAX_COUNTER + 1);

    // Case 1's line ends with its version.
    let mut desk = Desk::new(Config::default(), t("2026-03-02T08:00:00Z"));
    let cmd = json!({"op": "create", "submitter": "r1", "assignee": "bob"});
    desk.execute_json(t("2026-03-02T09:00:00Z"), &cmd).unwrap();
    let forged = forge(
        &desk,
        ",false,false,1]",
        &format!(",false,false,{}]", u64::MAX),
    );
    let err = Desk::restore(&forged).unwrap_err();
    assert!(err.message().contains("version"), "{}", err.message());
    let forged = forge(
        &desk,
        ",\"api\",null,0,",
        &format!(",\"api\",null,{},", u32::MAX),
    );
    let err = Desk::restore(&forged).unwrap_err();
    assert!(err.message().contains("reopens"), "{}", err.message());
}

#[test]
fn a_snapshot_with_firings_past_the_cap_is_refused() {
    let config = Config::from_json(
        r#"{"rules": [{"name": "poke", "kind": "automation", "when": {"category": "open"},
            "then": {"add_tags": ["poked"]}}]}"#,
    )
    .unwrap();
    let mut desk = Desk::new(config, t("2026-03-02T08:00:00Z"));
    let cmd = json!({"op": "create", "submitter": "r1", "assignee": "bob"});
    desk.execute_json(t("2026-03-02T08:30:00Z"), &cmd).unwrap();
    desk.advance_to(t("2026-03-02T09:30:00Z")).unwrap();
    let forged = forge(
        &desk,
        "[\"poke\",1,1]",
        &format!("[\"poke\",1,{}]", u32::MAX),
    );
    let err = Desk::restore(&forged).unwrap_err();
    assert!(err.message().contains("limit"), "{}", err.message());
}

/// Replay checks a created or imported view's counters as an import does.
#[test]
fn replay_refuses_an_imported_view_that_cannot_count() {
    let mut desk = Desk::new(Config::default(), t("2026-03-02T08:00:00Z"));
    let cmd = json!({"op": "create", "submitter": "r1"});
    let log = desk.execute_json(t("2026-03-02T09:00:00Z"), &cmd).unwrap();
    let mut json = log[0].to_json();
    json["view"]["version"] = json!(u64::MAX);
    json["version"] = json!(u64::MAX);
    let forged: Event = serde_json::from_value(json).unwrap();
    let err = Desk::replay(Config::default(), t("2026-03-02T08:00:00Z"), &[forged]).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(err.message().contains("version"), "{}", err.message());
}

/// A restore trusts no snapshot because its checksum holds: the catalog goes through a
/// configuration's checks (ids, labels, limits), remote links and follow-ons need a
/// routed desk, and every link is checked as an import and `link_remote_incident` check it.
#[test]
fn a_sealed_snapshot_passes_every_check_a_configuration_and_an_import_would() {
    let (desk, _) = busy_desk();
    let text = desk.snapshot();
    let (_, body) = text.split_once('\n').unwrap();
    let refuse = |forged: String, code: ErrorCode, want: &str| {
        let err = Desk::restore(&reseal(&forged)).unwrap_err();
        assert_eq!(err.code(), code, "{}", err.message());
        assert!(
            err.message().contains(want),
            "`{}` lacks `{want}`",
            err.message()
        );
    };
    refuse(
        body.replacen("\"id\":\"waiting\"", "\"id\":\"BAD ID!\"", 1),
        ErrorCode::InvalidConfig,
        "BAD ID!",
    );
    refuse(
        body.replacen(
            "\"label\":\"Waiting\"",
            &format!("\"label\":\"{}\"", "w".repeat(49)),
            1,
        ),
        ErrorCode::InvalidConfig,
        "label",
    );
    refuse(
        body.replacen(
            "\"id\":\"open\",\"category\":\"open\"",
            "\"id\":\"open\",\"category\":\"pending\"",
            1,
        ),
        ErrorCode::InvalidConfig,
        "built-in",
    );
    let many: Vec<String> = (0..1000)
        .map(|i| format!("{{\"id\":\"s{i}\",\"category\":\"open\",\"label\":\"S\",\"end_user_label\":null,\"active\":true,\"default\":false,\"deleted\":false}}"))
        .collect();
    refuse(
        body.replacen(
            "\"statuses\":[",
            &format!("\"statuses\":[{},", many.join(",")),
            1,
        ),
        ErrorCode::InvalidConfig,
        "300",
    );
    refuse(
        body.replacen("\"remote_links\":[]", "\"remote_links\":[[3,99]]", 1),
        ErrorCode::InvalidInput,
        "routed",
    );
    refuse(
        body.replacen(
            "\"follow_ons\":[]",
            "\"follow_ons\":[[\"2026-03-02T09:00:00Z\",4,3]]",
            1,
        ),
        ErrorCode::InvalidInput,
        "routed",
    );
    let routed = body.replacen("\"routed\":false", "\"routed\":true", 1);
    assert!(Desk::restore(&reseal(&routed)).is_ok());
    refuse(
        routed.replacen("\"remote_links\":[]", "\"remote_links\":[[3,3]]", 1),
        ErrorCode::InvalidInput,
        "on this desk",
    );
    refuse(
        routed.replacen("\"remote_links\":[]", "\"remote_links\":[[1,99]]", 1),
        ErrorCode::InvalidInput,
        "not a problem",
    );
    assert!(
        Desk::restore(&reseal(&routed.replacen(
            "\"remote_links\":[]",
            "\"remote_links\":[[3,99]]",
            1
        )))
        .is_ok()
    );
    refuse(
        routed.replacen("\"groups\":null", "\"groups\":{\"\":[\"bob\"]}", 1),
        ErrorCode::InvalidConfig,
        "group",
    );
}

/// Replay checks a `config_changed` as a configuration: a period of 4,000,000,000 days or a
/// catalog with a bad id is refused (the period armed deadlines past the last instant).
#[test]
fn replay_checks_configuration_changes_as_a_configuration() {
    let start = t("2026-03-02T08:00:00Z");
    let mut desk = Desk::new(Config::default(), start);
    let cmd = json!({"op": "configure", "auto_close_after_days": 5,
        "add_status": {"id": "waiting", "category": "pending", "label": "Waiting"}});
    let log = desk.execute_json(t("2026-03-02T09:00:00Z"), &cmd).unwrap();
    assert!(Desk::replay(Config::default(), start, &log).is_ok());
    let mut json = log[0].to_json();
    json["changes"]["auto_close_after_days"] = json!(4_000_000_000u32);
    let forged: Event = serde_json::from_value(json).unwrap();
    let err = Desk::replay(Config::default(), start, &[forged]).unwrap_err();
    assert!(
        err.message().contains("auto_close_after_days"),
        "{}",
        err.message()
    );
    let text = serde_json::to_string(&log[0].to_json())
        .unwrap()
        .replace("\"waiting\"", "\"BAD ID!\"");
    let forged: Event = serde_json::from_str(&text).unwrap();
    let err = Desk::replay(Config::default(), start, &[forged]).unwrap_err();
    assert!(err.message().contains("BAD ID!"), "{}", err.message());
}

proptest::proptest! {
    /// A written snapshot is `snapshot()`'s text, byte for byte, and every way of reading
    /// it (text or reader, 1, 2 or 8 threads) gives the same desk.
    #[test]
    fn every_way_of_restoring_gives_the_same_desk(
        setup in crate::properties::setup(),
        ops in crate::properties::ops(),
    ) {
        let desk = crate::properties::simulate_config(setup.config(), &ops).desk;
        let text = desk.snapshot();
        let mut written = Vec::new();
        desk.write_snapshot(&mut written).unwrap();
        proptest::prop_assert_eq!(&written, text.as_bytes());
        for threads in [1, 2, 8] {
            let options = caseflow::RestoreOptions { threads };
            proptest::prop_assert_eq!(&Desk::restore_with(&text, options).unwrap(), &desk);
            let read = Desk::read_snapshot_with(&written[..], options).unwrap();
            proptest::prop_assert_eq!(&read, &desk);
        }
        proptest::prop_assert_eq!(&Desk::read_snapshot(&written[..]).unwrap(), &desk);
    }
}

/// A broken case line is reported by its number whatever the number of threads, and a
/// reader that holds too little or too much is refused.
#[test]
fn broken_snapshots_are_refused_the_same_way_by_every_reader() {
    use caseflow::RestoreOptions;
    let mut desk = Desk::new(Config::default(), t("2026-03-02T08:00:00Z"));
    for _ in 0..20 {
        desk.execute_json(
            t("2026-03-02T09:00:00Z"),
            &json!({"op": "create", "submitter": "r"}),
        )
        .unwrap();
    }
    let text = desk.snapshot();
    // Case 15's id is no number: its line is the 15th.
    let body = text.split_once('\n').unwrap().1;
    let broken = reseal(&body.replacen("[15,", "[\"x\",", 1));
    let errors: Vec<String> = [1, 2, 8]
        .into_iter()
        .map(|threads| {
            Desk::restore_with(&broken, RestoreOptions { threads })
                .unwrap_err()
                .to_string()
        })
        .collect();
    assert!(errors[0].contains("case line 15"), "{}", errors[0]);
    assert!(errors.iter().all(|e| *e == errors[0]), "{errors:?}");
    let short = &text.as_bytes()[..text.len() - 3];
    let err = Desk::read_snapshot(short).unwrap_err().to_string();
    assert!(err.contains("truncated"), "{err}");
    let long = format!("{text}\n");
    let err = Desk::read_snapshot(long.as_bytes())
        .unwrap_err()
        .to_string();
    assert!(err.contains("padded"), "{err}");
}

/// An event about a case that names no case, or no version, is refused by its `seq`.
#[test]
fn replay_refuses_a_case_event_without_its_case_or_version() {
    let (_, log) = busy_desk();
    let start = t("2026-03-02T08:00:00Z");
    let at = log
        .iter()
        .position(|e| e.kind.name() == "status_changed")
        .unwrap();
    let mut orphan = log[..=at].to_vec();
    orphan[at].case = None;
    let err = Desk::replay(Config::default(), start, &orphan).unwrap_err();
    assert_eq!(err.code(), ErrorCode::InvalidInput);
    assert!(
        err.message()
            .contains(&format!("event {} names no case", at + 1)),
        "{}",
        err.message()
    );
    let mut unversioned = log[..=at].to_vec();
    unversioned[at].version = None;
    let err = Desk::replay(Config::default(), start, &unversioned).unwrap_err();
    assert!(
        err.message().contains("carries no version"),
        "{}",
        err.message()
    );
}

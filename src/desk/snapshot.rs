//! Snapshots: a desk as versioned text, and back.
//!
//! The text is one header line, `caseflow-snapshot VERSION LENGTH CHECKSUM`, then a body
//! of exactly LENGTH bytes whose checksum is CHECKSUM (16 hex digits): one JSON line for
//! the configuration and desk state, then one JSON line per case, so that a restore
//! streams cases in without holding them all twice. A
//! truncated body fails the length, a corrupted one the checksum, and every case is
//! checked for consistency as an import is; a snapshot is loaded whole or refused.
//! Cases are stored as JSON arrays (a row of values, instants as Unix seconds) to keep
//! the text small: about 250 bytes for a typical case.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::rules::RuleState;
use super::store::CaseStore;
use crate::case::{Case, CaseId, CaseType, Channel, MAX_COUNTER, Name, Priority, Tags};
use crate::command::{Command, Derived};
use crate::config::Groups;
use crate::config::{Config, NewStatusPolicy};
use crate::desk::Desk;
use crate::error::Error;
use crate::lifecycle::{self, Cascade, FollowOn};
use crate::status::{Catalog, Category, Status, StatusId};
use crate::time::{Date, Instant};

const MAGIC: &str = "caseflow-snapshot";
/// The snapshot format version this build writes. It also reads version 2, which had no
/// script limits and no runs of limit failures (a desk of version 2 ran no scripts).
pub const SNAPSHOT_VERSION: u32 = 3;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Meta {
    timezone: String,
    auto_close_after_days: u32,
    new_status: NewStatusPolicy,
    automation_interval_minutes: u32,
    groups: Option<Groups>,
    statuses: Vec<Status>,
    now: Instant,
    seq: u64,
    last_id: CaseId,
    purged: BTreeSet<CaseId>,
    routed: bool,
    /// problem -> incidents held by other desks (routed desks only).
    remote_links: Vec<(CaseId, CaseId)>,
    /// Follow-on commands not yet taken: (at, incident, problem).
    follow_ons: Vec<(Instant, CaseId, CaseId)>,
    /// The rules' declarations, in order.
    rules: Vec<serde_json::Value>,
    /// How many times each automation fired on each case: (rule, case, count).
    firings: Vec<(String, CaseId, u32)>,
    /// The rules disabled until the rules are replaced.
    disabled: Vec<String>,
    /// The script limits that differ from the defaults (version 3).
    #[serde(default)]
    limits: serde_json::Value,
    /// Runs of script limit failures: (rule, failures in a row) (version 3).
    #[serde(default)]
    limit_failures: Vec<(String, u32)>,
    /// How many case lines follow.
    cases: usize,
}

/// One case, field by field in the order of the case view (docs/cases.md; `category` is
/// derived): `S` is `String` when reading and `&str` when writing, so writing copies
/// nothing; the status (`St`) is read borrowed and becomes the catalog's own id, so it
/// costs no allocation.
#[derive(Serialize, Deserialize)]
struct Row<S, T, St>(
    CaseId,
    Option<CaseType>,
    Option<S>,
    Option<Priority>,
    St,
    bool,
    S,
    S,
    Option<S>,
    Option<S>,
    Option<CaseId>,
    Option<Date>,
    Option<i64>,
    T,
    Channel,
    Option<CaseId>,
    u32,
    [i64; 4],
    [Option<i64>; 4],
    bool,
    bool,
    u64,
);

type RowOut<'a> = Row<&'a str, &'a Tags, &'a str>;
type RowIn<'a> = Row<Text<'a>, Tags, &'a str>;

/// A string of a case line: borrowed from the snapshot text unless JSON escapes forced a
/// copy, so a name costs no allocation until it is interned.
struct Text<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Text<'a>, D::Error> {
        struct Visit;
        impl<'de> serde::de::Visitor<'de> for Visit {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(Visit)
    }
}

/// One `Name` per distinct agent or group among the cases one thread reads (there are
/// few, and every case repeats one). Names come from the host's users, so the set keeps
/// std's keyed hash.
#[derive(Default)]
struct Names(HashSet<Name>);

impl Names {
    fn get(&mut self, text: &str) -> Name {
        match self.0.get(text) {
            Some(name) => name.clone(),
            None => {
                let name = Name::from(text);
                self.0.insert(name.clone());
                name
            }
        }
    }
}

fn row_of(c: &Case) -> RowOut<'_> {
    let s = |t: Instant| t.unix_seconds();
    Row(
        c.id,
        c.case_type,
        c.subject.as_deref(),
        c.priority,
        c.status.as_str(),
        c.closed,
        &c.requester,
        &c.submitter,
        c.assignee.as_deref(),
        c.group.as_deref(),
        c.problem,
        c.due_date,
        c.due_at.map(s),
        &c.tags,
        c.channel,
        c.follow_up_of,
        c.reopens,
        [
            c.created_at,
            c.updated_at,
            c.status_changed_at,
            c.category_changed_at,
        ]
        .map(s),
        [c.assigned_at, c.resolved_at, c.replied_at, c.closed_at].map(|t| t.map(s)),
        c.overdue,
        c.deleted,
        c.version,
    )
}

impl RowIn<'_> {
    fn into_case(
        self,
        catalog: &Catalog,
        names: &mut Names,
    ) -> Result<(Case, Option<Instant>), Error> {
        let Row(
            id,
            case_type,
            subject,
            priority,
            status,
            closed,
            requester,
            submitter,
            assignee,
            group,
            problem,
            due_date,
            due_at,
            tags,
            channel,
            follow_up_of,
            reopens,
            [created, updated, status_changed, category_changed],
            [assigned, resolved, replied, closed_at],
            overdue,
            deleted,
            version,
        ) = self;
        let t = |n: i64| {
            Instant::from_unix_seconds(n).ok_or_else(|| {
                Error::input(format!("snapshot: case {id}: instant {n} out of range"))
            })
        };
        let opt = |n: Option<i64>| n.map(t).transpose();
        // Requesters are many and mostly new: a fresh name each, shared with the
        // submitter when they are the same person (the usual case).
        let submitter_name = Name::from(&*submitter.0);
        let case = Case {
            id,
            case_type,
            subject: subject.map(|s| s.0.into_owned()),
            priority,
            // An unknown status is reported by the consistency check.
            status: catalog
                .get(status)
                .map_or_else(|| StatusId::from(status), |s| s.id.clone()),
            category: Category::New, // derived by the consistency check
            closed,
            requester: if requester.0 == submitter.0 {
                Name::clone(&submitter_name)
            } else {
                Name::from(&*requester.0)
            },
            submitter: submitter_name,
            assignee: assignee.map(|a| names.get(&a.0)),
            group: group.map(|g| names.get(&g.0)),
            problem,
            due_date,
            due_at: None,
            tags,
            channel,
            follow_up_of,
            reopens,
            created_at: t(created)?,
            updated_at: t(updated)?,
            status_changed_at: t(status_changed)?,
            category_changed_at: t(category_changed)?,
            assigned_at: opt(assigned)?,
            resolved_at: opt(resolved)?,
            replied_at: opt(replied)?,
            closed_at: opt(closed_at)?,
            overdue,
            deleted,
            version,
        };
        Ok((case, opt(due_at)?))
    }
}

/// How a restore runs: [`Desk::restore_with`], [`Desk::read_snapshot_with`].
///
/// # Example
/// ```
/// use caseflow::{Config, Desk, RestoreOptions};
/// let desk = Desk::new(Config::default(), "2026-03-02T09:00:00Z".parse().unwrap());
/// // Inside an async runtime: parse on the calling thread, spawn none.
/// let one = RestoreOptions { threads: 1 };
/// assert_eq!(Desk::restore_with(&desk.snapshot(), one).unwrap(), desk);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RestoreOptions {
    /// How many threads parse and check case lines: 1 spawns none (the calling thread
    /// does it all); 0 means one per core, at most 8 (the default). The restored desk is
    /// the same whatever the number.
    pub threads: usize,
}

impl RestoreOptions {
    fn threads(self) -> usize {
        match self.threads {
            0 => std::thread::available_parallelism()
                .map_or(1, |n| n.get())
                .clamp(1, 8),
            n => n,
        }
    }
}

/// The checksum of a body written in pieces: [`checksum`] of their concatenation.
struct Checksum {
    hash: u64,
    /// Bytes of a word not yet complete, and how many.
    tail: [u8; 8],
    held: usize,
    length: usize,
}

const CHECKSUM_START: u64 = 0xcbf2_9ce4_8422_2325;

fn checksum_step(h: u64, word: [u8; 8]) -> u64 {
    (h ^ u64::from_le_bytes(word))
        .wrapping_mul(0x0100_0000_01b3)
        .rotate_left(29)
}

impl Checksum {
    fn new() -> Checksum {
        Checksum {
            hash: CHECKSUM_START,
            tail: [0; 8],
            held: 0,
            length: 0,
        }
    }

    fn finish(&self) -> u64 {
        if self.held == 0 {
            return self.hash;
        }
        let mut word = [0u8; 8];
        word[..self.held].copy_from_slice(&self.tail[..self.held]);
        checksum_step(self.hash, word)
    }
}

impl std::io::Write for Checksum {
    fn write(&mut self, mut bytes: &[u8]) -> std::io::Result<usize> {
        let n = bytes.len();
        self.length += n;
        if self.held > 0 {
            let take = (8 - self.held).min(bytes.len());
            self.tail[self.held..self.held + take].copy_from_slice(&bytes[..take]);
            self.held += take;
            bytes = &bytes[take..];
            if self.held < 8 {
                return Ok(n);
            }
            self.hash = checksum_step(self.hash, self.tail);
            self.held = 0;
        }
        let words = bytes.chunks_exact(8);
        let rest = words.remainder();
        for w in words {
            let mut word = [0u8; 8];
            word.copy_from_slice(w);
            self.hash = checksum_step(self.hash, word);
        }
        self.tail[..rest.len()].copy_from_slice(rest);
        self.held = rest.len();
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// An FNV-1a-style 64-bit checksum over 8-byte words (the tail zero-padded): enough to
/// catch a corrupted byte, and eight times fewer steps than byte-wise FNV.
fn checksum(bytes: &[u8]) -> u64 {
    let step = |h: u64, word: u64| (h ^ word).wrapping_mul(0x0100_0000_01b3).rotate_left(29);
    let words = bytes.chunks_exact(8);
    let tail = words.remainder();
    let h = words.fold(0xcbf2_9ce4_8422_2325, |h, w| {
        step(
            h,
            u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]),
        )
    });
    if tail.is_empty() {
        return h;
    }
    let mut word = [0u8; 8];
    word[..tail.len()].copy_from_slice(tail);
    step(h, u64::from_le_bytes(word))
}

impl Desk {
    /// The whole desk as versioned snapshot text: configuration, catalog with tombstones,
    /// cases (trashed ones included), purged ids, the desk's time and `seq`.
    ///
    /// # Example
    /// ```
    /// use caseflow::{Command, Config, Desk};
    /// let t = "2026-03-02T09:00:00Z".parse().unwrap();
    /// let mut desk = Desk::new(Config::default(), t);
    /// desk.execute(t, &Command::from_json(r#"{"op": "create", "submitter": "r"}"#).unwrap()).unwrap();
    /// let text = desk.snapshot();
    /// assert_eq!(Desk::restore(&text).unwrap(), desk);
    /// assert!(Desk::restore(&text[..text.len() - 1]).is_err());
    /// ```
    pub fn snapshot(&self) -> String {
        let mut body = Vec::with_capacity(self.cases.len() * 256 + 1024);
        // Writing into memory cannot fail.
        let _ = self.write_body(&mut body);
        let mut text = self.header(body.len(), checksum(&body)).into_bytes();
        text.append(&mut body);
        // serde_json writes UTF-8.
        String::from_utf8(text).unwrap_or_default()
    }

    /// Writes [`Desk::snapshot`]'s text to `w` without holding it in memory: the body is
    /// produced twice, once to learn its length and checksum for the header and once to
    /// write it.
    ///
    /// # Errors
    /// Those of `w`.
    ///
    /// # Example
    /// ```
    /// use caseflow::{Command, Config, Desk};
    /// let t = "2026-03-02T09:00:00Z".parse().unwrap();
    /// let mut desk = Desk::new(Config::default(), t);
    /// desk.execute(t, &Command::from_json(r#"{"op": "create", "submitter": "r"}"#).unwrap()).unwrap();
    /// let mut file = Vec::new();
    /// desk.write_snapshot(&mut file)?;
    /// assert_eq!(file, desk.snapshot().into_bytes());
    /// assert_eq!(Desk::read_snapshot(&file[..]).unwrap(), desk);
    /// # Ok::<(), std::io::Error>(())
    /// ```
    pub fn write_snapshot(&self, mut w: impl std::io::Write) -> std::io::Result<()> {
        let mut sum = Checksum::new();
        self.write_body(&mut sum)?;
        w.write_all(self.header(sum.length, sum.finish()).as_bytes())?;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, w);
        self.write_body(&mut out)?;
        std::io::Write::flush(&mut out)
    }

    fn header(&self, length: usize, sum: u64) -> String {
        format!("{MAGIC} {SNAPSHOT_VERSION} {length} {sum:016x}\n")
    }

    /// The body: the configuration and desk state, then one line per case.
    fn write_body(&self, out: &mut impl std::io::Write) -> std::io::Result<()> {
        let config = &self.config;
        let mut remote_links = Vec::new();
        for (problem, incidents) in &self.index.incidents {
            remote_links.extend(
                incidents
                    .iter()
                    .filter(|i| !self.cases.contains_key(i))
                    .map(|i| (*problem, *i)),
            );
        }
        let follow_ons = self
            .follow_ons
            .iter()
            .filter_map(|f| match f.command {
                Command::ResolveByProblem { case, problem } => Some((f.at, case, problem)),
                _ => None,
            })
            .collect();
        let meta = Meta {
            timezone: config.timezone.name().to_owned(),
            auto_close_after_days: config.auto_close_after_days,
            new_status: config.new_status,
            automation_interval_minutes: config.automation_interval_minutes,
            groups: config.groups.clone(),
            statuses: config.catalog.iter().cloned().collect(),
            now: self.now,
            seq: self.seq,
            last_id: self.last_id,
            purged: self.purged.clone(),
            routed: self.cascade_mode == Cascade::Routed,
            remote_links,
            follow_ons,
            rules: config.rules.declared(),
            firings: self.rule_state.named_firings(&config.rules),
            disabled: self.rule_state.named_disabled(&config.rules),
            limits: config.limits.to_value(),
            limit_failures: self.rule_state.named_limit_failures(&config.rules),
            cases: self.cases.len(),
        };
        serde_json::to_writer(&mut *out, &meta)?;
        for case in self.ids.iter().filter_map(|id| self.cases.get(&id)) {
            out.write_all(b"\n")?;
            serde_json::to_writer(&mut *out, &row_of(case))?;
        }
        Ok(())
    }

    /// Restores a desk from [`Desk::snapshot`] text. The result equals the desk that was
    /// snapshotted and behaves the same from then on.
    ///
    /// # Errors
    /// `invalid_input` naming what is wrong: not a snapshot, an unknown version, a
    /// truncated or corrupted body, or an inconsistent case (as `import` checks it);
    /// `invalid_config` for a bad configuration. Nothing is half-loaded.
    pub fn restore(text: &str) -> Result<Desk, Error> {
        Desk::restore_with(text, RestoreOptions::default())
    }

    /// [`Desk::restore`] with the host's choice of threads ([`RestoreOptions`]).
    ///
    /// # Errors
    /// As [`Desk::restore`].
    ///
    /// # Example
    /// ```
    /// use caseflow::{Config, Desk, RestoreOptions};
    /// let desk = Desk::new(Config::default(), "2026-03-02T09:00:00Z".parse().unwrap());
    /// let text = desk.snapshot();
    /// for threads in [1, 2, 8] {
    ///     assert_eq!(Desk::restore_with(&text, RestoreOptions { threads }).unwrap(), desk);
    /// }
    /// ```
    pub fn restore_with(text: &str, options: RestoreOptions) -> Result<Desk, Error> {
        let bad = |why: String| Error::input(format!("snapshot: {why}"));
        let (header, body) = text
            .split_once('\n')
            .ok_or_else(|| bad("no header line".into()))?;
        let fields: Vec<&str> = header.split(' ').collect();
        let [magic, version, length, sum] = fields[..] else {
            return Err(bad(format!("`{header}` is not a snapshot header")));
        };
        if magic != MAGIC {
            return Err(bad(format!("`{header}` is not a snapshot header")));
        }
        if version != SNAPSHOT_VERSION.to_string() && version != "2" {
            return Err(bad(format!(
                "unknown version {version}; this build reads versions 2 and {SNAPSHOT_VERSION}"
            )));
        }
        let length: usize = length
            .parse()
            .map_err(|_| bad(format!("bad length `{length}`")))?;
        if body.len() != length {
            return Err(bad(format!(
                "body is {} bytes, the header says {length}: truncated or padded",
                body.len()
            )));
        }
        if format!("{:016x}", checksum(body.as_bytes())) != sum {
            return Err(bad("checksum mismatch: the body is corrupted".into()));
        }
        let mut lines = body.split('\n');
        let meta = lines.next().unwrap_or_default();
        let body: Meta = serde_json::from_str(meta).map_err(|e| bad(format!("body: {e}")))?;

        super::fold::check_step_instant(body.now)
            .map_err(|e| bad(format!("now: {}", e.message())))?;
        if body.seq > MAX_COUNTER {
            return Err(bad(format!(
                "seq {} is above {MAX_COUNTER} (2^53 - 1), the largest a desk takes in",
                body.seq
            )));
        }
        let mut config = Config::from_value(&json!({
            "timezone": body.timezone,
            "auto_close_after_days": body.auto_close_after_days,
            "new_status": body.new_status,
            "automation_interval_minutes": body.automation_interval_minutes,
            "limits": if body.limits.is_null() { json!({}) } else { body.limits },
        }))?;
        if let Some(groups) = &body.groups {
            crate::config::check_groups(groups)?;
        }
        config.groups = body.groups;
        config.catalog = Catalog::from_statuses(body.statuses)?;
        config.rules = config.parse_rules(&body.rules.into())?;
        let rule_state = RuleState::from_named(
            &config.rules,
            body.firings,
            &body.disabled,
            &body.limit_failures,
        )
        .map_err(&bad)?;
        let mode = if body.routed {
            Cascade::Routed
        } else {
            Cascade::Local
        };
        let remote = !body.remote_links.is_empty() || !body.follow_ons.is_empty();
        if remote && !body.routed {
            return Err(bad(
                "remote links and follow-ons belong to routed desks; this desk is local".into(),
            ));
        }
        let mut desk = Desk::new(config, body.now).with_cascade(mode);
        desk.seq = body.seq;
        desk.last_id = body.last_id;
        desk.purged = body.purged;
        desk.rule_state = rule_state;
        let lines: Vec<&str> = lines.collect();
        if lines.len() != body.cases {
            return Err(bad(format!(
                "{} case lines, the body says {}",
                lines.len(),
                body.cases
            )));
        }
        // Parsing and checking cases needs only the configuration: it runs on the threads
        // the host allows, each on a contiguous run of lines; the result (and the first
        // failing line reported) does not depend on how many. One thread spawns none.
        let threads = options.threads();
        let per_thread = lines.len().div_ceil(threads).max(1);
        let parsed: Vec<Result<Vec<Case>, Error>> = if threads == 1 {
            vec![desk.parse_cases(&lines, 0, lines.len())]
        } else {
            std::thread::scope(|scope| {
                let desk = &desk;
                let workers: Vec<_> = lines
                    .chunks(per_thread)
                    .enumerate()
                    .map(|(k, part)| {
                        // The first part's vector takes every case, so the others are
                        // appended to it without moving it.
                        let room = if k == 0 { lines.len() } else { part.len() };
                        scope.spawn(move || desk.parse_cases(part, k * per_thread, room))
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| {
                        w.join()
                            .unwrap_or_else(|_| Err(bad("a case line crashed its parser".into())))
                    })
                    .collect()
            })
        };
        let mut parts = parsed
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter();
        let mut cases = parts.next().unwrap_or_default();
        for mut part in parts {
            cases.append(&mut part);
        }
        desk.cases =
            CaseStore::from_cases(cases).map_err(|id| bad(format!("case {id} appears twice")))?;
        let mut linked = Vec::new();
        for case in desk.cases.iter() {
            let id = case.id;
            if id > desk.last_id || desk.purged.contains(&id) {
                return Err(bad(format!("case {id} is purged or beyond the last id")));
            }
            if let Some(p) = case.problem {
                desk.index.link(p, id);
                linked.push(id);
            }
            desk.ids.insert(id);
        }
        for id in desk.ids.clone() {
            desk.settle(id, body.now);
        }
        desk.index.rebuild(&desk.cases);
        // Links are checked once every case is in: a problem may have a larger id.
        for id in linked {
            if let Some(case) = desk.cases.get(&id) {
                lifecycle::check_view_link(&desk, case)?;
            }
        }
        // A remote link is checked as `link_remote_incident` checks it, but for the
        // problem's state: a problem resolved since it was linked keeps its records.
        for (problem, incident) in body.remote_links {
            if desk.cases.contains_key(&incident) || desk.purged.contains(&incident) {
                return Err(bad(format!(
                    "remote link of case {incident} to {problem}: case {incident} is on this desk"
                )));
            }
            let is_problem = desk
                .cases
                .get(&problem)
                .is_some_and(|p| p.case_type == Some(CaseType::Problem));
            if !is_problem {
                return Err(bad(format!(
                    "remote link of case {incident} to {problem}: case {problem} is not a problem of this desk"
                )));
            }
            desk.index.link(problem, incident);
        }
        for &(at, case, problem) in &body.follow_ons {
            if at > body.now || case == 0 || problem == 0 || case == problem {
                return Err(bad(format!(
                    "follow-on of case {case} for problem {problem} at {at} does not fit the desk"
                )));
            }
        }
        desk.follow_ons = body
            .follow_ons
            .into_iter()
            .map(|(at, case, problem)| FollowOn {
                at,
                command: Command::ResolveByProblem { case, problem },
            })
            .collect();
        Ok(desk)
    }

    /// Reads a snapshot that [`Desk::write_snapshot`] (or [`Desk::snapshot`]) wrote, as
    /// [`Desk::restore`] does. The body is read whole before it is checked, since its
    /// checksum comes first.
    ///
    /// # Errors
    /// As [`Desk::restore`]; a read that fails, or text that is not UTF-8, is
    /// `invalid_input` naming it.
    ///
    /// # Example
    /// ```
    /// use caseflow::{Config, Desk};
    /// let desk = Desk::new(Config::default(), "2026-03-02T09:00:00Z".parse().unwrap());
    /// let mut file = Vec::new();
    /// desk.write_snapshot(&mut file).unwrap();
    /// assert_eq!(Desk::read_snapshot(std::io::Cursor::new(file)).unwrap(), desk);
    /// ```
    pub fn read_snapshot(r: impl std::io::BufRead) -> Result<Desk, Error> {
        Desk::read_snapshot_with(r, RestoreOptions::default())
    }

    /// [`Desk::read_snapshot`] with the host's choice of threads ([`RestoreOptions`]).
    ///
    /// # Errors
    /// As [`Desk::read_snapshot`].
    pub fn read_snapshot_with(
        mut r: impl std::io::BufRead,
        options: RestoreOptions,
    ) -> Result<Desk, Error> {
        use std::io::Read as _;
        let failed = |e: std::io::Error| Error::input(format!("snapshot: cannot read: {e}"));
        let mut header = String::new();
        r.read_line(&mut header).map_err(failed)?;
        // The header gives the body's length: read that much (and one byte more, to tell
        // a padded body), so a wrong length is refused without reading on.
        let length = header
            .trim_end_matches('\n')
            .split(' ')
            .nth(2)
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
        let mut text = header;
        r.take(length.saturating_add(1))
            .read_to_string(&mut text)
            .map_err(failed)?;
        Desk::restore_with(&text, options)
    }

    /// Parses and checks case lines (numbered from `first`) against this desk's
    /// configuration, as `import` checks a view, into a vector with room for `room` cases.
    fn parse_cases(&self, lines: &[&str], first: usize, room: usize) -> Result<Vec<Case>, Error> {
        let mut cases = Vec::with_capacity(room);
        let mut names = Names::default();
        for (n, line) in lines.iter().enumerate() {
            let row: RowIn = serde_json::from_str(line)
                .map_err(|e| Error::input(format!("snapshot: case line {}: {e}", first + n + 1)))?;
            let (mut case, due_at) = row.into_case(&self.config.catalog, &mut names)?;
            let given = Derived {
                due_at: Some(due_at),
                ..Derived::default()
            };
            lifecycle::check_view_shape(&case)?;
            lifecycle::check_view(&self.config, &mut case, &given, self.now)?;
            cases.push(case);
        }
        Ok(cases)
    }
}

#[cfg(test)]
mod tests {
    use super::checksum;

    /// The checksum is part of the format: these values were computed by an independent
    /// byte-wise implementation of its definition (zero-padded 8-byte words).
    /// The checksum of a body written in pieces of any size is that of the whole body.
    #[test]
    fn a_checksum_in_pieces_is_the_whole_one() {
        use std::io::Write as _;
        let body: Vec<u8> = (0..200u8).collect();
        for cut in [1, 3, 7, 8, 9, 64] {
            for len in [0, 1, 7, 8, 15, 200] {
                let mut sum = super::Checksum::new();
                for piece in body[..len].chunks(cut) {
                    sum.write_all(piece).unwrap();
                }
                assert_eq!(sum.finish(), checksum(&body[..len]), "cut {cut}, len {len}");
                assert_eq!(sum.length, len);
            }
        }
    }

    #[test]
    fn checksum_is_stable() {
        assert_eq!(checksum(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(checksum(b"caseflow"), 0x9ba2_739e_5a34_3e8c);
        assert_eq!(
            checksum(b"caseflow-snapshot body\n[1,null]"),
            0x5499_bb00_10e7_e240
        );
    }
}

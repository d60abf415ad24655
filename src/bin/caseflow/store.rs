//! The durable state of `caseflow run --state PATH`: one SQLite database holding the event
//! log, every answer given (by request id when there is one) and the latest snapshot
//! (docs/command-line.md, `caseflow run`; DESIGN.md, section `caseflow run`).
//!
//! Schema (version [`SCHEMA_VERSION`], in `PRAGMA user_version`; the file is marked as
//! caseflow's by `PRAGMA application_id`):
//!
//! - `meta(key, value)`: `config`, the configuration the database was created with (its
//!   JSON, [`Config::to_value`]), and `created_by`, the caseflow version that created it;
//! - `requests(n, id, now, answer)`: one row per command, in order: its request id (as JSON
//!   text, unique) when it had one, the desk's time after it, and its answer line;
//! - `events(seq, request, event)`: every event, as JSON, with the request that caused it;
//! - `snapshots(seq, snapshot)`: the latest snapshot ([`Desk::snapshot`]), taken after the
//!   event `seq`.

use std::path::{Path, PathBuf};

use caseflow::{Config, Desk, Event, Instant};
use rusqlite::{Connection, ErrorCode, OptionalExtension, params};

/// The schema this caseflow writes and reads.
pub const SCHEMA_VERSION: i64 = 1;

/// `PRAGMA application_id` of a caseflow state database: "cflw".
const APPLICATION_ID: i64 = 0x6366_6c77;

const SCHEMA: &str = "
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
    CREATE TABLE requests (
        n INTEGER PRIMARY KEY,
        id TEXT UNIQUE,
        now TEXT NOT NULL,
        answer TEXT NOT NULL
    ) STRICT;
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY,
        request INTEGER NOT NULL REFERENCES requests (n),
        event TEXT NOT NULL
    ) STRICT;
    CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, snapshot TEXT NOT NULL) STRICT;
";

/// An open state database, locked for this process.
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// A snapshot is written once this many events were logged since the last one.
    snapshot_every: u64,
    /// Events logged since the latest snapshot.
    since_snapshot: u64,
    /// Whether the database holds a snapshot yet (it does from the first command on).
    has_snapshot: bool,
}

impl Store {
    /// Opens the database at `path` (creating it when missing) for a desk with `config`,
    /// and recovers the desk it holds: its latest snapshot, the events logged after it,
    /// and the advance to the time of the last command. None before the first command.
    ///
    /// # Errors
    /// A message naming the file: it cannot be opened or is locked by another process, it
    /// is not a caseflow database, its schema is newer (or older) than this caseflow's, it
    /// was created with another configuration, or it is damaged.
    pub fn open(
        path: &Path,
        config: &Config,
        snapshot_every: u64,
    ) -> Result<(Store, Option<Desk>), String> {
        let name = path.display();
        let conn = Connection::open(path).map_err(|e| sql_error(path, &e))?;
        let mut store = Store {
            conn,
            path: path.to_path_buf(),
            snapshot_every,
            since_snapshot: 0,
            has_snapshot: false,
        };
        store.configure().map_err(|e| sql_error(path, &e))?;
        let config_json = config.to_value().to_string();
        match store.check_schema().map_err(|e| sql_error(path, &e))? {
            Schema::Empty => store
                .create(&config_json)
                .map_err(|e| sql_error(path, &e))?,
            Schema::Caseflow => {}
            Schema::Foreign => {
                return Err(format!(
                    "{name} is not a caseflow state database (it holds other tables)"
                ));
            }
            Schema::Version(v) if v > SCHEMA_VERSION => {
                return Err(format!(
                    "{name} was written by a newer caseflow (schema version {v}; this caseflow reads version {SCHEMA_VERSION})"
                ));
            }
            Schema::Version(v) => {
                return Err(format!(
                    "{name} has schema version {v}, which this caseflow does not read (it reads version {SCHEMA_VERSION})"
                ));
            }
        }
        let recorded: Option<String> = store
            .conn
            .query_row("SELECT value FROM meta WHERE key = 'config'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| sql_error(path, &e))?;
        match recorded {
            None => return Err(damaged(path, "its configuration is missing")),
            Some(recorded) if recorded != config_json => {
                return Err(format!(
                    "{name} was created with another configuration: run it with the configuration it was created with (change a running account with `configure` commands), or start a new state file"
                ));
            }
            Some(_) => {}
        }
        let desk = store.recover()?;
        Ok((store, desk))
    }

    /// WAL with a full sync at every commit, and the database locked for this process
    /// from the start, so that a second `caseflow run` on it is refused.
    fn configure(&self) -> rusqlite::Result<()> {
        self.conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        self.conn.pragma_update(None, "journal_mode", "WAL")?;
        self.conn.pragma_update(None, "synchronous", "FULL")?;
        // Take the write lock now; in exclusive mode it is held until the process ends.
        self.conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;")
    }

    fn check_schema(&self) -> rusqlite::Result<Schema> {
        let id: i64 = self
            .conn
            .pragma_query_value(None, "application_id", |r| r.get(0))?;
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?;
        let tables: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
        Ok(match (id, version) {
            (0, 0) if tables == 0 => Schema::Empty,
            (APPLICATION_ID, SCHEMA_VERSION) => Schema::Caseflow,
            (APPLICATION_ID, v) => Schema::Version(v),
            _ => Schema::Foreign,
        })
    }

    /// Creates the schema in one transaction: a crash leaves an empty file, created again.
    fn create(&mut self, config_json: &str) -> rusqlite::Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(SCHEMA)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('config', ?1), ('created_by', ?2)",
            params![config_json, concat!("caseflow ", env!("CARGO_PKG_VERSION"))],
        )?;
        tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        tx.commit()
    }

    /// The desk as the last committed command left it: the latest snapshot, the events
    /// after it, then the advance to the desk's time after the last command (an advance
    /// with nothing due emits no event but moves the desk's time, which later commands
    /// are checked against).
    fn recover(&mut self) -> Result<Option<Desk>, String> {
        let path = self.path.clone();
        let sql = |e: rusqlite::Error| sql_error(&path, &e);
        let snapshot: Option<(i64, String)> = self
            .conn
            .query_row(
                "SELECT seq, snapshot FROM snapshots ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(sql)?;
        let Some((seq, snapshot)) = snapshot else {
            let requests: i64 = self
                .conn
                .query_row("SELECT count(*) FROM requests", [], |r| r.get(0))
                .map_err(sql)?;
            if requests > 0 {
                return Err(damaged(&path, "it records commands but holds no snapshot"));
            }
            return Ok(None);
        };
        let mut desk =
            Desk::restore(&snapshot).map_err(|e| damaged(&path, &format!("its snapshot: {e}")))?;
        if u64::try_from(seq).ok() != Some(desk.seq()) {
            return Err(damaged(
                &path,
                &format!(
                    "its snapshot is filed at seq {seq} but holds seq {}",
                    desk.seq()
                ),
            ));
        }
        let mut events = Vec::new();
        {
            let mut stmt = self
                .conn
                .prepare("SELECT seq, event FROM events WHERE seq > ?1 ORDER BY seq")
                .map_err(sql)?;
            let mut rows = stmt.query([seq]).map_err(sql)?;
            while let Some(row) = rows.next().map_err(sql)? {
                let seq: i64 = row.get(0).map_err(sql)?;
                let text: String = row.get(1).map_err(sql)?;
                let event: Event = serde_json::from_str(&text)
                    .map_err(|e| damaged(&path, &format!("event {seq}: {e}")))?;
                if u64::try_from(seq).ok() != Some(event.seq) {
                    let why = format!("event {seq} holds seq {}", event.seq);
                    return Err(damaged(&path, &why));
                }
                events.push(event);
            }
        }
        desk.apply_events(&events)
            .map_err(|e| damaged(&path, &format!("its events: {e}")))?;
        let now: Option<String> = self
            .conn
            .query_row(
                "SELECT now FROM requests ORDER BY n DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(sql)?;
        let Some(now) = now else {
            return Err(damaged(&path, "it holds a snapshot but no command"));
        };
        let now: Instant = now
            .parse()
            .map_err(|e| damaged(&path, &format!("its last command's time: {e}")))?;
        if now > desk.now() {
            match desk.advance_to(now) {
                Ok(events) if events.is_empty() => {}
                Ok(_) => {
                    return Err(damaged(
                        &path,
                        &format!("the advance to {now} gives events its log does not hold"),
                    ));
                }
                Err(e) => return Err(damaged(&path, &format!("the advance to {now}: {e}"))),
            }
        }
        self.has_snapshot = true;
        self.since_snapshot = events.len() as u64;
        Ok(Some(desk))
    }

    /// The answer recorded for the command with request id `id` (its JSON text), if one
    /// was committed.
    pub fn answer(&self, id: &str) -> Result<Option<String>, String> {
        self.conn
            .prepare_cached("SELECT answer FROM requests WHERE id = ?1")
            .and_then(|mut stmt| stmt.query_row([id], |r| r.get(0)).optional())
            .map_err(|e| sql_error(&self.path, &e))
    }

    /// Commits one command in one transaction: its answer line (under its request id
    /// when it has one), the events it caused, and a snapshot of `desk` when none was
    /// taken yet or `snapshot_every` events were logged since the last one (the older
    /// snapshot is then deleted: the log before it stays).
    pub fn commit(
        &mut self,
        id: Option<&str>,
        desk: &Desk,
        events: &[Event],
        answer: &str,
    ) -> Result<(), String> {
        let since = self.since_snapshot.saturating_add(events.len() as u64);
        let snapshot = !self.has_snapshot || since >= self.snapshot_every;
        self.write(id, desk, events, answer, snapshot)
            .map_err(|e| format!("cannot commit to {}: {e}", self.path.display()))?;
        self.has_snapshot = true;
        self.since_snapshot = if snapshot { 0 } else { since };
        Ok(())
    }

    fn write(
        &mut self,
        id: Option<&str>,
        desk: &Desk,
        events: &[Event],
        answer: &str,
        snapshot: bool,
    ) -> Result<(), String> {
        let err = |e: rusqlite::Error| e.to_string();
        let tx = self.conn.transaction().map_err(err)?;
        tx.prepare_cached("INSERT INTO requests (id, now, answer) VALUES (?1, ?2, ?3)")
            .and_then(|mut stmt| stmt.execute(params![id, desk.now().to_string(), answer]))
            .map_err(err)?;
        let request = tx.last_insert_rowid();
        {
            let mut stmt = tx
                .prepare_cached("INSERT INTO events (seq, request, event) VALUES (?1, ?2, ?3)")
                .map_err(err)?;
            for event in events {
                let text = serde_json::to_string(event).map_err(|e| e.to_string())?;
                stmt.execute(params![sql_seq(event.seq)?, request, text])
                    .map_err(err)?;
            }
        }
        if snapshot {
            let seq = sql_seq(desk.seq())?;
            tx.execute(
                "INSERT OR REPLACE INTO snapshots (seq, snapshot) VALUES (?1, ?2)",
                params![seq, desk.snapshot()],
            )
            .map_err(err)?;
            tx.execute("DELETE FROM snapshots WHERE seq < ?1", [seq])
                .map_err(err)?;
        }
        tx.commit().map_err(err)
    }
}

/// What a database holds before it is used.
enum Schema {
    /// Nothing: a new file (or one whose creation did not commit).
    Empty,
    /// caseflow's tables at this caseflow's schema version.
    Caseflow,
    /// caseflow's tables at another version.
    Version(i64),
    /// Another application's tables.
    Foreign,
}

fn sql_seq(seq: u64) -> Result<i64, String> {
    i64::try_from(seq).map_err(|_| format!("seq {seq} does not fit SQLite's integers"))
}

fn damaged(path: &Path, why: &str) -> String {
    format!("{} is damaged: {why}", path.display())
}

fn sql_error(path: &Path, e: &rusqlite::Error) -> String {
    let name = path.display();
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            format!("{name} is damaged or not a database: {e}")
        }
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            format!("{name} is in use by another process: {e}")
        }
        _ => format!("{name}: {e}"),
    }
}

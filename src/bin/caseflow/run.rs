//! `caseflow run`: a desk driven by JSON lines on stdin, one answer line per line on stdout,
//! durable with `--state` (docs/command-line.md, `caseflow run`).

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use caseflow::{Command, Config, Desk, Error, ErrorCode, Event, Instant};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::store::Store;

/// The options of `caseflow run`.
#[derive(clap::Args)]
pub struct RunArgs {
    /// The account configuration (TOML, or JSON when the name ends in .json).
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Keep the desk in this SQLite database (created when missing): every answer is
    /// committed before it is printed, and a restart carries on where the last one stopped.
    #[arg(long, value_name = "PATH")]
    state: Option<PathBuf>,
    /// With --state: write a snapshot once this many events were logged since the last one.
    #[arg(long, value_name = "N", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    snapshot_every: u64,
}

/// Runs `caseflow run` on stdin and stdout.
pub fn run(args: RunArgs) -> ExitCode {
    match serve(&args, std::io::stdin().lock(), std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("caseflow run: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Answers every line of `input` on `output`, each flushed once it is committed.
fn serve(args: &RunArgs, mut input: impl BufRead, mut output: impl Write) -> Result<(), String> {
    let config = Config::from_file(&args.config).map_err(|e| e.message().to_string())?;
    let (store, desk) = match &args.state {
        Some(path) => {
            let (store, desk) = Store::open(path, &config, args.snapshot_every)?;
            (Some(store), desk)
        }
        None => (None, None),
    };
    let mut session = Session {
        config,
        desk,
        store,
    };
    let mut line = Vec::new();
    let mut number: u64 = 0;
    loop {
        let read =
            read_line(&mut input, &mut line).map_err(|e| format!("cannot read stdin: {e}"))?;
        number += 1;
        let answer = match read {
            Line::End => return Ok(()),
            Line::Read => session.answer(number, &line)?,
            Line::TooLong => {
                let why = format!("line {number}: longer than {MAX_LINE_BYTES} bytes");
                answer_line(
                    &Value::Null,
                    Some(&Error::new(ErrorCode::InvalidInput, why)),
                    &[],
                )?
            }
        };
        writeln!(output, "{answer}")
            .and_then(|()| output.flush())
            .map_err(|e| format!("cannot write stdout: {e}"))?;
    }
}

/// The longest input line read (16 MiB); a longer one is answered as malformed, unread.
const MAX_LINE_BYTES: usize = 16 << 20;

/// What [`read_line`] found.
enum Line {
    End,
    Read,
    TooLong,
}

/// Reads the next line into `line`, or skips it when it is longer than [`MAX_LINE_BYTES`]
/// (holding at most that much of it in memory).
fn read_line(input: &mut impl BufRead, line: &mut Vec<u8>) -> std::io::Result<Line> {
    line.clear();
    let most = MAX_LINE_BYTES as u64 + 1; // the line and its newline
    let mut limited = std::io::Read::take(&mut *input, most);
    if limited.read_until(b'\n', line)? == 0 {
        return Ok(Line::End);
    }
    if line.len() < most as usize || line.ends_with(b"\n") {
        return Ok(Line::Read);
    }
    loop {
        let buf = input.fill_buf()?;
        let (used, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (buf.len(), buf.is_empty()),
        };
        input.consume(used);
        if end {
            return Ok(Line::TooLong);
        }
    }
}

/// The desk (none before the first command: it starts at that command's instant), and
/// where it is kept.
struct Session {
    config: Config,
    desk: Option<Desk>,
    store: Option<Store>,
}

/// One input line, as the protocol has it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Request {
    /// The request id: a string or a number.
    #[serde(default)]
    id: Option<Value>,
    at: Instant,
    #[serde(rename = "do")]
    command: Command,
}

/// One output line.
#[derive(Serialize)]
struct Answer<'a> {
    id: &'a Value,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a Error>,
    events: &'a [Event],
}

impl Session {
    /// The answer to input line `number`; an error only when the state database fails,
    /// which ends the run (the desk in memory may then be ahead of the database).
    fn answer(&mut self, number: u64, line: &[u8]) -> Result<String, String> {
        let request = match parse(number, line) {
            Ok(request) => request,
            Err((id, error)) => return answer_line(&id, Some(&error), &[]),
        };
        let id = request.id.unwrap_or(Value::Null);
        let key = (!id.is_null()).then(|| id.to_string());
        if let (Some(store), Some(key)) = (&self.store, &key)
            && let Some(recorded) = store.answer(key)?
        {
            return Ok(recorded);
        }
        let desk = match &mut self.desk {
            Some(desk) => desk,
            // A desk that starts after the latest instant could take no command: answer
            // the refusal from a throwaway desk and keep none.
            None if request.at > Instant::latest_step() => {
                let mut desk = Desk::new(self.config.clone(), request.at);
                let refusal = desk.execute(request.at, &request.command).err();
                let error = refusal.map(|r| r.error);
                return answer_line(&id, error.as_ref(), &[]);
            }
            None => self.desk.insert(Desk::new(self.config.clone(), request.at)),
        };
        let (events, error) = match desk.execute(request.at, &request.command) {
            Ok(events) => (events, None),
            Err(rejection) => (rejection.events, Some(rejection.error)),
        };
        let answer = answer_line(&id, error.as_ref(), &events)?;
        if let Some(store) = &mut self.store {
            store.commit(key.as_deref(), desk, &events, &answer)?;
        }
        Ok(answer)
    }
}

/// The request on input line `number`, or the id to echo (when the line has a usable one)
/// with the error that names the line: `invalid_input`, or the library's own error for a
/// `do` that is not a command (`invalid_config` for a bad `configure`).
fn parse(number: u64, line: &[u8]) -> Result<Request, (Value, Error)> {
    let at_line = |code, why: &str| Error::new(code, format!("line {number}: {why}"));
    let refused = match serde_json::from_slice::<Request>(line) {
        Ok(request) => match &request.id {
            None | Some(Value::String(_) | Value::Number(_)) => return Ok(request),
            Some(_) => {
                let why = "`id` must be a string or a number";
                return Err((Value::Null, at_line(ErrorCode::InvalidInput, why)));
            }
        },
        Err(e) => e,
    };
    let value = serde_json::from_slice::<Value>(line).ok();
    let id = value
        .as_ref()
        .and_then(|v| v.get("id"))
        .filter(|id| id.is_string() || id.is_number())
        .cloned()
        .unwrap_or(Value::Null);
    let error = match value
        .as_ref()
        .and_then(|v| v.get("do"))
        .map(Command::from_value)
    {
        Some(Err(e)) => at_line(e.code(), e.message()),
        _ => at_line(ErrorCode::InvalidInput, &refused.to_string()),
    };
    Err((id, error))
}

fn answer_line(id: &Value, error: Option<&Error>, events: &[Event]) -> Result<String, String> {
    let answer = Answer {
        id,
        ok: error.is_none(),
        error,
        events,
    };
    serde_json::to_string(&answer).map_err(|e| format!("cannot write an answer: {e}"))
}

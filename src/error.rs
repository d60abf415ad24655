//! Rejections: a stable machine code and a message naming what was wrong.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The stable codes of docs/events-and-errors.md. A host maps them to its protocol; the
/// suggested HTTP status is in each variant's doc.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Malformed or impossible input: a bad shape, unknown key, over-long text (400/422).
    InvalidInput,
    /// No such case, or it is in the trash (404).
    CaseNotFound,
    /// The id is taken, or was used by a purged case (409).
    CaseExists,
    /// The case is closed and immutable (409).
    CaseClosed,
    /// A follow-up names a case that is not closed (409).
    CaseNotClosed,
    /// The edit lock: a resolved case may only change status and tags (409).
    CaseResolved,
    /// Cases close automatically, never by hand (403).
    ManualCloseForbidden,
    /// The lifecycle does not allow this move (422).
    InvalidTransition,
    /// No such status, or it was deleted (422).
    UnknownStatus,
    /// The status is inactive (422).
    InactiveStatus,
    /// Resolving needs an assignee (422).
    AssigneeRequired,
    /// Only incidents link to problems (422).
    NotAnIncident,
    /// The link target is not a problem (422).
    NotAProblem,
    /// The problem is resolved or closed (409).
    ProblemResolved,
    /// The problem has linked incidents (409).
    ProblemHasIncidents,
    /// Only tasks carry a due date (422).
    DueDateRequiresTask,
    /// The agent is not in the account's directory (422).
    UnknownAgent,
    /// The group is not in the account's directory (422).
    UnknownGroup,
    /// The assignee is not a member of the case's group (422).
    AssigneeNotInGroup,
    /// The instant is earlier than the desk's time (409).
    StaleTime,
    /// `expected_version` differs from the case's version (409/412).
    VersionConflict,
    /// A bad account configuration; every problem is listed (422).
    InvalidConfig,
    /// The status is held by cases and the delete named no remap target (409).
    StatusInUse,
    /// A category's default cannot be deactivated or deleted (409).
    DefaultStatus,
    /// A count limit was reached (422); in `rule_failed`, an automation's 100 firings on
    /// one case.
    LimitExceeded,
    /// A rule's script does not compile (when rules load; 422).
    ScriptCompile,
    /// A rule's script failed at run time (in `rule_failed`).
    ScriptRuntime,
    /// A rule's script hit a limit (in `rule_failed`).
    ScriptLimit,
    /// The lifecycle refused a rule's actions (in `rule_failed`).
    ActionRejected,
}

impl ErrorCode {
    /// The code as docs/events-and-errors.md spells it, e.g. `"case_closed"`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidInput => "invalid_input",
            ErrorCode::CaseNotFound => "case_not_found",
            ErrorCode::CaseExists => "case_exists",
            ErrorCode::CaseClosed => "case_closed",
            ErrorCode::CaseNotClosed => "case_not_closed",
            ErrorCode::CaseResolved => "case_resolved",
            ErrorCode::ManualCloseForbidden => "manual_close_forbidden",
            ErrorCode::InvalidTransition => "invalid_transition",
            ErrorCode::UnknownStatus => "unknown_status",
            ErrorCode::InactiveStatus => "inactive_status",
            ErrorCode::AssigneeRequired => "assignee_required",
            ErrorCode::NotAnIncident => "not_an_incident",
            ErrorCode::NotAProblem => "not_a_problem",
            ErrorCode::ProblemResolved => "problem_resolved",
            ErrorCode::ProblemHasIncidents => "problem_has_incidents",
            ErrorCode::DueDateRequiresTask => "due_date_requires_task",
            ErrorCode::UnknownAgent => "unknown_agent",
            ErrorCode::UnknownGroup => "unknown_group",
            ErrorCode::AssigneeNotInGroup => "assignee_not_in_group",
            ErrorCode::StaleTime => "stale_time",
            ErrorCode::VersionConflict => "version_conflict",
            ErrorCode::InvalidConfig => "invalid_config",
            ErrorCode::StatusInUse => "status_in_use",
            ErrorCode::DefaultStatus => "default_status",
            ErrorCode::LimitExceeded => "limit_exceeded",
            ErrorCode::ScriptCompile => "script_compile",
            ErrorCode::ScriptRuntime => "script_runtime",
            ErrorCode::ScriptLimit => "script_limit",
            ErrorCode::ActionRejected => "action_rejected",
        }
    }
}

impl ErrorCode {
    /// The HTTP status a host answers a rejected request with: 400 for malformed input,
    /// 403 for a manual close, 404 for an unknown case, 409 for a conflict with the
    /// desk's state (ids, closed or resolved cases, time, versions, statuses in use,
    /// defaults), 422 for a well-formed request the rules refuse; rule errors, which never
    /// answer a request (they come in `rule_failed` events or when rules load), map to
    /// 422 too.
    ///
    /// # Example
    /// ```
    /// use caseflow::ErrorCode;
    /// assert_eq!(ErrorCode::VersionConflict.http_status(), 409);
    /// assert_eq!(ErrorCode::CaseNotFound.http_status(), 404);
    /// ```
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::InvalidInput => 400,
            ErrorCode::ManualCloseForbidden => 403,
            ErrorCode::CaseNotFound => 404,
            ErrorCode::CaseExists
            | ErrorCode::CaseClosed
            | ErrorCode::CaseNotClosed
            | ErrorCode::CaseResolved
            | ErrorCode::ProblemResolved
            | ErrorCode::ProblemHasIncidents
            | ErrorCode::StaleTime
            | ErrorCode::VersionConflict
            | ErrorCode::StatusInUse
            | ErrorCode::DefaultStatus => 409,
            ErrorCode::InvalidTransition
            | ErrorCode::UnknownStatus
            | ErrorCode::InactiveStatus
            | ErrorCode::AssigneeRequired
            | ErrorCode::NotAnIncident
            | ErrorCode::NotAProblem
            | ErrorCode::DueDateRequiresTask
            | ErrorCode::UnknownAgent
            | ErrorCode::UnknownGroup
            | ErrorCode::AssigneeNotInGroup
            | ErrorCode::InvalidConfig
            | ErrorCode::LimitExceeded
            | ErrorCode::ScriptCompile
            | ErrorCode::ScriptRuntime
            | ErrorCode::ScriptLimit
            | ErrorCode::ActionRejected => 422,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejected command or configuration: a stable [`ErrorCode`] and a message (lowercase,
/// no trailing period) naming what was wrong.
///
/// # Example
/// ```
/// use caseflow::{Desk, Config, Command, ErrorCode};
/// let mut desk = Desk::new(Config::default(), "2026-03-02T09:00:00Z".parse().unwrap());
/// let cmd = Command::from_json(r#"{"op": "close", "case": 9}"#).unwrap();
/// let err = desk.execute("2026-03-02T09:00:00Z".parse().unwrap(), &cmd).unwrap_err();
/// assert_eq!(err.error.code(), ErrorCode::CaseNotFound);
/// assert_eq!(err.error.to_string(), "case_not_found: there is no case 9");
/// ```
///
/// A bad configuration lists every problem: [`Error::problems`] gives them one by one, and
/// the message is all of them joined with `"; "`.
///
/// ```
/// use caseflow::Config;
/// let err = Config::from_json(r#"{"timezone": "Mars/Olympus", "auto_close_after_days": 0}"#)
///     .unwrap_err();
/// assert_eq!(err.problems().len(), 2);
/// assert_eq!(err.message(), err.problems().join("; "));
/// ```
///
/// An error serializes as `{"code": ..., "message": ..., "problems": [...]}` (`problems` as
/// [`Error::problems`] gives them), which a host can answer a request with, and
/// deserializes back to an equal error.
///
/// ```
/// use caseflow::Error;
/// let err = caseflow::Config::from_json(r#"{"colour": 1}"#).unwrap_err();
/// let json = serde_json::to_value(&err).unwrap();
/// assert_eq!(json, serde_json::json!({
///     "code": "invalid_config",
///     "message": "colour: unknown key",
///     "problems": ["colour: unknown key"],
/// }));
/// assert_eq!(serde_json::from_value::<Error>(json).unwrap(), err);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Error {
    code: ErrorCode,
    message: String,
    /// Each problem when there are several; empty when the message is the only one.
    problems: Vec<String>,
}

impl Error {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: clip_quoted(&message.into()),
            problems: Vec::new(),
        }
    }

    /// An error listing several problems: its message is all of them joined with `"; "`.
    pub fn with_problems(code: ErrorCode, problems: Vec<String>) -> Error {
        match <[String; 1]>::try_from(problems) {
            Ok([one]) => Error::new(code, one),
            Err(problems) => {
                let problems: Vec<String> = problems.iter().map(|p| clip_quoted(p)).collect();
                Error {
                    code,
                    message: problems.join("; "),
                    problems,
                }
            }
        }
    }

    /// `invalid_config` listing every problem found.
    pub(crate) fn config_problems(problems: Vec<String>) -> Error {
        Error::with_problems(ErrorCode::InvalidConfig, problems)
    }

    pub(crate) fn input(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::InvalidInput, message)
    }

    pub(crate) fn config(message: impl Into<String>) -> Error {
        Error::new(ErrorCode::InvalidConfig, message)
    }

    /// The stable machine code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }

    /// What was wrong, for a human.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Every problem, one by one, for a host to list: several for a configuration with
    /// several problems, else the message alone.
    pub fn problems(&self) -> &[String] {
        if self.problems.is_empty() {
            std::slice::from_ref(&self.message)
        } else {
            &self.problems
        }
    }
}

/// The JSON shape of an [`Error`].
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<M, P> {
    code: ErrorCode,
    message: M,
    #[serde(default)]
    problems: P,
}

impl Serialize for Error {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Wire {
            code: self.code,
            message: self.message.as_str(),
            problems: self.problems(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Error {
    /// Several problems give the error (its message is them joined with `"; "`); else the
    /// message does.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Error, D::Error> {
        let w = Wire::<String, Vec<String>>::deserialize(d)?;
        Ok(if w.problems.len() > 1 {
            Error::with_problems(w.code, w.problems)
        } else {
            Error::new(w.code, w.message)
        })
    }
}

/// The most characters of user text a message echoes; longer text is cut there and ends
/// with `…`.
pub const MAX_ECHO_CHARS: usize = 64;

/// The most characters of a message's own text between two quoted values.
const MAX_PLAIN_CHARS: usize = 1024;

/// `text` as a message echoes it: at most [`MAX_ECHO_CHARS`] characters, then `…`.
pub(crate) fn clip(text: &str) -> std::borrow::Cow<'_, str> {
    clip_to(text, MAX_ECHO_CHARS)
}

/// Text as a message of its own (a script's thrown value): at most 1,024 characters.
pub(crate) fn clip_long(text: &str) -> String {
    clip_to(text, MAX_PLAIN_CHARS).into_owned()
}

fn clip_to(text: &str, most: usize) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(most) {
        None => std::borrow::Cow::Borrowed(text),
        Some((end, _)) => std::borrow::Cow::Owned(format!("{}…", &text[..end])),
    }
}

/// A message with every `quoted` value cut to [`MAX_ECHO_CHARS`] characters (messages,
/// serde's included, quote what they echo in backticks) and any other run of text to
/// [`MAX_PLAIN_CHARS`]: the one place every message passes, so that no input comes back
/// whole, however it reached the message.
fn clip_quoted(message: &str) -> String {
    if message.len() <= MAX_ECHO_CHARS {
        return message.to_owned();
    }
    let mut out = String::with_capacity(message.len().min(4 * MAX_PLAIN_CHARS));
    for (i, part) in message.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        let most = if i % 2 == 1 {
            MAX_ECHO_CHARS
        } else {
            MAX_PLAIN_CHARS
        };
        out.push_str(&clip_to(part, most));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_quoted_values_are_clipped() {
        let long = "x".repeat(10_000);
        let e = Error::input(format!("tag `{long}` is bad"));
        assert_eq!(
            e.message(),
            format!("tag `{}…` is bad", "x".repeat(MAX_ECHO_CHARS))
        );
        let e = Error::input(format!("plain {long}"));
        assert!(e.message().chars().count() <= MAX_PLAIN_CHARS + 1);
        assert_eq!(clip("héllo"), "héllo");
        assert_eq!(clip(&"é".repeat(65)), format!("{}…", "é".repeat(64)));
    }
}

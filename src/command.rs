//! Commands: what a host asks a desk to do (SCENARIOS.md, `do`).

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::case::{CaseId, CaseType, Channel, Priority};
use crate::config::{ConfigPatch, PatchKind};
use crate::error::Error;
use crate::time::Date;

/// A command for a desk. Build one in Rust, or parse its JSON with [`Command::from_json`].
///
/// # Example
/// ```
/// use caseflow::{Command, Update};
/// let cmd = Command::from_json(r#"{"op": "update", "case": 7, "assignee": null}"#).unwrap();
/// assert_eq!(cmd, Command::Update(Update { case: 7, assignee: Some(None), ..Update::default() }));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Command {
    /// Create a case.
    Create(Create),
    /// Change fields of a case.
    Update(Update),
    /// The requester wrote again.
    RequesterReply {
        /// The case.
        case: CaseId,
    },
    /// Close by hand: always refused (`manual_close_forbidden`).
    Close {
        /// The case.
        case: CaseId,
    },
    /// Create a follow-up of a closed case.
    FollowUp {
        /// The closed case.
        case: CaseId,
        /// The new case's id; by default the largest id so far + 1.
        #[serde(default)]
        id: Option<CaseId>,
    },
    /// The cascade of a resolved problem for one incident, as a desk with
    /// [`crate::Cascade::Routed`] emits it for the host to route: resolves the incident
    /// when it is linked to `problem` and neither resolved nor closed, and does nothing
    /// otherwise.
    ResolveByProblem {
        /// The incident.
        case: CaseId,
        /// The resolved problem.
        problem: CaseId,
    },
    /// Move a case to the trash.
    Delete {
        /// The case.
        case: CaseId,
    },
    /// Bring a case back from the trash.
    Restore {
        /// The case.
        case: CaseId,
    },
    /// Remove a trashed case for good.
    Purge {
        /// The case.
        case: CaseId,
    },
    /// Run everything due up to the command's instant.
    Advance {},
    /// Change the account configuration.
    #[serde(skip)]
    Configure(ConfigPatch),
}

/// Fields of a `create` command.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // Each field is the case field of the same name (DOMAIN.md section 1).
pub struct Create {
    #[serde(default)]
    pub id: Option<CaseId>,
    pub submitter: String,
    #[serde(default)]
    pub requester: Option<String>,
    #[serde(default, rename = "type")]
    pub case_type: Option<CaseType>,
    #[serde(default)]
    pub subject: Option<String>,
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub assignee: Option<String>,
    #[serde(default)]
    pub group: Option<String>,
    #[serde(default)]
    pub problem: Option<CaseId>,
    #[serde(default)]
    pub due_date: Option<Date>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub channel: Option<Channel>,
}

/// Fields of an `update` command. `None` leaves a field alone; `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // Each field is the case field of the same name (DOMAIN.md section 1).
pub struct Update {
    pub case: CaseId,
    /// Refuse with `version_conflict` unless the case is at this version.
    #[serde(default)]
    pub expected_version: Option<u64>,
    #[serde(default, deserialize_with = "non_null")]
    pub status: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    pub priority: Option<Option<Priority>>,
    #[serde(default, rename = "type", deserialize_with = "double_option")]
    pub case_type: Option<Option<CaseType>>,
    #[serde(default, deserialize_with = "double_option")]
    pub subject: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub assignee: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub group: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    pub problem: Option<Option<CaseId>>,
    #[serde(default, deserialize_with = "double_option")]
    pub due_date: Option<Option<Date>>,
    #[serde(default)]
    pub add_tags: Vec<String>,
    #[serde(default)]
    pub remove_tags: Vec<String>,
}

/// Tells a present `null` (`Some(None)`) from an absent key (`None`).
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// A key that may be absent but not `null`.
fn non_null<'de, T, D>(d: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(d).map(Some)
}

impl Command {
    /// Parses a command's JSON (`{"op": ..., ...}`).
    ///
    /// # Errors
    /// `invalid_input` for malformed JSON, an unknown `op` or key, or a value of the wrong
    /// shape; `invalid_config` for a bad `configure`.
    pub fn from_json(text: &str) -> Result<Command, Error> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| Error::input(format!("not valid JSON: {e}")))?;
        Command::from_value(&value)
    }

    /// Parses a command from a JSON value.
    ///
    /// # Errors
    /// As [`Command::from_json`].
    pub fn from_value(value: &Value) -> Result<Command, Error> {
        if value.get("op").and_then(Value::as_str) == Some("configure") {
            let mut keys = value.as_object().cloned().unwrap_or_default();
            keys.remove("op");
            return ConfigPatch::parse(&Value::Object(keys), PatchKind::Configure)
                .map(Command::Configure);
        }
        Command::deserialize(value).map_err(|e| Error::input(format!("command: {e}")))
    }

    /// The case the command names, if any.
    pub fn case(&self) -> Option<CaseId> {
        match self {
            Command::Update(u) => Some(u.case),
            Command::RequesterReply { case }
            | Command::Close { case }
            | Command::ResolveByProblem { case, .. }
            | Command::Delete { case }
            | Command::Restore { case }
            | Command::Purge { case }
            | Command::FollowUp { case, .. } => Some(*case),
            Command::Create(_) | Command::Advance {} | Command::Configure(_) => None,
        }
    }
}

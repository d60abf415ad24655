//! Commands: what a host asks a desk to do (docs/lifecycle.md, Commands).

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::case::{Case, CaseId, CaseType, Channel, Priority};
use crate::config::{ConfigPatch, PatchKind};
use crate::error::Error;
use crate::status::Category;
use crate::time::Date;
use crate::time::Instant;

/// A command for a desk. Build one in Rust, or parse its JSON with [`Command::from_json`].
///
/// A command serializes to the JSON [`Command::from_json`] reads, `configure` included,
/// and deserializes through serde with the same checks (duplicate keys refused), so it can
/// live inside a host's own serde types; deserializing needs a self-describing format
/// such as JSON.
///
/// # Example
/// ```
/// use caseflow::{Command, Update};
/// let cmd = Command::from_json(r#"{"op": "update", "case": 7, "assignee": null}"#).unwrap();
/// assert_eq!(cmd, Command::Update(Update { case: 7, assignee: Some(None), ..Update::default() }));
///
/// let json = serde_json::to_value(&cmd).unwrap();
/// assert_eq!(json, serde_json::json!({"op": "update", "case": 7, "assignee": null}));
/// assert_eq!(serde_json::from_value::<Command>(json).unwrap(), cmd);
///
/// let configure = Command::from_json(r#"{"op": "configure", "set_default": "open"}"#).unwrap();
/// assert_eq!(serde_json::to_string(&configure).unwrap(), r#"{"op":"configure","set_default":"open"}"#);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
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
        #[serde(skip_serializing_if = "Option::is_none")]
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
    /// Insert an existing case exactly as given (migration from another help desk).
    Import {
        /// The whole case view.
        view: Import,
    },
    /// Run everything due up to the command's instant.
    Advance {},
    /// Change the account configuration.
    Configure(ConfigPatch),
}

/// The JSON shapes of [`Command`]'s variants but `configure` (which
/// [`Command::from_value`] parses itself), derived in one place: its messages are those
/// of the commands' JSON, so this enum is named `Command` too.
mod wire {
    use serde::Deserialize;

    use super::{CaseId, ConfigPatch, Create, Import, Update};

    #[derive(Deserialize)]
    #[serde(remote = "super::Command")]
    #[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
    pub(super) enum Command {
        Create(Create),
        Update(Update),
        RequesterReply {
            case: CaseId,
        },
        Close {
            case: CaseId,
        },
        FollowUp {
            case: CaseId,
            #[serde(default)]
            id: Option<CaseId>,
        },
        ResolveByProblem {
            case: CaseId,
            problem: CaseId,
        },
        Delete {
            case: CaseId,
        },
        Restore {
            case: CaseId,
        },
        Purge {
            case: CaseId,
        },
        Import {
            view: Import,
        },
        Advance {},
        #[serde(skip)]
        #[allow(dead_code)] // Parsed by `Command::from_value`, not derived.
        Configure(ConfigPatch),
    }
}

impl<'de> Deserialize<'de> for Command {
    /// Reads the JSON of [`Command::from_json`] with its checks; a refusal's message is
    /// the [`Error`]'s (`code: message`).
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Command, D::Error> {
        let value = crate::json::Strict::deserialize(d)?.0;
        Command::from_value(&value).map_err(serde::de::Error::custom)
    }
}

/// Fields of a `create` command.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // Each field is the case field of the same name (docs/cases.md).
pub struct Create {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<CaseId>,
    pub submitter: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub case_type: Option<CaseType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<CaseId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<Date>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
}

/// Fields of an `update` command. `None` leaves a field alone; `Some(None)` clears it
/// (JSON `null`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)] // Each field is the case field of the same name (docs/cases.md).
pub struct Update {
    pub case: CaseId,
    /// Refuse with `version_conflict` unless the case is at this version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<u64>,
    #[serde(
        default,
        deserialize_with = "non_null",
        skip_serializing_if = "Option::is_none"
    )]
    pub status: Option<String>,
    #[serde(
        default,
        deserialize_with = "crate::json::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub priority: Option<Option<Priority>>,
    #[serde(
        default,
        rename = "type",
        deserialize_with = "crate::json::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub case_type: Option<Option<CaseType>>,
    #[serde(
        default,
        deserialize_with = "crate::json::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub subject: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "crate::json::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub assignee: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "crate::json::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub group: Option<Option<String>>,
    #[serde(
        default,
        deserialize_with = "crate::json::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub problem: Option<Option<CaseId>>,
    #[serde(
        default,
        deserialize_with = "crate::json::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub due_date: Option<Option<Date>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remove_tags: Vec<String>,
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
        let value = crate::json::parse_strict(text)
            .map_err(|e| Error::input(format!("not valid JSON: {e}")))?;
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
        wire::Command::deserialize(value).map_err(|e| Error::input(format!("command: {e}")))
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
            Command::Import { view } => Some(view.case.id),
            Command::Create(_) | Command::Advance {} | Command::Configure(_) => None,
        }
    }
}

/// A case view to import: every field of the case view (docs/cases.md). `category`,
/// `due_at` and `deleted` may be left out (they are derived; when given they must agree,
/// and `deleted` must be false); `overdue` defaults to false.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Import {
    pub(crate) case: Box<Case>,
    pub(crate) given: Derived,
}

/// The derived fields of an imported view, as given (`None`: left out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Derived {
    pub(crate) category: Option<Category>,
    pub(crate) due_at: Option<Option<Instant>>,
    pub(crate) deleted: Option<bool>,
}

impl Serialize for Import {
    /// The view as it was given: the case view, with `category`, `due_at` and `deleted`
    /// only where they were given.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let Ok(Value::Object(mut view)) = serde_json::to_value(&*self.case) else {
            return Err(S::Error::custom("view: a case view is an object"));
        };
        let mut put = |key: &str, given: Option<Value>| match given {
            Some(v) => view.insert(key.to_owned(), v),
            None => view.remove(key),
        };
        put(
            "category",
            self.given.category.map(|c| Value::from(c.as_str())),
        );
        put(
            "due_at",
            self.given
                .due_at
                .map(|d| d.map_or(Value::Null, |t| Value::from(t.to_string()))),
        );
        put("deleted", self.given.deleted.map(Value::Bool));
        view.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Import {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Import, D::Error> {
        use serde::de::Error as _;
        let mut map = serde_json::Map::<String, Value>::deserialize(d)?;
        // Every field of the case must be there: a missing one is not silently null.
        const REQUIRED: [&str; 25] = [
            "id",
            "type",
            "subject",
            "priority",
            "status",
            "closed",
            "requester",
            "submitter",
            "assignee",
            "group",
            "problem",
            "due_date",
            "tags",
            "channel",
            "follow_up_of",
            "reopens",
            "created_at",
            "updated_at",
            "status_changed_at",
            "category_changed_at",
            "assigned_at",
            "resolved_at",
            "replied_at",
            "closed_at",
            "version",
        ];
        if let Some(key) = REQUIRED.iter().find(|k| !map.contains_key(**k)) {
            return Err(D::Error::custom(format!("view: missing field `{key}`")));
        }
        let mut take = |key: &str, derived: Value| map.insert(key.to_owned(), derived);
        let category = take("category", Value::from("new"));
        let due_at = take("due_at", Value::Null);
        let deleted = take("deleted", Value::Bool(false));
        map.entry("overdue").or_insert(Value::Bool(false));
        let field = |key: &str, e: serde_json::Error| D::Error::custom(format!("view: {key}: {e}"));
        Ok(Import {
            given: Derived {
                category: category
                    .map(Category::deserialize)
                    .transpose()
                    .map_err(|e| field("category", e))?,
                due_at: due_at
                    .map(Option::<Instant>::deserialize)
                    .transpose()
                    .map_err(|e| field("due_at", e))?,
                deleted: deleted
                    .map(bool::deserialize)
                    .transpose()
                    .map_err(|e| field("deleted", e))?,
            },
            case: Box::new(
                Case::deserialize(Value::Object(map))
                    .map_err(|e| D::Error::custom(format!("view: {e}")))?,
            ),
        })
    }
}

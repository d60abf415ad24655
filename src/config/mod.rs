//! Account configuration (docs/cases.md, Account configuration): parsed from TOML or JSON,
//! validated with every problem reported at once, and changed at run time by `configure`
//! patches.

mod build;
mod rules;
mod script;

pub use build::ConfigBuilder;

pub(crate) use rules::{Actions, Fields, Load, Piece, Test};
pub use rules::{Field, MAX_RULE_NAME_CHARS, Rule, RuleKind, Rules};
pub(crate) use script::{Action, Input, NoScriptFiles, Pos, run as run_script};
pub use script::{Limits, MAX_ACTIONS, MAX_TRACE_BYTES, ScriptFiles, ScriptLoader};

use std::collections::{BTreeMap, BTreeSet};

use chrono_tz::Tz;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::error::Error;
use crate::status::{Catalog, Category, Status, StatusId, check_label};

/// How the `new` category relates to assignment (docs/lifecycle.md, New and assignment).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NewStatusPolicy {
    /// A case that is not resolved is in `new` exactly when it has no assignee.
    #[default]
    NewIffUnassigned,
    /// A case leaves `new` when first assigned and never returns.
    NewOnlyAtStart,
}

/// Default auto-close period, in days.
pub const DEFAULT_AUTO_CLOSE_DAYS: u32 = 4;
/// Default automation interval, in minutes.
pub const DEFAULT_AUTOMATION_INTERVAL: u32 = 60;

/// An account's configuration: time zone, periods, policy, directory and status catalog.
///
/// # Example
/// ```
/// use caseflow::Config;
/// let config = Config::from_toml(r#"
///     timezone = "Europe/Lisbon"
///     auto_close_after_days = 2
///     [[statuses]]
///     id = "awaiting_parts"
///     category = "on_hold"
///     label = "Awaiting parts"
/// "#).unwrap();
/// assert_eq!(config.auto_close_after_days(), 2);
/// assert!(config.catalog().get("awaiting_parts").is_some());
///
/// let err = Config::from_toml("timezone = \"Mars/Olympus\"\nauto_close_after_days = 0").unwrap_err();
/// assert_eq!(err.code(), caseflow::ErrorCode::InvalidConfig);
/// assert!(err.message().contains("timezone") && err.message().contains("auto_close_after_days"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub(crate) timezone: Tz,
    pub(crate) auto_close_after_days: u32,
    pub(crate) new_status: NewStatusPolicy,
    pub(crate) automation_interval_minutes: u32,
    pub(crate) groups: Option<Groups>,
    pub(crate) catalog: Catalog,
    pub(crate) limits: Limits,
    pub(crate) rules: Rules,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            timezone: Tz::UTC,
            auto_close_after_days: DEFAULT_AUTO_CLOSE_DAYS,
            new_status: NewStatusPolicy::default(),
            automation_interval_minutes: DEFAULT_AUTOMATION_INTERVAL,
            groups: None,
            catalog: Catalog::default(),
            limits: Limits::default(),
            rules: Rules::default(),
        }
    }
}

impl Config {
    /// Parses an account configuration from TOML.
    ///
    /// # Errors
    /// `invalid_config`, listing every problem found, each naming its key.
    pub fn from_toml(text: &str) -> Result<Config, Error> {
        Config::from_toml_with(text, &NoScriptFiles)
    }

    /// Parses an account configuration from TOML, reading its `script` files through
    /// `files`.
    ///
    /// # Errors
    /// `invalid_config`, listing every problem found, each naming its key;
    /// `script_compile` when a script does not compile (docs/rules.md, Load-time checks).
    pub fn from_toml_with(text: &str, files: &dyn ScriptLoader) -> Result<Config, Error> {
        let value: Value = toml::from_str(text).map_err(|e| {
            // The error's own display quotes the whole offending line: name the place.
            let place = e.span().map_or(String::new(), |span| {
                let before = text.get(..span.start).unwrap_or_default();
                let line = before.matches('\n').count() + 1;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!(" at line {line}, column {column}")
            });
            Error::config(format!("not valid TOML{place}: {}", e.message().trim_end()))
        })?;
        Config::from_value_with(&value, files)
    }

    /// Parses an account configuration from JSON text.
    ///
    /// # Errors
    /// `invalid_config`, listing every problem found, each naming its key.
    pub fn from_json(text: &str) -> Result<Config, Error> {
        let value = crate::json::parse_strict(text)
            .map_err(|e| Error::config(format!("not valid JSON: {e}")))?;
        Config::from_value(&value)
    }

    /// Reads an account configuration file: JSON when its name ends in `.json`, TOML
    /// otherwise.
    ///
    /// # Errors
    /// `invalid_config` when the file cannot be read (naming it), or listing every problem
    /// of its content.
    pub fn from_file(path: &std::path::Path) -> Result<Config, Error> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::config(format!("cannot read {}: {e}", path.display())))?;
        let files = ScriptFiles::beside(path);
        if path.extension().is_some_and(|e| e == "json") {
            let value = crate::json::parse_strict(&text)
                .map_err(|e| Error::config(format!("not valid JSON: {e}")))?;
            Config::from_value_with(&value, &files)
        } else {
            Config::from_toml_with(&text, &files)
        }
    }

    /// Parses an account configuration from a JSON value (as a scenario's `config`).
    ///
    /// # Errors
    /// `invalid_config`, listing every problem found, each naming its key.
    pub fn from_value(value: &Value) -> Result<Config, Error> {
        Config::from_value_with(value, &NoScriptFiles)
    }

    /// Parses an account configuration from a JSON value, reading its `script` files
    /// through `files`.
    ///
    /// # Errors
    /// `invalid_config`, listing every problem found, each naming its key;
    /// `script_compile` when a script does not compile (docs/rules.md, Load-time checks).
    pub fn from_value_with(value: &Value, files: &dyn ScriptLoader) -> Result<Config, Error> {
        let (patch, problems) = ConfigPatch::parse_all(value, PatchKind::Account)?;
        let mut problems = rules::Problems {
            list: problems,
            compile: false,
        };
        let mut config = Config::default();
        problems.list.extend(
            declare_statuses(&mut config.catalog, &patch.statuses)
                .into_iter()
                .map(|e| format!("statuses: {}", e.message())),
        );
        if let Some(limits) = &patch.limits {
            match Limits::parse(limits) {
                Ok(limits) => config.limits = limits,
                Err(found) => problems.list.extend(found),
            }
        }
        if let Some(rules) = &patch.rules {
            match Rules::parse(rules, &config.load(files)) {
                Ok(rules) => config.rules = rules,
                Err(found) => {
                    problems.compile |= found.compile;
                    problems.list.extend(found.list);
                }
            }
        }
        if !problems.list.is_empty() {
            return Err(problems.into());
        }
        patch.apply_scalars(&mut config);
        Ok(config)
    }

    /// The whole configuration as the JSON an account configuration holds, such that
    /// [`Config::from_value`] gives it back equal: every scalar key, the directory when
    /// there is one, the statuses that differ from a new account's (custom ones, tombstones
    /// and changed built-ins), and the rules as declared. A host keeps it as the start
    /// configuration of a replay.
    ///
    /// # Example
    /// ```
    /// use caseflow::{Command, Config, Desk};
    /// let t = "2026-03-02T09:00:00Z".parse().unwrap();
    /// let mut desk = Desk::new(Config::from_toml("auto_close_after_days = 2").unwrap(), t);
    /// let configure = r#"{"op": "configure", "timezone": "Europe/Lisbon",
    ///     "add_status": {"id": "waiting", "category": "pending", "label": "Waiting"},
    ///     "set_default": "waiting", "delete_status": {"id": "pending"}}"#;
    /// desk.execute(t, &Command::from_json(configure).unwrap()).unwrap();
    ///
    /// let value = desk.config().to_value();
    /// assert_eq!(value["timezone"], "Europe/Lisbon");
    /// assert_eq!(value["statuses"][0]["id"], "pending"); // the built-in, now a tombstone
    /// assert_eq!(value["statuses"][0]["deleted"], true);
    /// assert_eq!(&Config::from_value(&value).unwrap(), desk.config());
    /// ```
    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// The account's IANA time zone name.
    pub fn timezone(&self) -> &str {
        self.timezone.name()
    }

    /// Days a resolved case waits before it closes.
    pub fn auto_close_after_days(&self) -> u32 {
        self.auto_close_after_days
    }

    /// The `new_status` policy.
    pub fn new_status(&self) -> NewStatusPolicy {
        self.new_status
    }

    /// Minutes between automation sweeps.
    pub fn automation_interval_minutes(&self) -> u32 {
        self.automation_interval_minutes
    }

    /// The group directory, when the account keeps one.
    pub fn groups(&self) -> Option<&Groups> {
        self.groups.as_ref()
    }

    /// The status catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// The automation rules, in list order.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The limits scripts run under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Rules as `rules_replaced`, snapshots and `Desk::replace_rules` carry them (scripts
    /// inline), loaded for this configuration.
    ///
    /// # Errors
    /// As [`Config::from_value`] reports them for its `rules`.
    pub(crate) fn parse_rules(&self, rules: &Value) -> Result<Rules, Error> {
        Rules::parse(rules, &self.load(&NoScriptFiles)).map_err(Error::from)
    }

    /// What loading rules for this configuration needs: its catalog and limits, and where
    /// `script` files come from.
    pub(crate) fn load<'a>(&'a self, files: &'a dyn ScriptLoader) -> Load<'a> {
        Load {
            catalog: &self.catalog,
            limits: &self.limits,
            files,
        }
    }

    /// The auto-close period in seconds.
    pub(crate) fn auto_close_seconds(&self) -> i64 {
        i64::from(self.auto_close_after_days) * crate::time::SECONDS_PER_DAY
    }

    /// Folds a `config_changed` event's values in, checked as a configuration's (a
    /// replayed event may not come from a desk): all of them or, on an error, none.
    pub(crate) fn apply_changes(&mut self, changes: &ConfigChanges) -> Result<(), Error> {
        let range = |key: &str, n: Option<u32>, lo: u32, hi: u32| match n {
            Some(n) if !(lo..=hi).contains(&n) => Err(Error::config(format!(
                "{key}: must be an integer from {lo} to {hi}, not {n}"
            ))),
            _ => Ok(()),
        };
        range(
            "auto_close_after_days",
            changes.auto_close_after_days,
            1,
            28,
        )?;
        range(
            "automation_interval_minutes",
            changes.automation_interval_minutes,
            1,
            1440,
        )?;
        if let Some(Some(groups)) = &changes.groups {
            check_groups(groups)?;
        }
        let catalog = match &changes.statuses {
            Some(statuses) => Some(Catalog::from_statuses(statuses.clone())?),
            None => None,
        };
        if let Some(tz) = &changes.timezone {
            self.timezone = parse_timezone(tz)?;
        }
        if let Some(days) = changes.auto_close_after_days {
            self.auto_close_after_days = days;
        }
        if let Some(policy) = changes.new_status {
            self.new_status = policy;
        }
        if let Some(minutes) = changes.automation_interval_minutes {
            self.automation_interval_minutes = minutes;
        }
        if let Some(groups) = &changes.groups {
            self.groups = groups.clone();
        }
        if let Some(catalog) = catalog {
            self.catalog = catalog;
        }
        Ok(())
    }

    /// What differs from `self` in `next`, as a `config_changed` event reports it.
    pub(crate) fn changes_to(&self, next: &Config) -> ConfigChanges {
        fn differs<T: PartialEq>(a: T, b: T) -> Option<T> {
            (a != b).then_some(b)
        }
        ConfigChanges {
            timezone: differs(self.timezone, next.timezone).map(|tz| tz.name().to_owned()),
            auto_close_after_days: differs(self.auto_close_after_days, next.auto_close_after_days),
            new_status: differs(self.new_status, next.new_status),
            automation_interval_minutes: differs(
                self.automation_interval_minutes,
                next.automation_interval_minutes,
            ),
            groups: (self.groups != next.groups).then(|| next.groups.clone()),
            statuses: (self.catalog != next.catalog)
                .then(|| next.catalog.iter().cloned().collect()),
        }
    }
}

fn parse_timezone(name: &str) -> Result<Tz, Error> {
    name.parse::<Tz>()
        .map_err(|_| Error::config(format!("timezone: {}", not_a_zone(name))))
}

/// Why `name` is no time zone, without the key (the caller names it once).
fn not_a_zone(name: &str) -> String {
    format!(
        "`{}` is not an IANA time zone name",
        crate::error::clip(name)
    )
}

impl Serialize for Config {
    /// As [`Config::to_value`].
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            timezone: &'a str,
            auto_close_after_days: u32,
            new_status: NewStatusPolicy,
            automation_interval_minutes: u32,
            #[serde(skip_serializing_if = "Option::is_none")]
            groups: Option<&'a Groups>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            statuses: Vec<StatusOut<'a>>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            rules: Vec<Value>,
            #[serde(skip_serializing_if = "is_empty_table")]
            limits: Value,
        }
        let stock = Catalog::default();
        Out {
            timezone: self.timezone.name(),
            auto_close_after_days: self.auto_close_after_days,
            new_status: self.new_status,
            automation_interval_minutes: self.automation_interval_minutes,
            groups: self.groups.as_ref(),
            statuses: self
                .catalog
                .iter()
                .filter(|st| stock.get(&st.id) != Some(*st))
                .map(StatusOut::from)
                .collect(),
            rules: self.rules.declared(),
            limits: self.limits.to_value(),
        }
        .serialize(s)
    }
}

fn is_empty_table(v: &Value) -> bool {
    v.as_object().is_some_and(serde_json::Map::is_empty)
}

impl<'de> Deserialize<'de> for Config {
    /// Reads an account configuration as [`Config::from_value`] does, duplicate keys
    /// refused; a refusal's message is the [`Error`]'s.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Config, D::Error> {
        let value = crate::json::Strict::deserialize(d)?.0;
        Config::from_value(&value).map_err(serde::de::Error::custom)
    }
}

/// A status as a configuration declares it: `end_user_label` only when there is one,
/// `deleted` only when true.
#[derive(Serialize)]
struct StatusOut<'a> {
    id: &'a str,
    category: Category,
    label: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_user_label: Option<&'a str>,
    active: bool,
    default: bool,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    deleted: bool,
}

impl<'a> From<&'a Status> for StatusOut<'a> {
    fn from(st: &'a Status) -> StatusOut<'a> {
        StatusOut {
            id: &st.id,
            category: st.category,
            label: &st.label,
            end_user_label: st.end_user_label.as_deref(),
            active: st.active,
            default: st.default,
            deleted: st.deleted,
        }
    }
}

/// Builds an account's catalog from its `statuses`, in list order: a custom status is
/// added (the last one declared default in a category wins), a built-in takes its labels
/// and, when declared default, becomes its category's default; then declared inactive
/// built-ins are deactivated and tombstones deleted. Every problem, one by one.
fn declare_statuses(catalog: &mut Catalog, statuses: &[Status]) -> Vec<Error> {
    let mut problems = Vec::new();
    for st in statuses {
        let done = if Category::parse(&st.id).is_some() {
            catalog
                .update(
                    &st.id,
                    Some(st.label.clone()),
                    Some(st.end_user_label.clone()),
                    None,
                )
                .and_then(|()| match st.default {
                    true => catalog.set_default(&st.id),
                    false => Ok(()),
                })
        } else {
            catalog.add(Status {
                deleted: false,
                ..st.clone()
            })
        };
        problems.extend(done.err());
    }
    for st in statuses {
        let done = if st.deleted {
            catalog.delete(&st.id).map(|_| ())
        } else if !st.active && Category::parse(&st.id).is_some() {
            catalog.update(&st.id, None, None, Some(false))
        } else {
            Ok(())
        };
        problems.extend(done.err());
    }
    problems
}

/// A custom status as a configuration declares or `add_status` adds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusDecl {
    /// Status id.
    pub id: String,
    /// Its category.
    pub category: Category,
    /// Agent-facing label.
    pub label: String,
    /// Requester-facing label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_user_label: Option<String>,
    /// Whether it can be set (default true).
    #[serde(default = "yes")]
    pub active: bool,
    /// Whether it becomes its category's default.
    #[serde(default)]
    pub default: bool,
}

fn yes() -> bool {
    true
}

impl StatusDecl {
    /// What is wrong with the declaration on its own (its id and labels), every problem.
    /// An account configuration may restate a built-in status (`builtins`), in its own
    /// category.
    fn problems(&self, builtins: bool) -> Vec<String> {
        let mut found = Vec::new();
        match Category::parse(&self.id) {
            Some(category) if builtins && category != self.category => found.push(format!(
                "built-in status `{category}` is in category {category}, not {}",
                self.category
            )),
            Some(_) if builtins => {}
            _ if !crate::status::valid_custom_id(&self.id) => {
                found.push(crate::status::bad_custom_id(&self.id));
            }
            _ => {}
        }
        if let Err(e) = check_label(&self.id, &self.label, self.end_user_label.as_deref()) {
            found.push(e.message().to_owned());
        }
        found
    }

    fn into_status(self, deleted: bool) -> Status {
        Status {
            id: StatusId::from(self.id.as_str()),
            category: self.category,
            label: self.label,
            end_user_label: self.end_user_label,
            active: self.active && !deleted,
            default: self.default,
            deleted,
        }
    }
}

/// `update_status`: relabel, re-activate or deactivate.
///
/// # Example
/// ```
/// use caseflow::{ConfigPatch, StatusUpdate};
/// let patch = ConfigPatch::default()
///     .update_status(StatusUpdate { active: Some(false), ..StatusUpdate::new("on_hold") });
/// # let _ = patch;
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusUpdate {
    /// Status id.
    pub id: String,
    /// New label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// New requester-facing label (`null` clears).
    #[serde(
        default,
        deserialize_with = "crate::json::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub end_user_label: Option<Option<String>>,
    /// Activate or deactivate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
}

impl StatusUpdate {
    /// An update of this status that changes nothing yet.
    pub fn new(id: impl Into<String>) -> StatusUpdate {
        StatusUpdate {
            id: id.into(),
            label: None,
            end_user_label: None,
            active: None,
        }
    }
}

/// `delete_status`: the status, and where cases holding it go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusDelete {
    /// Status id.
    pub id: String,
    /// A live status of the same category for the cases that hold it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remap_to: Option<String>,
}

/// A set of configuration keys: a whole account configuration, or a `configure` command.
///
/// It serializes to its keys as JSON (a `configure` command's, without `op`), and
/// deserializes as a `configure` command's keys, with their checks.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigPatch {
    pub(crate) timezone: Option<Tz>,
    pub(crate) auto_close_after_days: Option<u32>,
    pub(crate) new_status: Option<NewStatusPolicy>,
    pub(crate) automation_interval_minutes: Option<u32>,
    /// `Some(None)`: `groups = null`, which removes the directory.
    pub(crate) groups: Option<Option<Groups>>,
    pub(crate) statuses: Vec<Status>,
    pub(crate) add_status: Option<Status>,
    pub(crate) update_status: Option<StatusUpdate>,
    pub(crate) set_default: Option<String>,
    pub(crate) delete_status: Option<StatusDelete>,
    /// An account configuration's `rules`, parsed once the catalog is known.
    pub(crate) rules: Option<Value>,
    /// An account configuration's script `limits`, parsed before the rules.
    pub(crate) limits: Option<Value>,
}

impl Serialize for ConfigPatch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(skip_serializing_if = "Option::is_none")]
            timezone: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            auto_close_after_days: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            new_status: Option<NewStatusPolicy>,
            #[serde(skip_serializing_if = "Option::is_none")]
            automation_interval_minutes: Option<u32>,
            #[serde(skip_serializing_if = "Option::is_none")]
            groups: Option<&'a Option<Groups>>,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            statuses: Vec<StatusOut<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            add_status: Option<StatusOut<'a>>,
            #[serde(skip_serializing_if = "Option::is_none")]
            update_status: Option<&'a StatusUpdate>,
            #[serde(skip_serializing_if = "Option::is_none")]
            set_default: Option<&'a str>,
            #[serde(skip_serializing_if = "Option::is_none")]
            delete_status: Option<&'a StatusDelete>,
            #[serde(skip_serializing_if = "Option::is_none")]
            rules: Option<&'a Value>,
        }
        Out {
            timezone: self.timezone.map(|tz| tz.name()),
            auto_close_after_days: self.auto_close_after_days,
            new_status: self.new_status,
            automation_interval_minutes: self.automation_interval_minutes,
            groups: self.groups.as_ref(),
            statuses: self.statuses.iter().map(StatusOut::from).collect(),
            add_status: self.add_status.as_ref().map(StatusOut::from),
            update_status: self.update_status.as_ref(),
            set_default: self.set_default.as_deref(),
            delete_status: self.delete_status.as_ref(),
            rules: self.rules.as_ref(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ConfigPatch {
    /// Reads a `configure` command's keys (without `op`), with their checks.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ConfigPatch, D::Error> {
        let value = crate::json::Strict::deserialize(d)?.0;
        ConfigPatch::parse(&value, PatchKind::Configure).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum PatchKind {
    /// A whole account configuration.
    Account,
    /// A `configure` command (no `op` key here: the command parser took it).
    Configure,
}

impl ConfigPatch {
    /// Parses the keys of `value`, collecting every problem.
    pub(crate) fn parse(value: &Value, kind: PatchKind) -> Result<ConfigPatch, Error> {
        let (patch, problems) = ConfigPatch::parse_all(value, kind)?;
        if problems.is_empty() {
            Ok(patch)
        } else {
            Err(Error::config_problems(problems))
        }
    }

    /// Parses the keys of `value`: what parsed, and the problems of the rest.
    fn parse_all(value: &Value, kind: PatchKind) -> Result<(ConfigPatch, Vec<String>), Error> {
        let Some(map) = value.as_object() else {
            return Err(Error::config("the configuration must be a table of keys"));
        };
        let mut p = ConfigPatch::default();
        let mut problems: Vec<String> = Vec::new();
        for (key, v) in map {
            let result: Result<(), String> = match (key.as_str(), kind) {
                ("timezone", _) => typed::<String>(v)
                    .and_then(|s| s.parse::<Tz>().map_err(|_| not_a_zone(&s)))
                    .map(|tz| p.timezone = Some(tz)),
                ("auto_close_after_days", _) => {
                    ranged(v, 1, 28).map(|n| p.auto_close_after_days = Some(n))
                }
                ("automation_interval_minutes", _) => {
                    ranged(v, 1, 1440).map(|n| p.automation_interval_minutes = Some(n))
                }
                ("new_status", _) => typed(v).map(|x| p.new_status = Some(x)),
                ("groups", _) if v.is_null() => {
                    p.groups = Some(None);
                    Ok(())
                }
                ("groups", _) => parse_groups(v).map(|g| p.groups = Some(Some(g))),
                ("statuses", _) => match parse_statuses(v, kind) {
                    Ok(list) => {
                        p.statuses = list
                            .into_iter()
                            .map(|(decl, deleted)| decl.into_status(deleted))
                            .collect();
                        Ok(())
                    }
                    Err(found) => {
                        problems.extend(found.into_iter().map(|why| format!("statuses: {why}")));
                        Ok(())
                    }
                },
                ("add_status", PatchKind::Configure) => typed::<StatusDecl>(v).map(|d| {
                    let found = d.problems(false);
                    if found.is_empty() {
                        p.add_status = Some(d.into_status(false));
                    }
                    problems.extend(found.into_iter().map(|why| format!("add_status: {why}")));
                }),
                ("update_status", PatchKind::Configure) => typed::<StatusUpdate>(v)
                    .and_then(|u| {
                        let label = u.label.as_deref().unwrap_or("label");
                        let end_user = u.end_user_label.as_ref().and_then(|e| e.as_deref());
                        check_label(&u.id, label, end_user)
                            .map(|()| u)
                            .map_err(|e| e.message().to_owned())
                    })
                    .map(|u| p.update_status = Some(u)),
                ("set_default", PatchKind::Configure) => typed(v).map(|s| p.set_default = Some(s)),
                ("delete_status", PatchKind::Configure) => {
                    typed(v).map(|d| p.delete_status = Some(d))
                }
                ("rules", PatchKind::Account) => {
                    p.rules = Some(v.clone());
                    Ok(())
                }
                ("rules", PatchKind::Configure) => Err(
                    "rules are not changed by configure: the host replaces them (Desk::replace_rules)"
                        .to_owned(),
                ),
                ("limits", PatchKind::Account) => {
                    p.limits = Some(v.clone());
                    Ok(())
                }
                ("limits", PatchKind::Configure) => Err(
                    "script limits are set by the account configuration the desk starts with"
                        .to_owned(),
                ),
                _ => Err("unknown key".to_owned()),
            };
            if let Err(why) = result {
                problems.push(format!("{}: {why}", crate::error::clip(key)));
            }
        }
        Ok((p, problems))
    }

    fn apply_scalars(&self, config: &mut Config) {
        if let Some(tz) = self.timezone {
            config.timezone = tz;
        }
        if let Some(days) = self.auto_close_after_days {
            config.auto_close_after_days = days;
        }
        if let Some(policy) = self.new_status {
            config.new_status = policy;
        }
        if let Some(minutes) = self.automation_interval_minutes {
            config.automation_interval_minutes = minutes;
        }
        if let Some(groups) = &self.groups {
            config.groups = groups.clone();
        }
    }

    /// The configuration after this patch, all keys or none, and the status to delete
    /// (the desk moves the cases that hold it).
    ///
    /// Statuses listed under `statuses` are added when new and updated otherwise; then come
    /// `add_status`, `update_status`, `set_default` and `delete_status`, in that order.
    pub(crate) fn applied_to(&self, config: &Config) -> Result<Config, Error> {
        self.check()?;
        let mut next = config.clone();
        let catalog = &mut next.catalog;
        for s in &self.statuses {
            match catalog.get(&s.id) {
                Some(old) if !old.deleted => {
                    if old.category != s.category {
                        return Err(Error::config(format!(
                            "statuses: status `{}` is in category {}; a status never changes category",
                            s.id, old.category
                        )));
                    }
                    catalog.update(
                        &s.id,
                        Some(s.label.clone()),
                        Some(s.end_user_label.clone()),
                        Some(s.active),
                    )?;
                    if s.default {
                        catalog.set_default(&s.id)?;
                    }
                }
                _ => catalog.add(s.clone())?,
            }
        }
        if let Some(s) = &self.add_status {
            catalog.add(s.clone())?;
        }
        if let Some(u) = &self.update_status {
            catalog.update(&u.id, u.label.clone(), u.end_user_label.clone(), u.active)?;
        }
        if let Some(id) = &self.set_default {
            catalog.set_default(id)?;
        }
        if let Some(d) = &self.delete_status {
            let category = catalog.delete(&d.id)?;
            if let Some(target) = &d.remap_to {
                let t = catalog.settable(target)?;
                if t.category != category {
                    return Err(Error::config(format!(
                        "delete_status: remap target `{target}` is in category {}, not {category}",
                        t.category
                    )));
                }
            }
        }
        self.apply_scalars(&mut next);
        Ok(next)
    }
}

fn typed<T: DeserializeOwned>(v: &Value) -> Result<T, String> {
    T::deserialize(v).map_err(|e| e.to_string())
}

/// A `statuses` list, each entry parsed and checked on its own so that every bad entry is
/// reported; it names each id once (a second entry is no update of the first). An account
/// configuration's entries may also restate a built-in status and carry `deleted` (a
/// tombstone); a `configure`'s may not.
fn parse_statuses(v: &Value, kind: PatchKind) -> Result<Vec<(StatusDecl, bool)>, Vec<String>> {
    let Some(items) = v.as_array() else {
        return Err(vec![typed::<Vec<StatusDecl>>(v).err().unwrap_or_default()]);
    };
    let account = kind == PatchKind::Account;
    let mut problems = Vec::new();
    let mut list = Vec::with_capacity(items.len());
    let mut seen = BTreeSet::new();
    for (i, item) in items.iter().enumerate() {
        let mut item = std::borrow::Cow::Borrowed(item);
        let mut deleted = false;
        if let Some(flag) = item.get("deleted").filter(|_| account).cloned() {
            if let Some(map) = item.to_mut().as_object_mut() {
                map.remove("deleted");
            }
            match flag {
                Value::Bool(b) => deleted = b,
                _ => problems.push(format!("entry {}: deleted: must be true or false", i + 1)),
            }
        }
        match typed::<StatusDecl>(&item) {
            Err(why) => problems.push(format!("entry {}: {why}", i + 1)),
            Ok(decl) => {
                let found = decl.problems(account);
                if !seen.insert(decl.id.clone()) {
                    problems.push(format!("status `{}` is listed more than once", decl.id));
                } else if found.is_empty() {
                    list.push((decl, deleted));
                }
                problems.extend(found);
            }
        }
    }
    if problems.is_empty() {
        Ok(list)
    } else {
        Err(problems)
    }
}

fn ranged(v: &Value, lo: u32, hi: u32) -> Result<u32, String> {
    v.as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (lo..=hi).contains(n))
        .ok_or_else(|| {
            let v = v.to_string();
            format!(
                "must be an integer from {lo} to {hi}, not {}",
                crate::error::clip(&v)
            )
        })
}

fn parse_groups(v: &Value) -> Result<Groups, String> {
    let map: BTreeMap<String, Vec<String>> = typed(v)?;
    let mut out = Groups::new();
    for (group, members) in map {
        crate::case::check_name("group", &group).map_err(|e| e.message().to_owned())?;
        for m in &members {
            crate::case::check_name("agent", m).map_err(|e| format!("{group}: {}", e.message()))?;
        }
        out.insert(group, members.into_iter().collect());
    }
    Ok(out)
}

/// The group directory: group -> member agents.
pub type Groups = BTreeMap<String, BTreeSet<String>>;

/// The configuration keys a `config_changed` event reports, each with its new value.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigChanges {
    /// The new IANA time zone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    /// The new auto-close period, in days.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_close_after_days: Option<u32>,
    /// The new `new_status` policy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_status: Option<NewStatusPolicy>,
    /// The new automation interval.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automation_interval_minutes: Option<u32>,
    /// The new group directory (the whole of it); `Some(None)` (JSON `null`) when it was
    /// removed.
    #[serde(
        default,
        deserialize_with = "crate::json::double_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub groups: Option<Option<Groups>>,
    /// The whole status catalog after the change, tombstones included.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statuses: Option<Vec<Status>>,
}

impl ConfigChanges {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == ConfigChanges::default()
    }
}

/// Checks a group directory's names, as a configuration's `groups` are checked: for a
/// directory that arrives already parsed (a replayed `config_changed`, a snapshot).
pub(crate) fn check_groups(groups: &Groups) -> Result<(), Error> {
    for (group, members) in groups {
        crate::case::check_name("group", group)
            .and_then(|()| {
                members
                    .iter()
                    .try_for_each(|m| crate::case::check_name("agent", m))
            })
            .map_err(|e| Error::config(format!("groups: {}", e.message())))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn every_problem_is_reported_at_once() {
        let err = Config::from_json(
            r#"{"timezone": "Nowhere/Land", "auto_close_after_days": 29,
                "new_status": "sometimes", "colour": "blue", "limits": {"max_operations": 0},
                "rules": [{"name": "r", "kind": "sometimes", "then": {"add_tags": ["x"]}}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidConfig);
        for key in [
            "timezone",
            "auto_close_after_days",
            "new_status",
            "colour",
            "limits",
            "rules: r: kind",
        ] {
            assert!(
                err.message().contains(key),
                "{key} missing from {}",
                err.message()
            );
        }
    }

    /// A bad time zone does not hide bad statuses, one bad entry does not hide the others,
    /// and each comes as its own problem; the message is them all, and names each key once.
    #[test]
    fn every_problem_is_listed_one_by_one() {
        let err = Config::from_json(
            r#"{"timezone": "Nowhere/Land", "statuses": [
                {"id": "BAD ID!", "category": "open", "label": ""},
                {"id": "b", "category": "open"},
                {"id": "ok", "category": "opn", "label": "Ok"}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidConfig);
        let problems = err.problems();
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert_eq!(err.message(), problems.join("; "));
        assert!(
            problems.contains(&"timezone: `Nowhere/Land` is not an IANA time zone name".to_owned())
        );
        assert!(
            !err.message().contains("timezone: timezone"),
            "{}",
            err.message()
        );
        for want in [
            "BAD ID!` must match",
            "label must be 1 to 48",
            "entry 2: missing field `label`",
            "entry 3: unknown variant `opn`",
        ] {
            assert!(
                problems
                    .iter()
                    .any(|p| p.starts_with("statuses: ") && p.contains(want)),
                "{want} missing from {problems:?}"
            );
        }
        // A configure command too: its static status checks come with the other keys'.
        let value: Value = serde_json::from_str(
            r#"{"timezone": "Nowhere/Land", "add_status": {"id": "BAD ID!", "category": "open", "label": "x"},
                "update_status": {"id": "open", "label": ""}}"#,
        )
        .unwrap();
        let err = ConfigPatch::parse(&value, PatchKind::Configure).unwrap_err();
        assert_eq!(err.problems().len(), 3, "{:?}", err.problems());
        // One problem: the message alone.
        let err = Config::from_json(r#"{"colour": 1}"#).unwrap_err();
        assert_eq!(err.problems(), ["colour: unknown key"]);
    }

    #[test]
    fn a_status_id_listed_twice_is_refused() {
        let twice = r#"{"statuses": [
            {"id": "waiting", "category": "pending", "label": "Waiting"},
            {"id": "waiting", "category": "pending", "label": "Waiting again"}]}"#;
        let err = Config::from_json(twice).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidConfig);
        assert!(err.message().contains("statuses"), "{}", err.message());
        let value: Value = serde_json::from_str(twice).unwrap();
        let err = ConfigPatch::parse(&value, PatchKind::Configure).unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidConfig);
        assert!(
            err.message().contains("`waiting` is listed more than once"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn configure_only_keys_are_unknown_in_an_account_file() {
        let err = Config::from_json(r#"{"set_default": "open"}"#).unwrap_err();
        assert!(err.message().contains("set_default: unknown key"));
    }
}

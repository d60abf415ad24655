//! Building a configuration or a `configure` patch in Rust, typed, through the same checks
//! as their JSON.

use serde_json::{Map, Value};

use super::Groups;
use super::{Config, ConfigPatch, NewStatusPolicy, StatusDecl, StatusDelete, StatusUpdate};
use crate::error::Error;
use crate::status::Category;

/// An account configuration under construction: [`Config::builder`], then setters, then
/// [`ConfigBuilder::build`], which checks the keys as [`Config::from_value`] does and
/// reports every problem at once. A key left unset takes its default.
///
/// # Example
/// ```
/// use caseflow::{Category, Config, StatusDecl};
/// let config = Config::builder()
///     .timezone("Europe/Lisbon")
///     .auto_close_after_days(2)
///     .status(StatusDecl::new("awaiting_parts", Category::OnHold, "Awaiting parts"))
///     .build()
///     .unwrap();
/// assert_eq!(config.timezone(), "Europe/Lisbon");
/// assert!(config.catalog().get("awaiting_parts").is_some());
///
/// let err = Config::builder().timezone("Mars/Olympus").auto_close_after_days(0).build();
/// assert_eq!(err.unwrap_err().problems().len(), 2);
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[must_use]
pub struct ConfigBuilder {
    keys: Map<String, Value>,
}

impl Config {
    /// A builder for an account configuration (see [`ConfigBuilder`]).
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder::default()
    }
}

impl ConfigBuilder {
    fn key(mut self, key: &str, value: Value) -> ConfigBuilder {
        self.keys.insert(key.to_owned(), value);
        self
    }

    fn push(mut self, key: &str, value: Value) -> ConfigBuilder {
        match self.keys.get_mut(key) {
            Some(Value::Array(list)) => list.push(value),
            _ => {
                self.keys.insert(key.to_owned(), Value::Array(vec![value]));
            }
        }
        self
    }

    /// The account's IANA time zone (checked by `build`).
    pub fn timezone(self, name: &str) -> ConfigBuilder {
        self.key("timezone", Value::from(name))
    }

    /// Days a resolved case waits before it closes: 1 to 28 (checked by `build`).
    pub fn auto_close_after_days(self, days: u32) -> ConfigBuilder {
        self.key("auto_close_after_days", Value::from(days))
    }

    /// The `new_status` policy.
    pub fn new_status(self, policy: NewStatusPolicy) -> ConfigBuilder {
        self.key(
            "new_status",
            serde_json::to_value(policy).unwrap_or_default(),
        )
    }

    /// Minutes between automation sweeps: 1 to 1440 (checked by `build`).
    pub fn automation_interval_minutes(self, minutes: u32) -> ConfigBuilder {
        self.key("automation_interval_minutes", Value::from(minutes))
    }

    /// The group directory: group -> member agents.
    pub fn groups(self, groups: Groups) -> ConfigBuilder {
        self.key("groups", serde_json::to_value(groups).unwrap_or_default())
    }

    /// Declares one more status, in order (docs/cases.md, Account configuration): a custom
    /// status, or a built-in restated.
    pub fn status(self, status: StatusDecl) -> ConfigBuilder {
        self.push("statuses", serde_json::to_value(status).unwrap_or_default())
    }

    /// Declares one more rule, in order, as its declaration's JSON (docs/rules.md).
    pub fn rule(self, declaration: Value) -> ConfigBuilder {
        self.push("rules", declaration)
    }

    /// The configuration.
    ///
    /// # Errors
    /// `invalid_config`, listing every problem, as [`Config::from_value`].
    pub fn build(self) -> Result<Config, Error> {
        Config::from_value(&Value::Object(self.keys))
    }
}

impl StatusDecl {
    /// A custom status with this id, category and label: active, not the default, no
    /// end-user label.
    ///
    /// # Example
    /// ```
    /// use caseflow::{Category, StatusDecl};
    /// let waiting = StatusDecl { default: true, ..StatusDecl::new("waiting", Category::Pending, "Waiting") };
    /// assert!(waiting.active && waiting.default);
    /// ```
    pub fn new(id: impl Into<String>, category: Category, label: impl Into<String>) -> StatusDecl {
        StatusDecl {
            id: id.into(),
            category,
            label: label.into(),
            end_user_label: None,
            active: true,
            default: false,
        }
    }
}

/// Setters for a `configure` patch, to build one in Rust. The values are checked when the
/// desk executes the command, as a `configure` command's JSON is (`invalid_config` listing
/// every problem); only a time zone, which the patch holds parsed, is checked here.
///
/// # Example
/// ```
/// use caseflow::{Category, Command, Config, ConfigPatch, Desk, StatusDecl, StatusDelete};
/// let t = "2026-03-02T09:00:00Z".parse().unwrap();
/// let mut desk = Desk::new(Config::default(), t);
/// let patch = ConfigPatch::default()
///     .timezone("Europe/Lisbon")?
///     .auto_close_after_days(3)
///     .add_status(StatusDecl::new("waiting", Category::Pending, "Waiting"))
///     .set_default("waiting")
///     .delete_status(StatusDelete { id: "pending".into(), remap_to: None });
/// desk.execute(t, &Command::Configure(patch)).unwrap();
/// assert_eq!(desk.config().catalog().default_of(Category::Pending), "waiting");
///
/// let bad = ConfigPatch::default().auto_close_after_days(0);
/// let err = desk.execute(t, &Command::Configure(bad)).unwrap_err();
/// assert_eq!(err.error.message(), "auto_close_after_days: must be an integer from 1 to 28, not 0");
/// # Ok::<(), caseflow::Error>(())
/// ```
impl ConfigPatch {
    /// Sets the time zone.
    ///
    /// # Errors
    /// `invalid_config` when `name` is not an IANA time zone name.
    pub fn timezone(mut self, name: &str) -> Result<ConfigPatch, Error> {
        self.timezone = Some(super::parse_timezone(name)?);
        Ok(self)
    }

    /// Sets the auto-close period, in days.
    #[must_use]
    pub fn auto_close_after_days(mut self, days: u32) -> ConfigPatch {
        self.auto_close_after_days = Some(days);
        self
    }

    /// Sets the `new_status` policy.
    #[must_use]
    pub fn new_status(mut self, policy: NewStatusPolicy) -> ConfigPatch {
        self.new_status = Some(policy);
        self
    }

    /// Sets the automation interval, in minutes.
    #[must_use]
    pub fn automation_interval_minutes(mut self, minutes: u32) -> ConfigPatch {
        self.automation_interval_minutes = Some(minutes);
        self
    }

    /// Replaces the group directory; `None` removes it.
    #[must_use]
    pub fn groups(mut self, groups: Option<Groups>) -> ConfigPatch {
        self.groups = Some(groups);
        self
    }

    /// Adds one entry to `statuses`: added when new, updated otherwise.
    #[must_use]
    pub fn status(mut self, status: StatusDecl) -> ConfigPatch {
        self.statuses.push(status.into_status(false));
        self
    }

    /// Sets `add_status`.
    #[must_use]
    pub fn add_status(mut self, status: StatusDecl) -> ConfigPatch {
        self.add_status = Some(status.into_status(false));
        self
    }

    /// Sets `update_status`.
    #[must_use]
    pub fn update_status(mut self, update: StatusUpdate) -> ConfigPatch {
        self.update_status = Some(update);
        self
    }

    /// Sets `set_default`.
    #[must_use]
    pub fn set_default(mut self, id: impl Into<String>) -> ConfigPatch {
        self.set_default = Some(id.into());
        self
    }

    /// Sets `delete_status`.
    #[must_use]
    pub fn delete_status(mut self, delete: StatusDelete) -> ConfigPatch {
        self.delete_status = Some(delete);
        self
    }

    /// The problems of this patch's values, as its JSON would report them (a patch built
    /// in Rust has not been through the parser).
    pub(crate) fn check(&self) -> Result<(), Error> {
        let value = serde_json::to_value(self).map_err(|e| Error::config(e.to_string()))?;
        ConfigPatch::parse(&value, super::PatchKind::Configure).map(|_| ())
    }
}

//! Status categories (the one closed enum) and the account's status catalog.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorCode};
use crate::ids::IdMap;

/// The five fixed status categories, in lifecycle order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// The request was received; nobody acted on it yet.
    New,
    /// Assigned and waiting for the agent.
    Open,
    /// Waiting for the requester.
    Pending,
    /// Waiting for someone other than the requester.
    OnHold,
    /// Resolved; closes automatically after the account's period.
    Resolved,
}

impl Category {
    /// All five categories, in lifecycle order.
    pub const ALL: [Category; 5] = [
        Category::New,
        Category::Open,
        Category::Pending,
        Category::OnHold,
        Category::Resolved,
    ];

    /// The category's name, which is also the id of its built-in status.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::New => "new",
            Category::Open => "open",
            Category::Pending => "pending",
            Category::OnHold => "on_hold",
            Category::Resolved => "resolved",
        }
    }

    /// The category with this name.
    pub fn parse(s: &str) -> Option<Category> {
        Category::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status id, as cases and events carry it: shared, so that copying it into a case or
/// an event is a reference-count increment, not an allocation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StatusId(Arc<str>);

impl std::borrow::Borrow<str> for StatusId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl Serialize for StatusId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for StatusId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<StatusId, D::Error> {
        String::deserialize(d).map(|s| StatusId(Arc::from(s)))
    }
}

impl StatusId {
    pub(crate) fn from_name(name: Arc<str>) -> StatusId {
        StatusId(name)
    }

    /// The id as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for StatusId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl From<&str> for StatusId {
    fn from(s: &str) -> StatusId {
        StatusId(Arc::from(s))
    }
}

impl PartialEq<str> for StatusId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl fmt::Display for StatusId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Most statuses one category may hold, tombstones included.
pub const MAX_STATUSES_PER_CATEGORY: usize = 100;
/// Most statuses a catalog may hold, built-ins and tombstones included.
pub const MAX_STATUSES: usize = 300;
/// Longest status label, in Unicode scalar values.
pub const MAX_LABEL_CHARS: usize = 48;

/// One status of the catalog.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Status {
    /// The id cases carry: a category name for built-ins, `[a-z][a-z0-9_]{0,47}` otherwise.
    pub id: StatusId,
    /// The category the status belongs to; it never changes.
    pub category: Category,
    /// What agents see.
    pub label: String,
    /// What requesters see, when it differs.
    pub end_user_label: Option<String>,
    /// Whether the status can be newly set.
    pub active: bool,
    /// Whether the status is its category's default.
    pub default: bool,
    /// A deleted status stays as a tombstone held by closed cases; its id is never reused.
    pub deleted: bool,
}

/// The statuses of an account: the five built-ins, custom statuses and tombstones.
///
/// Every category has exactly one default, and it is active and not deleted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Catalog {
    /// Hashed, not ordered: a status change looks its status up, and `iter` sorts.
    statuses: IdMap<StatusId, Status>,
    defaults: [StatusId; 5],
}

impl Default for Catalog {
    fn default() -> Catalog {
        let statuses = Category::ALL
            .into_iter()
            .map(|c| {
                let label = match c {
                    Category::New => "New",
                    Category::Open => "Open",
                    Category::Pending => "Pending",
                    Category::OnHold => "On-hold",
                    Category::Resolved => "Resolved",
                };
                let status = Status {
                    id: StatusId::from(c.as_str()),
                    category: c,
                    label: label.to_owned(),
                    end_user_label: None,
                    active: true,
                    default: true,
                    deleted: false,
                };
                (status.id.clone(), status)
            })
            .collect();
        Catalog {
            statuses,
            defaults: Category::ALL.map(|c| StatusId::from(c.as_str())),
        }
    }
}

/// Whether `id` has the shape of a custom status id: `[a-z][a-z0-9_]{0,47}`.
pub fn valid_custom_id(id: &str) -> bool {
    let mut chars = id.chars();
    matches!(chars.next(), Some('a'..='z'))
        && id.len() <= 48
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
        && Category::parse(id).is_none()
}

/// Why `id` is no custom status id.
pub(crate) fn bad_custom_id(id: &str) -> String {
    format!(
        "status id `{}` must match [a-z][a-z0-9_]{{0,47}} and not be a category name",
        crate::error::clip(id)
    )
}

impl Catalog {
    /// The status with this id, tombstones included.
    pub fn get(&self, id: &str) -> Option<&Status> {
        self.statuses.get(id)
    }

    /// The id of `category`'s default status.
    pub fn default_of(&self, category: Category) -> &str {
        &self.defaults[category.index()]
    }

    /// The status currently marked default in `category`.
    pub fn default_status(&self, category: Category) -> &Status {
        // Invariant: every default names a status of the catalog.
        &self.statuses[&self.defaults[category.index()]]
    }

    /// Every status, tombstones included, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Status> {
        let mut all: Vec<&Status> = self.statuses.values().collect();
        all.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        all.into_iter()
    }

    /// The status a case may newly be set to: it exists, is not deleted, and is active.
    ///
    /// # Errors
    /// `unknown_status` for an id that is not in the catalog or was deleted,
    /// `inactive_status` for an inactive one.
    pub fn settable(&self, id: &str) -> Result<&Status, Error> {
        match self.statuses.get(id) {
            Some(s) if s.deleted => Err(Error::new(
                ErrorCode::UnknownStatus,
                format!("status `{id}` was deleted"),
            )),
            Some(s) if !s.active => Err(Error::new(
                ErrorCode::InactiveStatus,
                format!("status `{id}` is inactive"),
            )),
            Some(s) => Ok(s),
            None => Err(Error::new(
                ErrorCode::UnknownStatus,
                format!("there is no status `{id}`"),
            )),
        }
    }

    /// Adds a custom status.
    ///
    /// # Errors
    /// `invalid_config` for a bad or reused id or label, `limit_exceeded` past the limits.
    pub fn add(&mut self, status: Status) -> Result<(), Error> {
        if !valid_custom_id(&status.id) {
            return Err(Error::config(bad_custom_id(&status.id)));
        }
        if let Some(old) = self.statuses.get(status.id.as_str()) {
            let why = if old.deleted {
                "was deleted and ids are never reused"
            } else {
                "already exists"
            };
            return Err(Error::config(format!("status `{}` {why}", status.id)));
        }
        check_label(&status.id, &status.label, status.end_user_label.as_deref())?;
        if self.statuses.len() >= MAX_STATUSES {
            return Err(Error::new(
                ErrorCode::LimitExceeded,
                format!(
                    "cannot add status `{}`: the catalog holds {MAX_STATUSES} statuses",
                    status.id
                ),
            ));
        }
        let in_category = self
            .statuses
            .values()
            .filter(|s| s.category == status.category)
            .count();
        if in_category >= MAX_STATUSES_PER_CATEGORY {
            return Err(Error::new(
                ErrorCode::LimitExceeded,
                format!(
                    "cannot add status `{}`: category {} holds {MAX_STATUSES_PER_CATEGORY} statuses",
                    status.id, status.category
                ),
            ));
        }
        let make_default = status.default;
        let id = status.id.clone();
        self.statuses.insert(
            id.clone(),
            Status {
                default: false,
                deleted: false,
                ..status
            },
        );
        if make_default {
            self.set_default(&id)?;
        }
        Ok(())
    }

    /// Relabels, re-activates or deactivates a status.
    ///
    /// # Errors
    /// `unknown_status`, `invalid_config` for a bad label, `default_status` when
    /// deactivating the default.
    pub fn update(
        &mut self,
        id: &str,
        label: Option<String>,
        end_user_label: Option<Option<String>>,
        active: Option<bool>,
    ) -> Result<(), Error> {
        let status = self.live_mut(id)?;
        if active == Some(false) && status.default {
            return Err(Error::new(
                ErrorCode::DefaultStatus,
                format!("status `{id}` is its category's default and cannot be deactivated"),
            ));
        }
        let label = label.unwrap_or_else(|| status.label.clone());
        let end_user_label = end_user_label.unwrap_or_else(|| status.end_user_label.clone());
        check_label(id, &label, end_user_label.as_deref())?;
        status.label = label;
        status.end_user_label = end_user_label;
        status.active = active.unwrap_or(status.active);
        Ok(())
    }

    /// Makes `id` its category's default, in one swap.
    ///
    /// # Errors
    /// `unknown_status`, `inactive_status`.
    pub fn set_default(&mut self, id: &str) -> Result<(), Error> {
        let status = self.live_mut(id)?;
        if !status.active {
            return Err(Error::new(
                ErrorCode::InactiveStatus,
                format!("status `{id}` is inactive and cannot be a default"),
            ));
        }
        status.default = true;
        let category = status.category;
        let new = status.id.clone();
        let old = std::mem::replace(&mut self.defaults[category.index()], new);
        if let Some(s) = self.statuses.get_mut(&old).filter(|_| *old != *id) {
            s.default = false;
        }
        Ok(())
    }

    /// Turns a status into a tombstone. The caller moves the cases holding it.
    ///
    /// # Errors
    /// `unknown_status`, `default_status` for a default.
    pub fn delete(&mut self, id: &str) -> Result<Category, Error> {
        let status = self.live_mut(id)?;
        if status.default {
            return Err(Error::new(
                ErrorCode::DefaultStatus,
                format!("status `{id}` is its category's default and cannot be deleted"),
            ));
        }
        status.deleted = true;
        status.active = false;
        Ok(status.category)
    }

    fn live_mut(&mut self, id: &str) -> Result<&mut Status, Error> {
        match self.statuses.get_mut(id) {
            Some(s) if !s.deleted => Ok(s),
            _ => Err(Error::new(
                ErrorCode::UnknownStatus,
                format!("there is no status `{id}`"),
            )),
        }
    }

    /// Rebuilds a catalog from its statuses, as a `config_changed` event or a snapshot
    /// carries them, through the checks a configuration passes: ids, labels, limits.
    ///
    /// # Errors
    /// `invalid_config` for a bad or repeated id or label, a built-in in another category,
    /// a list that lacks a built-in, a category without exactly one live active default,
    /// or more statuses than the limits.
    pub fn from_statuses(list: Vec<Status>) -> Result<Catalog, Error> {
        if list.len() > MAX_STATUSES {
            return Err(Error::config(format!(
                "statuses: {} statuses, more than the {MAX_STATUSES} a catalog holds",
                list.len()
            )));
        }
        let mut defaults: [Option<StatusId>; 5] = Default::default();
        let mut statuses = IdMap::default();
        let mut per_category = [0usize; 5];
        for s in list {
            let builtin = Category::parse(&s.id);
            if builtin.is_some_and(|c| c != s.category) {
                return Err(Error::config(format!(
                    "statuses: built-in status `{}` is not in category {}",
                    s.id, s.category
                )));
            }
            if builtin.is_none() && !valid_custom_id(&s.id) {
                return Err(Error::config(format!("statuses: {}", bad_custom_id(&s.id))));
            }
            check_label(&s.id, &s.label, s.end_user_label.as_deref())
                .map_err(|e| Error::config(format!("statuses: {}", e.message())))?;
            if statuses.contains_key(s.id.as_str()) {
                return Err(Error::config(format!(
                    "statuses: status `{}` is listed more than once",
                    s.id
                )));
            }
            let count = &mut per_category[s.category.index()];
            *count += 1;
            if *count > MAX_STATUSES_PER_CATEGORY {
                return Err(Error::config(format!(
                    "statuses: category {} holds more than {MAX_STATUSES_PER_CATEGORY} statuses",
                    s.category
                )));
            }
            if s.deleted && s.active {
                return Err(Error::config(format!(
                    "statuses: deleted status `{}` is active",
                    s.id
                )));
            }
            if s.default {
                let slot = &mut defaults[s.category.index()];
                if slot.is_some() || !s.active || s.deleted {
                    return Err(Error::config(format!(
                        "category {} has a bad default",
                        s.category
                    )));
                }
                *slot = Some(s.id.clone());
            }
            statuses.insert(s.id.clone(), s);
        }
        let mut out = Vec::with_capacity(5);
        for (i, d) in defaults.into_iter().enumerate() {
            let category = Category::ALL[i];
            if !statuses.contains_key(category.as_str()) {
                return Err(Error::config(format!(
                    "built-in status `{category}` is missing"
                )));
            }
            out.push(
                d.ok_or_else(|| Error::config(format!("category {category} has no default")))?,
            );
        }
        let defaults = out
            .try_into()
            .map_err(|_| Error::config("a catalog needs five defaults".to_owned()))?;
        Ok(Catalog { statuses, defaults })
    }
}

pub(crate) fn check_label(
    id: &str,
    label: &str,
    end_user_label: Option<&str>,
) -> Result<(), Error> {
    for (key, value) in [("label", Some(label)), ("end_user_label", end_user_label)] {
        if let Some(v) = value {
            let n = v.chars().count();
            if n == 0 || n > MAX_LABEL_CHARS {
                return Err(Error::config(format!(
                    "status `{id}`: {key} must be 1 to {MAX_LABEL_CHARS} characters, not {n}"
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(id: &str, category: Category) -> Status {
        Status {
            id: StatusId::from(id),
            category,
            label: id.to_owned(),
            end_user_label: None,
            active: true,
            default: false,
            deleted: false,
        }
    }

    #[test]
    fn default_swap_is_atomic_and_unique() {
        let mut c = Catalog::default();
        c.add(custom("waiting", Category::Pending)).unwrap();
        c.set_default("waiting").unwrap();
        assert_eq!(c.default_of(Category::Pending), "waiting");
        assert!(!c.get("pending").unwrap().default);
        assert_eq!(c.iter().filter(|s| s.default).count(), 5);
        // The old default can now be deactivated and deleted.
        c.update("pending", None, None, Some(false)).unwrap();
        c.delete("pending").unwrap();
        assert_eq!(
            c.settable("pending").unwrap_err().code(),
            ErrorCode::UnknownStatus
        );
    }

    #[test]
    fn limits_count_tombstones() {
        let mut c = Catalog::default();
        for i in 0..99 {
            let id = format!("s{i}");
            c.add(custom(&id, Category::Open)).unwrap();
            if i % 2 == 0 {
                c.delete(&id).unwrap();
            }
        }
        let err = c.add(custom("one_more", Category::Open)).unwrap_err();
        assert_eq!(err.code(), ErrorCode::LimitExceeded);
        assert_eq!(
            c.add(custom("s0", Category::New)).unwrap_err().code(),
            ErrorCode::InvalidConfig
        );
    }

    #[test]
    fn custom_ids_are_checked() {
        assert!(valid_custom_id("awaiting_parts"));
        assert!(!valid_custom_id("open"));
        assert!(!valid_custom_id("9lives"));
        assert!(!valid_custom_id("Awaiting"));
        assert!(!valid_custom_id(&"a".repeat(49)));
    }
}

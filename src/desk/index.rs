//! The desk's secondary indexes, kept in step with every event by the desk's fold, so that
//! no query and no rule scans all cases.
//!
//! The query indexes hold live cases only (a trashed case leaves them); closed cases stay
//! in them (a query by status `resolved` finds them) but leave `dated`.

use std::collections::{BTreeMap, BTreeSet};

use roaring::RoaringTreemap;

use crate::case::{Case, CaseId, Name};
use crate::ids::IdMap;

use super::store::CaseStore;
use crate::status::StatusId;

/// A set of case ids: a compressed bitmap (roaring), iterated in id order. A host's ids
/// are mostly dense, so the million open cases of one status take about 128 KiB, and
/// moving a case between statuses flips a bit in memory that stays in the cache instead
/// of probing a hash table of megabytes.
pub(crate) type IdSet = RoaringTreemap;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Indexes {
    pub(crate) by_status: IdMap<StatusId, IdSet>,
    pub(crate) by_assignee: IdMap<Name, IdSet>,
    pub(crate) by_group: IdMap<Name, IdSet>,
    pub(crate) by_tag: IdMap<String, IdSet>,
    /// problem -> its linked incidents: closed and trashed ones included, and on a routed
    /// desk the remote ones the host recorded.
    pub(crate) incidents: BTreeMap<CaseId, BTreeSet<CaseId>>,
    /// Cases with a due date that are not closed, trashed ones included: their `due_at`
    /// follows the time zone (docs/lifecycle.md, Task due dates).
    pub(crate) dated: BTreeSet<CaseId>,
    /// The cases in the trash.
    pub(crate) trashed: BTreeSet<CaseId>,
}

fn put<K>(map: &mut IdMap<K, IdSet>, key: &str, id: CaseId)
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<str> + for<'a> From<&'a str>,
{
    match map.get_mut(key) {
        Some(set) => {
            set.insert(id);
        }
        None => {
            let mut set = IdSet::new();
            set.insert(id);
            map.insert(K::from(key), set);
        }
    }
}

/// `put` for an index of names: returns the name as the index keeps it, so that a case
/// can share it instead of holding a copy of its own.
fn put_name(map: &mut IdMap<Name, IdSet>, key: &str, id: CaseId) -> Option<Name> {
    put(map, key, id);
    map.get_key_value(key).map(|(name, _)| Name::clone(name))
}

fn take<K, Q>(map: &mut IdMap<K, IdSet>, key: &Q, id: CaseId)
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<Q>,
    Q: std::hash::Hash + Eq + ?Sized,
{
    if let Some(set) = map.get_mut(key) {
        set.remove(id);
        if set.is_empty() {
            map.remove(key);
        }
    }
}

/// The union of the sets `map` holds for these keys (absent keys add nothing).
pub(crate) fn union<'k, K>(map: &IdMap<K, IdSet>, keys: impl IntoIterator<Item = &'k str>) -> IdSet
where
    K: std::hash::Hash + Eq + std::borrow::Borrow<str>,
{
    keys.into_iter()
        .filter_map(|k| map.get(k))
        .fold(IdSet::new(), |all, set| all | set)
}

/// The ids of a set, ascending: the cost is the result's, not the desk's.
pub(crate) fn sorted(set: Option<&IdSet>) -> Vec<CaseId> {
    set.into_iter().flatten().collect()
}

impl Indexes {
    /// Adds a live case to every query index (links are kept apart: see `link`). The case
    /// then shares its assignee's and group's names with the index.
    pub(crate) fn add(&mut self, case: &mut Case) {
        put(&mut self.by_status, &case.status, case.id);
        if let Some(a) = &case.assignee {
            case.assignee = put_name(&mut self.by_assignee, a, case.id).or(case.assignee.take());
        }
        if let Some(g) = &case.group {
            case.group = put_name(&mut self.by_group, g, case.id).or(case.group.take());
        }
        for t in case.tags.iter() {
            put(&mut self.by_tag, t, case.id);
        }
        self.set_dated(case);
    }

    /// Builds the query indexes, `dated` and the trash of a desk's cases at once (a
    /// restore): each set is sized once instead of growing case by case. Links are kept
    /// apart.
    pub(crate) fn rebuild(&mut self, cases: &CaseStore) {
        let mut by_status: IdMap<&StatusId, Vec<CaseId>> = IdMap::default();
        let mut by_assignee: IdMap<&Name, Vec<CaseId>> = IdMap::default();
        let mut by_group: IdMap<&Name, Vec<CaseId>> = IdMap::default();
        let mut by_tag: IdMap<&str, Vec<CaseId>> = IdMap::default();
        for case in cases.iter() {
            if case.due_date.is_some() && !case.closed {
                self.dated.insert(case.id);
            }
            if case.deleted {
                self.trashed.insert(case.id);
                continue;
            }
            by_status.entry(&case.status).or_default().push(case.id);
            if let Some(a) = &case.assignee {
                by_assignee.entry(a).or_default().push(case.id);
            }
            if let Some(g) = &case.group {
                by_group.entry(g).or_default().push(case.id);
            }
            for t in case.tags.iter() {
                by_tag.entry(t).or_default().push(case.id);
            }
        }
        let sized = |mut ids: Vec<CaseId>| {
            ids.sort_unstable();
            // Ids are unique, so sorted they are ascending: `from_sorted_iter` appends.
            IdSet::from_sorted_iter(ids.iter().copied())
                .unwrap_or_else(|_| ids.into_iter().collect())
        };
        self.by_status = by_status
            .into_iter()
            .map(|(k, v)| (k.clone(), sized(v)))
            .collect();
        self.by_assignee = by_assignee
            .into_iter()
            .map(|(k, v)| (k.clone(), sized(v)))
            .collect();
        self.by_group = by_group
            .into_iter()
            .map(|(k, v)| (k.clone(), sized(v)))
            .collect();
        self.by_tag = by_tag
            .into_iter()
            .map(|(k, v)| (k.to_owned(), sized(v)))
            .collect();
    }

    /// Removes a case from every query index (when it goes to the trash); it stays in
    /// `dated`.
    pub(crate) fn remove(&mut self, case: &Case) {
        take(&mut self.by_status, case.status.as_str(), case.id);
        if let Some(a) = &case.assignee {
            take(&mut self.by_assignee, a, case.id);
        }
        if let Some(g) = &case.group {
            take(&mut self.by_group, g, case.id);
        }
        for t in case.tags.iter() {
            take(&mut self.by_tag, t, case.id);
        }
    }

    pub(crate) fn move_tags(&mut self, id: CaseId, added: &[String], removed: &[String]) {
        for t in removed {
            take(&mut self.by_tag, t.as_str(), id);
        }
        for t in added {
            put(&mut self.by_tag, t, id);
        }
    }

    pub(crate) fn move_status(&mut self, id: CaseId, from: &str, to: &StatusId) {
        take(&mut self.by_status, from, id);
        put(&mut self.by_status, to, id);
    }

    /// Moves a case between assignees; returns the new assignee's name as the index keeps
    /// it.
    pub(crate) fn move_assignee(
        &mut self,
        id: CaseId,
        from: Option<&str>,
        to: Option<&String>,
    ) -> Option<Name> {
        if let Some(a) = from {
            take(&mut self.by_assignee, a, id);
        }
        to.and_then(|a| put_name(&mut self.by_assignee, a, id))
    }

    /// Moves a case between groups; returns the new group's name as the index keeps it.
    pub(crate) fn move_group(
        &mut self,
        id: CaseId,
        from: Option<&str>,
        to: Option<&String>,
    ) -> Option<Name> {
        if let Some(g) = from {
            take(&mut self.by_group, g, id);
        }
        to.and_then(|g| put_name(&mut self.by_group, g, id))
    }

    /// Keeps `dated` in step with the case's due date and state.
    pub(crate) fn set_dated(&mut self, case: &Case) {
        if case.due_date.is_some() && !case.closed {
            self.dated.insert(case.id);
        } else {
            self.dated.remove(&case.id);
        }
    }

    /// The cases holding `status` that are not closed, trashed ones included, ascending:
    /// those a status deletion must move.
    pub(crate) fn open_holders(&self, status: &str, cases: &CaseStore) -> Vec<CaseId> {
        let holds = |id: &CaseId| {
            cases
                .get(id)
                .is_some_and(|c| !c.closed && c.status == *status)
        };
        let live = self.by_status.get(status).into_iter().flatten();
        let mut ids: Vec<CaseId> = live
            .chain(self.trashed.iter().copied())
            .filter(holds)
            .collect();
        ids.sort_unstable();
        ids
    }

    pub(crate) fn link(&mut self, problem: CaseId, incident: CaseId) {
        self.incidents.entry(problem).or_default().insert(incident);
    }

    pub(crate) fn unlink(&mut self, problem: CaseId, incident: CaseId) {
        if let Some(set) = self.incidents.get_mut(&problem) {
            set.remove(&incident);
            if set.is_empty() {
                self.incidents.remove(&problem);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::{Command, Config, Create, Desk, Instant, Update};

    /// Cases share their assignee's and group's names with the indexes, whether created
    /// with them or moved to them.
    #[test]
    fn cases_share_the_names_the_indexes_keep() {
        let t: Instant = "2026-03-02T09:00:00Z".parse().unwrap();
        let mut desk = Desk::new(Config::default(), t);
        for id in 1..=3 {
            let create = Create {
                id: Some(id),
                submitter: "r".to_owned(),
                assignee: (id < 3).then(|| "bob".to_owned()),
                group: (id < 3).then(|| "tier1".to_owned()),
                ..Create::default()
            };
            desk.execute(t, &Command::Create(create)).unwrap();
        }
        let update = Update {
            case: 3,
            assignee: Some(Some("bob".to_owned())),
            group: Some(Some("tier1".to_owned())),
            ..Update::default()
        };
        desk.execute(t, &Command::Update(update)).unwrap();
        let name = |id: u64| {
            let case = desk.cases.get(&id).unwrap();
            (case.assignee.clone().unwrap(), case.group.clone().unwrap())
        };
        let ((a1, g1), (a2, g2), (a3, g3)) = (name(1), name(2), name(3));
        let kept = desk.index.by_assignee.get_key_value("bob").unwrap().0;
        assert!(Arc::ptr_eq(&a1, kept) && Arc::ptr_eq(&a2, kept) && Arc::ptr_eq(&a3, kept));
        let kept = desk.index.by_group.get_key_value("tier1").unwrap().0;
        assert!(Arc::ptr_eq(&g1, kept) && Arc::ptr_eq(&g2, kept) && Arc::ptr_eq(&g3, kept));
    }
}

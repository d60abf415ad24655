//! The desk's case store: cases in a dense `Vec`, found through an [`IdMap`].

use crate::case::{Case, CaseId};
use crate::ids::IdMap;

/// The desk's cases: stored densely in a `Vec` (so a walk over ids in order walks memory
/// in order, and the id map stays small enough for the cache), found through an id map.
#[derive(Clone, Debug)]
pub(crate) struct CaseStore {
    slots: Vec<Case>,
    slot_of: IdMap<CaseId, u32>,
    /// Whether the slots hold the cases in ascending id (a host that gives ascending ids
    /// and purges nothing): a sweep then walks them in memory order.
    in_id_order: bool,
}

impl Default for CaseStore {
    fn default() -> CaseStore {
        CaseStore {
            slots: Vec::new(),
            slot_of: IdMap::default(),
            in_id_order: true,
        }
    }
}

impl CaseStore {
    /// A store of these cases, in this order; `Err` with an id that occurs twice.
    pub(crate) fn from_cases(slots: Vec<Case>) -> Result<CaseStore, CaseId> {
        let mut slot_of = IdMap::with_capacity_and_hasher(slots.len(), Default::default());
        for (slot, case) in slots.iter().enumerate() {
            if slot_of.insert(case.id, slot as u32).is_some() {
                return Err(case.id);
            }
        }
        let in_id_order = slots.windows(2).all(|w| w[0].id < w[1].id);
        Ok(CaseStore {
            slots,
            slot_of,
            in_id_order,
        })
    }

    pub(crate) fn get(&self, id: &CaseId) -> Option<&Case> {
        self.slot_of.get(id).map(|s| &self.slots[*s as usize])
    }

    pub(crate) fn get_mut(&mut self, id: &CaseId) -> Option<&mut Case> {
        self.slot_of.get(id).map(|s| &mut self.slots[*s as usize])
    }

    pub(crate) fn contains_key(&self, id: &CaseId) -> bool {
        self.slot_of.contains_key(id)
    }

    /// Inserts a case whose id is not in the store.
    pub(crate) fn insert(&mut self, id: CaseId, case: Case) {
        debug_assert!(!self.slot_of.contains_key(&id));
        if self.slots.last().is_some_and(|last| last.id > id) {
            self.in_id_order = false;
        }
        self.slot_of.insert(id, self.slots.len() as u32);
        self.slots.push(case);
    }

    pub(crate) fn remove(&mut self, id: &CaseId) -> Option<Case> {
        let slot = self.slot_of.remove(id)? as usize;
        let case = self.slots.swap_remove(slot);
        if let Some(moved) = self.slots.get(slot) {
            self.slot_of.insert(moved.id, slot as u32);
            self.in_id_order = false;
        }
        Some(case)
    }

    /// The case in this slot.
    pub(crate) fn at(&self, slot: usize) -> Option<&Case> {
        self.slots.get(slot)
    }

    /// Whether the slots hold the cases in ascending id.
    pub(crate) fn in_id_order(&self) -> bool {
        self.in_id_order
    }

    /// Every case, in storage order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Case> {
        self.slots.iter()
    }

    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }
}

impl PartialEq for CaseStore {
    /// The same cases, wherever they are stored.
    fn eq(&self, other: &CaseStore) -> bool {
        self.slots.len() == other.slots.len()
            && self.slots.iter().all(|c| other.get(&c.id) == Some(c))
    }
}

impl Eq for CaseStore {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::Catalog;

    fn case(id: CaseId) -> Case {
        let status = Catalog::default()
            .default_status(crate::status::Category::New)
            .clone();
        let at = "2026-03-02T09:00:00Z".parse().unwrap();
        Case::new(id, at, &status, "r".into(), "r".into())
    }

    #[test]
    fn the_store_knows_when_its_slots_are_in_id_order() {
        let mut store = CaseStore::default();
        for id in [1, 2, 5] {
            store.insert(id, case(id));
        }
        assert!(store.in_id_order());
        store.remove(&5); // the last slot: the order holds
        assert!(store.in_id_order());
        store.insert(4, case(4));
        assert!(store.in_id_order());
        store.insert(3, case(3));
        assert!(!store.in_id_order());

        let mut store = CaseStore::from_cases(vec![case(1), case(2), case(3)]).unwrap();
        assert!(store.in_id_order());
        store.remove(&1); // case 3 moves into slot 0
        assert!(!store.in_id_order());
        assert_eq!(store.at(0).map(|c| c.id), Some(3));
        assert!(
            !CaseStore::from_cases(vec![case(2), case(1)])
                .unwrap()
                .in_id_order()
        );
    }
}

//! The desk's case store: cases in a dense `Vec`, found through an [`IdMap`].

use crate::case::{Case, CaseId};
use crate::ids::IdMap;

/// The desk's cases: stored densely in a `Vec` (so a walk over ids in order walks memory
/// in order, and the id map stays small enough for the cache), found through an id map.
#[derive(Clone, Debug, Default)]
pub(crate) struct CaseStore {
    slots: Vec<Case>,
    slot_of: IdMap<CaseId, u32>,
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
        Ok(CaseStore { slots, slot_of })
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
        self.slot_of.insert(id, self.slots.len() as u32);
        self.slots.push(case);
    }

    pub(crate) fn remove(&mut self, id: &CaseId) -> Option<Case> {
        let slot = self.slot_of.remove(id)? as usize;
        let case = self.slots.swap_remove(slot);
        if let Some(moved) = self.slots.get(slot) {
            self.slot_of.insert(moved.id, slot as u32);
        }
        Some(case)
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

//! A fast hasher for the desk's maps keyed by case ids.
//!
//! Case ids come from the host, which the engine trusts (DESIGN.md), so the maps need no
//! protection against hash flooding and use a multiply-rotate hash (as rustc's FxHasher)
//! instead of SipHash: a lookup on a million-case desk is a multiply and a probe. Ids
//! keep their locality (see `write_u64`).

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// 2^64 divided by the golden ratio: multiplying by it spreads consecutive integers evenly
/// over the high bits of the product (Fibonacci hashing).
const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// FxHash-style hasher for integer keys.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdHasher(u64);

impl IdHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for IdHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
    }

    fn write_u8(&mut self, n: u8) {
        self.add(u64::from(n));
    }

    /// A case id keeps its low four bits, so ids up to 16 apart land in one group of 16
    /// buckets (hashbrown probes a group at once): a host's sequential ids, walked in
    /// order by a cascade or a restore, touch memory in order. The rest is multiplied by
    /// `GOLDEN` and rotated so that the product's middle bits, which depend on every bit
    /// of the id below them, become the low bits hashbrown indexes by: consecutive groups
    /// of 16 land evenly over the table, and so do ids with a stride (a host that shards
    /// by `id % 4096` gives each desk ids 4,096 apart). The low bits of a plain product
    /// depend only on the id's low bits, so such ids shared a small part of the table.
    fn write_u64(&mut self, n: u64) {
        let spread = (n >> 4).wrapping_mul(GOLDEN).rotate_left(40);
        self.0 = self.0.rotate_left(5) ^ ((spread << 4) | (n & 15));
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn write_isize(&mut self, n: isize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// A `HashMap` keyed by case ids (or small tuples of them).
pub(crate) type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, BuildHasherDefault};

    use super::IdHasher;

    fn hash(id: u64) -> u64 {
        BuildHasherDefault::<IdHasher>::default().hash_one(id)
    }

    #[test]
    fn ids_of_one_sixteen_land_in_consecutive_buckets() {
        let first = hash(4800);
        for id in 4801..4816 {
            assert_eq!(hash(id), first + (id - 4800));
        }
    }

    /// The most ids, out of 40,000 ids `stride` apart, whose probe starts in one group of
    /// 16 buckets of a 65,536-bucket table (hashbrown indexes by the low bits). Spread
    /// evenly, that is 10 per group.
    fn fullest_group(stride: u64) -> u32 {
        let mut per_group = vec![0u32; 4096];
        for i in 0..40_000 {
            per_group[((hash(7 + i * stride) >> 4) & 0xfff) as usize] += 1;
        }
        per_group.into_iter().max().unwrap_or_default()
    }

    #[test]
    fn strided_ids_spread_over_the_table() {
        // Sequential ids fill their group of 16, and a few such groups may share a start.
        // A plain multiply put 625 ids of stride 1,024 in each of 64 groups.
        for stride in [1, 16, 48, 1000, 1024, 4096, 65_536, 1 << 20] {
            let fullest = fullest_group(stride);
            assert!(fullest <= 64, "stride {stride}: {fullest} ids in one group");
        }
    }
}

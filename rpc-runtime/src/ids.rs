//! Maps keyed by call id or method id, hashed in one multiplication.
//!
//! The standard hasher (SipHash) costs more than the rest of a map lookup; a call touches
//! these maps several times (the server's running calls and its method table; the client
//! keeps its calls in a slab its call ids index). The keys need no protection from crafted
//! collisions: method ids are fixed when the server starts, and the server's map of running
//! calls holds at most `max_in_flight` of a connection's calls, so a client that picks
//! colliding ids can slow down only its own, short, probe sequences.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `HashMap` keyed by a `u32` id.
pub(crate) type IdMap<V> = HashMap<u32, V, BuildHasherDefault<IdHasher>>;

/// Fibonacci hashing of one integer: a multiplication by 2^64 / φ spreads consecutive ids
/// over the high bits (which hashbrown uses for its tags) and keeps the low bits distinct.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only reached for keys other than integers; fold them in, a byte at a time.
        for &b in bytes {
            self.write_u64(u64::from(b));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::BuildHasher as _;

    #[test]
    fn consecutive_ids_differ_in_high_and_low_bits() {
        let build = BuildHasherDefault::<IdHasher>::default();
        let hashes: Vec<u64> = (1..=64u32).map(|id| build.hash_one(id)).collect();
        let mut high: Vec<u64> = hashes.iter().map(|h| h >> 57).collect();
        high.sort_unstable();
        high.dedup();
        assert!(high.len() > 32, "poor spread of the top 7 bits: {high:?}");
        let mut low: Vec<u64> = hashes.iter().map(|h| h & 63).collect();
        low.sort_unstable();
        low.dedup();
        assert_eq!(low.len(), 64, "ids collide in the low 6 bits");
    }

    #[test]
    fn an_id_map_works_as_a_map() {
        let mut map = IdMap::default();
        for id in 0..1000u32 {
            map.insert(id.wrapping_mul(7919), id);
        }
        for id in 0..1000u32 {
            assert_eq!(map.get(&id.wrapping_mul(7919)), Some(&id));
        }
    }
}

//! A queue with one lane per client, served in turn, so that one client filling the queue
//! cannot keep every other client out of it.
//!
//! Items wait in per-key FIFO lanes. [`Lanes::pop`] takes the oldest item of the lane whose
//! turn it is, then moves that lane to the back of the turn order. When the queue is full,
//! [`Lanes::evict_for`] makes room for a key by taking the newest evictable item of the
//! longest lane, but only when that lane holds at least two items more than the key's own:
//! shares move towards equal and never swap back and forth.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// Per-key FIFO lanes, served round-robin.
#[derive(Debug)]
pub(crate) struct Lanes<K, T> {
    lanes: HashMap<K, VecDeque<Queued<T>>>,
    /// The keys of the non-empty lanes, in the order they will be served.
    turns: VecDeque<K>,
    len: usize,
}

#[derive(Debug)]
struct Queued<T> {
    item: T,
    evictable: bool,
}

impl<K: Hash + Eq + Clone, T> Lanes<K, T> {
    /// An empty queue.
    pub(crate) fn new() -> Self {
        Lanes {
            lanes: HashMap::new(),
            turns: VecDeque::new(),
            len: 0,
        }
    }

    /// How many items wait, in every lane.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Queues `item` at the back of `key`'s lane. Only an `evictable` item can later be
    /// taken out by [`evict_for`](Self::evict_for).
    pub(crate) fn push(&mut self, key: K, item: T, evictable: bool) {
        let lane = self.lanes.entry(key.clone()).or_default();
        if lane.is_empty() {
            self.turns.push_back(key);
        }
        lane.push_back(Queued { item, evictable });
        self.len += 1;
    }

    /// The oldest item of the lane whose turn it is.
    pub(crate) fn pop(&mut self) -> Option<T> {
        let key = self.turns.pop_front()?;
        let lane = self.lanes.get_mut(&key)?;
        let queued = lane.pop_front();
        if lane.is_empty() {
            self.lanes.remove(&key);
        } else {
            self.turns.push_back(key);
        }
        self.len -= usize::from(queued.is_some());
        queued.map(|q| q.item)
    }

    /// Takes out the item that should give its place to a new one from `key`: the newest
    /// evictable item of the longest lane, when that lane is at least two items longer than
    /// `key`'s. `None` when no lane is that much longer.
    pub(crate) fn evict_for(&mut self, key: &K) -> Option<T> {
        let own = self.lanes.get(key).map_or(0, VecDeque::len);
        let (victim, _) = self
            .lanes
            .iter()
            .filter(|(k, lane)| *k != key && lane.len() >= own + 2)
            .filter(|(_, lane)| lane.iter().any(|q| q.evictable))
            .max_by_key(|(_, lane)| lane.len())?;
        let victim = victim.clone();
        let lane = self.lanes.get_mut(&victim)?;
        let at = lane.iter().rposition(|q| q.evictable)?;
        let queued = lane.remove(at)?;
        if lane.is_empty() {
            self.lanes.remove(&victim);
            self.turns.retain(|k| *k != victim);
        }
        self.len -= 1;
        Some(queued.item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(lanes: &mut Lanes<char, u32>) -> Vec<u32> {
        std::iter::from_fn(|| lanes.pop()).collect()
    }

    #[test]
    fn lanes_are_served_in_turn_and_each_in_order() {
        let mut lanes = Lanes::new();
        for n in 1..=4 {
            lanes.push('a', n, true);
        }
        lanes.push('b', 10, true);
        lanes.push('c', 20, true);
        lanes.push('b', 11, true);
        assert_eq!(lanes.len(), 7);
        assert_eq!(drain(&mut lanes), [1, 10, 20, 2, 11, 3, 4]);
        assert_eq!(lanes.len(), 0);
        assert!(lanes.lanes.is_empty() && lanes.turns.is_empty());
    }

    #[test]
    fn a_new_key_takes_the_place_of_the_newest_item_of_the_longest_lane() {
        let mut lanes = Lanes::new();
        for n in 1..=3 {
            lanes.push('a', n, true);
        }
        lanes.push('b', 10, true);
        assert_eq!(lanes.evict_for(&'c'), Some(3));
        lanes.push('c', 20, true);
        assert_eq!(lanes.len(), 4);
        assert_eq!(drain(&mut lanes), [1, 10, 20, 2]);
    }

    #[test]
    fn nothing_is_evicted_for_a_key_with_a_share_as_large() {
        let mut lanes = Lanes::new();
        for n in 1..=3 {
            lanes.push('a', n, true);
        }
        // Own lane: never.
        assert_eq!(lanes.evict_for(&'a'), None);
        // One item fewer: swapping would only move the imbalance.
        lanes.push('b', 10, true);
        lanes.push('b', 11, true);
        assert_eq!(lanes.evict_for(&'b'), None);
        // Two fewer: yes.
        assert_eq!(lanes.evict_for(&'c'), Some(3));
        assert_eq!(lanes.len(), 4);
    }

    #[test]
    fn items_that_may_not_be_evicted_stay() {
        let mut lanes = Lanes::new();
        lanes.push('a', 1, true);
        lanes.push('a', 2, false);
        lanes.push('a', 3, false);
        assert_eq!(lanes.evict_for(&'b'), Some(1), "the newest evictable one");
        assert_eq!(lanes.evict_for(&'b'), None);
        assert_eq!(drain(&mut lanes), [2, 3]);
    }

    #[test]
    fn a_lane_emptied_by_eviction_leaves_the_turns() {
        let mut lanes = Lanes::new();
        lanes.push('a', 1, true);
        lanes.push('a', 2, true);
        assert_eq!(lanes.evict_for(&'b'), Some(2));
        assert_eq!(lanes.evict_for(&'b'), None, "now only one more than b's");
        lanes.push('b', 10, true);
        assert_eq!(drain(&mut lanes), [1, 10]);
        assert!(lanes.turns.is_empty());
    }
}

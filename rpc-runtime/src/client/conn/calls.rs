//! The calls in flight on one connection: a slab of slots, found from a call id without
//! hashing, because the id a call puts on the wire names its slot.
//!
//! An id holds a slot index and a generation that moves on each time the slot is freed, so an
//! answer that arrives for a call that was dropped (its slot since reused) carries a stale id
//! and completes nothing. The first `SMALL_SLOTS` slots, the ones steady traffic reuses most
//! (free slots are reused last-freed first), get ids with the top bit clear: 12 bits of index
//! and 19 of generation, the generation never 0 so that no id is 0 (the connection's id).
//! Slots past them, needed only with thousands of calls in flight, get ids with the top bit
//! set: 16 bits of index and 15 of generation. A slot's id comes back only after its slot was
//! reused 2^15 times (2^19 - 1 for a small slot); until then a late answer to a call given up
//! in it cannot be taken for a newer call's, however fast calls are started and dropped. The server only echoes ids, so how they are
//! chosen is the client's business; each is non-zero and unique among the calls in flight.
//!
//! The slab never shrinks: it holds as many slots as were ever in flight at once.

use super::Outcome;
use crate::error::RpcError;
use std::task::Waker;

/// Bits of slot index in an id with the top bit clear.
const SMALL_BITS: u32 = 12;
/// How many slots get ids with the top bit clear.
const SMALL_SLOTS: u32 = 1 << SMALL_BITS;
/// Generations of a small slot: 1 to `SMALL_GENS - 1`.
const SMALL_GENS: u32 = 1 << (31 - SMALL_BITS);
/// The top bit, set in the ids of the slots past the small ones.
const LARGE: u32 = 1 << 31;
/// Bits of slot index (counted from `SMALL_SLOTS`) in an id with the top bit set.
const LARGE_BITS: u32 = 16;
/// Generations of a large slot: 0 to `LARGE_GENS - 1`.
const LARGE_GENS: u32 = 1 << (31 - LARGE_BITS);

/// The most calls one connection can have in flight.
pub(super) const MAX_CALLS: usize = (SMALL_SLOTS + (1 << LARGE_BITS)) as usize;

/// The slot an id names (which may be past the end of the slab, for an id the server made up).
#[inline]
fn index_of(id: u32) -> usize {
    if id & LARGE == 0 {
        (id & (SMALL_SLOTS - 1)) as usize
    } else {
        (SMALL_SLOTS + (id & ((1 << LARGE_BITS) - 1))) as usize
    }
}

/// The id of the first call in slot `index` (below `MAX_CALLS`).
fn first_id(index: usize) -> u32 {
    let index = index as u32;
    if index < SMALL_SLOTS {
        (1 << SMALL_BITS) | index
    } else {
        LARGE | (index - SMALL_SLOTS)
    }
}

/// The id of the next call in the slot of `id`: the same index, the next generation.
fn next_id(id: u32) -> u32 {
    if id & LARGE == 0 {
        let generation = (id >> SMALL_BITS) + 1;
        let generation = if generation == SMALL_GENS {
            1
        } else {
            generation
        };
        (generation << SMALL_BITS) | (id & (SMALL_SLOTS - 1))
    } else {
        let generation = ((id >> LARGE_BITS) + 1) & (LARGE_GENS - 1);
        LARGE | (generation << LARGE_BITS) | (id & ((1 << LARGE_BITS) - 1))
    }
}

/// Where a polled call stands (`Calls::poll`).
///
/// `Waiting` and `Read` carry the waker the poll displaced from the slot, if any: the caller
/// drops it only after releasing the connection's lock, since dropping a waker runs code that
/// is not ours (the last reference to a task drops the task's future, which may hold a call
/// on this very connection, and dropping that call takes the lock).
#[derive(Debug)]
pub(super) enum Polled {
    /// Its outcome is in; its slot is free.
    Done(Outcome),
    /// It waits for another caller to read for it.
    Waiting(Option<Waker>),
    /// No outcome yet and nobody reads for it: it is to read.
    Read(Option<Waker>),
    /// It is not in flight.
    Gone,
}

/// One call's place: whom to wake, and the outcome once it is in.
#[derive(Debug)]
pub(super) struct Slot {
    /// The id of the call in the slot, or of the next one while the slot is free.
    id: u32,
    /// Whether a call holds the slot.
    live: bool,
    /// Whether the slot's index is on `Calls::waiting`.
    queued: bool,
    /// The call's waker while it waits for another caller to read for it.
    pub(super) waker: Option<Waker>,
    pub(super) done: Option<Outcome>,
}

/// The calls in flight, by id.
#[derive(Debug)]
pub(super) struct Calls {
    slots: Vec<Slot>,
    /// Free slots' indexes; the last one freed is reused first.
    free: Vec<u32>,
    /// How many slots hold a call.
    live: usize,
    /// Slots whose call may be waiting with a waker, each at most once; the reader role goes
    /// to one of them. A slot stays on it after its waker is taken, and is dropped from it
    /// when next looked at, so the list is never longer than the slab.
    waiting: Vec<u32>,
    /// The most slots the slab may hold: `MAX_CALLS`, less in tests.
    max: usize,
}

impl Default for Calls {
    fn default() -> Calls {
        Calls {
            slots: Vec::new(),
            free: Vec::new(),
            live: 0,
            waiting: Vec::new(),
            max: MAX_CALLS,
        }
    }
}

impl Calls {
    /// How many calls are in flight.
    pub(super) fn len(&self) -> usize {
        self.live
    }

    /// Whether no call is in flight.
    pub(super) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// The id the next call will get (`insert` takes its slot); `None` when `MAX_CALLS` calls
    /// are in flight already.
    pub(super) fn vacant_id(&self) -> Option<u32> {
        match self.free.last() {
            Some(&index) => Some(self.slots[index as usize].id),
            None if self.slots.len() < self.max => Some(first_id(self.slots.len())),
            None => None,
        }
    }

    /// Takes a slot for a new call and returns the call's id (the one `vacant_id` gave); `None`
    /// when `MAX_CALLS` calls are in flight already.
    pub(super) fn insert(&mut self) -> Option<u32> {
        let index = match self.free.pop() {
            Some(index) => index as usize,
            None if self.slots.len() < self.max => {
                self.slots.push(Slot {
                    id: first_id(self.slots.len()),
                    live: false,
                    queued: false,
                    waker: None,
                    done: None,
                });
                self.slots.len() - 1
            }
            None => return None,
        };
        let slot = &mut self.slots[index];
        slot.live = true;
        self.live += 1;
        Some(slot.id)
    }

    /// The slot of call `id`, if that call is in flight.
    #[inline]
    pub(super) fn get_mut(&mut self, id: u32) -> Option<&mut Slot> {
        self.slots
            .get_mut(index_of(id))
            .filter(|slot| slot.live && slot.id == id)
    }

    /// The index of call `id`'s slot, if that call is in flight.
    #[inline]
    fn find(&self, id: u32) -> Option<usize> {
        let index = index_of(id);
        self.slots
            .get(index)
            .is_some_and(|slot| slot.live && slot.id == id)
            .then_some(index)
    }

    /// Frees slot `index` (in use) for the next call, under the next id. Its waker has been
    /// taken: a waker is never dropped here, under the connection's lock.
    #[inline]
    fn free(&mut self, index: usize) {
        let slot = &mut self.slots[index];
        debug_assert!(slot.waker.is_none(), "a freed slot keeps its waker");
        slot.live = false;
        slot.id = next_id(slot.id);
        self.live -= 1;
        self.free.push(index as u32);
    }

    /// Frees the slot of call `id`, if in flight, and returns its outcome if it had one,
    /// and its waker if it had one (for the caller to drop once the lock is released).
    pub(super) fn remove(&mut self, id: u32) -> Option<(Option<Outcome>, Option<Waker>)> {
        let index = self.find(id)?;
        let slot = &mut self.slots[index];
        let done = slot.done.take();
        let waker = slot.waker.take();
        self.free(index);
        Some((done, waker))
    }

    /// Where call `id` stands, for its future's poll: with its outcome in, takes it and frees
    /// the slot; without, keeps `wait` to wake it if given (another caller reads for it), or
    /// gives up its waker (it is to read itself). A waker the poll displaces is returned, not
    /// dropped (see `Polled`).
    #[inline]
    pub(super) fn poll(&mut self, id: u32, wait: Option<&Waker>) -> Polled {
        let Some(index) = self.find(id) else {
            return Polled::Gone;
        };
        let slot = &mut self.slots[index];
        if let Some(done) = slot.done.take() {
            // Whoever put the outcome in took the waker with it (`on_frame`, `fail_all`), and
            // no waker is stored beside an outcome: the slot has none to drop.
            self.free(index);
            return Polled::Done(done);
        }
        let Some(waker) = wait else {
            return Polled::Read(slot.waker.take());
        };
        let old = match &slot.waker {
            Some(w) if w.will_wake(waker) => None,
            _ => slot.waker.replace(waker.clone()),
        };
        if !slot.queued {
            slot.queued = true;
            self.waiting.push(index as u32);
        }
        Polled::Waiting(old)
    }

    /// Takes the waker of a call that waits for another to read, if any.
    pub(super) fn take_waiting(&mut self) -> Option<Waker> {
        while let Some(index) = self.waiting.pop() {
            let slot = &mut self.slots[index as usize];
            slot.queued = false;
            if slot.live
                && slot.done.is_none()
                && let Some(waker) = slot.waker.take()
            {
                return Some(waker);
            }
        }
        None
    }

    /// Fails every call still waiting for its outcome with `error`; collects their wakers.
    pub(super) fn fail_all(&mut self, error: &RpcError, wakers: &mut Vec<Waker>) {
        for slot in &mut self.slots {
            if slot.live && slot.done.is_none() {
                slot.done = Some(Err(error.clone()));
                wakers.extend(slot.waker.take());
            }
        }
    }

    /// Lowers the most calls in flight, so that a test can reach it.
    #[cfg(test)]
    pub(super) fn set_max(&mut self, max: usize) {
        self.max = max.min(MAX_CALLS);
    }

    /// How many entries the list of waiting slots holds, stale ones included.
    #[cfg(test)]
    pub(super) fn waiting_len(&self) -> usize {
        self.waiting.len()
    }

    /// How many slots the slab holds: the most calls that were ever in flight at once.
    #[cfg(test)]
    pub(super) fn slots(&self) -> usize {
        self.slots.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_name_their_slot_are_never_0_and_change_with_each_reuse() {
        let edges = [0, 1, 4095, 4096, 4097, MAX_CALLS - 1];
        for index in edges {
            let mut id = first_id(index);
            let mut seen = HashSet::new();
            // Through a whole cycle of a large slot's generations and then some.
            for _ in 0..3 * LARGE_GENS {
                assert_ne!(id, 0, "slot {index}");
                assert_eq!(index_of(id), index, "id {id:#x}");
                seen.insert(id);
                id = next_id(id);
            }
            let cycle = if index < SMALL_SLOTS as usize {
                3 * LARGE_GENS as usize
            } else {
                LARGE_GENS as usize
            };
            assert_eq!(seen.len(), cycle, "slot {index}: generations repeat early");
        }
        // A small slot's generations wrap around past 0.
        let last = ((SMALL_GENS - 1) << SMALL_BITS) | 5;
        assert_eq!(index_of(last), 5);
        assert_eq!(next_id(last), first_id(5));
        // A large slot's too.
        let last = LARGE | ((LARGE_GENS - 1) << LARGE_BITS) | 7;
        assert_eq!(index_of(last), SMALL_SLOTS as usize + 7);
        assert_eq!(next_id(last), first_id(SMALL_SLOTS as usize + 7));
    }

    #[test]
    fn freed_slots_are_reused_last_freed_first_under_a_new_id() {
        let mut calls = Calls::default();
        let a = calls.insert().unwrap();
        let b = calls.insert().unwrap();
        assert!(matches!(calls.remove(a), Some((None, None))));
        assert!(calls.remove(a).is_none(), "removed twice");
        let vacant = calls.vacant_id();
        let c = calls.insert().unwrap();
        assert_eq!(vacant, Some(c), "the vacant id is not the one taken");
        assert_eq!(calls.vacant_id(), Some(first_id(2)));
        assert_eq!(index_of(c), index_of(a));
        assert_ne!(c, a);
        assert!(calls.get_mut(a).is_none(), "a stale id finds the new call");
        assert!(matches!(calls.poll(a, None), Polled::Gone));
        assert!(calls.get_mut(c).is_some());
        assert!(calls.get_mut(b).is_some());
        assert_eq!((calls.len(), calls.slots()), (2, 2));
        // An id that names a slot past the slab, or no call, finds nothing.
        assert!(calls.get_mut(first_id(9)).is_none());
        assert!(calls.get_mut(0).is_none());
        assert!(calls.remove(u32::MAX).is_none());
    }

    #[test]
    fn a_waiting_call_is_found_once_and_a_stale_entry_is_skipped() {
        let mut calls = Calls::default();
        let a = calls.insert().unwrap();
        let b = calls.insert().unwrap();
        assert!(matches!(
            calls.poll(a, Some(Waker::noop())),
            Polled::Waiting(_)
        ));
        assert!(matches!(
            calls.poll(a, Some(Waker::noop())),
            Polled::Waiting(_)
        ));
        assert!(matches!(
            calls.poll(b, Some(Waker::noop())),
            Polled::Waiting(_)
        ));
        // b completes (its waker taken), a is freed and its slot reused by c, which waits.
        calls.get_mut(b).unwrap().waker.take();
        calls.remove(a);
        let c = calls.insert().unwrap();
        assert!(calls.take_waiting().is_none(), "c has not registered");
        assert!(matches!(
            calls.poll(c, Some(Waker::noop())),
            Polled::Waiting(_)
        ));
        assert!(calls.take_waiting().is_some());
        assert!(calls.take_waiting().is_none());
        assert!(calls.waiting.is_empty());
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The LRU of the entries whose data is in the pool, threaded through the entries.
//!
//! An [`Entry`] that is Stored or Raw keeps its LRU links in its second word, as entry
//! indices plus one, so the list costs no memory beyond the entries. [`Lru`] implements the
//! list (push to the front, remove, take the oldest) and the second-chance scan the
//! writeback engine uses, driven by the [`flags::REFERENCED`] bit.

use super::entry::{flags, Entry, EntryError};

/// Largest entry index an [`Lru`] can link.
pub const MAX_LRU_INDEX: u32 = u32::MAX - 1;

/// A frontend's array of entries as the LRU sees it.
pub trait EntryTable {
    /// Entry `index`, or `None` if out of range.
    fn entry_mut(&mut self, index: u32) -> Option<&mut Entry>;
}

impl EntryTable for [Entry] {
    fn entry_mut(&mut self, index: u32) -> Option<&mut Entry> {
        self.get_mut(index as usize)
    }
}

/// An LRU of entries, threaded through their second word.
///
/// The front is the most recently added entry; the back the oldest. All operations are
/// O(1) except [`Lru::second_chance`], which looks at most at `max_scan` entries.
///
/// # Invariants
///
/// `head`, `tail` and the links of the `len` entries on the list form a well-formed doubly
/// linked list within one [`EntryTable`]; every linked entry is Stored or Raw.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Lru {
    head: Option<u32>,
    tail: Option<u32>,
    len: u32,
}

impl Lru {
    /// An empty list.
    pub const fn new() -> Self {
        Self {
            head: None,
            tail: None,
            len: 0,
        }
    }

    /// Number of entries on the list.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The oldest entry.
    pub fn back(&self) -> Option<u32> {
        self.tail
    }

    /// The newest entry.
    pub fn front(&self) -> Option<u32> {
        self.head
    }

    /// Whether entry `index` of `t` is on this list.
    pub fn contains<T: EntryTable + ?Sized>(&self, t: &mut T, index: u32) -> bool {
        match t.entry_mut(index) {
            Some(e) if e.in_pool() => {
                e.lru_prev().is_some() || e.lru_next().is_some() || self.head == Some(index)
            }
            _ => false,
        }
    }

    /// Adds entry `index` (Stored or Raw, not on the list) at the front.
    pub fn push_front<T: EntryTable + ?Sized>(
        &mut self,
        t: &mut T,
        index: u32,
    ) -> Result<(), EntryError> {
        if index > MAX_LRU_INDEX || !t.entry_mut(index).is_some_and(|e| e.in_pool()) {
            return Err(EntryError::NotLinkable);
        }
        if self.contains(t, index) {
            return Err(EntryError::AlreadyLinked);
        }
        let old = self.head;
        if let Some(h) = old {
            if let Some(e) = t.entry_mut(h) {
                let next = e.lru_next();
                e.set_links(Some(index), next);
            }
        }
        if let Some(e) = t.entry_mut(index) {
            e.set_links(None, old);
        }
        // INVARIANT: `index` is linked in front of the old head.
        self.head = Some(index);
        if self.tail.is_none() {
            self.tail = Some(index);
        }
        self.len += 1;
        Ok(())
    }

    /// Removes entry `index` from the list. Call before changing a linked entry's state.
    pub fn remove<T: EntryTable + ?Sized>(
        &mut self,
        t: &mut T,
        index: u32,
    ) -> Result<(), EntryError> {
        if !self.contains(t, index) {
            return Err(EntryError::NotLinked);
        }
        let Some(e) = t.entry_mut(index) else {
            return Err(EntryError::NotLinked);
        };
        let (prev, next) = (e.lru_prev(), e.lru_next());
        e.set_links(None, None);
        match prev {
            Some(p) => {
                if let Some(pe) = t.entry_mut(p) {
                    let pp = pe.lru_prev();
                    pe.set_links(pp, next);
                }
            }
            None => self.head = next,
        }
        match next {
            Some(n) => {
                if let Some(ne) = t.entry_mut(n) {
                    let nn = ne.lru_next();
                    ne.set_links(prev, nn);
                }
            }
            None => self.tail = prev,
        }
        // INVARIANT: the neighbours now point at each other.
        self.len -= 1;
        Ok(())
    }

    /// Removes and returns the oldest entry.
    pub fn pop_back<T: EntryTable + ?Sized>(&mut self, t: &mut T) -> Option<u32> {
        let i = self.tail?;
        self.remove(t, i).ok()?;
        Some(i)
    }

    /// Second-chance scan: looks at up to `max_scan` entries from the back; an entry with
    /// [`flags::REFERENCED`] loses the flag and moves to the front, the first one without it
    /// is removed and returned as the writeback victim.
    pub fn second_chance<T: EntryTable + ?Sized>(
        &mut self,
        t: &mut T,
        max_scan: u32,
    ) -> Option<u32> {
        for _ in 0..max_scan {
            let i = self.tail?;
            let referenced = t
                .entry_mut(i)
                .is_some_and(|e| e.test_flags(flags::REFERENCED));
            self.remove(t, i).ok()?;
            if !referenced {
                return Some(i);
            }
            if let Some(e) = t.entry_mut(i) {
                e.clear_flags(flags::REFERENCED);
            }
            self.push_front(t, i).ok()?;
        }
        None
    }
}

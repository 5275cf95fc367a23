// SPDX-License-Identifier: GPL-2.0

//! Handles: what a caller holds for a stored object, and the table that says where the
//! object is now.
//!
//! A [`Handle`] is an index into the handle table, whose 5-byte slots (819 to a page) hold
//! the object's current place (span and slot) and its length; the class follows from the
//! length. Compaction moves objects and rewrites their slots, so the handle a caller holds
//! stays valid across compaction with nothing for the caller to do. A small object's slot
//! header holds the low [`SLOT_HEADER`] bytes of its handle, which is how compaction finds
//! the handle of an object it moves; that bounds the handles, and so the objects, of a pool
//! to [`MAX_OBJECTS`]. Free handles are reused last freed first, through a list threaded
//! through their slots.
//!
//! A live slot holds `slot << 31 | (len - 1) << 19 | span` in 40 bits, little endian (slot 9
//! bits, length 12, span [`SPAN_BITS`]); a free one holds all ones in the slot field and the
//! next free handle below it; a slot handed out and not yet set holds zero.

use core::num::NonZeroU32;

use super::super::page_source::{PageSource, PAGE_SIZE};
use super::class::{Class, MAX_SPAN_SLOTS, SLOT_HEADER};
use super::pages::Pages;
use super::table::Table;
use super::Error;

/// An opaque reference to a stored object.
///
/// A handle stays valid, and refers to the same bytes, from the
/// [`Pool::store`](super::Pool::store) that returned it until it is passed to
/// [`Pool::free`](super::Pool::free), whatever compaction does in between. It fits in 32
/// bits so entries can embed it; zero is never a handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(NonZeroU32);

impl Handle {
    /// Returns the raw 32-bit value, for embedding in an entry.
    pub const fn to_raw(self) -> u32 {
        self.0.get()
    }

    /// Rebuilds a handle from [`Handle::to_raw`]'s value; `None` for zero.
    pub const fn from_raw(raw: u32) -> Option<Self> {
        match NonZeroU32::new(raw) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }
}

/// Bits of a span id in a handle slot.
pub(super) const SPAN_BITS: u32 = 19;

/// A handle slot.
type Slot = [u8; 5];

/// Value of the slot field of a free handle slot, which no span has.
const FREE_SLOT: u64 = 0x1ff;

const _: () = assert!(MAX_SPAN_SLOTS < FREE_SLOT as usize && PAGE_SIZE <= 1 << 12);

/// Largest number of handles, and so of objects, one pool can hold: bounded by the handle
/// table's reach and by the handle bytes a slot header holds.
pub const MAX_OBJECTS: usize = {
    let reach = Table::<Slot>::REACH;
    let header = 1 << (8 * SLOT_HEADER);
    (if reach < header { reach } else { header }) - 1
};

const _: () = assert!(MAX_OBJECTS < 1 << 31);

/// Where a live object is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Loc {
    pub(super) span: u32,
    pub(super) slot: usize,
    pub(super) len: usize,
}

impl Loc {
    pub(super) fn class(&self) -> Class {
        Class::of_len(self.len)
    }
}

/// A decoded handle slot.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    /// Handed out, not yet set.
    Unset,
    Live(Loc),
    /// On the free list, before handle `next` (0 ends the list).
    Free {
        next: u32,
    },
}

fn encode(state: State) -> Slot {
    let v = match state {
        State::Unset => 0,
        State::Live(l) => (l.slot as u64) << 31 | ((l.len - 1) as u64) << 19 | l.span as u64,
        State::Free { next } => FREE_SLOT << 31 | next as u64,
    };
    let b = v.to_le_bytes();
    [b[0], b[1], b[2], b[3], b[4]]
}

fn decode(s: &Slot) -> State {
    let v = u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], 0, 0, 0]);
    let slot = v >> 31;
    let span = (v & ((1 << SPAN_BITS) - 1)) as u32;
    if slot == FREE_SLOT {
        State::Free {
            next: (v & 0x7fff_ffff) as u32,
        }
    } else if span == 0 {
        State::Unset
    } else {
        State::Live(Loc {
            span,
            slot: slot as usize,
            len: ((v >> 19) & 0xfff) as usize + 1,
        })
    }
}

/// The handle table.
///
/// # Invariants
///
/// Handles `1..next` have populated table slots; `free` heads the list of free handles
/// (0 ends it).
pub(super) struct Handles {
    table: Table<Slot>,
    next: u32,
    free: u32,
}

impl Handles {
    pub(super) const fn new() -> Self {
        Self {
            table: Table::new(),
            next: 1,
            free: 0,
        }
    }

    fn state(&self, idx: u32) -> Option<State> {
        if idx == 0 || idx >= self.next {
            return None;
        }
        self.table.get(idx as usize).map(decode)
    }

    fn set_state(&mut self, idx: u32, state: State) -> Result<(), Error> {
        if idx == 0 || idx >= self.next {
            return Err(Error::Corrupt("no such handle"));
        }
        let slot = self.table.get_mut(idx as usize);
        *slot.ok_or(Error::Corrupt("handle without a slot"))? = encode(state);
        Ok(())
    }

    /// Takes a handle, unset until [`Handles::set`].
    pub(super) fn alloc<S: PageSource>(&mut self, pages: &mut Pages<S>) -> Result<u32, Error> {
        if self.free != 0 {
            let idx = self.free;
            let Some(State::Free { next }) = self.state(idx) else {
                return Err(Error::Corrupt("free handle list"));
            };
            self.set_state(idx, State::Unset)?;
            self.free = next;
            return Ok(idx);
        }
        let idx = self.next;
        if idx as usize > MAX_OBJECTS {
            return Err(Error::Full);
        }
        *self.table.populate(idx as usize, pages)? = encode(State::Unset);
        // INVARIANT: the slot of `idx` was just populated.
        self.next += 1;
        Ok(idx)
    }

    /// Records that the object of handle `idx` is at `loc`.
    pub(super) fn set(&mut self, idx: u32, loc: Loc) -> Result<(), Error> {
        self.set_state(idx, State::Live(loc))
    }

    /// Where the object of handle `idx` is, if the handle is live.
    pub(super) fn get(&self, idx: u32) -> Option<Loc> {
        match self.state(idx)? {
            State::Live(loc) => Some(loc),
            _ => None,
        }
    }

    /// Puts handle `idx` on the free list.
    pub(super) fn free(&mut self, idx: u32) -> Result<(), Error> {
        self.set_state(idx, State::Free { next: self.free })?;
        self.free = idx;
        Ok(())
    }

    /// Every handle handed out, live or not.
    #[cfg(any(test, debug_assertions))]
    pub(super) fn ids(&self) -> core::ops::Range<u32> {
        1..self.next
    }

    /// Checks that every handle is live or on the free list, once; returns how many are live.
    #[cfg(any(test, debug_assertions))]
    pub(super) fn check(&self) -> Result<u64, Error> {
        let mut free = 0u64;
        let mut idx = self.free;
        while idx != 0 {
            free += 1;
            if free >= self.next as u64 {
                return Err(Error::Corrupt("free handle list loops"));
            }
            match self.state(idx) {
                Some(State::Free { next }) => idx = next,
                _ => return Err(Error::Corrupt("free handle list holds a live handle")),
            }
        }
        let live = self.ids().filter(|&i| self.get(i).is_some()).count() as u64;
        if live + free + 1 != self.next as u64 {
            return Err(Error::Corrupt("handles neither live nor free"));
        }
        Ok(live)
    }

    /// Gives the table's pages back to `pages`.
    pub(super) fn release<S: PageSource>(&mut self, pages: &mut Pages<S>) {
        self.table.release(pages);
        *self = Self::new();
    }
}

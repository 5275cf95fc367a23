// SPDX-License-Identifier: GPL-2.0

//! The per-page record a frontend keeps, in 16 bytes, and the LRU threaded through it.
//!
//! Each frontend keeps one [`Entry`] per page it knows (per swap slot, per sector-sized
//! page of a block device), in a flat array indexed by a 32-bit index. An entry says where
//! the page's data is, with no allocation:
//!
//! ```text
//!              word a (u64)                                  word b (u64)
//!              63      32 31    21 20     8 7     3 2   0
//!             +----------+--------+--------+-------+-----+  +----------+----------+
//! Stored      | handle   | 0      | len    | flags | tag |  | next + 1 | prev + 1 |
//! Raw         | handle   | 0               | flags | tag |  | next + 1 | prev + 1 |
//! SameFilled  | 0                          | flags | tag |  | fill value (u64)    |
//! WrittenBack | device slot (43)  | len    | flags | tag |  | 0                   |
//! Empty       | 0                                  | 0   |  | 0                   |
//!             +----------+--------+--------+-------+-----+  +----------+----------+
//! ```
//!
//! Only entries whose data is in the pool (Stored and Raw) are on the LRU, so the second
//! word holds their LRU links; a same-filled page uses it for its fill value instead, and
//! nothing else needs it. The LRU therefore costs no bytes beyond the 16 of the entry. The
//! links are entry indices plus one (zero means none), so an all-zero entry is Empty and
//! unlinked, and a frontend can zero-fill its array to initialise it.
//!
//! [`Lru`] implements the list (push to the front, remove, take the oldest) and the
//! second-chance scan the writeback engine uses, driven by the [`flags::REFERENCED`] bit.

use crate::page_source::PAGE_SIZE;
use crate::pool::Handle;

/// Entry flags, five bits kept in every non-empty entry.
pub mod flags {
    /// Accessed since the LRU last looked at it (second chance before writeback).
    pub const REFERENCED: u8 = 1 << 0;
    /// Marked idle by userspace (zram's `idle` attribute).
    pub const IDLE: u8 = 1 << 1;
    /// Recompression was tried and failed (zram's `ZRAM_INCOMPRESSIBLE`).
    pub const INCOMPRESSIBLE: u8 = 1 << 2;
    /// Writeback of this entry is in flight.
    pub const WRITEBACK: u8 = 1 << 3;
    /// Reserved for the frontend.
    pub const USER: u8 = 1 << 4;
    /// All defined flags.
    pub const ALL: u8 = 0x1f;
}

const TAG_EMPTY: u64 = 0;
const TAG_SAME: u64 = 1;
const TAG_STORED: u64 = 2;
const TAG_RAW: u64 = 3;
const TAG_WB: u64 = 4;
const TAG_MASK: u64 = 0x7;
const FLAGS_SHIFT: u32 = 3;
const LEN_SHIFT: u32 = 8;
const LEN_MASK: u64 = 0x1fff;
const HANDLE_SHIFT: u32 = 32;
const WB_SLOT_SHIFT: u32 = 21;

/// Largest device slot a written-back entry can record (43 bits).
pub const MAX_WB_SLOT: u64 = (1 << (64 - WB_SLOT_SHIFT)) - 1;

/// Largest entry index an [`Lru`] can link.
pub const MAX_LRU_INDEX: u32 = u32::MAX - 1;

/// Where a page's data is, decoded from an [`Entry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// Nothing stored.
    Empty,
    /// Every 64-bit word of the page equals `value`; nothing is in the pool.
    SameFilled(u64),
    /// Compressed to `len` bytes (1 to `PAGE_SIZE - 1`), stored in the pool under `handle`.
    Stored {
        /// Pool handle of the compressed bytes.
        handle: Handle,
        /// Compressed length.
        len: u16,
    },
    /// Incompressible, stored as is (`PAGE_SIZE` bytes) in the pool under `handle`.
    Raw {
        /// Pool handle of the page's bytes.
        handle: Handle,
    },
    /// Written to the backing device at `slot` (in pages); `len` bytes were written:
    /// `PAGE_SIZE` for the plain page, less for a compressed writeback.
    WrittenBack {
        /// Slot on the backing device, at most [`MAX_WB_SLOT`].
        slot: u64,
        /// Bytes written, 1 to `PAGE_SIZE`.
        len: u16,
    },
}

/// Why an entry could not be built or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryError {
    /// A length is out of range for the state.
    BadLength,
    /// A device slot is above [`MAX_WB_SLOT`].
    BadSlot,
    /// The bytes do not encode an entry.
    Corrupt,
    /// The entry index is out of range or the entry is not in a state that goes on the LRU.
    NotLinkable,
    /// The entry is already on the LRU.
    AlreadyLinked,
    /// The entry is not on the LRU.
    NotLinked,
}

/// A 16-byte per-page record. See the [module documentation](self) for the layout.
///
/// # Invariants
///
/// `a` and `b` always hold one of the encodings in the module documentation: a valid tag,
/// zero in unused bits, lengths in range, a nonzero handle for Stored and Raw.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Entry {
    a: u64,
    b: u64,
}

const _: () = assert!(core::mem::size_of::<Entry>() == 16);

impl Entry {
    /// The empty entry (all zero bytes).
    pub const EMPTY: Entry = Entry { a: 0, b: 0 };

    /// Encodes `state` with no flags and no LRU links.
    pub fn new(state: EntryState) -> Result<Entry, EntryError> {
        // INVARIANT: each arm checks the ranges the encoding needs.
        let (a, b) = match state {
            EntryState::Empty => (0, 0),
            EntryState::SameFilled(v) => (TAG_SAME, v),
            EntryState::Stored { handle, len } => {
                if len == 0 || len as usize >= PAGE_SIZE {
                    return Err(EntryError::BadLength);
                }
                (
                    TAG_STORED
                        | ((len as u64) << LEN_SHIFT)
                        | ((handle.to_raw() as u64) << HANDLE_SHIFT),
                    0,
                )
            }
            EntryState::Raw { handle } => (TAG_RAW | ((handle.to_raw() as u64) << HANDLE_SHIFT), 0),
            EntryState::WrittenBack { slot, len } => {
                if len == 0 || len as usize > PAGE_SIZE {
                    return Err(EntryError::BadLength);
                }
                if slot > MAX_WB_SLOT {
                    return Err(EntryError::BadSlot);
                }
                (
                    TAG_WB | ((len as u64) << LEN_SHIFT) | (slot << WB_SLOT_SHIFT),
                    0,
                )
            }
        };
        Ok(Entry { a, b })
    }

    /// Decodes the entry.
    pub fn state(&self) -> EntryState {
        let len = ((self.a >> LEN_SHIFT) & LEN_MASK) as u16;
        let handle = Handle::from_raw((self.a >> HANDLE_SHIFT) as u32);
        match (self.a & TAG_MASK, handle) {
            (TAG_SAME, _) => EntryState::SameFilled(self.b),
            (TAG_STORED, Some(handle)) => EntryState::Stored { handle, len },
            (TAG_RAW, Some(handle)) => EntryState::Raw { handle },
            (TAG_WB, _) => EntryState::WrittenBack {
                slot: self.a >> WB_SLOT_SHIFT,
                len,
            },
            _ => EntryState::Empty,
        }
    }

    /// Whether the entry is Empty.
    pub fn is_empty(&self) -> bool {
        self.a & TAG_MASK == TAG_EMPTY
    }

    /// The pool handle of a Stored or Raw entry.
    pub fn handle(&self) -> Option<Handle> {
        match self.state() {
            EntryState::Stored { handle, .. } | EntryState::Raw { handle } => Some(handle),
            _ => None,
        }
    }

    /// Bytes the entry occupies in the pool: the compressed length, `PAGE_SIZE` for a raw
    /// page, zero otherwise.
    pub fn pool_len(&self) -> usize {
        match self.state() {
            EntryState::Stored { len, .. } => len as usize,
            EntryState::Raw { .. } => PAGE_SIZE,
            _ => 0,
        }
    }

    /// Whether the entry's data is in the pool, so that it belongs on the LRU.
    pub fn in_pool(&self) -> bool {
        matches!(self.a & TAG_MASK, TAG_STORED | TAG_RAW)
    }

    /// The entry's flags (see [`flags`]); zero for an Empty entry.
    pub fn flags(&self) -> u8 {
        ((self.a >> FLAGS_SHIFT) as u8) & flags::ALL
    }

    /// Sets the flags in `f` (ignored on an Empty entry).
    pub fn set_flags(&mut self, f: u8) {
        if !self.is_empty() {
            // INVARIANT: only the five flag bits change.
            self.a |= ((f & flags::ALL) as u64) << FLAGS_SHIFT;
        }
    }

    /// Clears the flags in `f`.
    pub fn clear_flags(&mut self, f: u8) {
        // INVARIANT: only the five flag bits change.
        self.a &= !(((f & flags::ALL) as u64) << FLAGS_SHIFT);
    }

    /// Whether any flag in `f` is set.
    pub fn test_flags(&self, f: u8) -> bool {
        self.flags() & f != 0
    }

    /// The 16-byte little-endian encoding.
    pub fn to_bytes(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        let (lo, hi) = out.split_at_mut(8);
        lo.copy_from_slice(&self.a.to_le_bytes());
        hi.copy_from_slice(&self.b.to_le_bytes());
        out
    }

    /// Decodes and validates a 16-byte encoding.
    pub fn from_bytes(bytes: &[u8; 16]) -> Result<Entry, EntryError> {
        let mut lo = [0u8; 8];
        let mut hi = [0u8; 8];
        lo.copy_from_slice(&bytes[..8]);
        hi.copy_from_slice(&bytes[8..]);
        let (a, b) = (u64::from_le_bytes(lo), u64::from_le_bytes(hi));
        let payload = a >> LEN_SHIFT;
        let len = (payload & LEN_MASK) as usize;
        let mid = (a >> 21) & 0x7ff;
        let ok = match a & TAG_MASK {
            TAG_EMPTY => a == 0 && b == 0,
            TAG_SAME => payload == 0,
            TAG_STORED => len != 0 && len < PAGE_SIZE && mid == 0 && a >> HANDLE_SHIFT != 0,
            TAG_RAW => len == 0 && mid == 0 && a >> HANDLE_SHIFT != 0,
            TAG_WB => len != 0 && len <= PAGE_SIZE && b == 0,
            _ => false,
        };
        if !ok {
            return Err(EntryError::Corrupt);
        }
        // INVARIANT: validated against every encoding rule above.
        Ok(Entry { a, b })
    }

    fn link(v: u32) -> Option<u32> {
        v.checked_sub(1)
    }

    /// LRU predecessor (newer neighbour) of an entry on the LRU.
    pub fn lru_prev(&self) -> Option<u32> {
        if self.in_pool() {
            Self::link(self.b as u32)
        } else {
            None
        }
    }

    /// LRU successor (older neighbour) of an entry on the LRU.
    pub fn lru_next(&self) -> Option<u32> {
        if self.in_pool() {
            Self::link((self.b >> 32) as u32)
        } else {
            None
        }
    }

    fn set_links(&mut self, prev: Option<u32>, next: Option<u32>) {
        if self.in_pool() {
            let enc = |v: Option<u32>| v.map_or(0, |i| i as u64 + 1);
            self.b = enc(prev) | (enc(next) << 32);
        }
    }
}

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

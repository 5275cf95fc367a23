// SPDX-License-Identifier: GPL-2.0

//! The per-page record a frontend keeps, in 16 bytes.
//!
//! Each frontend keeps one [`Entry`] per page it knows (per swap slot, per sector-sized
//! page of a block device), in a flat array indexed by a 32-bit index. An entry says where
//! the page's data is, with no allocation:
//!
//! ```text
//!              word a (u64)                                            word b (u64)
//!              63      32 31  29 28    21 20     8 7     3 2   0
//!             +----------+------+--------+--------+-------+-----+  +----------+----------+
//! Stored      | handle   | algo | pool   | len    | flags | tag |  | 0        | LRU node |
//! Raw         | handle   | 0    | pool   | 0      | flags | tag |  | 0        | LRU node |
//! SameFilled  | 0                                 | flags | tag |  | fill value (u64)    |
//! WrittenBack | device slot (43)           | len    | flags | tag |  | 0                   |
//! Empty       | 0                                         | 0   |  | 0                   |
//!             +----------+------+--------+--------+-------+-----+  +----------+----------+
//! ```
//!
//! `pool` says which of the engine's pools holds the data, and `algo` which of its
//! compressors compressed it, so that entries stay readable after the compressor changes.
//!
//! Only entries whose data is in the pool (Stored and Raw) go on the LRU, so the second
//! word holds the id of their node there (zero for none); a same-filled page uses it for its
//! fill value instead, and nothing else needs it. The LRU is in [`lru`](super::lru).

use super::lru::NodeId;
use super::page_source::PAGE_SIZE;
use super::pool::Handle;

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
const POOL_SHIFT: u32 = 21;
const POOL_MASK: u64 = 0xff;
const ALGO_SHIFT: u32 = 29;
const ALGO_MASK: u64 = 0x7;

/// Number of compressors an entry can name: `algo` is below it.
pub const NR_ALGOS: u8 = 8;

/// Largest device slot a written-back entry can record (43 bits).
pub const MAX_WB_SLOT: u64 = (1 << (64 - WB_SLOT_SHIFT)) - 1;

/// Where a page's data is, decoded from an [`Entry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryState {
    /// Nothing stored.
    Empty,
    /// Every 64-bit word of the page equals `value`; nothing is in the pool.
    SameFilled(u64),
    /// Compressed to `len` bytes (1 to `PAGE_SIZE - 1`) by compressor `algo`, stored in
    /// pool `pool` under `handle`.
    Stored {
        /// Pool handle of the compressed bytes.
        handle: Handle,
        /// Compressed length.
        len: u16,
        /// Which of the engine's pools holds the bytes.
        pool: u8,
        /// Which of the engine's compressors compressed them, below [`NR_ALGOS`].
        algo: u8,
    },
    /// Incompressible, stored as is (`PAGE_SIZE` bytes) in pool `pool` under `handle`.
    Raw {
        /// Pool handle of the page's bytes.
        handle: Handle,
        /// Which of the engine's pools holds the bytes.
        pool: u8,
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
    /// A compressor number is not below [`NR_ALGOS`].
    BadAlgo,
    /// The bytes do not encode an entry.
    Corrupt,
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

    /// The entry of a page whose every 64-bit word is `value`.
    pub const fn same_filled(value: u64) -> Entry {
        // INVARIANT: the SameFilled encoding has no field to range-check.
        Entry {
            a: TAG_SAME,
            b: value,
        }
    }

    /// Encodes `state` with no flags and no LRU node.
    pub fn new(state: EntryState) -> Result<Entry, EntryError> {
        // INVARIANT: each arm checks the ranges the encoding needs.
        let (a, b) = match state {
            EntryState::Empty => (0, 0),
            EntryState::SameFilled(v) => return Ok(Self::same_filled(v)),
            EntryState::Stored {
                handle,
                len,
                pool,
                algo,
            } => {
                if len == 0 || len as usize >= PAGE_SIZE {
                    return Err(EntryError::BadLength);
                }
                if algo >= NR_ALGOS {
                    return Err(EntryError::BadAlgo);
                }
                (
                    TAG_STORED
                        | ((len as u64) << LEN_SHIFT)
                        | ((pool as u64) << POOL_SHIFT)
                        | ((algo as u64) << ALGO_SHIFT)
                        | ((handle.to_raw() as u64) << HANDLE_SHIFT),
                    0,
                )
            }
            EntryState::Raw { handle, pool } => (
                TAG_RAW
                    | ((pool as u64) << POOL_SHIFT)
                    | ((handle.to_raw() as u64) << HANDLE_SHIFT),
                0,
            ),
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
        let pool = ((self.a >> POOL_SHIFT) & POOL_MASK) as u8;
        let algo = ((self.a >> ALGO_SHIFT) & ALGO_MASK) as u8;
        match (self.a & TAG_MASK, handle) {
            (TAG_SAME, _) => EntryState::SameFilled(self.b),
            (TAG_STORED, Some(handle)) => EntryState::Stored {
                handle,
                len,
                pool,
                algo,
            },
            (TAG_RAW, Some(handle)) => EntryState::Raw { handle, pool },
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
            EntryState::Stored { handle, .. } | EntryState::Raw { handle, .. } => Some(handle),
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
        let algo = (a >> ALGO_SHIFT) & ALGO_MASK;
        let ok = match a & TAG_MASK {
            TAG_EMPTY => a == 0 && b == 0,
            TAG_SAME => payload == 0,
            TAG_STORED => len != 0 && len < PAGE_SIZE && a >> HANDLE_SHIFT != 0 && b >> 32 == 0,
            TAG_RAW => len == 0 && algo == 0 && a >> HANDLE_SHIFT != 0 && b >> 32 == 0,
            TAG_WB => len != 0 && len <= PAGE_SIZE && b == 0,
            _ => false,
        };
        if !ok {
            return Err(EntryError::Corrupt);
        }
        // INVARIANT: validated against every encoding rule above.
        Ok(Entry { a, b })
    }

    /// The id of the LRU node of an entry whose data is in the pool, if it has one.
    pub fn lru_node(&self) -> Option<NodeId> {
        if self.in_pool() {
            NodeId::from_raw(self.b as u32)
        } else {
            None
        }
    }

    /// Records the LRU node of an entry whose data is in the pool; others have none, and
    /// are returned unchanged.
    pub fn with_lru_node(mut self, node: Option<NodeId>) -> Entry {
        if self.in_pool() {
            // INVARIANT: the second word of Stored and Raw holds a node id or zero.
            self.b = node.map_or(0, |n| n.to_raw() as u64);
        }
        self
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The keys the frontends give their entries on the shared [`Lru`](super::lru::Lru).
//!
//! Writeback finds an entry from its LRU node's key alone, so the key says which frontend
//! owns the entry and where in that frontend it is. Keys have 62 bits
//! ([`MAX_KEY`](super::lru::MAX_KEY)):
//!
//! ```text
//!   61  60      56 55                                                   0
//!  | 0 |  type    |                  offset in the swap device           |   swap slot
//!  | 1 |        device (21 bits)       |      block index (40 bits)      |   block
//!   61  60                          40 39                                0
//! ```
//!
//! A swap type is below 32 (`MAX_SWAPFILES_SHIFT` is 5) and a swap offset below 2^56, as in
//! a swap entry itself, so every swap slot has a key. A block device numbered from 2^21 on,
//! or a block past 2^40 pages (4 PiB), has none: its blocks stay off the LRU.

use super::lru::MAX_KEY;

/// Set in the keys of blocks.
const BLOCK: u64 = 1 << 61;

/// Where the swap type starts in a swap slot's key.
const SWAP_TYPE_SHIFT: u32 = 56;

/// Where the device number starts in a block's key.
const DEVICE_SHIFT: u32 = 40;

/// Swap types are below this.
pub const MAX_SWAP_TYPES: u32 = 1 << (61 - SWAP_TYPE_SHIFT);

/// Block device numbers with keys are below this.
pub const MAX_DEVICES: u32 = 1 << (61 - DEVICE_SHIFT);

/// Block indexes with keys are below this.
pub const MAX_BLOCKS: u64 = 1 << DEVICE_SHIFT;

/// What an entry on the LRU is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LruKey {
    /// The swap frontend's entry of slot `offset` of swap device `swap_type`.
    Swap {
        /// The swap device's type.
        swap_type: u32,
        /// The slot's offset in the device.
        offset: u64,
    },
    /// Block `index` of the block frontend's device `device`.
    Block {
        /// The device's number, `N` of `/dev/zramN`.
        device: u32,
        /// The block's index in the device.
        index: u64,
    },
}

impl LruKey {
    /// The key, or `None` if the entry cannot have one.
    pub fn encode(self) -> Option<u64> {
        let key = match self {
            Self::Swap { swap_type, offset } => {
                if swap_type >= MAX_SWAP_TYPES || offset >= 1 << SWAP_TYPE_SHIFT {
                    return None;
                }
                (u64::from(swap_type) << SWAP_TYPE_SHIFT) | offset
            }
            Self::Block { device, index } => {
                if device >= MAX_DEVICES || index >= MAX_BLOCKS {
                    return None;
                }
                BLOCK | (u64::from(device) << DEVICE_SHIFT) | index
            }
        };
        debug_assert!(key <= MAX_KEY);
        Some(key)
    }

    /// What `key`, made by [`LruKey::encode`], names. Bits above [`MAX_KEY`] are ignored.
    pub fn decode(key: u64) -> Self {
        let key = key & MAX_KEY;
        if key & BLOCK == 0 {
            Self::Swap {
                swap_type: (key >> SWAP_TYPE_SHIFT) as u32,
                offset: key & ((1 << SWAP_TYPE_SHIFT) - 1),
            }
        } else {
            Self::Block {
                device: ((key & !BLOCK) >> DEVICE_SHIFT) as u32,
                index: key & (MAX_BLOCKS - 1),
            }
        }
    }
}

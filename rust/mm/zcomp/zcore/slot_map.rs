// SPDX-License-Identifier: GPL-2.0

//! Which slots of a backing device hold a written-back page.
//!
//! A bit per page-sized slot, in words the frontend allocates (the map itself allocates
//! nothing, so that it builds on the host and in the kernel alike). Allocation goes round the
//! map from where it last took a slot, a word at a time, so that a run of writebacks finds
//! its slots without rescanning the full words at the start of the device, and fills the
//! device in order, as zram's does.

use core::ops::DerefMut;

/// Slots per word of the map.
const BITS: u64 = u64::BITS as u64;

/// Which of a backing device's slots are taken.
///
/// # Invariants
///
/// `words` has at least [`SlotMap::words_for`]`(len)` words; its bits past `len` are set, so
/// that they are never handed out, and `used` is the number of set bits below `len`. `next`
/// is below the number of words in use.
pub struct SlotMap<W> {
    words: W,
    len: u64,
    used: u64,
    next: usize,
}

impl<W: DerefMut<Target = [u64]>> SlotMap<W> {
    /// Words a map of `len` slots needs.
    pub fn words_for(len: u64) -> usize {
        usize::try_from(len.div_ceil(BITS)).unwrap_or(usize::MAX)
    }

    /// A map of `len` slots, all free, kept in `words`, which must be zeroed and at least
    /// [`SlotMap::words_for`]`(len)` long; `None` if they are not, or `len` is zero.
    pub fn new(mut words: W, len: u64) -> Option<Self> {
        let nr = Self::words_for(len);
        if len == 0 || words.len() < nr || words.iter().any(|&w| w != 0) {
            return None;
        }
        let tail = len % BITS;
        if tail != 0 {
            words[nr - 1] = !0u64 << tail;
        }
        Some(Self {
            words,
            len,
            used: 0,
            next: 0,
        })
    }

    /// Slots in the device.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether no slot is taken.
    pub fn is_empty(&self) -> bool {
        self.used == 0
    }

    /// Slots taken.
    pub fn used(&self) -> u64 {
        self.used
    }

    /// Takes a free slot and returns it; `None` if the device is full.
    pub fn alloc(&mut self) -> Option<u64> {
        let nr = Self::words_for(self.len);
        for i in (self.next..nr).chain(0..self.next) {
            let word = &mut self.words[i];
            if *word == !0 {
                continue;
            }
            let bit = u64::from(word.trailing_ones());
            *word |= 1 << bit;
            self.used += 1;
            self.next = i;
            return Some(i as u64 * BITS + bit);
        }
        None
    }

    /// Frees `slot`; returns whether it was taken (a slot past the end never is).
    pub fn free(&mut self, slot: u64) -> bool {
        if slot >= self.len {
            return false;
        }
        let word = &mut self.words[(slot / BITS) as usize];
        let mask = 1 << (slot % BITS);
        if *word & mask == 0 {
            return false;
        }
        *word &= !mask;
        self.used -= 1;
        true
    }

    /// Whether `slot` is taken.
    pub fn is_taken(&self, slot: u64) -> bool {
        slot < self.len && self.words[(slot / BITS) as usize] & (1 << (slot % BITS)) != 0
    }
}

// SPDX-License-Identifier: GPL-2.0

//! Recompression: a device's blocks compressed again with slower, denser algorithms.
//!
//! As with zram's `CONFIG_ZRAM_MULTI_COMP`, a device may have up to [`NR_SECONDARY`]
//! secondary algorithms besides its primary one, by priority from 1 (`recomp_algorithm`).
//! A `recompress` run goes through the blocks in the pools, of the kind asked for, and
//! compresses each again with the secondary algorithms in order of priority, skipping those
//! at or below the priority that compressed the block, until one puts it in a smaller size
//! class of the pool. The block then keeps the new object and the old one is freed. A block
//! that every secondary algorithm tried and none made smaller is marked incompressible:
//! later runs skip it, and `writeback incompressible` moves it to the backing device.
//!
//! Entries name the engine's algorithm that compressed them, so a recompressed block reads
//! back like any other. As in writeback, the data is loaded and compressed outside every
//! lock, and the new entry replaces the old only if the block still has it: a write in
//! between wins, and the new object is freed.

use super::{BlkStore, REGION_SLOTS};
use crate::blk::backing::{io_page, IoPage};
use crate::zcore::entry::{flags, Entry, EntryState};
use crate::zcore::parse::{key_values, parse_u64};
use crate::zcore::pool::{size_class, MAX_SMALL_OBJECT};
use core::ops::Range;
use core::sync::atomic::Ordering;
use kernel::prelude::*;

/// Secondary algorithms a device may have: priorities 1 to 3, as zram's `ZRAM_MAX_COMPS`.
pub(crate) const NR_SECONDARY: usize = 3;

/// A write to `recompress`: which blocks, with which algorithms.
pub(crate) struct Recompression<'a> {
    /// Only blocks marked idle (`type=idle` or `huge_idle`).
    idle: bool,
    /// Only blocks stored raw (`type=huge` or `huge_idle`).
    huge: bool,
    /// At most this many blocks are compressed again (`max_pages=`).
    max_pages: u64,
    /// Only blocks of at least this many bytes, and only into fewer (`threshold=`); zero for
    /// any.
    threshold: usize,
    /// The one algorithm to use, by name (`algo=`).
    pub(crate) algo: Option<&'a [u8]>,
    /// The one priority to use (`priority=`).
    priority: Option<usize>,
}

impl<'a> Recompression<'a> {
    /// Parses a write to `recompress`. Refuses, with `EINVAL`, a word that is not one of
    /// zram's `key=value` pairs and a threshold that only raw blocks could meet.
    pub(crate) fn parse(input: &'a [u8]) -> Result<Self> {
        let mut r = Self {
            idle: false,
            huge: false,
            max_pages: u64::MAX,
            threshold: 0,
            algo: None,
            priority: None,
        };
        for word in key_values(input) {
            let (key, value) = word.ok_or(EINVAL)?;
            match key {
                b"type" => {
                    (r.idle, r.huge) = match value {
                        b"idle" => (true, false),
                        b"huge" => (false, true),
                        b"huge_idle" => (true, true),
                        _ => return Err(EINVAL),
                    }
                }
                b"max_pages" => r.max_pages = parse_u64(value).ok_or(EINVAL)?,
                b"threshold" => {
                    r.threshold = parse_u64(value)
                        .and_then(|t| usize::try_from(t).ok())
                        .ok_or(EINVAL)?
                }
                b"algo" => r.algo = Some(value),
                b"priority" => {
                    let p = parse_u64(value).ok_or(EINVAL)?;
                    // As zram: priority 0, the primary algorithm, means the first secondary.
                    r.priority = match usize::try_from(p) {
                        Ok(0) => Some(1),
                        Ok(p) if p <= NR_SECONDARY => Some(p),
                        _ => return Err(EINVAL),
                    }
                }
                _ => return Err(EINVAL),
            }
        }
        // As zram: a threshold no compressed object can reach is an error.
        if r.threshold > MAX_SMALL_OBJECT {
            return Err(EINVAL);
        }
        Ok(r)
    }

    /// The priorities to try, given the secondary algorithms' names by priority from 1:
    /// all of them, the one `priority=` names, or the one of `algo=` (at or above
    /// `priority=`). Fails with `EINVAL` if `algo=` names none of them.
    pub(crate) fn priorities(&self, names: &[Option<&[u8]>; NR_SECONDARY]) -> Result<Range<usize>> {
        let first = self.priority.unwrap_or(1);
        match self.algo {
            Some(algo) => (first..=NR_SECONDARY)
                .find(|&p| names[p - 1] == Some(algo))
                .map(|p| p..p + 1)
                .ok_or(EINVAL),
            None if self.priority.is_some() => Ok(first..first + 1),
            None => Ok(1..NR_SECONDARY + 1),
        }
    }

    /// Whether a run looks at the block of `entry`: in the pools, of the kind asked for,
    /// neither being written back nor found incompressible before.
    fn wants(&self, entry: &Entry) -> bool {
        entry.in_pool()
            && !entry.test_flags(flags::WRITEBACK | flags::INCOMPRESSIBLE)
            && (!self.idle || entry.test_flags(flags::IDLE))
            && (!self.huge || matches!(entry.state(), EntryState::Raw { .. }))
    }
}

impl BlkStore {
    /// Compresses the blocks `r` picks again with the secondary algorithms of `priorities`,
    /// until `r.max_pages` blocks were tried. Fails with `ENOMEM` if a pool cannot take a new
    /// object, with `EIO` if a block cannot be read, or with a compressor's error; blocks
    /// done by then keep their new objects. May sleep.
    pub(crate) fn recompress(&self, r: &Recompression<'_>, priorities: Range<usize>) -> Result {
        let mut page = io_page(GFP_KERNEL)?;
        let mut budget = r.max_pages;
        let mut index = 0;
        while index < self.nr_pages && budget > 0 {
            if self.region(index).is_none() {
                // Nothing was ever written to this region.
                index = (index / REGION_SLOTS as u64 + 1) * REGION_SLOTS as u64;
                continue;
            }
            if self.recompress_block(index, r, priorities.clone(), &mut page)? {
                budget -= 1;
            }
            index += 1;
        }
        Ok(())
    }

    /// The priority of the algorithm that compressed `entry`: 0 for the primary one and for
    /// a raw block, else the highest secondary priority with that algorithm.
    fn priority_of(&self, entry: &Entry) -> usize {
        match entry.state() {
            EntryState::Stored { algo, .. } => (1..=NR_SECONDARY)
                .rev()
                .find(|&p| self.secondary[p - 1] == Some(algo))
                .unwrap_or(0),
            _ => 0,
        }
    }

    /// Compresses block `index` again if `r` picks it, trying the algorithms of `priorities`
    /// above the one that compressed it: returns whether any was tried, which counts against
    /// `r.max_pages` whether or not it saved memory.
    fn recompress_block(
        &self,
        index: u64,
        r: &Recompression<'_>,
        priorities: Range<usize>,
        page: &mut IoPage,
    ) -> Result<bool> {
        let Some(entry) = self.entry(index).filter(|e| r.wants(e)) else {
            return Ok(false);
        };
        let old_len = entry.pool_len();
        if old_len < r.threshold {
            return Ok(false);
        }
        if let Err(e) = self.engine.load(&self.pools, &entry, page) {
            // Only an error if the block still has the entry: a write may have freed it.
            return match self.entry(index) {
                Some(now) if now.state() == entry.state() => Err(e),
                _ => Ok(false),
            };
        }
        // As zram: a block looked at is no longer idle, so that another pass over idle
        // blocks (a writeback, say) does not take it for one.
        if !self.update_flags(index, &entry, 0, flags::IDLE) {
            return Ok(false);
        }
        let current = self.priority_of(&entry);
        let old_class = size_class(old_len);
        let accept =
            |len: usize| size_class(len) < old_class && (r.threshold == 0 || len < r.threshold);
        let mut tried = 0;
        let mut recompressed = None;
        for p in priorities.filter(|&p| p > current) {
            let Some(algo) = self.secondary[p - 1] else {
                continue;
            };
            tried += 1;
            recompressed = self.engine.recompress(&self.pools, page, algo, accept)?;
            if recompressed.is_some() {
                break;
            }
        }
        if tried == 0 {
            return Ok(false);
        }
        let Some(new) = recompressed else {
            // Every secondary algorithm failed to save memory: do not try again.
            if tried == self.secondary.iter().flatten().count() {
                self.update_flags(index, &entry, flags::INCOMPRESSIBLE, 0);
            }
            return Ok(true);
        };
        // The block keeps the new object only if nothing replaced or marked it meanwhile,
        // and its place on the LRU with it.
        let old = self.replace(index, &entry, |current| {
            (!current.test_flags(flags::WRITEBACK)).then(|| new.with_lru_node(current.lru_node()))
        });
        match old {
            Some(old) => {
                self.release_moved(old.with_lru_node(None));
                self.stats
                    .compr_data_size
                    .fetch_add(new.pool_len() as u64, Ordering::Relaxed);
            }
            None => self.engine.release(&self.pools, new),
        }
        Ok(true)
    }
}

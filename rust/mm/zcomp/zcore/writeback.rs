// SPDX-License-Identifier: GPL-2.0

//! The writeback policy: which pages leave the pools for the device under a frontend, and
//! when. One policy for every frontend.
//!
//! A frontend puts each entry whose data is in the pools on the engine's
//! [`Lru`] under a key of its own, and can write the entry of a key back to its device (the
//! swap frontend: to the page's swap slot). Three things write pages back:
//!
//! - a memory cgroup at its limit makes room by writing back its own coldest page
//!   ([`shrink_list`] of its list);
//! - the shrinker writes back the coldest pages of the cgroup under reclaim (the same);
//! - once the pools reach their limit, pages of every cgroup in turn are written back until
//!   the pools are under the accept threshold ([`shrink_batch`]).
//!
//! A page is taken from the cold end with a second chance (see [`Lru`]); one that cannot
//! be written now goes back on its list, and the scan stops there: the pages after it are
//! warmer. A page its frontend may not write back at all for a while (a block device
//! without a backing device, or with its `writeback_limit` spent) goes back too, but the
//! scan passes over it, up to [`SCAN_PER_PAGE`] such pages a scan: the swap pages behind
//! it on the same list are not held up by a device that cannot take its own.

use core::sync::atomic::{AtomicU16, Ordering};

use super::lru::{ListId, Lru, NodeId};
use super::page_source::PageSource;

/// Nodes the second chance looks at for one page to write back. Every node starts
/// referenced, so a cold end of referenced nodes costs a store at the cgroup limit this many
/// rotations, under the LRU lock, rather than a refusal.
pub const SCAN_PER_PAGE: usize = 32;

/// Pages [`shrink_batch`] tries to write back before its caller may reschedule.
pub const BATCH: usize = 16;

/// Why a frontend did not write back the entry of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritebackError {
    /// The entry is gone: its slot was freed, or stored again, since it was chosen.
    Gone,
    /// Not now: the page is being read in, memory is short, or its cgroup does not allow
    /// writeback. The entry stays where it is.
    Kept,
    /// Not by this writer: the frontend has nowhere to write the entry, or the node is not
    /// (or no longer) the entry's. The node goes back on its list and the scan goes on.
    Skipped,
}

/// What the policy needs of an engine and a frontend.
pub trait Writeback {
    /// Where the LRU's pages come from.
    type Pages: PageSource;

    /// Runs `f` on the engine's LRU, under the engine's lock. `f` does not sleep.
    fn with_lru<R>(&self, f: impl FnOnce(&mut Lru<Self::Pages>) -> R) -> R;

    /// Writes the page of `key`, whose node `node` the scan isolated, back to the device
    /// under its frontend and drops its entry (and with it the node). May sleep.
    fn write_back(&self, node: NodeId, key: u64) -> Result<(), WritebackError>;
}

/// What a shrink did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shrunk {
    /// Pages written back.
    pub written: usize,
    /// Pages chosen that could not be written then, and went back on their list.
    pub kept: usize,
    /// Pages passed over because their frontend could not write them, back on their list.
    pub skipped: usize,
}

/// Writes back up to `nr` of the coldest pages of `list`. Stops at the first page that
/// could not be written, and after passing over [`SCAN_PER_PAGE`] pages.
pub fn shrink_list<W: Writeback + ?Sized>(w: &W, list: ListId, nr: usize) -> Shrunk {
    let mut shrunk = Shrunk::default();
    while shrunk.written < nr && shrunk.skipped < SCAN_PER_PAGE {
        let Some((node, key)) = w.with_lru(|lru| lru.isolate_coldest(list, SCAN_PER_PAGE)) else {
            break;
        };
        let result = w.write_back(node, key);
        match result {
            Ok(()) => shrunk.written += 1,
            Err(WritebackError::Gone) => {}
            Err(WritebackError::Kept) => shrunk.kept += 1,
            Err(WritebackError::Skipped) => shrunk.skipped += 1,
        }
        if matches!(result, Err(WritebackError::Kept | WritebackError::Skipped)) {
            // The node may have been freed with its entry, and even reused, meanwhile;
            // the LRU then refuses to put it back, which is right.
            let _ = w.with_lru(|lru| lru.putback(list, node));
        }
        if result == Err(WritebackError::Kept) {
            break;
        }
    }
    shrunk
}

/// Writes back up to [`BATCH`] pages while `over_threshold` holds, a page at a time from
/// each list in turn after `cursor`, skipping the lists that `enabled` rules out.
/// `cursor` keeps the last list taken from between calls. Returns what it did, and whether
/// to call again: some page was written and the pools are still over the threshold.
pub fn shrink_batch<W: Writeback + ?Sized>(
    w: &W,
    cursor: &AtomicU16,
    over_threshold: impl Fn() -> bool,
    enabled: impl Fn(ListId) -> bool,
) -> (Shrunk, bool) {
    let mut shrunk = Shrunk::default();
    for _ in 0..BATCH {
        if !over_threshold() {
            return (shrunk, false);
        }
        let after = cursor.load(Ordering::Relaxed);
        let Some(list) = w.with_lru(|lru| lru.next_busy_list(after)) else {
            return (shrunk, false);
        };
        cursor.store(list, Ordering::Relaxed);
        if enabled(list) {
            let s = shrink_list(w, list, 1);
            shrunk.written += s.written;
            shrunk.kept += s.kept;
            shrunk.skipped += s.skipped;
        }
    }
    (shrunk, shrunk.written > 0 && over_threshold())
}

// SPDX-License-Identifier: GPL-2.0

//! The writeback engine: which pages leave the pools for the backing device, and when.
//!
//! A frontend puts each entry whose data is in the pools on the engine's LRU under a key of
//! its own ([`Engine::lru_add`]), and can write the entry of a key back to the device
//! underneath it (the swap frontend: to the page's swap slot). The policy, the same for
//! every frontend, is here:
//!
//! - a memory cgroup at its limit makes room by writing back its own coldest page
//!   ([`shrink_list`] of its list);
//! - the shrinker writes back the cgroup's coldest pages under memory pressure;
//! - once the pools reach their limit, pages of every cgroup in turn are written back until
//!   the pools are under the accept threshold ([`shrink_batch`]).
//!
//! A page is taken from the cold end with a second chance (see
//! [`Lru`](crate::zcore::lru::Lru)); one that cannot be written now goes back on its list.

use crate::engine::Engine;
use crate::zcore::lru::ListId;
use core::sync::atomic::Ordering;

/// Why a frontend did not write back the entry of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WritebackError {
    /// The entry is gone: its slot was freed, or stored again, since it was chosen.
    Gone,
    /// Not now: the page is being read in, memory is short, or its cgroup does not allow
    /// writeback. The entry stays where it is.
    Kept,
}

/// Nodes the second chance looks at for one page to write back. Every node starts
/// referenced, so a cold end of referenced nodes costs a store at the cgroup limit this
/// many rotations, under the LRU lock, rather than a refusal.
const SCAN_PER_PAGE: usize = 32;

/// Pages the pool-limit work tries to write back between two reschedules.
const BATCH: usize = 16;

/// Writes back up to `nr` of the coldest pages of `list` with `write_back`, and returns how
/// many it wrote. Stops at the first page it could not write: the ones after it are warmer.
/// May sleep.
pub(crate) fn shrink_list(
    engine: &Engine,
    list: ListId,
    nr: usize,
    write_back: impl Fn(u64) -> Result<(), WritebackError>,
) -> usize {
    let mut written = 0;
    while written < nr {
        let Some((node, key)) = engine.lru.lock().isolate_coldest(list, SCAN_PER_PAGE) else {
            break;
        };
        match write_back(key) {
            Ok(()) => {
                engine.stats.written_back_pages.inc();
                written += 1;
            }
            Err(WritebackError::Gone) => {}
            Err(WritebackError::Kept) => {
                engine.stats.reject_reclaim_fail.inc();
                // The node may have been freed with its entry, and even reused, meanwhile;
                // the LRU then refuses to put it back, which is right.
                let _ = engine.lru.lock().putback(list, node);
                break;
            }
        }
    }
    written
}

/// Writes back up to [`BATCH`] pages, taking cgroups' lists in turn, while `over_threshold`
/// holds. Returns whether to go on: some page was written and the pools are still over.
/// May sleep.
pub(crate) fn shrink_batch(
    engine: &Engine,
    over_threshold: impl Fn() -> bool,
    writeback_enabled: impl Fn(ListId) -> bool,
    write_back: impl Fn(u64) -> Result<(), WritebackError>,
) -> bool {
    let mut progress = false;
    for _ in 0..BATCH {
        if !over_threshold() {
            return false;
        }
        let after = engine.shrink_cursor.load(Ordering::Relaxed);
        let Some(list) = engine.lru.lock().next_busy_list(after) else {
            return false;
        };
        engine.shrink_cursor.store(list, Ordering::Relaxed);
        if writeback_enabled(list) && shrink_list(engine, list, 1, &write_back) > 0 {
            progress = true;
        }
    }
    progress && over_threshold()
}

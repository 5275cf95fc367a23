// SPDX-License-Identifier: GPL-2.0

//! What the C side of the swap frontend offers: zswap's parameters and the page counter
//! that `/proc/meminfo` reads (`swap_params.c`), and the memory cgroup and shrinker calls
//! of writeback (`swap_writeback.c`).

use crate::zcore::lru::ListId;
use kernel::{bindings, memcg::ObjCgroup};

/// Whether zswap's `enabled` parameter is set.
pub(crate) fn swap_enabled() -> bool {
    // SAFETY: `mm_zcomp_swap_enabled` only reads a parameter.
    unsafe { bindings::mm_zcomp_swap_enabled() }
}

/// Whether zswap's interface was never enabled since boot, `zswap_never_enabled()`.
pub(crate) fn never_enabled() -> bool {
    // SAFETY: `zswap_never_enabled` only tests a static key.
    unsafe { bindings::zswap_never_enabled() }
}

/// The pools' limit and accept threshold in pages, from `max_pool_percent` of RAM and
/// `accept_threshold_percent` of that.
pub(crate) fn pool_limits() -> (usize, usize) {
    // SAFETY: These functions only read parameters and the RAM size.
    let (ram, max_percent, accept_percent) = unsafe {
        (
            bindings::mm_zcomp_totalram_pages() as usize,
            bindings::mm_zcomp_swap_max_pool_percent() as usize,
            bindings::mm_zcomp_swap_accept_threshold_percent() as usize,
        )
    };
    let max = ram.saturating_mul(max_percent) / 100;
    (max, max.saturating_mul(accept_percent) / 100)
}

/// Adds `nr` to the pages zswap's interface holds (`zswap_stored_pages`).
pub(crate) fn stored_pages_add(nr: i32) {
    // SAFETY: `mm_zcomp_stored_pages_add` only updates an atomic counter.
    unsafe { bindings::mm_zcomp_stored_pages_add(nr) }
}

/// The pages zswap's interface holds.
pub(crate) fn stored_pages() -> u64 {
    // SAFETY: `mm_zcomp_stored_pages` only reads an atomic counter.
    unsafe { bindings::mm_zcomp_stored_pages() as u64 }
}

/// The LRU list of `owner`'s memory cgroup as it is now, or list 0 for pages no cgroup owns.
pub(crate) fn lru_list(owner: Option<&ObjCgroup>) -> ListId {
    match owner {
        // SAFETY: `owner` holds a reference to the object cgroup.
        Some(objcg) => unsafe { bindings::mm_zcomp_objcg_list(objcg.as_raw()) },
        None => 0,
    }
}

/// Tells memory cgroup reclaim that `owner`'s list has pages, so that it calls the shrinker.
pub(crate) fn lru_list_busy(owner: Option<&ObjCgroup>) {
    if let Some(objcg) = owner {
        // SAFETY: `objcg` holds a reference to the object cgroup.
        unsafe { bindings::mm_zcomp_objcg_list_busy(objcg.as_raw()) }
    }
}

/// Whether `objcg`'s memory cgroup lets its pages be written back (`memory.zswap.writeback`).
pub(crate) fn writeback_enabled(objcg: &ObjCgroup) -> bool {
    // SAFETY: `objcg` holds a reference to the object cgroup.
    unsafe { bindings::mm_zcomp_objcg_writeback_enabled(objcg.as_raw()) }
}

/// Whether the pages of LRU list `list` may be written back.
pub(crate) fn list_writeback_enabled(list: ListId) -> bool {
    // SAFETY: The function looks the cgroup up under RCU and takes a reference to use it.
    unsafe { bindings::mm_zcomp_list_writeback_enabled(list) }
}

/// Queues the work that writes pages back until the pool is under its accept threshold.
pub(crate) fn queue_shrink() {
    // SAFETY: Queuing a static work item is allowed in any context a store runs in.
    unsafe { bindings::mm_zcomp_swap_queue_shrink() }
}

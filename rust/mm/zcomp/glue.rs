// SPDX-License-Identifier: GPL-2.0

//! What the C side of the swap frontend (`swap_params.c`) offers: zswap's parameters and
//! the page counter that `/proc/meminfo` reads.

use kernel::bindings;

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

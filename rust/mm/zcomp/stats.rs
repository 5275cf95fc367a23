// SPDX-License-Identifier: GPL-2.0

//! The engine's counters.
//!
//! Counters are updated without ordering against anything else, so a reader may see one
//! slightly stale; like zswap's, they say roughly how often something happens.

use core::sync::atomic::{AtomicU64, Ordering};

/// A statistics counter.
#[derive(Default)]
pub(crate) struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub(crate) fn inc(&self) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `n`.
    pub(crate) fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Takes one away, for counters of things held.
    pub(crate) fn dec(&self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }

    /// The current value.
    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// The engine's counters, with zswap's names where zswap has the same counter.
#[derive(Default)]
pub(crate) struct Stats {
    /// Stores refused because the pools reached their limit.
    pub(crate) pool_limit_hit: Counter,
    /// Stores refused because a pool could not get a page.
    pub(crate) reject_alloc_fail: Counter,
    /// Stores refused because the index could not get a page for the entry.
    pub(crate) reject_kmemcache_fail: Counter,
    /// Stores refused because the compressor failed.
    pub(crate) reject_compress_fail: Counter,
    /// Stores refused because the memory cgroup was at its `memory.zswap.max`.
    pub(crate) reject_cgroup_limit: Counter,
    /// Pages written back to the device under the frontend.
    pub(crate) written_back_pages: Counter,
    /// Pages chosen for writeback that could not be written then.
    pub(crate) reject_reclaim_fail: Counter,
    /// Same-filled pages held: recorded in their entry, with no pool memory.
    pub(crate) same_filled_pages: Counter,
    /// Incompressible pages held, stored as they are.
    pub(crate) raw_pages: Counter,
}

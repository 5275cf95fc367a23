// SPDX-License-Identifier: GPL-2.0

//! The writeback policy ([`zcore::writeback`](crate::zcore::writeback)) run on the engine:
//! its LRU, under its lock, and its counters. The key of an entry on the LRU
//! ([`LruKey`]) names its frontend, which writes it back: the swap frontend to the page's
//! swap slot, a block device to its backing device. `swap.rs` calls these for a cgroup at
//! its limit, for the shrinker and for the pools at theirs.

use crate::engine::Engine;
use crate::pages::KernelPages;
use crate::zcore::lru::{ListId, Lru, NodeId};
use crate::zcore::lru_key::LruKey;
use crate::zcore::writeback::{self, Shrunk, Writeback};

pub(crate) use crate::zcore::writeback::WritebackError;

/// The engine and its frontends.
struct OnEngine<'a>(&'a Engine);

impl Writeback for OnEngine<'_> {
    type Pages = KernelPages;

    fn with_lru<R>(&self, f: impl FnOnce(&mut Lru<KernelPages>) -> R) -> R {
        f(&mut self.0.lru.lock())
    }

    fn write_back(&self, node: NodeId, key: u64) -> Result<(), WritebackError> {
        match LruKey::decode(key) {
            LruKey::Swap { swap_type, offset } => {
                crate::swap::write_back(self.0, swap_type, offset)
            }
            #[cfg(CONFIG_ZCOMP_BLOCK)]
            LruKey::Block { device, index } => crate::blk::write_back(device, index, node),
            #[cfg(not(CONFIG_ZCOMP_BLOCK))]
            LruKey::Block { .. } => {
                let _ = node;
                Err(WritebackError::Skipped)
            }
        }
    }
}

fn count(engine: &Engine, shrunk: Shrunk) {
    engine.stats.written_back_pages.add(shrunk.written as u64);
    engine.stats.reject_reclaim_fail.add(shrunk.kept as u64);
}

/// Writes back up to `nr` of the coldest pages of `list`, and returns how many it wrote.
/// May sleep.
pub(crate) fn shrink_list(engine: &Engine, list: ListId, nr: usize) -> usize {
    let shrunk = writeback::shrink_list(&OnEngine(engine), list, nr);
    count(engine, shrunk);
    shrunk.written
}

/// One batch of the writeback that brings the pools under their accept threshold, taking
/// the lists whose pages `enabled` lets go in turn; returns whether to run another. May
/// sleep.
pub(crate) fn shrink_batch(
    engine: &Engine,
    over_threshold: impl Fn() -> bool,
    enabled: impl Fn(ListId) -> bool,
) -> bool {
    let (shrunk, again) = writeback::shrink_batch(
        &OnEngine(engine),
        &engine.shrink_cursor,
        over_threshold,
        enabled,
    );
    count(engine, shrunk);
    again
}

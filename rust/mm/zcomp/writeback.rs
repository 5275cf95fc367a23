// SPDX-License-Identifier: GPL-2.0

//! The writeback policy ([`zcore::writeback`](crate::zcore::writeback)) run on the engine:
//! its LRU, under its lock, and its counters. A frontend supplies the way to write the page
//! of a key back; `swap.rs` calls these for a cgroup at its limit, for the shrinker and for
//! the pools at theirs.

use crate::engine::Engine;
use crate::pages::KernelPages;
use crate::zcore::lru::{ListId, Lru};
use crate::zcore::writeback::{self, Shrunk, Writeback};

pub(crate) use crate::zcore::writeback::WritebackError;

/// The engine, with a frontend's way to write the page of a key back.
struct OnEngine<'a, F> {
    engine: &'a Engine,
    write_back: F,
}

impl<F: Fn(u64) -> Result<(), WritebackError>> Writeback for OnEngine<'_, F> {
    type Pages = KernelPages;

    fn with_lru<R>(&self, f: impl FnOnce(&mut Lru<KernelPages>) -> R) -> R {
        f(&mut self.engine.lru.lock())
    }

    fn write_back(&self, key: u64) -> Result<(), WritebackError> {
        (self.write_back)(key)
    }
}

fn count(engine: &Engine, shrunk: Shrunk) {
    engine.stats.written_back_pages.add(shrunk.written as u64);
    engine.stats.reject_reclaim_fail.add(shrunk.kept as u64);
}

/// Writes back up to `nr` of the coldest pages of `list` with `write_back`, and returns how
/// many it wrote. May sleep.
pub(crate) fn shrink_list(
    engine: &Engine,
    list: ListId,
    nr: usize,
    write_back: impl Fn(u64) -> Result<(), WritebackError>,
) -> usize {
    let shrunk = writeback::shrink_list(&OnEngine { engine, write_back }, list, nr);
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
    write_back: impl Fn(u64) -> Result<(), WritebackError>,
) -> bool {
    let (shrunk, again) = writeback::shrink_batch(
        &OnEngine { engine, write_back },
        &engine.shrink_cursor,
        over_threshold,
        enabled,
    );
    count(engine, shrunk);
    again
}

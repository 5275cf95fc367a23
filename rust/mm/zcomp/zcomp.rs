// SPDX-License-Identifier: GPL-2.0

//! zcomp: one compressed-memory engine for swap.
//!
//! zcomp keeps compressed copies of swapped-out pages in memory and writes the cold ones back to
//! a real block device. One pool of compressed objects, one entry format, one LRU and one
//! writeback policy serve two frontends: a swap frontend on the swap path (the job zswap does)
//! and a block frontend (the job zram does).
//!
//! The core, in [`zcore`], uses only `core` and reaches the kernel through the
//! [`PageSource`](zcore::page_source::PageSource) trait, so the same files also build as a host
//! crate for unit tests, property tests, fuzzing and benchmarks. Everything that touches kernel
//! objects lives in the other modules:
//!
//! | file | what |
//! |---|---|
//! | `engine.rs` | pages in, entries out: same-filled pages, compression, the pools, the limit |
//! | `compressors.rs`, `codec.rs` | the compression algorithms, their levels and dictionaries,
//!   and their per-CPU streams |
//! | `writeback.rs` | the writeback policy of `zcore` run on the engine's LRU and counters |
//! | `swap.rs` | the swap frontend: zswap's interface, over an index per swap device |
//! | `swapcache.rs` | the swap cache folio that a page is written back through |
//! | `blk.rs`, `blk_io.rs`, `blk_attrs.rs` | the block frontend: zram's devices, their data
//!   and their sysfs files |
//! | `blk_sysfs.c` | zram's sysfs tables and control class, kept in C |
//! | `swap_params.c`, `swap_writeback.c`, `glue.rs` | zswap's parameters, the mm calls of
//!   writeback (shrinker, swap cache, cgroups), kept in C, and their Rust side |
//! | `pages.rs`, `stats.rs` | the page allocator as a page source; the counters |
//!
//! Statistics are in `/sys/kernel/debug/zcomp/`, and zswap's in `/sys/kernel/debug/zswap/`.

#[cfg(CONFIG_ZCOMP_BLOCK)]
mod blk;
#[cfg(CONFIG_ZCOMP_BLOCK)]
mod blk_attrs;
#[cfg(CONFIG_ZCOMP_BLOCK)]
mod blk_io;
mod codec;
mod compressors;
mod engine;
mod glue;
pub mod pages;
#[cfg(CONFIG_ZCOMP_KUNIT_TEST)]
mod pool_kunit;
mod stats;
mod swap;
mod swapcache;
mod writeback;
pub mod zcore;

use core::sync::atomic::Ordering;
use engine::Engine;
use kernel::{c_str, debugfs, prelude::*};
use zcore::page_source::PAGE_SIZE;

module! {
    type: Zcomp,
    name: "zcomp",
    author: "The zcomp authors",
    description: "Compressed memory for swap and block devices",
    license: "GPL",
}

struct Zcomp {
    _zcomp_dir: debugfs::Dir,
    _zswap_dir: debugfs::Dir,
}

/// A read-only debugfs file of `dir` showing `read(engine)`.
macro_rules! file {
    ($dir:expr, $engine:expr, $name:literal, $read:expr) => {
        $dir.read_callback_file(c_str!($name), $engine, $read)?
    };
}

/// Pages the pools of all frontends hold.
fn pool_pages() -> u64 {
    engine::POOL_PAGES.load(Ordering::Relaxed) as u64
}

/// zcomp's own statistics, in `/sys/kernel/debug/zcomp/`.
fn zcomp_debugfs(engine: &'static Engine) -> Result<debugfs::Dir> {
    let mut dir = debugfs::Dir::new(c_str!("zcomp"), kernel::debugfs_file_ops!(THIS_MODULE));
    // Pages the pools of all frontends hold, object data and metadata alike.
    file!(dir, engine, "pool_pages", |_| pool_pages());
    // The same in bytes, as zswap's pool_total_size.
    file!(dir, engine, "pool_total_size", |_| pool_pages()
        * PAGE_SIZE as u64);
    // The swap frontend's share of pool_pages.
    file!(dir, engine, "swap_pool_pages", |e| e.swap_pools.pages()
        as u64);
    // The block frontend's share of pool_pages, all its devices together.
    #[cfg(CONFIG_ZCOMP_BLOCK)]
    file!(
        dir,
        engine,
        "blk_pool_pages",
        |_| blk_io::POOL_PAGES.load(Ordering::Relaxed) as u64
    );
    // Pages of pool metadata: handle tables, span descriptors, list heads.
    file!(dir, engine, "pool_meta_pages", |e| e
        .swap_pools
        .stats()
        .meta_pages);
    // Compressed objects stored, raw pages included.
    file!(dir, engine, "stored_objects", |e| e
        .swap_pools
        .stats()
        .objects);
    // Sum of the objects' lengths.
    file!(dir, engine, "stored_bytes", |e| e
        .swap_pools
        .stats()
        .bytes_stored);
    // Pages held as a repeated word in their entry, with no pool memory.
    file!(dir, engine, "same_filled_pages", |e| e
        .stats
        .same_filled_pages
        .get());
    // Incompressible pages held as they are.
    file!(dir, engine, "raw_pages", |e| e.stats.raw_pages.get());
    // Pages the swap devices' indexes hold.
    file!(
        dir,
        engine,
        "swap_index_pages",
        |_| swap::INDEX_PAGES.load(Ordering::Relaxed) as u64
    );
    // Pages of the LRU's node and list tables.
    file!(
        dir,
        engine,
        "lru_pages",
        |_| engine::LRU_PAGES.load(Ordering::Relaxed) as u64
    );
    // Stores refused because the memory cgroup was at memory.zswap.max.
    file!(dir, engine, "reject_cgroup_limit", |e| e
        .stats
        .reject_cgroup_limit
        .get());
    // Number of pools, each with its own lock.
    file!(dir, engine, "pools", |e| e.swap_pools.len() as u64);
    Ok(dir)
}

/// zswap's statistics, in `/sys/kernel/debug/zswap/`, with its names and meanings.
fn zswap_debugfs(engine: &'static Engine) -> Result<debugfs::Dir> {
    let mut dir = debugfs::Dir::new(c_str!("zswap"), kernel::debugfs_file_ops!(THIS_MODULE));
    file!(dir, engine, "pool_limit_hit", |e| e
        .stats
        .pool_limit_hit
        .get());
    file!(dir, engine, "reject_reclaim_fail", |e| e
        .stats
        .reject_reclaim_fail
        .get());
    file!(dir, engine, "reject_alloc_fail", |e| e
        .stats
        .reject_alloc_fail
        .get());
    file!(dir, engine, "reject_kmemcache_fail", |e| e
        .stats
        .reject_kmemcache_fail
        .get());
    file!(dir, engine, "reject_compress_fail", |e| e
        .stats
        .reject_compress_fail
        .get());
    // zcomp stores incompressible pages as they are instead of rejecting them.
    file!(dir, engine, "reject_compress_poor", |_| 0);
    file!(dir, engine, "written_back_pages", |e| e
        .stats
        .written_back_pages
        .get());
    file!(dir, engine, "pool_total_size", |e| e
        .swap_pools
        .stats()
        .pages_held
        * PAGE_SIZE as u64);
    file!(dir, engine, "stored_pages", |_| glue::stored_pages());
    Ok(dir)
}

impl kernel::Module for Zcomp {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        // The engine serves the swap path until the kernel stops: it is never freed.
        let engine: &'static Engine = KBox::leak(KBox::new(Engine::new()?, GFP_KERNEL)?);
        let zcomp_dir = zcomp_debugfs(engine)?;
        let zswap_dir = zswap_debugfs(engine)?;
        swap::publish(engine);
        #[cfg(CONFIG_ZCOMP_BLOCK)]
        blk::init(engine)?;
        pr_info!(
            "initialised, {} pools of {}-byte pages\n",
            engine.swap_pools.len(),
            PAGE_SIZE
        );
        Ok(Zcomp {
            _zcomp_dir: zcomp_dir,
            _zswap_dir: zswap_dir,
        })
    }
}

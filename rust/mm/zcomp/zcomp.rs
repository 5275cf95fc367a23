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
//! objects lives in the other modules.
//!
//! Statistics are in `/sys/kernel/debug/zcomp/`.

pub mod pages;
#[cfg(CONFIG_ZCOMP_KUNIT_TEST)]
mod pool_kunit;
pub mod zcore;

use kernel::{c_str, debugfs, new_spinlock, prelude::*, sync::Arc, sync::SpinLock};
use pages::KernelPages;
use zcore::page_source::PAGE_SIZE;
use zcore::pool::{self, Pool};

module! {
    type: Zcomp,
    name: "zcomp",
    author: "The zcomp authors",
    description: "Compressed memory for swap",
    license: "GPL",
}

/// The state that every frontend shares.
#[pin_data]
pub struct Engine {
    /// The compressed objects of every frontend.
    #[pin]
    pool: SpinLock<Pool<KernelPages>>,
}

impl Engine {
    fn pool_stats(&self) -> pool::PoolStats {
        self.pool.lock().stats()
    }
}

struct Zcomp {
    _debugfs: debugfs::Dir,
}

impl kernel::Module for Zcomp {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let engine = Arc::pin_init(
            pin_init!(Engine {
                pool <- new_spinlock!(Pool::new(KernelPages), "zcomp_pool"),
            }),
            GFP_KERNEL,
        )?;

        let mut dir = debugfs::Dir::new(c_str!("zcomp"), kernel::debugfs_file_ops!(THIS_MODULE));
        // Pages the pool holds, object data and metadata alike.
        dir.read_callback_file(c_str!("pool_pages"), engine.clone(), |e| {
            e.pool_stats().pages_held
        })?;
        // The same in bytes, as zswap's pool_total_size.
        dir.read_callback_file(c_str!("pool_total_size"), engine.clone(), |e| {
            e.pool_stats().pages_held * PAGE_SIZE as u64
        })?;
        // Compressed objects stored.
        dir.read_callback_file(c_str!("stored_objects"), engine.clone(), |e| {
            e.pool_stats().objects
        })?;
        // Sum of the compressed objects' lengths.
        dir.read_callback_file(c_str!("stored_bytes"), engine, |e| {
            e.pool_stats().bytes_stored
        })?;

        pr_info!("initialised, pool of {}-byte pages\n", PAGE_SIZE);
        Ok(Zcomp { _debugfs: dir })
    }
}

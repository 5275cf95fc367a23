// SPDX-License-Identifier: GPL-2.0

//! The engine both frontends share: pages in, entries out, and back.
//!
//! A frontend hands the engine a page and gets an [`Entry`] that says where the page went: a
//! same-filled page is recorded in the entry itself, a compressible one is compressed into
//! a pool, an incompressible one is copied into a pool as is. The frontend keeps the entry
//! in its index, and later hands it back to load the page or to release what it holds.
//!
//! The pages of each frontend instance (the swap frontend, each block device) are in a
//! [`Pools`] of their own, so that each can be measured, limited and compacted on its own;
//! all of them draw on one budget, [`POOL_PAGES`]. The swap frontend's limit
//! (`max_pool_percent`) counts the pages of every frontend: what block devices hold leaves
//! the swap frontend less room, and it writes its cold pages back sooner. A block device
//! holds data nothing else has, so only its own `mem_limit` refuses its writes, as zram's
//! does, and the swap frontend's hysteresis is not its business; a write that takes the
//! pools past the limit starts the writeback, which takes the coldest pages on the LRU,
//! blocks of a device with a backing device among them.
//!
//! A [`Pools`] is several pools, each behind its own reader-writer spinlock, and a store goes
//! to the pool of the CPU it runs on: stores on different CPUs proceed in parallel, and a
//! pool's lock is held for writing only to copy an object in (and make the few moves that
//! keep the pool's waste bounded), to free one or to compact the pool. Compression runs
//! outside every spinlock, in the compressor layer's per-CPU streams; decompression reads the
//! object in place, under its pool's lock held for reading, which loads on every CPU share.
//! Copying the object out first, to decompress outside the lock, would cost a copy per load
//! and, measured in a guest, made the decompression itself slower.

use crate::compressors::Compressors;
use crate::pages::KernelPages;
use crate::stats::Stats;
use crate::zcore::entry::{Entry, EntryState};
use crate::zcore::limit::{Limit, LimitCheck};
use crate::zcore::lru::{ListId, Lru};
use crate::zcore::page_source::PAGE_SIZE;
use crate::zcore::pool::{self, Handle, Pool, MAX_SMALL_OBJECT};
use core::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use kernel::{
    cpu, new_rwlock, new_spinlock,
    prelude::*,
    sync::{Arc, RwLock, SpinLock},
};

/// At most this many pools: one per CPU id on smaller systems, shared by several CPUs on
/// larger ones.
const MAX_POOLS: usize = 16;

/// Objects a store may move to keep its pool's waste bounded ([`Pool::settle`]): a copy of
/// at most this many pages under the pool's lock.
const SETTLE_MOVES: u32 = 4;

/// Pages all pools hold, data and metadata.
pub(crate) static POOL_PAGES: AtomicUsize = AtomicUsize::new(0);

/// Pages the LRU's node and list tables hold.
pub(crate) static LRU_PAGES: AtomicUsize = AtomicUsize::new(0);

/// Why a store failed; each is counted in [`Stats`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// The pools are at their limit.
    PoolLimit,
    /// The compressor failed.
    Compress,
    /// A pool could not get a page.
    Alloc,
}

/// The pools of one frontend instance, and the pages they hold.
pub(crate) struct Pools {
    /// One pool per CPU id, up to [`MAX_POOLS`].
    pools: KVec<Pin<KBox<RwLock<Pool<KernelPages>>>>>,
    /// Pages the pools hold, data and metadata; they are also counted in [`POOL_PAGES`].
    pages: Arc<AtomicUsize>,
}

impl Pools {
    /// Empty pools; `frontend`, for a frontend of several instances, counts the pages of
    /// all of them. May sleep.
    pub(crate) fn new(frontend: Option<&'static AtomicUsize>) -> Result<Self> {
        let nr = (cpu::nr_cpu_ids() as usize).clamp(1, MAX_POOLS);
        let pages = Arc::new(AtomicUsize::new(0), GFP_KERNEL)?;
        let mut pools = KVec::with_capacity(nr, GFP_KERNEL)?;
        for _ in 0..nr {
            let src = KernelPages::for_pools(&POOL_PAGES, frontend, pages.clone());
            pools.push(
                KBox::pin_init(new_rwlock!(Pool::new(src), "zcomp_pool"), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        Ok(Self { pools, pages })
    }

    /// Pages the pools hold, data and metadata.
    pub(crate) fn pages(&self) -> usize {
        self.pages.load(Ordering::Relaxed)
    }

    /// The pools' statistics, summed.
    pub(crate) fn stats(&self) -> pool::PoolStats {
        let mut sum = pool::PoolStats::default();
        for pool in self.pools.iter() {
            let s = pool.read().stats();
            sum.pages_held += s.pages_held;
            sum.data_pages += s.data_pages;
            sum.meta_pages += s.meta_pages;
            sum.objects += s.objects;
            sum.huge_objects += s.huge_objects;
            sum.bytes_stored += s.bytes_stored;
            sum.pages_compacted += s.pages_compacted;
        }
        sum
    }

    /// Moves objects to free what pages that frees, a few moves at a time under each pool's
    /// lock. May sleep.
    // The block frontend's `compact` file calls it.
    #[cfg_attr(not(CONFIG_ZCOMP_BLOCK), allow(dead_code))]
    pub(crate) fn compact(&self) {
        /// Moves per hold of a pool's lock.
        const MOVES: u32 = 32;
        for pool in self.pools.iter() {
            while let Ok(c) = pool.lock().compact(MOVES) {
                if c.done || c.moved == 0 {
                    break;
                }
            }
        }
    }

    /// Number of pools.
    pub(crate) fn len(&self) -> usize {
        self.pools.len()
    }

    /// The pool of the calling CPU.
    fn local(&self) -> usize {
        cpu::current_cpu_hint() as usize % self.pools.len()
    }
}

/// The shared engine.
pub(crate) struct Engine {
    /// The swap frontend's pools.
    pub(crate) swap_pools: Pools,
    /// The compression algorithms.
    pub(crate) compressors: Compressors,
    /// Event and state counters.
    pub(crate) stats: Stats,
    limit: Limit,
    /// The entries whose data is in the pools, one list per memory cgroup; see
    /// [`writeback`](crate::writeback).
    pub(crate) lru: Pin<KBox<SpinLock<Lru<KernelPages>>>>,
    /// The list the pool-limit writeback took a page from last.
    pub(crate) shrink_cursor: AtomicU16,
}

/// Whether every 64-bit word of `page` is the same, and which.
fn same_filled(page: &[u8; PAGE_SIZE]) -> Option<u64> {
    let mut words = page
        .chunks_exact(8)
        .map(|w| u64::from_ne_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]));
    let first = words.next()?;
    words.all(|w| w == first).then_some(first)
}

impl Engine {
    /// An engine with empty pools and no compressor selected.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            swap_pools: Pools::new(None)?,
            compressors: Compressors::new()?,
            stats: Stats::default(),
            limit: Limit::new(),
            lru: KBox::pin_init(
                new_spinlock!(Lru::new(KernelPages::new(&LRU_PAGES)), "zcomp_lru"),
                GFP_KERNEL,
            )?,
            shrink_cursor: AtomicU16::new(0),
        })
    }

    /// Stores a page in `pools`, compressed with algorithm `algo`, and returns its entry.
    /// With `limit` (the swap frontend's budget, `(max_pages, accept_pages)`), a page that
    /// takes pool memory is refused while all pools together are at `max_pages` or, once they
    /// were, above `accept_pages`. The entry is not on the LRU yet: see [`Engine::lru_add`].
    /// May sleep.
    pub(crate) fn store(
        &self,
        pools: &Pools,
        page: &[u8; PAGE_SIZE],
        algo: u8,
        limit: Option<(usize, usize)>,
    ) -> Result<Entry, StoreError> {
        if let Some(value) = same_filled(page) {
            self.stats.same_filled_pages.inc();
            return Ok(Entry::same_filled(value));
        }
        if let Some((max_pages, accept_pages)) = limit {
            let pages = POOL_PAGES.load(Ordering::Relaxed);
            match self.limit.check(pages, max_pages, accept_pages) {
                LimitCheck::Accept => {}
                LimitCheck::Full => {
                    self.stats.pool_limit_hit.inc();
                    return Err(StoreError::PoolLimit);
                }
                LimitCheck::Draining => return Err(StoreError::PoolLimit),
            }
        }
        let p = pools.local();
        let result = match self.store_compressed(pools, p, page, algo, |_| true) {
            Ok(Some(entry)) => Ok(entry),
            Ok(None) => self
                .store_object(pools, p, page, |handle| EntryState::Raw {
                    handle,
                    pool: p as u8,
                })
                .inspect(|_| self.stats.raw_pages.inc()),
            Err(e) => Err(e),
        };
        result.map_err(|e| {
            if e == ENOMEM {
                self.stats.reject_alloc_fail.inc();
                StoreError::Alloc
            } else {
                self.stats.reject_compress_fail.inc();
                StoreError::Compress
            }
        })
    }

    /// Compresses `page`, the data of an entry of `pools`, again with algorithm `algo`, and
    /// stores the result if `accept` takes its length: returns the new entry, or `None` if the
    /// result was refused or would be stored raw. Fails with `ENOMEM` if a pool cannot take
    /// the object and with the compressor's error. The entry is not on the LRU. May sleep.
    // The block frontend's `recompress` file calls it.
    #[cfg_attr(not(CONFIG_ZCOMP_BLOCK), allow(dead_code))]
    pub(crate) fn recompress(
        &self,
        pools: &Pools,
        page: &[u8; PAGE_SIZE],
        algo: u8,
        accept: impl FnOnce(usize) -> bool,
    ) -> Result<Option<Entry>> {
        self.store_compressed(pools, pools.local(), page, algo, accept)
    }

    /// Compresses `page` with algorithm `algo` and stores the result in pool `p` of `pools` if
    /// `accept` takes its length: returns its entry, or `None` if `accept` refused it or it
    /// would take a whole page anyway, where the page is better kept raw, so that loading it
    /// needs no decompression. Fails with `ENOMEM` if the pool cannot take the object and
    /// with the compressor's error.
    fn store_compressed(
        &self,
        pools: &Pools,
        p: usize,
        page: &[u8; PAGE_SIZE],
        algo: u8,
        accept: impl FnOnce(usize) -> bool,
    ) -> Result<Option<Entry>> {
        let stored = self.compressors.compress(algo, page, |data| {
            if data.len() > MAX_SMALL_OBJECT || !accept(data.len()) {
                return Ok(None);
            }
            self.store_object(pools, p, data, |handle| EntryState::Stored {
                handle,
                len: data.len() as u16,
                pool: p as u8,
                algo,
            })
            .map(Some)
        });
        match stored {
            // The compressor's output was not shorter than the page.
            Err(e) if e == E2BIG => Ok(None),
            other => other,
        }
    }

    /// Stores `data` in pool `p` of `pools` and returns the entry `state` makes of its
    /// handle. Fails with `ENOMEM` if the pool cannot take it and with `EINVAL` if the entry
    /// cannot encode the state (a compressor that returned nothing), freeing the object again.
    fn store_object(
        &self,
        pools: &Pools,
        p: usize,
        data: &[u8],
        state: impl FnOnce(Handle) -> EntryState,
    ) -> Result<Entry> {
        let mut pool = pools.pools[p].lock();
        let handle = pool.store(data).map_err(|_| ENOMEM)?;
        let entry = Entry::new(state(handle)).map_err(|_| {
            let _ = pool.free(handle);
            EINVAL
        })?;
        // A pool that takes a page while it wastes has holes that stores of these sizes do
        // not fill, as when overwrites bring data of other sizes: a few moves now keep the
        // waste bounded, where zram waits for its shrinker or a write to `compact`.
        if let Err(e) = pool.settle(SETTLE_MOVES) {
            pr_warn!("compacting a pool failed: {:?}\n", e);
        }
        Ok(entry)
    }

    /// Fills `out` with the page `entry`, an entry of `pools`, records. May sleep.
    pub(crate) fn load(&self, pools: &Pools, entry: &Entry, out: &mut [u8; PAGE_SIZE]) -> Result {
        match entry.state() {
            EntryState::SameFilled(value) => {
                out.chunks_exact_mut(8)
                    .for_each(|w| w.copy_from_slice(&value.to_ne_bytes()));
                Ok(())
            }
            EntryState::Raw { handle, pool } => {
                let pool = pools.pools.get(pool as usize).ok_or(EIO)?;
                match pool.read().read(handle, out) {
                    Ok(PAGE_SIZE) => Ok(()),
                    _ => Err(EIO),
                }
            }
            EntryState::Stored {
                handle, pool, algo, ..
            } => {
                let pool = pools.pools.get(pool as usize).ok_or(EIO)?;
                self.compressors
                    .decompress(algo, out, |scratch, decompress| {
                        let pool = pool.read();
                        decompress(pool.map(handle, scratch).map_err(|_| EIO)?)
                    })
            }
            EntryState::Empty | EntryState::WrittenBack { .. } => Err(EIO),
        }
    }

    /// Puts `entry`, if its data is in `pools`, at the warm end of LRU list `list` under
    /// the frontend's `key`, and returns it with its LRU node, and whether the list was
    /// empty. Without memory for the node, releases the entry.
    pub(crate) fn lru_add(
        &self,
        pools: &Pools,
        entry: Entry,
        list: ListId,
        key: u64,
    ) -> Result<(Entry, bool), StoreError> {
        if !entry.in_pool() {
            return Ok((entry, false));
        }
        let added = {
            let mut lru = self.lru.lock();
            let was_empty = lru.is_list_empty(list);
            lru.insert(list, key).map(|node| (node, was_empty))
        };
        match added {
            Ok((node, was_empty)) => Ok((entry.with_lru_node(Some(node)), was_empty)),
            Err(_) => {
                self.stats.reject_kmemcache_fail.inc();
                self.release(pools, entry);
                Err(StoreError::Alloc)
            }
        }
    }

    /// Releases what `entry`, an entry of `pools`, holds in them and on the LRU.
    pub(crate) fn release(&self, pools: &Pools, entry: Entry) {
        if let Some(node) = entry.lru_node() {
            // Only a bug makes the LRU refuse a node its entry names.
            if self.lru.lock().remove(node).is_err() {
                pr_warn!("an entry's LRU node was not in use\n");
            }
        }
        let (handle, pool) = match entry.state() {
            EntryState::SameFilled(_) => {
                self.stats.same_filled_pages.dec();
                return;
            }
            EntryState::Raw { handle, pool } => {
                self.stats.raw_pages.dec();
                (handle, pool)
            }
            EntryState::Stored { handle, pool, .. } => (handle, pool),
            EntryState::Empty | EntryState::WrittenBack { .. } => return,
        };
        let freed = match pools.pools.get(pool as usize) {
            Some(pool) => pool.lock().free(handle),
            None => Err(pool::Error::BadHandle),
        };
        // Only a bug or memory corruption makes the pool refuse its own handle.
        if let Err(e) = freed {
            pr_warn!("releasing an entry failed: {:?}\n", e);
        }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The block frontend's data: what an initialised device stores, and its reads, writes and
//! discards.
//!
//! A device is an array of page-sized blocks. Its [`BlkStore`] keeps an index of the blocks
//! that hold something, cut into regions with a spinlock each, and pools of its own in the
//! engine, so that its memory is measured, limited and compacted on its own as zram's is.
//! Regions are made on the first write to one of their blocks: an initialised device that
//! stores nothing costs a pointer per region.
//!
//! Concurrent bios may touch the same block, as they may on any disk. A write compresses
//! outside every lock and swaps the block's entry under its region's lock; the entry it
//! replaces is released after. A read takes the entry under the lock and decompresses
//! outside it, then checks that the block still has that entry; if a write replaced it in
//! between (and its data may have been freed under the read), the read starts again.
//!
//! `writeback` moves blocks to the device's backing device (see
//! [`backing`](crate::blk::backing)) in the same way: it marks a block's entry as being
//! written back, reads and writes its data outside every lock, and replaces the entry with
//! one naming the backing slot only if the block still has the marked entry. A write in
//! between makes a new, unmarked entry, so the block keeps the newer data and the slot is
//! freed; a failed write leaves the block in the pools.
//!
//! A device with a backing device puts its blocks in the pools on the engine's LRU, under
//! [`LruKey::Block`], so that the writeback that keeps the pools of both frontends under
//! their shared limit takes its cold blocks as it takes the swap frontend's cold pages
//! ([`BlkStore::write_back_cold`]), within the device's `writeback_limit`; a write that
//! takes the pools past the limit starts it. The blocks all go on list 0, whoever wrote
//! them: a cgroup's list holds what its `memory.zswap.max` counts, and writing a block back
//! would not lower that. (The shrinker sizes its work by the swap frontend's pages alone,
//! and takes blocks only as it meets them on list 0.) Without a backing device there is
//! nowhere to write a block to, and it stays off the LRU. `writeback` and `idle` work as in
//! zram either way.
//!
//! Each block's record keeps, beside its entry, when it was last written or read, on the
//! boot-time clock: `idle` with an age marks the blocks not touched for that long, as zram
//! does with `CONFIG_ZRAM_TRACK_ENTRY_ACTIME`. zcomp always keeps the time: a record is 32
//! bytes with it or without it, and the clock is read once per block read or written.
//!
//! A block written from a swap-cache folio, that is by swap on the device, is the compressed
//! copy of a page of that folio's memory cgroup: what it takes of the pools is charged to the
//! cgroup as kernel memory, as zswap charges its compressed pages, until the block is freed,
//! overwritten, discarded or written back, and the cgroup's limit counts it. Other writes,
//! a filesystem's or a direct writer's, are charged to nobody, as a disk's blocks are: a
//! file's data on the device outlives the pages and the cgroup that wrote it. (Data that
//! should count against a cgroup belongs in tmpfs, whose pages swap.)

mod recompress;

pub(crate) use recompress::{Recompression, NR_SECONDARY};

use crate::blk::backing::{io_page, BackingStore, IoPage, WritebackLimit, WritebackMode};
use crate::engine::{Engine, Pools, StoreError};
use crate::pages::KernelPages;
use crate::writeback::WritebackError;
use crate::zcore::entry::{flags, Entry, EntryState};
use crate::zcore::index::{Record, Region};
use crate::zcore::lru::NodeId;
use crate::zcore::lru_key::LruKey;
use crate::zcore::page_source::PAGE_SIZE;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use kernel::{
    block::bio::{Bio, Op, SECTOR_SIZE},
    folio::Folio,
    memcg::ObjCgroup,
    new_spinlock,
    prelude::*,
    sync::SpinLock,
    time::Ktime,
};

/// Sectors in a block.
pub(crate) const SECTORS_PER_PAGE: u64 = (PAGE_SIZE as u32 / SECTOR_SIZE) as u64;

/// Pages the pools of all block devices hold, their share of the engine's.
pub(crate) static POOL_PAGES: AtomicUsize = AtomicUsize::new(0);

/// Pages the block devices' indexes hold.
pub(crate) static INDEX_PAGES: AtomicUsize = AtomicUsize::new(0);

/// The memory cgroup a block's pool memory is charged to, if any (see the module
/// documentation).
type Owner = Option<ObjCgroup>;

/// What a device keeps for a block beside its entry.
#[derive(Default)]
pub(crate) struct BlockState {
    /// Charged for what the block takes of the pools.
    objcg: Owner,
    /// When the block was last written or read, in nanoseconds of `CLOCK_BOOTTIME`: zram's
    /// `ac_time`.
    accessed: i64,
}

/// Nanoseconds in a second.
const NSEC_PER_SEC: u64 = 1_000_000_000;

/// The time to stamp on a block written or read now.
fn now() -> i64 {
    Ktime::ktime_get_boottime().to_ns()
}

/// The cgroup to charge for a block written from `folio`: its own, if it is a swap-cache
/// folio.
fn swap_owner(folio: &Folio) -> Owner {
    if folio.in_swap_cache() {
        ObjCgroup::of_folio(folio)
    } else {
        None
    }
}

/// The index region a device's blocks are kept in: named once, so that its slot count and
/// its type cannot disagree.
type IndexRegion = Region<KernelPages, BlockState>;

/// A region of a device's index. A type of its own rather than an alias keeps the names of
/// the generic code instantiated for it short enough for kallsyms.
pub(crate) struct BlkRegion(IndexRegion);

impl Deref for BlkRegion {
    type Target = IndexRegion;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for BlkRegion {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Blocks in a region.
const REGION_SLOTS: usize = IndexRegion::SLOTS;

/// A device's counters, with the names of zram's `mm_stat`, `io_stat` and `debug_stat`.
#[derive(Default)]
pub(crate) struct BlkStats {
    /// Blocks that hold data: `pages_stored`.
    pub(crate) pages_stored: AtomicU64,
    /// Of those, blocks of one repeated word, with no pool memory: `same_pages`.
    pub(crate) same_pages: AtomicU64,
    /// Of those, incompressible blocks stored as they are: `huge_pages`.
    pub(crate) huge_pages: AtomicU64,
    /// Incompressible blocks stored since initialisation: `huge_pages_since`.
    pub(crate) huge_pages_since: AtomicU64,
    /// Bytes of the stored objects: `compr_data_size`.
    pub(crate) compr_data_size: AtomicU64,
    /// Most pages the device's pools held at once: `mem_used_max`.
    pub(crate) max_used_pages: AtomicU64,
    /// Reads that failed: `failed_reads`.
    pub(crate) failed_reads: AtomicU64,
    /// Writes that failed: `failed_writes`.
    pub(crate) failed_writes: AtomicU64,
    /// Freed swap slots the device was told of: `notify_free`.
    pub(crate) notify_free: AtomicU64,
    /// Reads that started again because a write replaced their block: `miss_free`'s place
    /// in `debug_stat`.
    pub(crate) read_retries: AtomicU64,
}

/// A page-sized buffer for I/O on part of a block.
fn bounce_page() -> Result<KVec<u8>> {
    Ok(KVec::from_elem(0, PAGE_SIZE, GFP_NOIO)?)
}

fn as_page(buf: &mut KVec<u8>) -> Result<&mut [u8; PAGE_SIZE]> {
    <&mut [u8; PAGE_SIZE]>::try_from(&mut buf[..]).map_err(|_| EINVAL)
}

fn is_same_filled(entry: &Entry) -> bool {
    matches!(entry.state(), EntryState::SameFilled(_))
}

fn is_raw(entry: &Entry) -> bool {
    matches!(entry.state(), EntryState::Raw { .. })
}

fn inc(c: &AtomicU64) {
    c.fetch_add(1, Ordering::Relaxed);
}

fn dec(c: &AtomicU64) {
    c.fetch_sub(1, Ordering::Relaxed);
}

/// Starts the shared writeback once a write took the pools of all frontends past the swap
/// frontend's limit (`max_pool_percent`): it makes room from the cold end of the LRU,
/// whichever frontend's pages are there. The write itself is not refused.
fn shrink_if_over_limit() {
    if crate::glue::swap_enabled()
        && crate::engine::POOL_PAGES.load(Ordering::Relaxed) > crate::glue::pool_limits().0
    {
        crate::glue::queue_shrink();
    }
}

/// What an initialised device stores.
///
/// # Invariants
///
/// A non-null `regions[i]` points to a `SpinLock<BlkRegion>` leaked from a pinned `KBox`; it
/// never changes until `self` is dropped, which frees it.
pub(crate) struct BlkStore {
    engine: &'static Engine,
    /// The device's number, `N` of `/dev/zramN`.
    id: u32,
    /// The device's pools.
    pub(crate) pools: Pools,
    regions: KVec<AtomicPtr<SpinLock<BlkRegion>>>,
    /// Blocks in the device.
    pub(crate) nr_pages: u64,
    /// The compressor of new writes.
    pub(crate) algo: u8,
    /// The compressors of recompression, by priority from 1: `recomp_algorithm`.
    secondary: [Option<u8>; NR_SECONDARY],
    /// The counters.
    pub(crate) stats: BlkStats,
    /// The backing device, if `backing_dev` gave one.
    pub(crate) backing: Option<BackingStore>,
}

impl BlkStore {
    /// A store for device `id`, of `nr_pages` blocks, compressing with algorithm `algo`,
    /// recompressing with `secondary`, writing back to `backing`. On success the store holds
    /// the caller's uses of the algorithms ([`Compressors::acquire`]), and gives them back when
    /// it is dropped.
    ///
    /// [`Compressors::acquire`]: crate::compressors::Compressors::acquire
    pub(crate) fn new(
        engine: &'static Engine,
        id: u32,
        nr_pages: u64,
        algo: u8,
        secondary: [Option<u8>; NR_SECONDARY],
        backing: Option<BackingStore>,
    ) -> Result<Self> {
        let nr = usize::try_from(nr_pages.div_ceil(REGION_SLOTS as u64)).map_err(|_| E2BIG)?;
        let mut regions = KVec::with_capacity(nr, GFP_KERNEL)?;
        for _ in 0..nr {
            regions.push(AtomicPtr::new(core::ptr::null_mut()), GFP_KERNEL)?;
        }
        Ok(Self {
            engine,
            id,
            pools: Pools::new(Some(&POOL_PAGES))?,
            regions,
            nr_pages,
            algo,
            secondary,
            stats: BlkStats::default(),
            backing,
        })
    }

    /// The region of block `index`, if it was made, and the block's place in it.
    fn region(&self, index: u64) -> Option<(&SpinLock<BlkRegion>, usize)> {
        let index = usize::try_from(index).ok()?;
        let ptr = self
            .regions
            .get(index / REGION_SLOTS)?
            .load(Ordering::Acquire);
        // SAFETY: By the type invariant a non-null pointer is a region that lives as long as
        // `self`.
        let region = unsafe { ptr.as_ref() }?;
        Some((region, index % REGION_SLOTS))
    }

    /// The region of block `index`, made if need be, and the block's place in it.
    fn region_or_make(&self, index: u64) -> Result<(&SpinLock<BlkRegion>, usize)> {
        if let Some(found) = self.region(index) {
            return Ok(found);
        }
        let slot = usize::try_from(index).map_err(|_| EINVAL)?;
        let cell = self.regions.get(slot / REGION_SLOTS).ok_or(EINVAL)?;
        let region = KBox::pin_init(
            new_spinlock!(
                BlkRegion(Region::new(KernelPages::new(&INDEX_PAGES))),
                "zcomp_blk_index"
            ),
            GFP_NOIO,
        )?;
        // SAFETY: The region is only ever used pinned, through the pointer published here,
        // and freed by `drop` as the box it came from.
        let ptr = KBox::into_raw(unsafe { Pin::into_inner_unchecked(region) });
        // INVARIANT: the pointer is published once, from null; a loser frees its own.
        if let Err(_winner) = cell.compare_exchange(
            core::ptr::null_mut(),
            ptr,
            Ordering::AcqRel,
            Ordering::Acquire,
        ) {
            // SAFETY: `ptr` came from `KBox::into_raw` above and was never published.
            drop(unsafe { KBox::from_raw(ptr) });
        }
        self.region(index).ok_or(EINVAL)
    }

    /// Carries out `bio`, a bio within the device, with the pools limited to `limit_pages`
    /// (zero for no limit).
    pub(crate) fn submit(&self, mut bio: Bio, limit_pages: usize) {
        let result = match bio.op() {
            Op::Read | Op::Write => {
                let write = bio.op() == Op::Write;
                let mut result = Ok(());
                for mut seg in bio.segments() {
                    let index = seg.sector() / SECTORS_PER_PAGE;
                    let offset = (seg.sector() % SECTORS_PER_PAGE) as usize * SECTOR_SIZE as usize;
                    result = if write {
                        let owner = swap_owner(seg.folio());
                        seg.with_data(|data| self.write(index, offset, data, limit_pages, owner))
                    } else {
                        seg.with_data_mut(|data| self.read(index, offset, data))
                    };
                    if result.is_err() {
                        inc(if write {
                            &self.stats.failed_writes
                        } else {
                            &self.stats.failed_reads
                        });
                        break;
                    }
                }
                result
            }
            Op::Discard | Op::WriteZeroes => {
                self.discard(bio.sector(), bio.len() as u64);
                Ok(())
            }
            Op::Flush => Ok(()),
            Op::Other(_) => Err(EOPNOTSUPP),
        };
        bio.end(result);
    }

    /// Frees the whole blocks of `len` bytes from `sector`; a discard or write-zeroes that
    /// covers part of a block leaves it, as zram does (a block reads as zeroes once freed).
    fn discard(&self, sector: u64, len: u64) {
        let mut index = sector / SECTORS_PER_PAGE;
        let offset = (sector % SECTORS_PER_PAGE) * SECTOR_SIZE as u64;
        let mut len = len;
        if offset != 0 {
            let rest = PAGE_SIZE as u64 - offset;
            if len <= rest {
                return;
            }
            len -= rest;
            index += 1;
        }
        while len >= PAGE_SIZE as u64 {
            self.free(index);
            index += 1;
            len -= PAGE_SIZE as u64;
        }
    }

    /// Frees block `index`, if it holds something.
    pub(crate) fn free(&self, index: u64) {
        let Some((region, slot)) = self.region(index) else {
            return;
        };
        let record = region.lock().remove(slot);
        if let Some(record) = record {
            self.release(record);
        }
    }

    /// Gives back what `record` holds in the pools and its cgroup's charge, as if it had never
    /// been stored.
    fn unstore(&self, record: Record<BlockState>) {
        if let Some(objcg) = &record.owner.objcg {
            objcg.uncharge(record.entry.pool_len());
        }
        self.engine.release(&self.pools, record.entry);
    }

    /// Releases what `record`, taken out of the index, holds.
    fn release(&self, record: Record<BlockState>) {
        let entry = record.entry;
        let s = &self.stats;
        dec(&s.pages_stored);
        if is_same_filled(&entry) {
            dec(&s.same_pages);
        }
        self.uncount_pool_data(&entry);
        if let (EntryState::WrittenBack { slot, .. }, Some(backing)) =
            (entry.state(), &self.backing)
        {
            backing.free(slot);
        }
        self.unstore(record);
    }

    /// Replaces the entry of block `index` with what `update` makes of it, if it still has
    /// the state of `entry` and `update` makes something: returns the entry replaced. The
    /// block's charge follows what the new entry takes of the pools, which is never more: the
    /// difference is uncharged, and a block that takes nothing forgets its cgroup.
    fn replace(
        &self,
        index: u64,
        entry: &Entry,
        update: impl FnOnce(Entry) -> Option<Entry>,
    ) -> Option<Entry> {
        let (region, slot) = self.region(index)?;
        let mut region = region.lock();
        let (old, forgotten) = region.modify(slot, |record| {
            if record.entry.state() != entry.state() {
                return None;
            }
            let new = update(record.entry)?;
            let old = core::mem::replace(&mut record.entry, new);
            let (was, now) = (old.pool_len(), new.pool_len());
            debug_assert!(now <= was);
            if let Some(objcg) = record.owner.objcg.as_ref().filter(|_| now < was) {
                objcg.uncharge(was - now);
            }
            Some((
                old,
                if now == 0 {
                    record.owner.objcg.take()
                } else {
                    None
                },
            ))
        })??;
        // The cgroup's reference goes outside the lock.
        drop(region);
        drop(forgotten);
        Some(old)
    }

    /// Sets `set` and clears `clear` in the flags of block `index`'s entry, if it still has
    /// the state of `entry`; returns whether it did. The entry replaced has the same state,
    /// so it holds nothing of its own.
    fn update_flags(&self, index: u64, entry: &Entry, set: u8, clear: u8) -> bool {
        self.replace(index, entry, |mut current| {
            current.set_flags(set);
            current.clear_flags(clear);
            Some(current)
        })
        .is_some()
    }

    /// Takes what `entry` holds in the pools off the counters.
    fn uncount_pool_data(&self, entry: &Entry) {
        if is_raw(entry) {
            dec(&self.stats.huge_pages);
        }
        self.stats
            .compr_data_size
            .fetch_sub(entry.pool_len() as u64, Ordering::Relaxed);
    }

    /// Releases `old`, the entry of a block whose data moved elsewhere (to the backing device,
    /// or to a smaller object): the block is still stored.
    fn release_moved(&self, old: Entry) {
        self.uncount_pool_data(&old);
        self.engine.release(&self.pools, old);
    }

    /// The entry of block `index`, if it holds something.
    fn entry(&self, index: u64) -> Option<Entry> {
        let (region, slot) = self.region(index)?;
        let region = region.lock();
        region.get(slot).map(|r| r.entry)
    }

    /// Fills `out` with the data of block `index`: zeroes if it holds nothing.
    fn load(&self, index: u64, out: &mut [u8; PAGE_SIZE]) -> Result {
        loop {
            let Some(entry) = self.entry(index) else {
                out.fill(0);
                return Ok(());
            };
            let loaded = match (entry.state(), &self.backing) {
                (EntryState::WrittenBack { slot, .. }, Some(backing)) => backing.read(slot, out),
                _ => self.engine.load(&self.pools, &entry, out),
            };
            // Unless a write replaced the entry meanwhile, what was read is the block's.
            if self.accessed(index, &entry) {
                return loaded;
            }
            inc(&self.stats.read_retries);
        }
    }

    /// Stamps block `index` as read now, and no longer idle, as zram does, if it still has
    /// the state of `entry`: returns whether it does.
    fn accessed(&self, index: u64, entry: &Entry) -> bool {
        let Some((region, slot)) = self.region(index) else {
            return false;
        };
        let stamp = now();
        let mut region = region.lock();
        region
            .modify(slot, |record| {
                let same = record.entry.state() == entry.state();
                if same {
                    record.entry.clear_flags(flags::IDLE);
                    record.owner.accessed = stamp;
                }
                same
            })
            .unwrap_or(false)
    }

    /// Reads `out.len()` bytes at `offset` of block `index` into `out`.
    fn read(&self, index: u64, offset: usize, out: &mut [u8]) -> Result {
        if let Ok(page) = <&mut [u8; PAGE_SIZE]>::try_from(&mut *out) {
            return self.load(index, page);
        }
        // Part of a block: through a bounce page.
        let mut bounce = bounce_page()?;
        let page = as_page(&mut bounce)?;
        self.load(index, page)?;
        out.copy_from_slice(page.get(offset..offset + out.len()).ok_or(EINVAL)?);
        Ok(())
    }

    /// Writes `data` at `offset` of block `index`, charging `owner`.
    fn write(
        &self,
        index: u64,
        offset: usize,
        data: &[u8],
        limit_pages: usize,
        owner: Owner,
    ) -> Result {
        if let Ok(page) = <&[u8; PAGE_SIZE]>::try_from(data) {
            return self.store(index, page, limit_pages, owner);
        }
        // Part of a block: read, modify, write.
        let mut bounce = bounce_page()?;
        let page = as_page(&mut bounce)?;
        self.load(index, page)?;
        page.get_mut(offset..offset + data.len())
            .ok_or(EINVAL)?
            .copy_from_slice(data);
        self.store(index, page, limit_pages, owner)
    }

    /// Stores `page` as the data of block `index`, charged to `owner`, unless that takes the
    /// pools past `limit_pages` or the cgroup past its limit.
    fn store(
        &self,
        index: u64,
        page: &[u8; PAGE_SIZE],
        limit_pages: usize,
        owner: Owner,
    ) -> Result {
        if index >= self.nr_pages {
            return Err(EINVAL);
        }
        let (region, slot) = self.region_or_make(index)?;
        let entry = self
            .engine
            .store(&self.pools, page, self.algo, None)
            .map_err(|e| match e {
                StoreError::Compress => EIO,
                StoreError::Alloc | StoreError::PoolLimit => ENOMEM,
            })?;
        let s = &self.stats;
        let used = self.pools.pages();
        if limit_pages != 0 && used > limit_pages {
            self.engine.release(&self.pools, entry);
            return Err(ENOMEM);
        }
        s.max_used_pages.fetch_max(used as u64, Ordering::Relaxed);
        let entry = match self.lru_key(index) {
            Some(key) => {
                self.engine
                    .lru_add(&self.pools, entry, 0, key)
                    .map_err(|_| ENOMEM)?
                    .0
            }
            None => entry,
        };
        // Only what takes pool memory is charged. Swap-out runs in reclaim, where the charge
        // is forced past the cgroup's limit as reclaim's own allocations are.
        let objcg = owner.filter(|_| entry.pool_len() > 0);
        if let Some(objcg) = &objcg {
            if objcg.charge(entry.pool_len(), GFP_NOIO).is_err() {
                self.engine.release(&self.pools, entry);
                return Err(ENOMEM);
            }
        }
        let owner = BlockState {
            objcg,
            accessed: now(),
        };
        let inserted = region.lock().insert(slot, Record { entry, owner });
        match inserted {
            Ok(old) => {
                inc(&s.pages_stored);
                if is_same_filled(&entry) {
                    inc(&s.same_pages);
                } else if is_raw(&entry) {
                    inc(&s.huge_pages);
                    inc(&s.huge_pages_since);
                }
                s.compr_data_size
                    .fetch_add(entry.pool_len() as u64, Ordering::Relaxed);
                if let Some(old) = old {
                    self.release(old);
                }
                shrink_if_over_limit();
                Ok(())
            }
            Err((_, record)) => {
                self.unstore(record);
                Err(ENOMEM)
            }
        }
    }
}

/// Writeback and idle marking.
impl BlkStore {
    /// Block `index`'s key on the LRU, if its entries go there: the device has a backing
    /// device to write them to.
    fn lru_key(&self, index: u64) -> Option<u64> {
        self.backing.as_ref()?;
        LruKey::Block {
            device: self.id,
            index,
        }
        .encode()
    }

    /// Writes block `index`, whose LRU node `node` the shared writeback isolated, to the
    /// backing device, as `writeback` does, within `limit`. A block this writeback cannot
    /// take (no backing device, the limit spent or the backing device full, or the node no
    /// longer the block's) is `Skipped`, and one whose write failed is `Kept`: it stays in
    /// the pools. The caller holds the configuration lock. May sleep.
    pub(crate) fn write_back_cold(
        &self,
        index: u64,
        node: NodeId,
        limit: &WritebackLimit,
    ) -> Result<(), WritebackError> {
        let backing = self.backing.as_ref().ok_or(WritebackError::Skipped)?;
        if !limit.allows() {
            return Err(WritebackError::Skipped);
        }
        let entry = self
            .entry(index)
            .filter(|e| e.lru_node() == Some(node))
            .ok_or(WritebackError::Skipped)?;
        let mut page = io_page(GFP_NOIO).map_err(|_| WritebackError::Kept)?;
        match self.write_back(backing, index, &entry, &mut page, limit) {
            Ok(true) => Ok(()),
            // A write replaced the block, and freed the node with its old entry.
            Ok(false) => Err(WritebackError::Gone),
            Err(e) if e == ENOSPC => Err(WritebackError::Skipped),
            Err(_) => Err(WritebackError::Kept),
        }
    }

    /// Marks the blocks in the pools idle: all of them (`idle` with `all`), or those not
    /// accessed for `age` seconds (`idle` with an age), which also makes the others active
    /// again, as zram does. A read or a write of a block makes it active.
    pub(crate) fn mark_idle(&self, age: Option<u64>) {
        let cutoff = age.map(|secs| {
            let ns = i64::try_from(secs.saturating_mul(NSEC_PER_SEC)).unwrap_or(i64::MAX);
            now().saturating_sub(ns)
        });
        for first in (0..self.nr_pages).step_by(REGION_SLOTS) {
            let Some((region, _)) = self.region(first) else {
                continue;
            };
            let mut region = region.lock();
            for slot in 0..REGION_SLOTS {
                region.modify(slot, |record| {
                    if !record.entry.in_pool() {
                        return;
                    }
                    if cutoff.map_or(true, |cutoff| record.owner.accessed < cutoff) {
                        record.entry.set_flags(flags::IDLE);
                    } else {
                        record.entry.clear_flags(flags::IDLE);
                    }
                });
            }
        }
    }

    /// Moves the blocks `mode` picks to the backing device, while `limit` allows: returns
    /// how many moved. Fails with `ENODEV` without a backing device, `EINVAL` for an index
    /// past the end, `EIO` once `limit` is spent, `ENOSPC` once the backing device is full,
    /// or with the error of a write that failed (the others are still tried). May sleep.
    pub(crate) fn writeback(&self, mode: WritebackMode, limit: &WritebackLimit) -> Result<u64> {
        let backing = self.backing.as_ref().ok_or(ENODEV)?;
        let range = match mode {
            WritebackMode::Page(index) if index >= self.nr_pages => return Err(EINVAL),
            WritebackMode::Page(index) => index..index + 1,
            _ => 0..self.nr_pages,
        };
        let mut page = io_page(GFP_KERNEL)?;
        let (mut moved, mut result) = (0, Ok(()));
        for index in range {
            if !limit.allows() {
                result = Err(EIO);
                break;
            }
            let Some(entry) = self.entry(index).filter(|e| mode.wants(e)) else {
                continue;
            };
            match self.write_back(backing, index, &entry, &mut page, limit) {
                Ok(true) => moved += 1,
                Ok(false) => {}
                Err(e) if e == ENOSPC => {
                    result = Err(e);
                    break;
                }
                Err(e) => result = Err(e),
            }
        }
        result.map(|()| moved)
    }

    /// Marks block `index`'s entry `entry` as being written back, writes the block to the
    /// backing device and makes its entry name the slot, spending a page of `limit`: returns
    /// whether the block moved (not if a write replaced it before or meanwhile). On failure
    /// the block stays in the pools.
    fn write_back(
        &self,
        backing: &BackingStore,
        index: u64,
        entry: &Entry,
        page: &mut IoPage,
        limit: &WritebackLimit,
    ) -> Result<bool> {
        if !self.update_flags(index, entry, flags::WRITEBACK, 0) {
            return Ok(false);
        }
        let unmark = || self.update_flags(index, entry, 0, flags::WRITEBACK);
        if self.engine.load(&self.pools, entry, page).is_err() {
            // Replaced and freed under the load: the new entry is not this writeback's.
            unmark();
            return Ok(false);
        }
        let slot = backing.write(page).inspect_err(|_| {
            unmark();
        })?;
        let written = EntryState::WrittenBack {
            slot,
            len: PAGE_SIZE as u16,
        };
        // Only a block still marked by this writeback moves; its other flags go along.
        let old = Entry::new(written).ok().and_then(|mut moved| {
            self.replace(index, entry, |current| {
                current.test_flags(flags::WRITEBACK).then(|| {
                    moved.set_flags(current.flags() & !flags::WRITEBACK);
                    moved
                })
            })
        });
        let Some(old) = old else {
            backing.free(slot);
            unmark();
            return Ok(false);
        };
        self.release_moved(old);
        limit.consume();
        Ok(true)
    }
}

impl Drop for BlkStore {
    fn drop(&mut self) {
        for cell in self.regions.iter() {
            let ptr = cell.swap(core::ptr::null_mut(), Ordering::Acquire);
            if ptr.is_null() {
                continue;
            }
            // SAFETY: By the type invariant `ptr` came from a leaked `KBox`, and with
            // `&mut self` nothing else refers to it.
            let region = unsafe { KBox::from_raw(ptr) };
            let mut region = region.lock();
            for slot in 0..REGION_SLOTS {
                if let Some(record) = region.remove(slot) {
                    self.unstore(record);
                }
            }
        }
        let secondary = self.secondary.into_iter().flatten();
        for id in Iterator::chain(core::iter::once(self.algo), secondary) {
            // SAFETY: `new` gave the store these uses, and the store's entries, the only
            // ones it made with them, are all freed above.
            unsafe { self.engine.compressors.release(id) };
        }
    }
}

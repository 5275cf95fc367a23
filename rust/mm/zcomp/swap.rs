// SPDX-License-Identifier: GPL-2.0

//! The swap frontend: zcomp behind the interface of `include/linux/zswap.h`.
//!
//! The swap code calls these functions exactly as it calls zswap's: [`zswap_store`] when a
//! page is written out, [`zswap_load`] when it is read back, [`zswap_invalidate`] when its
//! swap slot is freed, [`zswap_swapon`] and [`zswap_swapoff`] around a swap device's life.
//! Each swap device has an index of the slots stored in zcomp, cut into regions with a
//! spinlock each; a record holds the slot's [`Entry`](crate::zcore::entry::Entry) and the
//! memory cgroup charged for it.
//!
//! The swap code orders these calls for a given slot, as it does for zswap: a store or load
//! has the slot's folio locked in the swap cache, so no other store or load of the slot runs
//! at the same time, and a slot is invalidated only once nothing uses it. A swap device's
//! calls all come between its `zswap_swapon()` and its `zswap_swapoff()`.
//!
//! Cold pages are written back to their own swap slots (see [`writeback`](crate::writeback)):
//! [`write_back`] holds a new folio for the slot in the swap cache, which keeps the slot and
//! its device in place, fills it from the record and has it written. The swap code orders
//! this against the other calls, as for a swap-in.
//!
//! The parameters (`/sys/module/zswap/parameters/`) are kept by `swap_params.c`, and the
//! swap cache, cgroup and shrinker calls of writeback by `swap_writeback.c`.

use crate::engine::{Engine, StoreError, POOL_PAGES};
use crate::pages::KernelPages;
use crate::swapcache::NewSwapFolio;
use crate::writeback::{self, WritebackError};
use crate::zcore::index::{IndexError, Record, Region};
use crate::zcore::lru::ListId;
use crate::zcore::lru_key::LruKey;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};
use kernel::ffi::{c_char, c_int, c_ulong};
use kernel::{
    bindings,
    folio::{Folio, SwapEntry},
    memcg::ObjCgroup,
    new_spinlock,
    prelude::*,
    sync::SpinLock,
    vmstat::{count_vm_events, VmEvent},
};

/// Swap device numbers are below this (`MAX_SWAPFILES` is at most `1 << MAX_SWAPFILES_SHIFT`).
const MAX_SWAP_TYPES: usize = 1 << bindings::MAX_SWAPFILES_SHIFT;

/// Pages the swap devices' indexes hold.
pub(crate) static INDEX_PAGES: AtomicUsize = AtomicUsize::new(0);

/// A region of a swap device's index. A type of its own rather than an alias keeps the
/// names of the generic code instantiated for it short enough for kallsyms.
struct SwapRegion(Region<KernelPages, Option<ObjCgroup>>);

impl Deref for SwapRegion {
    type Target = Region<KernelPages, Option<ObjCgroup>>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for SwapRegion {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

/// Slots in a region.
const REGION_SLOTS: usize = Region::<KernelPages, Option<ObjCgroup>>::SLOTS;

/// A slot's key on the LRU.
fn lru_key(swp: SwapEntry) -> Option<u64> {
    LruKey::Swap {
        swap_type: swp.swap_type(),
        offset: swp.offset(),
    }
    .encode()
}

/// The engine, once `zcomp_swap_init` has published it; it then lives until the kernel stops.
static ENGINE: AtomicPtr<Engine> = AtomicPtr::new(core::ptr::null_mut());

/// One swap device's index.
struct SwapDevice {
    regions: KVec<Pin<KBox<SpinLock<SwapRegion>>>>,
}

impl SwapDevice {
    fn new(nr_pages: usize) -> Result<Self> {
        let nr = nr_pages.div_ceil(REGION_SLOTS);
        let mut regions = KVec::with_capacity(nr, GFP_KERNEL)?;
        for _ in 0..nr {
            regions.push(
                KBox::pin_init(
                    new_spinlock!(
                        SwapRegion(Region::new(KernelPages::new(&INDEX_PAGES))),
                        "zcomp_swap_index"
                    ),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
        }
        Ok(Self { regions })
    }

    /// The region of slot `offset` and the slot's place in it.
    fn region(&self, offset: u64) -> Option<(&SpinLock<SwapRegion>, usize)> {
        let offset = usize::try_from(offset).ok()?;
        let region = self.regions.get(offset / REGION_SLOTS)?;
        Some((region, offset % REGION_SLOTS))
    }
}

/// The swap devices by type: non-null from `zswap_swapon()` to `zswap_swapoff()`.
static DEVICES: [AtomicPtr<SwapDevice>; MAX_SWAP_TYPES] =
    [const { AtomicPtr::new(core::ptr::null_mut()) }; MAX_SWAP_TYPES];

/// Makes `engine` the swap frontend's engine. Called once, at initialisation.
pub(crate) fn publish(engine: &'static Engine) {
    ENGINE.store(core::ptr::from_ref(engine).cast_mut(), Ordering::Release);
}

fn engine() -> Option<&'static Engine> {
    // SAFETY: a non-null `ENGINE` was stored by `publish` from a `&'static Engine`.
    unsafe { ENGINE.load(Ordering::Acquire).as_ref() }
}

/// The index of swap device `swap_type`, if it is on.
fn device(swap_type: u32) -> Option<&'static SwapDevice> {
    let ptr = DEVICES.get(swap_type as usize)?.load(Ordering::Acquire);
    // SAFETY: a non-null pointer was published by `zswap_swapon` from a leaked `KBox`, and is
    // freed by `zswap_swapoff` only once no other call for the device runs (see the module
    // documentation), so it is valid for as long as the caller, one of those calls, runs.
    unsafe { ptr.as_ref() }
}

/// Releases what a record holds: its pool data and its memory cgroup charge.
fn release(engine: &Engine, record: Record<Option<ObjCgroup>>) {
    if let Some(objcg) = &record.owner {
        objcg.uncharge_zswap(record.entry.pool_len());
    }
    engine.release(&engine.swap_pools, record.entry);
    crate::glue::stored_pages_add(-1);
}

/// Takes the record of `swp` out of its index, if there is one.
fn take(swp: SwapEntry) -> Option<Record<Option<ObjCgroup>>> {
    let (region, slot) = device(swp.swap_type())?.region(swp.offset())?;
    let mut region = region.lock();
    region.remove(slot)
}

/// Stores `folio`, a page being swapped out, in zcomp; returns whether it did.
///
/// # Safety
///
/// `folio` is a valid folio, locked and in the swap cache.
#[no_mangle]
pub(crate) unsafe extern "C" fn zswap_store(folio: *mut bindings::folio) -> bool {
    // SAFETY: The caller guarantees that the folio is valid, and holds it locked throughout.
    let folio = unsafe { Folio::from_raw(folio) };
    let swp = folio.swap_entry();
    let Some(engine) = engine() else {
        return false;
    };
    if !folio.is_large() && crate::glue::swap_enabled() && store(engine, folio, swp).is_ok() {
        return true;
    }
    // The slot may hold an older copy of the page, from before it was dirtied again; the
    // page now goes to the swap device, and a later writeback of the old copy must not
    // overwrite it.
    if let Some(old) = take(swp) {
        release(engine, old);
    }
    false
}

fn store(engine: &Engine, folio: &Folio, swp: SwapEntry) -> Result<(), StoreError> {
    let (region, slot) = device(swp.swap_type())
        .and_then(|d| d.region(swp.offset()))
        .ok_or(StoreError::Alloc)?;
    let key = lru_key(swp).ok_or(StoreError::Alloc)?;
    let objcg = ObjCgroup::of_folio(folio);
    if let Some(objcg) = &objcg {
        // A cgroup at its memory.zswap.max makes room by writing back its own coldest page.
        if !objcg.may_zswap() && !make_room(engine, objcg) {
            engine.stats.reject_cgroup_limit.inc();
            return Err(StoreError::PoolLimit);
        }
    }
    let limit = Some(crate::glue::pool_limits());
    let algo = engine.compressors.current().ok_or(StoreError::Compress)?;
    let pools = &engine.swap_pools;
    let entry = match folio.with_page(0, |page| engine.store(pools, page, algo, limit)) {
        Ok(entry) => entry,
        Err(StoreError::PoolLimit) => {
            crate::glue::queue_shrink();
            return Err(StoreError::PoolLimit);
        }
        Err(e) => return Err(e),
    };
    let list = crate::glue::lru_list(objcg.as_ref());
    let (entry, list_was_empty) = engine.lru_add(pools, entry, list, key)?;
    if list_was_empty {
        crate::glue::lru_list_busy(objcg.as_ref());
    }
    let len = entry.pool_len();
    if let Some(objcg) = &objcg {
        objcg.charge_zswap(len);
    }
    let record = Record {
        entry,
        owner: objcg,
    };
    let inserted = region.lock().insert(slot, record);
    match inserted {
        Ok(Some(old)) => release(engine, old),
        Ok(None) => {}
        Err((e, record)) => {
            if let Some(objcg) = &record.owner {
                objcg.uncharge_zswap(len);
            }
            engine.release(pools, record.entry);
            if e == IndexError::NoMemory {
                engine.stats.reject_kmemcache_fail.inc();
            }
            return Err(StoreError::Alloc);
        }
    }
    crate::glue::stored_pages_add(1);
    if let Some(objcg) = ObjCgroup::of_folio(folio) {
        objcg.count_events(VmEvent::ZswpOut, 1);
    }
    count_vm_events(VmEvent::ZswpOut, 1);
    Ok(())
}

/// Writes back the coldest page of `objcg`'s cgroup, if the cgroup allows it; returns
/// whether a page went.
fn make_room(engine: &Engine, objcg: &ObjCgroup) -> bool {
    crate::glue::writeback_enabled(objcg) && {
        let list = crate::glue::lru_list(Some(objcg));
        writeback::shrink_list(engine, list, 1) > 0
    }
}

/// Writes the page of slot `offset` of swap device `swap_type` back to the slot, and drops
/// its record.
pub(crate) fn write_back(
    engine: &Engine,
    swap_type: u32,
    offset: u64,
) -> Result<(), WritebackError> {
    let swp = SwapEntry::new(swap_type, offset);
    // Fails if the slot was freed, or has a folio: the page is being read in, or written.
    let mut folio = NewSwapFolio::new(swp).map_err(|_| WritebackError::Kept)?;
    // With the folio locked in the swap cache the device stays on and no store, load or
    // invalidation of the slot runs: the record read here is the one dropped below.
    let (region, slot) = device(swp.swap_type())
        .and_then(|d| d.region(swp.offset()))
        .ok_or(WritebackError::Gone)?;
    let entry = region
        .lock()
        .get(slot)
        .map(|r| r.entry)
        .ok_or(WritebackError::Gone)?;
    if folio
        .fill(|page| engine.load(&engine.swap_pools, &entry, page))
        .is_err()
    {
        pr_err!(
            "failed to load swap slot {:#x} for writeback\n",
            swp.offset()
        );
        return Err(WritebackError::Kept);
    }
    let record = region.lock().remove(slot).ok_or(WritebackError::Gone)?;
    count_vm_events(VmEvent::ZswpWb, 1);
    if let Some(objcg) = &record.owner {
        objcg.count_events(VmEvent::ZswpWb, 1);
    }
    release(engine, record);
    // A write that fails leaves the folio dirty in the swap cache, to be stored again.
    folio.write();
    Ok(())
}

/// Fills `folio`, being swapped in, from zcomp; returns whether zcomp had the page.
///
/// # Safety
///
/// `folio` is a valid folio, locked and not uptodate.
#[no_mangle]
pub(crate) unsafe extern "C" fn zswap_load(folio: *mut bindings::folio) -> bool {
    // SAFETY: The caller guarantees that the folio is valid, and holds it locked throughout.
    let folio = unsafe { Folio::from_raw(folio) };
    let (Some(engine), false) = (engine(), crate::glue::never_enabled()) else {
        return false;
    };
    // Large folios are not swapped in while zswap's interface is in use
    // (`zswap_never_enabled()`); one that is may be partly here. Returning true without
    // marking it uptodate makes the swap-in fail with an I/O error.
    if folio.is_large() {
        pr_warn!("large folio swapped in\n");
        return true;
    }
    let swp = folio.swap_entry();
    let Some((region, slot)) = device(swp.swap_type()).and_then(|d| d.region(swp.offset())) else {
        return false;
    };
    // Read into the swap cache, the folio becomes the page's only copy: zcomp lets go of
    // its own. Read into a private folio (a synchronous swap-in that may fail), zcomp keeps
    // the page.
    let swapcache = folio.in_swap_cache();
    let (entry, taken) = {
        let mut region = region.lock();
        if swapcache {
            match region.remove(slot) {
                Some(record) => (record.entry, Some(record)),
                None => return false,
            }
        } else {
            match region.get(slot) {
                Some(record) => (record.entry, None),
                None => return false,
            }
        }
    };
    // SAFETY: The caller holds the folio locked and not uptodate: nothing else reads or
    // writes its contents.
    let loaded =
        unsafe { folio.with_page_mut(0, |page| engine.load(&engine.swap_pools, &entry, page)) };
    if loaded.is_err() {
        // The page is lost; with the folio left not uptodate the swap-in fails.
        pr_err!("failed to load swap slot {:#x}\n", swp.offset());
    }
    count_vm_events(VmEvent::ZswpIn, 1);
    let count_in_cgroup = |r: &Record<Option<ObjCgroup>>| {
        if let Some(objcg) = &r.owner {
            objcg.count_events(VmEvent::ZswpIn, 1);
        }
    };
    match taken {
        Some(record) => {
            count_in_cgroup(&record);
            release(engine, record);
            folio.mark_dirty();
        }
        None => {
            if let Some(record) = region.lock().get(slot) {
                count_in_cgroup(record);
            }
        }
    }
    if loaded.is_ok() {
        folio.mark_uptodate();
    }
    true
}

/// Drops what zcomp holds for a freed swap slot.
///
/// # Safety
///
/// `swp` is a slot of a swap device between its `zswap_swapon()` and `zswap_swapoff()`.
#[no_mangle]
pub(crate) unsafe extern "C" fn zswap_invalidate(swp: bindings::swp_entry_t) {
    let (Some(engine), Some(record)) = (engine(), take(SwapEntry::from_raw(swp))) else {
        return;
    };
    release(engine, record);
}

/// Prepares the index of swap device `swap_type`, of `nr_pages` slots.
///
/// # Safety
///
/// No `zswap_*` call for the device runs, and none will before this returns.
#[no_mangle]
pub(crate) unsafe extern "C" fn zswap_swapon(swap_type: c_int, nr_pages: c_ulong) -> c_int {
    let Some(slot) = usize::try_from(swap_type).ok().and_then(|t| DEVICES.get(t)) else {
        return EINVAL.to_errno();
    };
    let device = match SwapDevice::new(nr_pages).and_then(|d| Ok(KBox::new(d, GFP_KERNEL)?)) {
        Ok(device) => device,
        Err(e) => {
            pr_err!("no memory for the index of swap device {}\n", swap_type);
            return e.to_errno();
        }
    };
    let old = slot.swap(KBox::into_raw(device), Ordering::AcqRel);
    if !old.is_null() {
        // SAFETY: `old` was published by an earlier `zswap_swapon` of this type without its
        // `zswap_swapoff`; the swap code never does that, and the device is unused.
        drop(unsafe { KBox::from_raw(old) });
        pr_warn!("swap device {} turned on twice\n", swap_type);
    }
    0
}

/// Frees the index of swap device `swap_type`.
///
/// # Safety
///
/// No other `zswap_*` call for the device runs, and none will until its next `zswap_swapon()`.
#[no_mangle]
pub(crate) unsafe extern "C" fn zswap_swapoff(swap_type: c_int) {
    let Some(slot) = usize::try_from(swap_type).ok().and_then(|t| DEVICES.get(t)) else {
        return;
    };
    let ptr = slot.swap(core::ptr::null_mut(), Ordering::AcqRel);
    if ptr.is_null() {
        return;
    }
    // SAFETY: `ptr` was published by `zswap_swapon` from a leaked `KBox`, was just unpublished,
    // and by the caller's guarantee nothing else uses it.
    let device = unsafe { KBox::from_raw(ptr) };
    // Swapoff invalidated every slot before calling here; a record left is a bug, but its
    // pool data must not leak.
    for region in device.regions.iter() {
        let mut region = region.lock();
        if !region.is_empty() {
            pr_warn!("swap device {} turned off with pages stored\n", swap_type);
            for slot in 0..REGION_SLOTS {
                if let (Some(record), Some(engine)) = (region.remove(slot), engine()) {
                    release(engine, record);
                }
            }
        }
    }
}

/// Whether LRU list `list` has no page, for the shrinker.
#[no_mangle]
pub(crate) extern "C" fn mm_zcomp_swap_lru_empty(list: ListId) -> bool {
    match engine() {
        Some(engine) => engine.lru.lock().is_list_empty(list),
        None => true,
    }
}

/// Hands the pages of list `from`, a cgroup going offline, to list `to`, its parent's.
#[no_mangle]
pub(crate) extern "C" fn mm_zcomp_swap_lru_reparent(from: ListId, to: ListId) {
    if let Some(engine) = engine() {
        if engine.lru.lock().splice(from, to).is_err() {
            // The parent's list could not be made: the pages stay on the old list, which
            // the pool-limit writeback still visits.
            pr_warn!("no memory to move an offline cgroup's pages to its parent\n");
        }
    }
}

/// The shrinker's scan: writes back up to `nr` of the coldest pages of `list`, and returns
/// how many it wrote. May sleep.
#[no_mangle]
pub(crate) extern "C" fn mm_zcomp_swap_shrink(list: ListId, nr: c_ulong) -> c_ulong {
    let Some(engine) = engine() else {
        return 0;
    };
    writeback::shrink_list(engine, list, nr)
}

/// One batch of the work that brings the pools under their accept threshold once they
/// reached their limit; returns whether to run another. May sleep.
#[no_mangle]
pub(crate) extern "C" fn mm_zcomp_swap_shrink_step() -> bool {
    let Some(engine) = engine() else {
        return false;
    };
    writeback::shrink_batch(
        engine,
        || POOL_PAGES.load(Ordering::Relaxed) > crate::glue::pool_limits().1,
        crate::glue::list_writeback_enabled,
    )
}

/// Pages the swap frontend's pools hold, for `/proc/meminfo`'s `Zswap`: as with zswap and
/// zram, what block devices hold is not in it.
#[no_mangle]
pub(crate) extern "C" fn zswap_total_pages() -> c_ulong {
    engine().map_or(0, |engine| engine.swap_pools.pages() as c_ulong)
}

/// Makes `name` the compressor of new stores.
///
/// # Safety
///
/// `name` is a valid NUL-terminated string.
#[no_mangle]
pub(crate) unsafe extern "C" fn mm_zcomp_swap_set_compressor(name: *const c_char) -> c_int {
    let Some(engine) = engine() else {
        return ENODEV.to_errno();
    };
    // SAFETY: The caller guarantees that `name` is a valid NUL-terminated string.
    let name = unsafe { kernel::str::CStr::from_char_ptr(name) };
    match engine.compressors.select(name) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

// The C declarations of these functions have the Rust signatures.
const _: [unsafe extern "C" fn(*mut bindings::folio) -> bool; 4] = [
    zswap_store,
    bindings::zswap_store,
    zswap_load,
    bindings::zswap_load,
];
const _: [unsafe extern "C" fn(bindings::swp_entry_t); 2] =
    [zswap_invalidate, bindings::zswap_invalidate];
const _: [unsafe extern "C" fn(c_int, c_ulong) -> c_int; 2] =
    [zswap_swapon, bindings::zswap_swapon];
const _: [unsafe extern "C" fn(c_int); 2] = [zswap_swapoff, bindings::zswap_swapoff];
const _: [unsafe extern "C" fn(ListId) -> bool; 2] =
    [mm_zcomp_swap_lru_empty, bindings::mm_zcomp_swap_lru_empty];
const _: [unsafe extern "C" fn(ListId, ListId); 2] = [
    mm_zcomp_swap_lru_reparent,
    bindings::mm_zcomp_swap_lru_reparent,
];
const _: [unsafe extern "C" fn(ListId, c_ulong) -> c_ulong; 2] =
    [mm_zcomp_swap_shrink, bindings::mm_zcomp_swap_shrink];
const _: [unsafe extern "C" fn() -> bool; 2] = [
    mm_zcomp_swap_shrink_step,
    bindings::mm_zcomp_swap_shrink_step,
];
const _: [unsafe extern "C" fn() -> c_ulong; 2] = [zswap_total_pages, bindings::zswap_total_pages];
const _: [unsafe extern "C" fn(*const c_char) -> c_int; 2] = [
    mm_zcomp_swap_set_compressor,
    bindings::mm_zcomp_swap_set_compressor,
];

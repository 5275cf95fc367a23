// SPDX-License-Identifier: GPL-2.0

//! The block frontend: zcomp behind zram's block devices.
//!
//! Each device is a bio-based disk, `/dev/zramN`, of page-sized blocks stored in the
//! engine (see [`blk_io`](crate::blk_io)). Its life follows zram's: a new device has no
//! size; writing `disksize` initialises it with the compressor chosen in `comp_algorithm`;
//! writing `reset` empties it and makes it sizeless again, once nobody has it open.
//! `/sys/class/zram-control/hot_add` and `hot_remove` add and remove devices, and the
//! `zram.num_devices` parameter says how many exist from the start.
//!
//! The attribute files and the control class are tables in `blk_sysfs.c`; reading or
//! writing one calls [`mm_zcomp_blk_show`] or [`mm_zcomp_blk_store`] with its name, and
//! `blk_attrs.rs` does the rest.
//!
//! Bios reach a device's store without a lock: a store is made by `disksize` before the
//! device has a capacity, so before any bio, and dropped by `reset` only while the device is
//! claimed, that is while nobody has it open and so no bio or swap-slot notification can
//! arrive. Everything else that looks at a store holds the device's configuration lock.

pub(crate) mod backing;

use crate::blk_io::{BlkStore, NR_SECONDARY, SECTORS_PER_PAGE};
use crate::codec::Params;
use crate::engine::Engine;
use crate::writeback::WritebackError;
use crate::zcore::lru::NodeId;
use crate::zcore::page_source::PAGE_SIZE;
use backing::{Backing, BackingStore, WritebackLimit};
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use kernel::{
    bindings,
    block::{
        bio::Bio,
        disk::{AttributeGroups, Disk, DiskBuilder, DiskRef, Major, Operations},
    },
    c_str, new_mutex,
    prelude::*,
    str::CStr,
    sync::{lock::Guard, Arc, Mutex},
};

/// The compression algorithms a device may use, in the order zram lists them; those the
/// crypto API provides are offered, and the first of those is the default.
pub(crate) const ALGORITHMS: [&CStr; 7] = [
    c_str!("lzo-rle"),
    c_str!("lzo"),
    c_str!("lz4"),
    c_str!("lz4hc"),
    c_str!("zstd"),
    c_str!("deflate"),
    c_str!("842"),
];

/// The first algorithm of [`ALGORITHMS`] that the crypto API provides.
pub(crate) fn default_algorithm() -> &'static CStr {
    ALGORITHMS
        .into_iter()
        .find(|name| kernel::compress::Compressor::exists(name))
        .unwrap_or(ALGORITHMS[0])
}

/// A held configuration lock.
pub(crate) type ConfigGuard<'a> = Guard<'a, Config, kernel::sync::lock::mutex::MutexBackend>;

/// What the configuration lock of a device protects.
pub(crate) struct Config {
    /// The compressor of the next initialisation: `comp_algorithm`.
    pub(crate) algorithm: &'static CStr,
    /// The secondary compressors of the next initialisation, by priority from 1:
    /// `recomp_algorithm`.
    pub(crate) secondary: [Option<&'static CStr>; NR_SECONDARY],
    /// The level and dictionary of each algorithm, the primary one first:
    /// `algorithm_params`.
    pub(crate) params: [Params; NR_SECONDARY + 1],
    /// The size in bytes, zero until the device is initialised: `disksize`.
    pub(crate) disksize: u64,
    /// The backing device of the next initialisation: `backing_dev`.
    pub(crate) backing: Option<Arc<Backing>>,
}

/// One device, the data of its disk.
///
/// # Invariants
///
/// `store` is null or points to a `BlkStore` leaked from a `KBox`, which is freed only with
/// the configuration lock held and the device claimed.
pub(crate) struct BlkDev {
    pub(crate) engine: &'static Engine,
    /// The device's number, `N` of `/dev/zramN`.
    id: u32,
    /// zram's `init_lock`.
    config: Pin<KBox<Mutex<Config>>>,
    store: AtomicPtr<BlkStore>,
    /// The most pages the device's pools may hold, zero for no limit: `mem_limit`.
    pub(crate) limit_pages: AtomicUsize,
    /// Set while `reset` or `hot_remove` empties the device: it may not be opened.
    claimed: AtomicBool,
    /// `writeback_limit` and `writeback_limit_enable`.
    pub(crate) wb_limit: WritebackLimit,
}

impl BlkDev {
    fn new(engine: &'static Engine, id: u32) -> Result<Self> {
        let config = Config {
            algorithm: default_algorithm(),
            secondary: [None; NR_SECONDARY],
            params: Default::default(),
            disksize: 0,
            backing: None,
        };
        Ok(Self {
            engine,
            id,
            config: KBox::pin_init(new_mutex!(config, "zcomp_blk_config"), GFP_KERNEL)?,
            store: AtomicPtr::new(core::ptr::null_mut()),
            limit_pages: AtomicUsize::new(0),
            claimed: AtomicBool::new(false),
            wb_limit: WritebackLimit::default(),
        })
    }

    /// Locks the configuration. May sleep.
    pub(crate) fn lock(&self) -> ConfigGuard<'_> {
        self.config.lock()
    }

    /// The store, for a caller that holds the configuration lock.
    pub(crate) fn store<'a>(&'a self, _config: &'a ConfigGuard<'_>) -> Option<&'a BlkStore> {
        // SAFETY: By the type invariant a non-null `store` is freed only under the lock that
        // `_config` holds.
        unsafe { self.store.load(Ordering::Acquire).as_ref() }
    }

    /// The store, for a bio or a swap-slot notification: the disk is open.
    fn store_for_io(&self) -> Option<&BlkStore> {
        // SAFETY: By the type invariant a non-null `store` is freed only while the device is
        // claimed, when nobody has it open; the caller's bio or notification comes through
        // an opener.
        unsafe { self.store.load(Ordering::Acquire).as_ref() }
    }

    /// Initialises the device with `disksize` bytes (rounded up to pages): `disksize`.
    pub(crate) fn init(&self, disk: &DiskRef<BlkOps>, disksize: u64) -> Result {
        let mut config = self.lock();
        if self.store(&config).is_some() {
            pr_info!("cannot change disksize for an initialized device\n");
            return Err(EBUSY);
        }
        let disksize = disksize
            .checked_next_multiple_of(PAGE_SIZE as u64)
            .ok_or(EINVAL)?;
        let compressors = &self.engine.compressors;
        // The uses of the primary algorithm and the secondary ones, by priority.
        let mut uses = [None; NR_SECONDARY + 1];
        let names = Iterator::chain(core::iter::once(Some(config.algorithm)), config.secondary);
        let store = (|| {
            for ((used, name), params) in uses.iter_mut().zip(names).zip(&config.params) {
                *used = name.map(|n| compressors.acquire(n, params)).transpose()?;
            }
            let (algo, secondary) = uses.split_first().ok_or(EINVAL)?;
            let secondary = secondary.try_into().map_err(|_| EINVAL)?;
            let backing = config.backing.clone().map(BackingStore::new).transpose()?;
            let nr_pages = disksize / PAGE_SIZE as u64;
            let store = BlkStore::new(
                self.engine,
                self.id,
                nr_pages,
                algo.ok_or(EINVAL)?,
                secondary,
                backing,
            )?;
            KBox::new(store, GFP_KERNEL).map_err(Error::from)
        })();
        let store = store.inspect_err(|_| {
            for id in uses.into_iter().flatten() {
                // SAFETY: The use came from `acquire` above, and nothing was compressed with
                // it.
                unsafe { compressors.release(id) };
            }
        })?;
        // INVARIANT: published under the lock, from null.
        self.store.store(KBox::into_raw(store), Ordering::Release);
        config.disksize = disksize;
        disk.set_capacity(disksize / PAGE_SIZE as u64 * SECTORS_PER_PAGE);
        Ok(())
    }

    /// Opens the block device at `path` as the backing device of the next initialisation:
    /// `backing_dev`. May sleep.
    pub(crate) fn set_backing(&self, path: &[u8]) -> Result {
        let mut config = self.lock();
        if self.store(&config).is_some() {
            pr_info!("cannot set up a backing device for an initialized device\n");
            return Err(EBUSY);
        }
        let backing = Arc::new(Backing::open(path, self)?, GFP_KERNEL)?;
        config.backing = Some(backing);
        Ok(())
    }

    /// Claims the device: fails with `EBUSY` if it is open or claimed already, and keeps it
    /// from being opened until [`BlkDev::unclaim`].
    fn claim(&self, disk: &DiskRef<BlkOps>) -> Result {
        disk.with_opens_held(|openers| {
            if openers > 0 || self.claimed.load(Ordering::Relaxed) {
                return Err(EBUSY);
            }
            self.claimed.store(true, Ordering::Relaxed);
            Ok(())
        })
    }

    fn unclaim(&self, disk: &DiskRef<BlkOps>) {
        disk.with_opens_held(|_| self.claimed.store(false, Ordering::Relaxed));
    }

    /// Empties the device and makes it sizeless: `reset`.
    pub(crate) fn reset(&self, disk: &DiskRef<BlkOps>) -> Result {
        self.claim(disk)?;
        // Writes still in the page cache go before the store does.
        let synced = disk.sync();
        self.empty(disk);
        self.unclaim(disk);
        synced
    }

    /// Drops the store and the configuration; the device is claimed or being removed.
    fn empty(&self, disk: &DiskRef<BlkOps>) {
        let mut config = self.lock();
        disk.set_capacity(0);
        let store = self.store.swap(core::ptr::null_mut(), Ordering::AcqRel);
        if !store.is_null() {
            // SAFETY: By the type invariant `store` came from a leaked `KBox`; the device is
            // claimed and the lock held, so nothing else refers to it.
            drop(unsafe { KBox::from_raw(store) });
        }
        config.disksize = 0;
        config.algorithm = default_algorithm();
        config.secondary = [None; NR_SECONDARY];
        config.params = Default::default();
        config.backing = None;
        self.limit_pages.store(0, Ordering::Relaxed);
    }
}

impl Drop for BlkDev {
    fn drop(&mut self) {
        let store = *self.store.get_mut();
        if !store.is_null() {
            // SAFETY: By the type invariant `store` came from a leaked `KBox`; with `&mut self`
            // nothing else refers to it.
            drop(unsafe { KBox::from_raw(store) });
        }
    }
}

/// The disk operations of a device.
pub(crate) struct BlkOps;

#[vtable]
impl Operations for BlkOps {
    type Data = Arc<BlkDev>;

    fn submit_bio(disk: &DiskRef<Self>, bio: Bio) {
        let dev = disk.data();
        match dev.store_for_io() {
            Some(store) => store.submit(bio, dev.limit_pages.load(Ordering::Relaxed)),
            None => bio.end(Err(EIO)),
        }
    }

    fn open(disk: &DiskRef<Self>) -> Result {
        if disk.data().claimed.load(Ordering::Relaxed) {
            return Err(EBUSY);
        }
        Ok(())
    }

    fn swap_slot_free_notify(disk: &DiskRef<Self>, offset: u64) {
        if let Some(store) = disk.data().store_for_io() {
            store.free(offset);
            store.stats.notify_free.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// The devices, by number.
struct Registry {
    major: Major,
    devices: KVec<Option<Disk<BlkOps>>>,
}

/// The registry, once [`init`] made it; it then lives until the kernel stops.
static REGISTRY: AtomicPtr<Mutex<Registry>> = AtomicPtr::new(core::ptr::null_mut());

fn registry() -> Option<&'static Mutex<Registry>> {
    // SAFETY: a non-null `REGISTRY` was stored by `init` from a leaked, pinned box.
    unsafe { REGISTRY.load(Ordering::Acquire).as_ref() }
}

/// The attribute groups of the devices, defined in `blk_sysfs.c`.
fn attribute_groups() -> AttributeGroups {
    // SAFETY: `blk_sysfs.c` returns a static, null-terminated array of static groups, whose
    // callbacks reach the disk through `DiskRef::from_dev` in `blk_attrs.rs`.
    unsafe { AttributeGroups::from_raw(bindings::mm_zcomp_blk_attribute_groups().cast_const()) }
}

impl Registry {
    /// Adds a device with the lowest free number and returns the number.
    fn add(&mut self, engine: &'static Engine) -> Result<u32> {
        let id = match self.devices.iter().position(Option::is_none) {
            Some(id) => id,
            None => {
                self.devices.push(None, GFP_KERNEL)?;
                self.devices.len() - 1
            }
        };
        let dev = Arc::new(BlkDev::new(engine, id as u32)?, GFP_KERNEL)?;
        let disk = DiskBuilder::new()
            .discard(PAGE_SIZE as u32)
            .stable_writes()
            .synchronous()
            .attribute_groups(attribute_groups())
            .build::<BlkOps>(format_args!("zram{}", id), &self.major, id as u32, dev)?;
        pr_info!("added device zram{}\n", id);
        self.devices[id] = Some(disk);
        Ok(id as u32)
    }

    /// Removes device `id` unless it is open.
    fn remove(&mut self, id: u32) -> Result {
        let slot = self.devices.get_mut(id as usize).ok_or(ENODEV)?;
        let disk = slot.as_ref().ok_or(ENODEV)?;
        let dev = disk.data();
        // As zram's: an open device, or one being reset, is not removed.
        dev.claim(disk)?;
        // Whatever the page cache still holds for the device goes with it.
        let _ = disk.sync();
        dev.empty(disk);
        drop(slot.take());
        pr_info!("removed device zram{}\n", id);
        Ok(())
    }
}

/// Registers the major number, adds the `zram.num_devices` devices and the control class.
/// Called once, at initialisation.
pub(crate) fn init(engine: &'static Engine) -> Result {
    // SAFETY: Reads a module parameter that only the boot command line sets.
    let nr_devices = unsafe { bindings::mm_zcomp_blk_num_devices() };
    let registry = Registry {
        major: Major::register(c_str!("zram"))?,
        devices: KVec::new(),
    };
    let registry = KBox::pin_init(new_mutex!(registry, "zcomp_blk_registry"), GFP_KERNEL)?;
    // SAFETY: the registry is never moved out of the box, which is leaked.
    let registry = KBox::leak(unsafe { Pin::into_inner_unchecked(registry) });
    for _ in 0..nr_devices {
        registry.lock().add(engine)?;
    }
    REGISTRY.store(registry, Ordering::Release);
    ENGINE.store(core::ptr::from_ref(engine).cast_mut(), Ordering::Release);
    // SAFETY: Called once; the class's callbacks find the registry and the engine published.
    kernel::error::to_result(unsafe { bindings::mm_zcomp_blk_control_register() })
}

/// The engine, once [`init`] has run.
static ENGINE: AtomicPtr<Engine> = AtomicPtr::new(core::ptr::null_mut());

/// Writes block `index` of device `device`, whose LRU node `node` the shared writeback
/// isolated, to the device's backing device (see [`BlkStore::write_back_cold`]). This runs
/// in reclaim, and the registry's and the device's locks are held while allocating, so it
/// only tries them: a block whose device is busy is skipped. May sleep.
pub(crate) fn write_back(device: u32, index: u64, node: NodeId) -> Result<(), WritebackError> {
    let registry = registry()
        .and_then(|r| r.try_lock())
        .ok_or(WritebackError::Skipped)?;
    // A device removed took its blocks' nodes off the LRU.
    let disk = registry
        .devices
        .get(device as usize)
        .and_then(Option::as_ref)
        .ok_or(WritebackError::Gone)?;
    let dev = disk.data();
    let config = dev.config.try_lock().ok_or(WritebackError::Skipped)?;
    // So did a reset, and a device initialised again has blocks with nodes of their own.
    let store = dev.store(&config).ok_or(WritebackError::Gone)?;
    store.write_back_cold(index, node, &dev.wb_limit)
}

/// Adds a device: `/sys/class/zram-control/hot_add`. Returns its number or an error.
#[no_mangle]
pub(crate) extern "C" fn mm_zcomp_blk_hot_add() -> kernel::ffi::c_int {
    // SAFETY: a non-null `ENGINE` was stored by `init` from a `&'static Engine`.
    let engine = unsafe { ENGINE.load(Ordering::Acquire).as_ref() };
    match (registry(), engine) {
        (Some(registry), Some(engine)) => match registry.lock().add(engine) {
            Ok(id) => id as _,
            Err(e) => e.to_errno(),
        },
        _ => ENODEV.to_errno(),
    }
}

/// Removes device `id`: `/sys/class/zram-control/hot_remove`.
#[no_mangle]
pub(crate) extern "C" fn mm_zcomp_blk_hot_remove(id: kernel::ffi::c_int) -> kernel::ffi::c_int {
    let Some(registry) = registry() else {
        return ENODEV.to_errno();
    };
    let Ok(id) = u32::try_from(id) else {
        return ENODEV.to_errno();
    };
    match registry.lock().remove(id) {
        Ok(()) => 0,
        Err(e) => e.to_errno(),
    }
}

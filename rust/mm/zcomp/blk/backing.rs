// SPDX-License-Identifier: GPL-2.0

//! A device's backing device: where `writeback` moves blocks out of the pools, as zram's
//! `backing_dev` does.
//!
//! `backing_dev` opens a block device for a device not yet initialised; initialising the
//! device gives its store a [`BackingStore`], a map of the backing device's page-sized slots.
//! A written-back block's entry names its slot and holds the page as it was, uncompressed:
//! reading the block reads the slot, and overwriting, discarding or freeing it frees the
//! slot. `bd_stat` counts the slots in use and the pages read and written.
//!
//! A read of a written-back block comes from a bio this device is carrying out, within
//! `submit_bio`, where a bio submitted to the backing device would wait behind this one for
//! ever: the read runs on a worker instead, and the bio waits for it, as zram's partial
//! reads do.

use crate::zcore::entry::{flags, Entry, EntryState, MAX_WB_SLOT};
use crate::zcore::page_source::PAGE_SIZE;
use crate::zcore::parse::{parse_u64, trim_newline};
use crate::zcore::slot_map::SlotMap;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use kernel::{
    block::bdev::BdevFile,
    new_condvar, new_mutex, new_spinlock,
    prelude::*,
    str::CStr,
    sync::{Arc, CondVar, Mutex, SpinLock},
    workqueue::{self, impl_has_work, new_work, Work, WorkItem},
};

/// Longest path a sysfs file takes, `PATH_MAX` with its terminator.
const PATH_MAX: usize = 4096;

/// The path written to a sysfs file, without its newline, NUL-terminated. Fails with
/// `ENAMETOOLONG` past `PATH_MAX`.
pub(crate) fn path_arg(input: &[u8]) -> Result<KVec<u8>> {
    let path = trim_newline(input);
    if path.len() >= PATH_MAX {
        return Err(Error::from_errno(-(kernel::bindings::ENAMETOOLONG as i32)));
    }
    let mut name = KVec::with_capacity(path.len() + 1, GFP_KERNEL)?;
    name.extend_from_slice(path, GFP_KERNEL)?;
    name.push(0, GFP_KERNEL)?;
    Ok(name)
}

/// A page-sized buffer that a bio can carry.
pub(crate) type IoPage = KBox<[u8; PAGE_SIZE]>;

/// A zeroed [`IoPage`].
pub(crate) fn io_page(flags: kernel::alloc::Flags) -> Result<IoPage> {
    KBox::init(kernel::init::zeroed(), flags)
}

/// A backing device opened by `backing_dev`.
pub(crate) struct Backing {
    file: BdevFile,
    /// What was written to `backing_dev`, without its newline, NUL-terminated.
    path: KVec<u8>,
}

impl Backing {
    /// Opens the block device at `path` (a sysfs write), exclusively for `holder`. Fails with
    /// `EINVAL` for a device of no pages, as zram does (an uninitialised zram device has
    /// none, so no device is its own backing device). May sleep.
    pub(crate) fn open<H>(path: &[u8], holder: &H) -> Result<Self> {
        let name = path_arg(path)?;
        let file = BdevFile::open_exclusive(
            CStr::from_bytes_with_nul(&name).map_err(|_| EINVAL)?,
            holder,
        )?;
        if file.nr_pages() == 0 {
            return Err(EINVAL);
        }
        Ok(Self { file, path: name })
    }

    /// The path it was opened by.
    pub(crate) fn path(&self) -> &[u8] {
        self.path.split_last().map_or(&[], |(_nul, path)| path)
    }
}

/// An initialised device's use of its backing device.
pub(crate) struct BackingStore {
    backing: Arc<Backing>,
    slots: Pin<KBox<SpinLock<SlotMap<KVVec<u64>>>>>,
    /// Pages read from the backing device: `bd_stat`'s `bd_reads`.
    pub(crate) reads: AtomicU64,
    /// Pages written to it: `bd_writes`.
    pub(crate) writes: AtomicU64,
    /// Writes to it that failed, the blocks staying in the pools.
    pub(crate) failed_writes: AtomicU64,
}

impl BackingStore {
    /// Every slot of `backing` free. May sleep.
    pub(crate) fn new(backing: Arc<Backing>) -> Result<Self> {
        let len = backing.file.nr_pages().min(MAX_WB_SLOT + 1);
        let words = KVVec::from_elem(0, SlotMap::<KVVec<u64>>::words_for(len), GFP_KERNEL)?;
        let map = SlotMap::new(words, len).ok_or(EINVAL)?;
        Ok(Self {
            backing,
            slots: KBox::pin_init(new_spinlock!(map, "zcomp_blk_slots"), GFP_KERNEL)?,
            reads: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            failed_writes: AtomicU64::new(0),
        })
    }

    /// Slots in use: `bd_count`.
    pub(crate) fn used(&self) -> u64 {
        self.slots.lock().used()
    }

    /// Writes `page` to a free slot and returns the slot. Fails with `ENOSPC` if the backing
    /// device is full, or with the write's error, the slot free again. May sleep.
    pub(crate) fn write(&self, page: &IoPage) -> Result<u64> {
        let slot = self.slots.lock().alloc().ok_or(ENOSPC)?;
        match self.backing.file.write_page(slot, page) {
            Ok(()) => {
                self.writes.fetch_add(1, Ordering::Relaxed);
                Ok(slot)
            }
            Err(e) => {
                self.free(slot);
                self.failed_writes.fetch_add(1, Ordering::Relaxed);
                Err(e)
            }
        }
    }

    /// Frees `slot`, which a written-back entry named.
    pub(crate) fn free(&self, slot: u64) {
        if !self.slots.lock().free(slot) {
            pr_warn!("freeing backing slot {} that was not in use\n", slot);
        }
    }

    /// Reads `slot` into `out`, on a worker: the caller may be carrying out a bio. May sleep.
    pub(crate) fn read(&self, slot: u64, out: &mut [u8; PAGE_SIZE]) -> Result {
        let page = io_page(GFP_NOIO)?;
        let read = Arc::pin_init(
            pin_init!(SlotRead {
                backing: self.backing.clone(),
                slot,
                state <- new_mutex!(
                    ReadState { page: Some(page), result: None },
                    "zcomp_blk_slot_read"
                ),
                done <- new_condvar!("zcomp_blk_slot_read"),
                work <- new_work!("zcomp_blk_slot_read"),
            }),
            GFP_NOIO,
        )?;
        // A new work item is never queued already.
        let _ = workqueue::system_unbound().enqueue(read.clone());
        let mut state = read.state.lock();
        while state.result.is_none() {
            read.done.wait(&mut state);
        }
        let result = state.result.unwrap_or(Err(EIO));
        if result.is_ok() {
            let page = state.page.as_ref().ok_or(EIO)?;
            out.copy_from_slice(&page[..]);
            self.reads.fetch_add(1, Ordering::Relaxed);
        }
        result
    }
}

/// What a [`SlotRead`]'s worker and its waiter share.
struct ReadState {
    page: Option<IoPage>,
    /// Set by the worker when the read is done.
    result: Option<Result>,
}

/// A read of one slot, handed to a worker.
#[pin_data]
struct SlotRead {
    backing: Arc<Backing>,
    slot: u64,
    #[pin]
    state: Mutex<ReadState>,
    #[pin]
    done: CondVar,
    #[pin]
    work: Work<SlotRead>,
}

impl_has_work! {
    impl HasWork<Self> for SlotRead { self.work }
}

impl WorkItem for SlotRead {
    type Pointer = Arc<SlotRead>;

    fn run(this: Arc<SlotRead>) {
        let mut state = this.state.lock();
        let result = match state.page.as_mut() {
            Some(page) => this.backing.file.read_page(this.slot, page),
            None => Err(EINVAL),
        };
        state.result = Some(result);
        drop(state);
        this.done.notify_all();
    }
}

/// How many more pages `writeback` may write: `writeback_limit`, counted down in 4 KiB units
/// while `writeback_limit_enable` is set.
#[derive(Default)]
pub(crate) struct WritebackLimit {
    /// `writeback_limit_enable`.
    pub(crate) enabled: AtomicBool,
    /// `writeback_limit`.
    pub(crate) pages: AtomicU64,
}

impl WritebackLimit {
    /// 4 KiB units in a page.
    const UNITS_PER_PAGE: u64 = (PAGE_SIZE / 4096) as u64;

    /// Whether a page may be written.
    pub(crate) fn allows(&self) -> bool {
        !self.enabled.load(Ordering::Relaxed) || self.pages.load(Ordering::Relaxed) > 0
    }

    /// Counts a page written.
    pub(crate) fn consume(&self) {
        if self.enabled.load(Ordering::Relaxed) {
            let _ = self
                .pages
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                    Some(n.saturating_sub(Self::UNITS_PER_PAGE))
                });
        }
    }
}

/// Which blocks a write to `writeback` moves to the backing device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WritebackMode {
    /// Blocks marked idle: `idle`.
    Idle,
    /// Blocks stored as they are, incompressible: `huge`.
    Huge,
    /// Blocks both: `huge_idle`.
    HugeIdle,
    /// Blocks recompression gave up on: `incompressible`.
    Incompressible,
    /// The block of this index: `page_index=N`.
    Page(u64),
}

impl WritebackMode {
    /// Parses a write to `writeback`.
    pub(crate) fn parse(input: &[u8]) -> Option<Self> {
        match trim_newline(input) {
            b"idle" => Some(Self::Idle),
            b"huge" => Some(Self::Huge),
            b"huge_idle" => Some(Self::HugeIdle),
            b"incompressible" => Some(Self::Incompressible),
            other => parse_u64(other.strip_prefix(b"page_index=")?).map(Self::Page),
        }
    }

    /// Whether the block of `entry` is to move: it is in the pools, not being written back
    /// already, and of the kind asked for.
    pub(crate) fn wants(self, entry: &Entry) -> bool {
        let raw = match entry.state() {
            EntryState::Raw { .. } => true,
            EntryState::Stored { .. } => false,
            _ => return false,
        };
        let idle = entry.test_flags(flags::IDLE);
        !entry.test_flags(flags::WRITEBACK)
            && match self {
                Self::Idle => idle,
                Self::Huge => raw,
                Self::HugeIdle => raw && idle,
                Self::Incompressible => entry.test_flags(flags::INCOMPRESSIBLE),
                Self::Page(_) => true,
            }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! A frontend's index: one [`Record`] per page-sized slot of a device, for the slots that
//! hold something.
//!
//! A device's slots are cut into [`Region`]s of [`REGION_LEAVES`] leaf pages, each leaf an
//! array of records. A leaf is taken from the page source when a record is first stored in
//! it and given back when its last record goes, so the index costs pages in proportion to
//! what is stored; an empty region is a small array of empty pointers. The frontend keeps
//! one region per [`Region::SLOTS`] slots, each behind a lock of its own, so that stores
//! and loads of distant slots do not contend.

use super::entry::Entry;
use super::page_array::PageArray;
use super::page_source::PageSource;

/// Leaf pages per region.
pub const REGION_LEAVES: usize = 32;

/// What an index keeps for one slot: the entry and whatever the frontend needs to own with
/// it (the memory cgroup charged for it, say).
#[derive(Debug, Default)]
pub struct Record<O> {
    /// Where the slot's data is.
    pub entry: Entry,
    /// The frontend's per-slot state; `O::default()` in an empty record.
    pub owner: O,
}

/// Why an index operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexError {
    /// The slot is beyond the region.
    OutOfRange,
    /// A leaf page could not be had.
    NoMemory,
    /// The record to insert is empty.
    EmptyRecord,
}

/// A run of [`Region::SLOTS`] consecutive slots.
///
/// # Invariants
///
/// `live[i]` is the number of non-empty records in `leaves[i]`, and is zero exactly when
/// `leaves[i]` is `None`. Every leaf page was taken from `src`.
pub struct Region<S: PageSource, O: Default> {
    src: S,
    leaves: [Option<PageArray<Record<O>>>; REGION_LEAVES],
    live: [u16; REGION_LEAVES],
}

impl<S: PageSource, O: Default> Region<S, O> {
    /// Records in one leaf page.
    pub const LEAF_SLOTS: usize = PageArray::<Record<O>>::LEN;

    /// Slots in a region.
    pub const SLOTS: usize = REGION_LEAVES * Self::LEAF_SLOTS;

    /// A leaf's live count fits its counter.
    const COUNT_FITS: () = assert!(Self::LEAF_SLOTS <= u16::MAX as usize);

    /// An empty region drawing its leaf pages from `src`. Allocates nothing.
    pub fn new(src: S) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::COUNT_FITS;
        Self {
            src,
            leaves: core::array::from_fn(|_| None),
            live: [0; REGION_LEAVES],
        }
    }

    /// Leaf and position in it of `slot`.
    fn split(slot: usize) -> Result<(usize, usize), IndexError> {
        if slot >= Self::SLOTS {
            return Err(IndexError::OutOfRange);
        }
        Ok((slot / Self::LEAF_SLOTS, slot % Self::LEAF_SLOTS))
    }

    /// The record of `slot`, if it is not empty.
    pub fn get(&self, slot: usize) -> Option<&Record<O>> {
        let (leaf, pos) = Self::split(slot).ok()?;
        let record = &self.leaves[leaf].as_ref()?.entries()[pos];
        (!record.entry.is_empty()).then_some(record)
    }

    /// Stores `record` at `slot` and returns the record it replaces, if any, for the caller
    /// to release. On failure nothing changes and `record` is handed back.
    pub fn insert(
        &mut self,
        slot: usize,
        record: Record<O>,
    ) -> Result<Option<Record<O>>, (IndexError, Record<O>)> {
        if record.entry.is_empty() {
            return Err((IndexError::EmptyRecord, record));
        }
        let (leaf, pos) = match Self::split(slot) {
            Ok(split) => split,
            Err(e) => return Err((e, record)),
        };
        let records = match &mut self.leaves[leaf] {
            Some(records) => records,
            empty => match self.src.alloc_page() {
                Some(page) => empty.insert(PageArray::new(page)),
                None => return Err((IndexError::NoMemory, record)),
            },
        };
        let old = core::mem::replace(&mut records.entries_mut()[pos], record);
        if old.entry.is_empty() {
            // INVARIANT: one more record of the leaf is non-empty.
            self.live[leaf] += 1;
            Ok(None)
        } else {
            Ok(Some(old))
        }
    }

    /// Calls `f` with the record of `slot`, if it is not empty, and returns what it returns.
    /// `f` may change the record; if it empties it, the slot is emptied as by
    /// [`Region::remove`] (and what the record held is dropped).
    pub fn modify<R>(&mut self, slot: usize, f: impl FnOnce(&mut Record<O>) -> R) -> Option<R> {
        let (leaf, pos) = Self::split(slot).ok()?;
        let record = &mut self.leaves[leaf].as_mut()?.entries_mut()[pos];
        if record.entry.is_empty() {
            return None;
        }
        let r = f(record);
        if record.entry.is_empty() {
            drop(core::mem::take(record));
            self.emptied(leaf);
        }
        Some(r)
    }

    /// Takes the record of `slot` out, leaving the slot empty, and gives the leaf page back
    /// if that was its last record.
    pub fn remove(&mut self, slot: usize) -> Option<Record<O>> {
        let (leaf, pos) = Self::split(slot).ok()?;
        let records = self.leaves[leaf].as_mut()?;
        let record = &mut records.entries_mut()[pos];
        if record.entry.is_empty() {
            return None;
        }
        let old = core::mem::take(record);
        self.emptied(leaf);
        Some(old)
    }

    /// Counts a record of `leaf` that was just emptied, and gives the leaf page back if that
    /// was its last.
    fn emptied(&mut self, leaf: usize) {
        // INVARIANT: one record fewer is non-empty; a leaf with none left goes back to `src`.
        self.live[leaf] -= 1;
        if self.live[leaf] == 0 {
            if let Some(records) = self.leaves[leaf].take() {
                // SAFETY: by the type invariant the leaf's page came from `src`.
                unsafe { self.src.free_page(records.into_page()) };
            }
        }
    }

    /// Number of leaf pages held.
    pub fn leaf_pages(&self) -> usize {
        self.leaves.iter().filter(|l| l.is_some()).count()
    }

    /// Whether no slot holds a record.
    pub fn is_empty(&self) -> bool {
        self.live.iter().all(|&n| n == 0)
    }
}

impl<S: PageSource, O: Default> Drop for Region<S, O> {
    /// Gives the leaf pages back. The records' owners are dropped; the data their entries
    /// name is the frontend's to release before the region goes.
    fn drop(&mut self) {
        for (leaf, live) in self.leaves.iter_mut().zip(self.live.iter_mut()) {
            if let Some(mut records) = leaf.take() {
                records
                    .entries_mut()
                    .iter_mut()
                    .for_each(|r| drop(core::mem::take(r)));
                *live = 0;
                // SAFETY: by the type invariant the leaf's page came from `src`.
                unsafe { self.src.free_page(records.into_page()) };
            }
        }
    }
}

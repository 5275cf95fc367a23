// SPDX-License-Identifier: GPL-2.0

//! A new folio in the swap cache, for writing a page back to its swap slot.
//!
//! Writeback puts a folio for the slot in the swap cache, fills it from zcomp and has it
//! written. While the folio is there, locked, nothing else can store to, load from or free
//! the slot: it is what makes reading the slot's record and then dropping it safe.

use crate::zcore::page_source::PAGE_SIZE;
use core::ptr::NonNull;
use kernel::{bindings, error::from_err_ptr, folio::Folio, folio::SwapEntry, prelude::*};

/// A folio that `mm_zcomp_swapcache_new()` put in the swap cache for a slot, not yet written.
///
/// Dropping it takes the folio back out of the swap cache.
///
/// # Invariants
///
/// The pointer is a valid order-0 folio, locked, not uptodate, in the swap cache, and this
/// value owns the reference and the lock that `mm_zcomp_swapcache_new()` returned it with.
pub(crate) struct NewSwapFolio(NonNull<bindings::folio>);

impl NewSwapFolio {
    /// A new folio for slot `swp`: fails with `EEXIST` if the slot has one already (the page
    /// is being swapped in, or written back by someone else) and `ENOMEM` without memory.
    /// May sleep.
    pub(crate) fn new(swp: SwapEntry) -> Result<Self> {
        // SAFETY: Any swap entry may be passed; one whose slot is not in use fails.
        let folio = from_err_ptr(unsafe { bindings::mm_zcomp_swapcache_new(swp.as_raw()) })?;
        // INVARIANT: a non-error result is a new folio, locked, in the swap cache, with a
        // reference for us.
        NonNull::new(folio).map(Self).ok_or(ENOMEM)
    }

    /// Fills the folio's page with `fill`.
    pub(crate) fn fill<R>(&mut self, fill: impl FnOnce(&mut [u8; PAGE_SIZE]) -> R) -> R {
        // SAFETY: By the type invariant the folio is valid and we hold a reference to it.
        let folio = unsafe { Folio::from_raw(self.0.as_ptr()) };
        // SAFETY: By the type invariant the folio is locked by us and not uptodate, so nothing
        // else reads or writes its contents; `&mut self` excludes other fills.
        unsafe { folio.with_page_mut(0, fill) }
    }

    /// Marks the folio uptodate and starts writing it to its slot.
    pub(crate) fn write(self) {
        let folio = self.0.as_ptr();
        core::mem::forget(self);
        // SAFETY: By the type invariant the folio is locked in the swap cache, and the
        // reference and lock pass to the function; `self` was forgotten, so they are not
        // given back twice.
        unsafe { bindings::mm_zcomp_swapcache_write(folio) }
    }
}

impl Drop for NewSwapFolio {
    fn drop(&mut self) {
        // SAFETY: By the type invariant the folio is locked in the swap cache and this value
        // owns its reference and lock, which the function gives back.
        unsafe { bindings::mm_zcomp_swapcache_abandon(self.0.as_ptr()) }
    }
}

// SPDX-License-Identifier: GPL-2.0

//! A page used as an array of fixed-size values: the building block of the pool's metadata
//! tables and of the frontends' indexes.

use core::marker::PhantomData;
use core::mem::{align_of, size_of};

use super::page_source::{OwnedPage, PAGE_SIZE};

/// A page holding an array of `T`.
///
/// Turning it back into a page ([`PageArray::into_page`]) forgets the entries without dropping
/// them.
///
/// # Invariants
///
/// The page holds [`PageArray::LEN`] initialised values of `T`, one after the other from its first
/// byte.
pub(crate) struct PageArray<T> {
    page: OwnedPage,
    _entries: PhantomData<T>,
}

impl<T: Default> PageArray<T> {
    /// Entries in a page.
    pub(crate) const LEN: usize = PAGE_SIZE / size_of::<T>();

    /// Entries fit a page and the page's alignment suits them.
    const FITS: () = assert!(
        size_of::<T>() > 0 && size_of::<T>() <= PAGE_SIZE && PAGE_SIZE % align_of::<T>() == 0
    );

    /// Fills `page` with default entries.
    pub(crate) fn new(mut page: OwnedPage) -> Self {
        #[allow(clippy::let_unit_value)]
        let () = Self::FITS;
        let base = page.bytes_mut().as_mut_ptr().cast::<T>();
        for i in 0..Self::LEN {
            // SAFETY: `base` is page-aligned, hence aligned for `T` (`FITS`), and entry `i` of
            // `LEN` lies inside the page, which `page` owns exclusively.
            unsafe { base.add(i).write(T::default()) };
        }
        // INVARIANT: every entry was just initialised.
        Self {
            page,
            _entries: PhantomData,
        }
    }

    pub(crate) fn entries(&self) -> &[T] {
        // SAFETY: by the type invariant the page holds `LEN` initialised, suitably aligned
        // values of `T`; `&self` keeps them from being written.
        unsafe { core::slice::from_raw_parts(self.page.bytes().as_ptr().cast::<T>(), Self::LEN) }
    }

    pub(crate) fn entries_mut(&mut self) -> &mut [T] {
        let base = self.page.bytes_mut().as_mut_ptr().cast::<T>();
        // SAFETY: as in `entries`; `&mut self` makes the access exclusive.
        unsafe { core::slice::from_raw_parts_mut(base, Self::LEN) }
    }

    pub(crate) fn into_page(self) -> OwnedPage {
        self.page
    }
}

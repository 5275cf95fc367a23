// SPDX-License-Identifier: GPL-2.0

//! The pool's only way to obtain memory: a source of 4 KiB pages.
//!
//! The pool never allocates memory any other way. Every byte of metadata it keeps (span
//! descriptors, the handle table, the class lists) and every byte of object data lives in
//! pages obtained from a [`PageSource`], or in the fixed-size [`Pool`](super::pool::Pool)
//! value itself.
//!
//! In the kernel the source is a thin wrapper around `alloc_page(GFP_NOWAIT | __GFP_NOWARN)`
//! and `page_address()`; on the host it is a counting wrapper around the global allocator.

use core::ptr::NonNull;

/// log2 of [`PAGE_SIZE`].
pub const PAGE_SHIFT: u32 = 12;

/// Size in bytes of one page handed out by a [`PageSource`].
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;

/// A page the pool owns, as a [`PageSource`] handed it out.
///
/// Dropping an `OwnedPage` leaks the page: it must be given back to the source it came from
/// with [`PageSource::free_page`].
///
/// # Invariants
///
/// The pointer addresses [`PAGE_SIZE`] initialised bytes, aligned to [`PAGE_SIZE`], readable
/// and writable, that nothing reaches except through this value.
pub struct OwnedPage(NonNull<u8>);

// SAFETY: an `OwnedPage` is the only way to reach its page (type invariant), as a `Box` is for
// its value, so moving it to another thread moves that exclusive access with it.
unsafe impl Send for OwnedPage {}

// SAFETY: A shared `&OwnedPage` only reads the page (`OwnedPage::bytes`); writing it takes
// `&mut OwnedPage`. So, as with a `Box` of bytes, threads may share one.
unsafe impl Sync for OwnedPage {}

impl OwnedPage {
    /// Takes ownership of the page at `page`.
    ///
    /// # Safety
    ///
    /// `page` must satisfy the type invariants, and the caller gives up every other way of
    /// reaching the page until [`OwnedPage::into_raw`] hands the pointer back.
    pub unsafe fn from_raw(page: NonNull<u8>) -> Self {
        // INVARIANT: guaranteed by the caller.
        Self(page)
    }

    /// Gives up ownership, returning the page's address.
    pub fn into_raw(self) -> NonNull<u8> {
        self.0
    }

    /// The page's bytes.
    pub fn bytes(&self) -> &[u8; PAGE_SIZE] {
        // SAFETY: by the type invariant the pointer addresses `PAGE_SIZE` initialised bytes
        // that only `self` reaches, and `&self` keeps them from being written.
        unsafe { self.0.cast::<[u8; PAGE_SIZE]>().as_ref() }
    }

    /// The page's bytes, mutably.
    pub fn bytes_mut(&mut self) -> &mut [u8; PAGE_SIZE] {
        // SAFETY: as in `bytes`; `&mut self` makes the access exclusive.
        unsafe { self.0.cast::<[u8; PAGE_SIZE]>().as_mut() }
    }
}

/// A source of whole, directly addressable 4 KiB pages.
///
/// Contract for implementors:
///
/// - [`alloc_page`](PageSource::alloc_page) returns either `None` (no memory; the caller
///   turns that into an error value, never a panic) or a page satisfying the invariants of
///   [`OwnedPage`]. The contents are unspecified; the pool writes what it later reads.
/// - Neither method may sleep: the pool calls them while its caller holds a spinlock. In
///   the kernel that means `GFP_NOWAIT` (or `GFP_ATOMIC`), never `GFP_KERNEL`.
/// - Both methods run in bounded time and must not call back into the pool.
pub trait PageSource {
    /// Allocates one page, or returns `None` if none is available without sleeping.
    fn alloc_page(&mut self) -> Option<OwnedPage>;

    /// Returns a page to the source.
    ///
    /// # Safety
    ///
    /// `page` must have been returned by [`alloc_page`](PageSource::alloc_page) on this
    /// same source.
    unsafe fn free_page(&mut self, page: OwnedPage);

    /// Starts fetching the cache lines under `bytes` for writing, without waiting for them.
    ///
    /// A hint, with no effect but on time. A store writes its slot without reading it, so
    /// each line not in the cache is fetched from memory while the caller goes on, slowing
    /// what the caller does next (compressing the next page); after a store the pool asks
    /// for the lines of the slot its class's next store will likely take. Does nothing by
    /// default.
    fn prefetch_for_write(&self, bytes: &[u8]) {
        let _ = bytes;
    }
}

/// A mutable reference to a page source is a page source, so a pool can borrow one and
/// leave the owner free to inspect it after the pool is gone.
impl<T: PageSource + ?Sized> PageSource for &mut T {
    fn alloc_page(&mut self) -> Option<OwnedPage> {
        (**self).alloc_page()
    }

    unsafe fn free_page(&mut self, page: OwnedPage) {
        // SAFETY: the caller upholds `free_page`'s contract, which is the same for `T`.
        unsafe { (**self).free_page(page) }
    }

    fn prefetch_for_write(&self, bytes: &[u8]) {
        (**self).prefetch_for_write(bytes)
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The pool's only way to obtain memory: a source of 4 KiB pages.
//!
//! The pool never allocates memory any other way. Every byte of metadata it keeps (span
//! descriptors, the handle table) and every byte of object data lives in pages obtained
//! from a [`PageSource`], or in the fixed-size [`Pool`](crate::pool::Pool) value itself.
//!
//! In the kernel the source is a thin wrapper around `alloc_page(GFP_NOWAIT | __GFP_NOWARN)`
//! and `page_address()`; on the host it is a counting wrapper around the global allocator.

use core::ptr::NonNull;

/// log2 of [`PAGE_SIZE`].
pub const PAGE_SHIFT: u32 = 12;

/// Size in bytes of one page handed out by a [`PageSource`].
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;

/// A source of whole, directly addressable 4 KiB pages.
///
/// Contract for implementors:
///
/// - [`alloc_page`](PageSource::alloc_page) returns either `None` (no memory; the caller
///   turns that into an error value, never a panic) or a pointer to [`PAGE_SIZE`] bytes,
///   aligned to [`PAGE_SIZE`], readable and writable, not aliased by anything else, and
///   valid until it is passed back to [`free_page`](PageSource::free_page). The contents
///   are unspecified; the pool initialises what it reads.
/// - Neither method may sleep: the pool calls them while its caller holds a spinlock. In
///   the kernel that means `GFP_NOWAIT` (or `GFP_ATOMIC`), never `GFP_KERNEL`.
/// - Both methods run in bounded time and must not call back into the pool.
pub trait PageSource {
    /// Allocates one page, or returns `None` if none is available without sleeping.
    fn alloc_page(&mut self) -> Option<NonNull<u8>>;

    /// Returns a page to the source.
    ///
    /// # Safety
    ///
    /// `page` must have been returned by [`alloc_page`](PageSource::alloc_page) on this
    /// same source, must not have been freed since, and must not be accessed after this
    /// call.
    unsafe fn free_page(&mut self, page: NonNull<u8>);
}

/// A mutable reference to a page source is a page source, so a pool can borrow one and
/// leave the owner free to inspect it after the pool is gone.
impl<T: PageSource + ?Sized> PageSource for &mut T {
    fn alloc_page(&mut self) -> Option<NonNull<u8>> {
        (**self).alloc_page()
    }

    unsafe fn free_page(&mut self, page: NonNull<u8>) {
        // SAFETY: the caller upholds `free_page`'s contract, which is the same for `T`.
        unsafe { (**self).free_page(page) }
    }
}

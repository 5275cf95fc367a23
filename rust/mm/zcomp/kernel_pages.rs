// SPDX-License-Identifier: GPL-2.0

//! The pool's pages in the kernel: order-0 pages from the page allocator.

use crate::page_source::{PageSource, PAGE_SIZE};
use core::ptr::NonNull;
use kernel::{page::Page, prelude::*};

static_assert!(PAGE_SIZE == kernel::page::PAGE_SIZE);

/// Pages taken from the page allocator without sleeping or warning.
///
/// The pool runs under a spinlock on the swap-out path, where the allocator may be short of
/// memory: a failed allocation is an ordinary outcome (the page is rejected and goes to the
/// next tier), not something to warn or retry about.
pub struct KernelPages;

impl PageSource for KernelPages {
    fn alloc_page(&mut self) -> Option<NonNull<u8>> {
        let page = Page::alloc_page(GFP_NOWAIT | __GFP_NOWARN).ok()?;
        // Without `__GFP_HIGHMEM` the page is always in the direct map; were it not, dropping
        // the returned `Page` frees it again.
        page.into_direct_map().ok()
    }

    unsafe fn free_page(&mut self, page: NonNull<u8>) {
        // SAFETY: By the `PageSource` contract, `page` came from `alloc_page` above, that is from
        // `Page::into_direct_map`, and has not been freed since.
        drop(unsafe { Page::from_direct_map(page) });
    }
}

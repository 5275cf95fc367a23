// SPDX-License-Identifier: GPL-2.0

//! The engine's pages in the kernel: order-0 pages from the page allocator.

use crate::zcore::page_source::{OwnedPage, PageSource, PAGE_SIZE};
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::{page::Page, prefetch::prefetchw_range, prelude::*, sync::Arc};

static_assert!(PAGE_SIZE == kernel::page::PAGE_SIZE);

/// Pages taken from the page allocator without sleeping or warning, counted in `held` (and
/// in the pool counters of [`KernelPages::for_pools`]).
///
/// The engine takes pages under spinlocks on the swap-out path, where the allocator may be
/// short of memory: a failed allocation is an ordinary outcome (the page is rejected and
/// goes to the next tier), not something to warn or retry about. Every page a
/// `KernelPages` hands out is one its counters count, and it is given back to the same
/// `KernelPages`.
pub struct KernelPages {
    held: &'static AtomicUsize,
    /// The pages of one frontend's pools, all its instances together.
    frontend: Option<&'static AtomicUsize>,
    /// The pages of one frontend instance's pools.
    instance: Option<Arc<AtomicUsize>>,
}

impl KernelPages {
    /// A source whose pages are counted in `held`.
    pub const fn new(held: &'static AtomicUsize) -> Self {
        Self {
            held,
            frontend: None,
            instance: None,
        }
    }

    /// A source for a pool of a frontend instance, whose pages are counted in `held`, in the
    /// instance's `instance` and, for a frontend of several instances, in `frontend`.
    pub fn for_pools(
        held: &'static AtomicUsize,
        frontend: Option<&'static AtomicUsize>,
        instance: Arc<AtomicUsize>,
    ) -> Self {
        Self {
            held,
            frontend,
            instance: Some(instance),
        }
    }

    fn count(&self, delta: isize) {
        let add = |counter: &AtomicUsize| {
            if delta > 0 {
                counter.fetch_add(delta as usize, Ordering::Relaxed);
            } else {
                counter.fetch_sub(delta.unsigned_abs(), Ordering::Relaxed);
            }
        };
        add(self.held);
        if let Some(frontend) = self.frontend {
            add(frontend);
        }
        if let Some(instance) = &self.instance {
            add(instance);
        }
    }
}

impl PageSource for KernelPages {
    fn alloc_page(&mut self) -> Option<OwnedPage> {
        let page = Page::alloc_page(GFP_NOWAIT | __GFP_NOWARN).ok()?;
        // Without `__GFP_HIGHMEM` the page is always in the direct map; were it not, dropping
        // the returned `Page` frees it again.
        let addr = page.into_direct_map().ok()?;
        self.count(1);
        // SAFETY: `addr` is the direct-map address of an order-0 page that `into_direct_map`
        // handed over to us: `PAGE_SIZE` bytes, page-aligned, readable and writable, reached by
        // nothing else. Its bytes are initialised as far as Rust is concerned, as for every
        // page `kernel::page::Page` reads.
        Some(unsafe { OwnedPage::from_raw(addr) })
    }

    unsafe fn free_page(&mut self, page: OwnedPage) {
        self.count(-1);
        // SAFETY: By the `PageSource` contract, `page` came from `alloc_page` above, that is from
        // `Page::into_direct_map`, and the `OwnedPage` that owned it is gone.
        drop(unsafe { Page::from_direct_map(page.into_raw()) });
    }

    fn prefetch_for_write(&self, bytes: &[u8]) {
        prefetchw_range(bytes);
    }
}

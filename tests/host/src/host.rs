// SPDX-License-Identifier: GPL-2.0

//! A [`PageSource`] over the host allocator, for tests, fuzzing and benchmarks.

use alloc::alloc::{alloc, dealloc, Layout};
use core::ptr::NonNull;

use crate::page_source::{PageSource, PAGE_SIZE};

/// Pages from the global allocator, 4096-aligned, with counters and failure injection.
#[derive(Debug, Default)]
pub struct HostPageSource {
    live: usize,
    peak: usize,
    allocs: u64,
    fail_after: Option<u64>,
}

fn layout() -> Layout {
    // PAGE_SIZE is a nonzero power of two, so this cannot fail.
    Layout::from_size_align(PAGE_SIZE, PAGE_SIZE).unwrap_or(Layout::new::<u8>())
}

impl HostPageSource {
    /// A source that never fails (until the host runs out of memory).
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes the source succeed `n` more times and then fail every allocation; `None`
    /// removes the limit.
    pub fn fail_after(&mut self, n: Option<u64>) {
        self.fail_after = n;
    }

    /// Pages currently allocated and not freed.
    pub fn live_pages(&self) -> usize {
        self.live
    }

    /// Highest number of live pages seen.
    pub fn peak_pages(&self) -> usize {
        self.peak
    }

    /// Successful allocations so far.
    pub fn total_allocs(&self) -> u64 {
        self.allocs
    }
}

impl PageSource for HostPageSource {
    fn alloc_page(&mut self) -> Option<NonNull<u8>> {
        if let Some(n) = self.fail_after {
            if n == 0 {
                return None;
            }
            self.fail_after = Some(n - 1);
        }
        // SAFETY: the layout has a nonzero size.
        let page = NonNull::new(unsafe { alloc(layout()) })?;
        self.live += 1;
        self.peak = self.peak.max(self.live);
        self.allocs += 1;
        Some(page)
    }

    unsafe fn free_page(&mut self, page: NonNull<u8>) {
        self.live -= 1;
        // SAFETY: by the caller's contract `page` came from `alloc_page`, which allocated it
        // with this same layout, and it is not used again.
        unsafe { dealloc(page.as_ptr(), layout()) };
    }
}

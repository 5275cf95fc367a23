// SPDX-License-Identifier: GPL-2.0

//! A [`PageSource`] over the host allocator, for tests, fuzzing and benchmarks.

use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use core::ptr::NonNull;

use crate::page_source::{OwnedPage, PageSource, PAGE_SIZE};

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
    fn alloc_page(&mut self) -> Option<OwnedPage> {
        if let Some(n) = self.fail_after {
            if n == 0 {
                return None;
            }
            self.fail_after = Some(n - 1);
        }
        // SAFETY: the layout has a nonzero size.
        let page = NonNull::new(unsafe { alloc_zeroed(layout()) })?;
        self.live += 1;
        self.peak = self.peak.max(self.live);
        self.allocs += 1;
        // SAFETY: `page` is a fresh, zero-filled (so initialised) allocation of `PAGE_SIZE`
        // bytes aligned to `PAGE_SIZE`, which nothing else knows of.
        Some(unsafe { OwnedPage::from_raw(page) })
    }

    unsafe fn free_page(&mut self, page: OwnedPage) {
        self.live -= 1;
        // SAFETY: by the caller's contract `page` came from `alloc_page`, which allocated it
        // with this same layout, and the `OwnedPage` that owned it is gone.
        unsafe { dealloc(page.into_raw().as_ptr(), layout()) };
    }

    fn prefetch_for_write(&self, bytes: &[u8]) {
        prefetch_for_write(bytes);
    }
}

/// Starts fetching the cache lines under `bytes` for writing, as the kernel's `prefetchw()`
/// does line by line. A no-op but on x86-64, and under Miri.
pub fn prefetch_for_write(bytes: &[u8]) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    {
        use core::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        let end = bytes.as_ptr_range().end as usize;
        let mut line = bytes.as_ptr() as usize & !63;
        while line < end {
            // SAFETY: a prefetch is a hint: it cannot fault, whatever the address, and it
            // changes no memory or register.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(line as *const i8) };
            line += 64;
        }
    }
    #[cfg(not(all(target_arch = "x86_64", not(miri))))]
    let _ = bytes;
}

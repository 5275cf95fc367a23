// SPDX-License-Identifier: GPL-2.0

//! Pages for the benchmark, mapped the way the kernel's direct map maps them.

use std::alloc::{alloc, dealloc, Layout};
use std::ptr::NonNull;

use zcomp_core::page_source::{OwnedPage, PageSource, PAGE_SIZE};

/// Size of a transparent huge page on x86-64 and arm64 with 4 KiB pages.
pub const HUGE_PAGE: usize = 2 << 20;

/// A zero-filled, pre-faulted region of host memory backed by transparent huge pages.
///
/// The kernel reaches the pool's pages and its callers' buffers through the direct map,
/// which uses 2 MiB or 1 GiB mappings, so a store into a page rarely misses the TLB.
/// Memory from the host heap is mapped with 4 KiB pages: a pool spread over tens of
/// thousands of them would add a TLB miss to most stores, which the kernel does not pay.
///
/// # Invariants
///
/// `ptr` is an allocation of `layout` (nonzero size, [`HUGE_PAGE`]-aligned) owned by this
/// value, initialised to zero when created.
pub struct HugeRegion {
    ptr: NonNull<u8>,
    layout: Layout,
}

impl HugeRegion {
    /// Allocates at least `len` bytes, asks for huge pages and faults every page in.
    pub fn new(len: usize) -> Result<Self, String> {
        let size = len.max(1).next_multiple_of(HUGE_PAGE);
        let layout =
            Layout::from_size_align(size, HUGE_PAGE).map_err(|e| format!("region: {e}"))?;
        // SAFETY: the layout has a nonzero size.
        let ptr = NonNull::new(unsafe { alloc(layout) })
            .ok_or_else(|| format!("cannot allocate {size} bytes"))?;
        // Advice only: without it (THP disabled) the region still works, with 4 KiB pages.
        // SAFETY: the range is the allocation just made, aligned to the page size.
        unsafe { libc::madvise(ptr.as_ptr().cast(), size, libc::MADV_HUGEPAGE) };
        // SAFETY: the allocation is `size` bytes long and owned here; writing faults it in.
        unsafe { ptr.as_ptr().write_bytes(0, size) };
        // INVARIANT: a fresh, zero-filled allocation of `layout`.
        Ok(Self { ptr, layout })
    }

    /// The region as a byte slice.
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: by the type invariant `ptr` points to `layout.size()` initialised bytes
        // owned by `self`, and `&self` keeps them alive and unwritten.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.layout.size()) }
    }

    /// The region as a mutable byte slice.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: by the type invariant `ptr` points to `layout.size()` initialised bytes
        // owned by `self`, which `&mut self` borrows exclusively.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.layout.size()) }
    }
}

impl Drop for HugeRegion {
    fn drop(&mut self) {
        // SAFETY: by the type invariant `ptr` was allocated with `layout` and is owned here.
        unsafe { dealloc(self.ptr.as_ptr(), self.layout) };
    }
}

/// A page source over a [`HugeRegion`]: a fixed number of pages, handed out most recently
/// freed first, as the page allocator's per-CPU lists do, and never returned to the host.
///
/// # Invariants
///
/// Each pointer in `free` addresses a distinct [`PAGE_SIZE`]-byte, page-aligned page of
/// `_region`, whose bytes are initialised (the region is zero-filled when created and only
/// ever written through [`OwnedPage`]s since), and which nothing reaches but that pointer:
/// a page is either in `free` or handed out as an [`OwnedPage`], never both.
pub struct DirectMapPages {
    // Owns the memory that `free` points into.
    _region: HugeRegion,
    pages: usize,
    free: Vec<NonNull<u8>>,
}

impl DirectMapPages {
    /// A source of `pages` pages.
    pub fn new(pages: usize) -> Result<Self, String> {
        let mut region = HugeRegion::new(pages * PAGE_SIZE)?;
        let free = region
            .as_mut_slice()
            .chunks_exact_mut(PAGE_SIZE)
            .take(pages)
            .rev()
            .filter_map(|page| NonNull::new(page.as_mut_ptr()))
            .collect();
        // INVARIANT: distinct whole pages of a fresh, zero-filled, `HUGE_PAGE`-aligned region,
        // which is not reached through `region` again but to free it.
        Ok(Self {
            _region: region,
            pages,
            free,
        })
    }

    /// Pages handed out and not returned.
    pub fn live_pages(&self) -> usize {
        self.pages - self.free.len()
    }
}

impl PageSource for DirectMapPages {
    fn alloc_page(&mut self) -> Option<OwnedPage> {
        let page = self.free.pop()?;
        // SAFETY: by the type invariant `page` addresses `PAGE_SIZE` initialised (zeroed when
        // the region was made, or written by the pool since), page-aligned bytes of the
        // region, which this source keeps alive; popping it from `free` gives up the only
        // other way of reaching it, so the `OwnedPage` owns it exclusively.
        Some(unsafe { OwnedPage::from_raw(page) })
    }

    unsafe fn free_page(&mut self, page: OwnedPage) {
        // INVARIANT: the caller guarantees `page` came from `alloc_page` here, so it is a page
        // of the region not in `free`, and giving up the `OwnedPage` makes `free` its only
        // owner again; its bytes are still initialised.
        self.free.push(page.into_raw());
    }

    fn prefetch_for_write(&self, bytes: &[u8]) {
        zcomp_core::host::prefetch_for_write(bytes);
    }
}

/// Evicts `bytes` from every level of the processor's caches, as memory that has not been
/// used for a while would be. A no-op on architectures other than x86-64.
pub fn evict(bytes: &[u8]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_mm_clflush, _mm_mfence};
        for line in bytes.chunks(64) {
            // SAFETY: `line` is readable memory; `clflush` (SSE2, which every x86-64 processor
            // has) writes a cache line back if dirty and drops it, changing no data.
            unsafe { _mm_clflush(line.as_ptr()) };
        }
        // SAFETY: a fence has no preconditions; it orders the flushes before what follows.
        unsafe { _mm_mfence() };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bytes;
}

// SPDX-License-Identifier: GPL-2.0

//! Spans: the pages a class's slots lie in, and the descriptor that says which slots are
//! live.
//!
//! A span of a small class has up to [`MAX_SPAN_PAGES`] pages, which need not be physically
//! contiguous, with its slots laid end to end across them. Its pages are present lazily: a
//! page is there if and only if a live slot overlaps it. A store takes the pages its slot
//! needs; a free gives back at once every page no other live slot overlaps. So a span that
//! is partly empty costs only the pages its live objects touch.
//!
//! A span of the huge class has [`HUGE_SPAN_PAGES`] page-sized slots, a page each, present
//! while the slot is live. Huge objects have no header: the descriptor keeps their handles
//! in the place of the slot bitmap.

use core::ops::Range;

use super::super::page_source::{OwnedPage, PageSource, PAGE_SIZE};
use super::class::{Class, HUGE_SPAN_PAGES, MAX_SPAN_PAGES, MAX_SPAN_SLOTS, SLOT_HEADER};
use super::handle::SPAN_BITS;
use super::lists::{NO_LIST, UNUSED};
use super::pages::Pages;
use super::table::Table;
use super::Error;

/// A span descriptor.
///
/// # Invariants
///
/// While the descriptor is in use (`list != UNUSED`), for a small class:
/// - bit `i` of `bits` is set if and only if slot `i` is live, `live` counts those bits, and
///   no bit is set at or above the class's slot count;
/// - `page_live[p]` counts the live slots that overlap page `p`, and page `p` is present if
///   and only if that count is not zero (a store or a move makes the pages under a slot
///   present just before it makes the slot live);
/// - a live slot starts with its handle's low [`SLOT_HEADER`] bytes, little endian.
///
/// For the huge class, page `i` is present if and only if slot `i` is live, `live` counts
/// them, `bits` holds the handle of each live slot in 32 bits (two to a word) and
/// `page_live` is zero. A descriptor not in use holds no page and `next` links it on the
/// list of free descriptors. `list`, `prev` and `next` of a descriptor in use belong to
/// the fullness lists.
pub(super) struct Span {
    class: Class,
    /// The fullness list the span is on, [`NO_LIST`] or [`UNUSED`].
    pub(super) list: u8,
    live: u16,
    /// Neighbours on the span's list, 0 for none.
    pub(super) prev: u32,
    pub(super) next: u32,
    bits: [u64; MAX_SPAN_SLOTS / 64],
    page_live: [u8; MAX_SPAN_PAGES],
    pages: [Option<OwnedPage>; MAX_SPAN_PAGES],
}

// Three cache lines; the class geometry counts a descriptor's bytes into each span's cost.
const _: () = assert!(core::mem::size_of::<Span>() == 192);

const _: () = assert!(HUGE_SPAN_PAGES <= MAX_SPAN_SLOTS / 32 && HUGE_SPAN_PAGES <= MAX_SPAN_PAGES);

impl Default for Span {
    /// A descriptor not in use.
    fn default() -> Self {
        Self {
            class: Class::HUGE,
            list: UNUSED,
            live: 0,
            prev: 0,
            next: 0,
            bits: [0; MAX_SPAN_SLOTS / 64],
            page_live: [0; MAX_SPAN_PAGES],
            pages: Default::default(),
        }
    }
}

/// A slot's bytes reach a page that is not present.
const MISSING_PAGE: Error = Error::Corrupt("a live slot's page is missing");

/// A slot number beyond the span.
const BAD_SLOT: Error = Error::Corrupt("slot beyond its span");

impl Span {
    pub(super) fn class(&self) -> Class {
        self.class
    }

    /// Live objects in the span.
    pub(super) fn live(&self) -> usize {
        self.live as usize
    }

    pub(super) fn is_full(&self) -> bool {
        self.live() >= self.class.info().slots
    }

    /// The pages that slot `slot` overlaps.
    fn pages_of_slot(&self, slot: usize) -> Range<usize> {
        let size = self.class.info().size;
        if self.class.is_huge() {
            return slot..slot + 1;
        }
        let start = slot * size;
        start / PAGE_SIZE..(start + size - 1) / PAGE_SIZE + 1
    }

    /// Where the object in slot `slot` starts, in bytes from the start of the span.
    pub(super) fn object_offset(&self, slot: usize) -> usize {
        if self.class.is_huge() {
            slot * PAGE_SIZE
        } else {
            slot * self.class.info().size + SLOT_HEADER
        }
    }

    pub(super) fn is_live(&self, slot: usize) -> bool {
        if self.class.is_huge() {
            return self.pages.get(slot).is_some_and(Option::is_some);
        }
        self.bits
            .get(slot / 64)
            .is_some_and(|w| w & (1 << (slot % 64)) != 0)
    }

    /// The lowest free slot.
    pub(super) fn first_free(&self) -> Option<usize> {
        let slots = self.class.info().slots;
        if self.class.is_huge() {
            return self.pages.iter().take(slots).position(Option::is_none);
        }
        let (i, w) = self
            .bits
            .iter()
            .enumerate()
            .find(|(_, w)| **w != u64::MAX)?;
        let slot = i * 64 + w.trailing_ones() as usize;
        (slot < slots).then_some(slot)
    }

    /// The highest live slot.
    pub(super) fn last_live(&self) -> Option<usize> {
        if self.class.is_huge() {
            return self.pages.iter().rposition(Option::is_some);
        }
        let (i, w) = self.bits.iter().enumerate().rev().find(|(_, w)| **w != 0)?;
        Some(i * 64 + 63 - w.leading_zeros() as usize)
    }

    /// Makes the pages under free slot `slot` present, taking them from `pages`. On failure
    /// gives back those it took.
    pub(super) fn populate<S: PageSource>(
        &mut self,
        slot: usize,
        pages: &mut Pages<S>,
    ) -> Result<(), Error> {
        let range = self.pages_of_slot(slot);
        for p in range.clone() {
            let Some(entry) = self.pages.get_mut(p) else {
                return Err(BAD_SLOT);
            };
            if entry.is_some() {
                continue;
            }
            match pages.alloc_data() {
                Ok(page) => *entry = Some(page),
                Err(e) => {
                    for q in range.start..p {
                        if self.page_live.get(q) == Some(&0) {
                            self.free_page(q, pages);
                        }
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Asks `src` to start fetching the lines of free slot `slot` that lie in present pages.
    pub(super) fn prefetch_slot<S: PageSource>(&self, slot: usize, src: &S) {
        let size = self.class.info().size;
        let (start, end) = (slot * size, (slot + 1) * size);
        for p in self.pages_of_slot(slot) {
            let Some(page) = self.pages.get(p).and_then(Option::as_ref) else {
                continue;
            };
            let from = start.max(p * PAGE_SIZE) - p * PAGE_SIZE;
            let to = end.min((p + 1) * PAGE_SIZE) - p * PAGE_SIZE;
            if let Some(bytes) = page.bytes().get(from..to) {
                src.prefetch_for_write(bytes);
            }
        }
    }

    /// Gives page `p` back to `pages`, if present; returns whether it was.
    fn free_page<S: PageSource>(&mut self, p: usize, pages: &mut Pages<S>) -> bool {
        match self.pages.get_mut(p).and_then(Option::take) {
            Some(page) => {
                pages.free_data(page);
                true
            }
            None => false,
        }
    }

    /// Writes the object of handle `handle` into free slot `slot`, whose pages are present,
    /// and makes the slot live.
    pub(super) fn store(&mut self, slot: usize, handle: u32, data: &[u8]) -> Result<(), Error> {
        self.set_handle(slot, handle)?;
        self.write(self.object_offset(slot), data)?;
        self.mark_live(slot)
    }

    /// Records `handle` as the handle of the object in slot `slot`: in the slot's header,
    /// or in the descriptor for a huge object.
    pub(super) fn set_handle(&mut self, slot: usize, handle: u32) -> Result<(), Error> {
        if self.class.is_huge() {
            return self.set_huge_handle(slot, handle);
        }
        let header = handle.to_le_bytes();
        self.write(slot * self.class.info().size, &header[..SLOT_HEADER])
    }

    /// Makes free slot `slot`, whose pages are present and whose bytes are written, live.
    pub(super) fn mark_live(&mut self, slot: usize) -> Result<(), Error> {
        if !self.class.is_huge() {
            let word = self.bits.get_mut(slot / 64).ok_or(BAD_SLOT)?;
            *word |= 1 << (slot % 64);
            for p in self.pages_of_slot(slot) {
                let n = self.page_live.get_mut(p).ok_or(BAD_SLOT)?;
                *n += 1;
            }
        }
        self.live += 1;
        Ok(())
    }

    /// Makes live slot `slot` free and gives back to `pages` the pages no live slot overlaps
    /// any more. Returns how many pages it gave back.
    pub(super) fn free_slot<S: PageSource>(
        &mut self,
        slot: usize,
        pages: &mut Pages<S>,
    ) -> Result<u32, Error> {
        if !self.is_live(slot) {
            return Err(Error::Corrupt("freeing a free slot"));
        }
        self.live -= 1;
        if self.class.is_huge() {
            self.set_huge_handle(slot, 0)?;
            return Ok(self.free_page(slot, pages) as u32);
        }
        if let Some(word) = self.bits.get_mut(slot / 64) {
            *word &= !(1 << (slot % 64));
        }
        let mut freed = 0;
        for p in self.pages_of_slot(slot) {
            let Some(n) = self.page_live.get_mut(p) else {
                return Err(BAD_SLOT);
            };
            *n -= 1;
            if *n == 0 && self.free_page(p, pages) {
                freed += 1;
            }
        }
        Ok(freed)
    }

    /// The handle of the object in live slot `slot`.
    pub(super) fn handle_of(&self, slot: usize) -> Result<u32, Error> {
        if self.class.is_huge() {
            let word = self.bits.get(slot / 2).ok_or(BAD_SLOT)?;
            return Ok((word >> (slot % 2 * 32)) as u32);
        }
        let mut h = [0u8; 4];
        self.read(slot * self.class.info().size, &mut h[..SLOT_HEADER])?;
        Ok(u32::from_le_bytes(h))
    }

    fn set_huge_handle(&mut self, slot: usize, handle: u32) -> Result<(), Error> {
        let word = self.bits.get_mut(slot / 2).ok_or(BAD_SLOT)?;
        let shift = slot % 2 * 32;
        *word = (*word & !(0xffff_ffff << shift)) | (handle as u64) << shift;
        Ok(())
    }

    /// Copies `data` into the span from byte `off` on.
    pub(super) fn write(&mut self, mut off: usize, mut data: &[u8]) -> Result<(), Error> {
        while !data.is_empty() {
            let page = self.pages.get_mut(off / PAGE_SIZE).and_then(Option::as_mut);
            let bytes = page.ok_or(MISSING_PAGE)?.bytes_mut();
            let at = off % PAGE_SIZE;
            let n = data.len().min(PAGE_SIZE - at);
            let (here, rest) = data.split_at(n);
            bytes[at..at + n].copy_from_slice(here);
            data = rest;
            off += n;
        }
        Ok(())
    }

    /// Fills `out` from the span's bytes from `off` on.
    pub(super) fn read(&self, mut off: usize, mut out: &mut [u8]) -> Result<(), Error> {
        while !out.is_empty() {
            let page = self.pages.get(off / PAGE_SIZE).and_then(Option::as_ref);
            let bytes = page.ok_or(MISSING_PAGE)?.bytes();
            let at = off % PAGE_SIZE;
            let n = out.len().min(PAGE_SIZE - at);
            let (here, rest) = out.split_at_mut(n);
            here.copy_from_slice(&bytes[at..at + n]);
            out = rest;
            off += n;
        }
        Ok(())
    }

    /// The `len` bytes from `off` on, if they lie in one page.
    pub(super) fn contiguous(&self, off: usize, len: usize) -> Option<&[u8]> {
        let page = self.pages.get(off / PAGE_SIZE)?.as_ref()?;
        page.bytes().get(off % PAGE_SIZE..off % PAGE_SIZE + len)
    }

    /// Gives every page back to `pages`.
    fn free_all<S: PageSource>(&mut self, pages: &mut Pages<S>) {
        for page in self.pages.iter_mut().filter_map(Option::take) {
            pages.free_data(page);
        }
    }

    /// Whether the per-page counts and page presence agree with the live slots.
    #[cfg(any(test, debug_assertions))]
    pub(super) fn check(&self) -> Result<(), Error> {
        let present = self.pages.iter().filter(|p| p.is_some()).count();
        if self.class.is_huge() {
            if present != self.live() || self.page_live != [0; MAX_SPAN_PAGES] {
                return Err(Error::Corrupt("huge span page count"));
            }
            return Ok(());
        }
        let slots = self.class.info().slots;
        let bits: u32 = self.bits.iter().map(|w| w.count_ones()).sum();
        if bits as usize != self.live() || self.last_live().is_some_and(|s| s >= slots) {
            return Err(Error::Corrupt("span slot bitmap"));
        }
        let mut overlapping = [0u8; MAX_SPAN_PAGES];
        for slot in (0..slots).filter(|&s| self.is_live(s)) {
            for p in self.pages_of_slot(slot) {
                overlapping[p] += 1;
            }
        }
        if overlapping != self.page_live {
            return Err(Error::Corrupt("span per-page live counts"));
        }
        if self
            .page_live
            .iter()
            .zip(&self.pages)
            .any(|(&n, p)| (n != 0) != p.is_some())
        {
            return Err(Error::Corrupt("span page presence"));
        }
        Ok(())
    }

    /// Pages present.
    pub(super) fn nr_pages(&self) -> usize {
        self.pages.iter().filter(|p| p.is_some()).count()
    }
}

/// The span descriptors of a pool, by id (from 1; 0 names no span).
///
/// # Invariants
///
/// Ids `1..next` have populated table entries; `free` heads the list of descriptors not in
/// use, linked through `next` (0 ends it); `in_use` counts the others.
pub(super) struct Spans {
    table: Table<Span>,
    next: u32,
    free: u32,
    in_use: u64,
}

/// Largest span id: bounded by the table's reach and by the span bits of a handle slot.
const MAX_SPAN_ID: usize = {
    let reach = Table::<Span>::REACH - 1;
    let bits = (1 << SPAN_BITS) - 1;
    if reach < bits {
        reach
    } else {
        bits
    }
};

impl Spans {
    pub(super) const fn new() -> Self {
        Self {
            table: Table::new(),
            next: 1,
            free: 0,
            in_use: 0,
        }
    }

    /// Span descriptors in use.
    pub(super) fn in_use(&self) -> u64 {
        self.in_use
    }

    /// Every id a span has had, in use or not.
    pub(super) fn ids(&self) -> Range<u32> {
        1..self.next
    }

    /// Span `id`, which must be in use.
    pub(super) fn get(&self, id: u32) -> Result<&Span, Error> {
        match self.table.get(id as usize) {
            Some(span) if id != 0 && id < self.next && span.list != UNUSED => Ok(span),
            _ => Err(Error::Corrupt("no such span")),
        }
    }

    /// Span `id`, which must be in use, mutably.
    pub(super) fn get_mut(&mut self, id: u32) -> Result<&mut Span, Error> {
        match self.table.get_mut(id as usize) {
            Some(span) if id != 0 && id < self.next && span.list != UNUSED => Ok(span),
            _ => Err(Error::Corrupt("no such span")),
        }
    }

    /// Descriptor `id`, in use or not.
    #[cfg(any(test, debug_assertions))]
    pub(super) fn descriptor(&self, id: u32) -> Option<&Span> {
        self.table
            .get(id as usize)
            .filter(|_| id != 0 && id < self.next)
    }

    /// A new, empty span of class `class`, on no list.
    pub(super) fn alloc<S: PageSource>(
        &mut self,
        class: Class,
        pages: &mut Pages<S>,
    ) -> Result<u32, Error> {
        let id = if self.free != 0 {
            self.free
        } else if self.next as usize > MAX_SPAN_ID {
            return Err(Error::Full);
        } else {
            self.next
        };
        let span = self.table.populate(id as usize, pages)?;
        if span.list != UNUSED {
            return Err(Error::Corrupt("free span descriptor in use"));
        }
        let next_free = span.next;
        *span = Span {
            class,
            list: NO_LIST,
            ..Span::default()
        };
        if id == self.free {
            self.free = next_free;
        } else {
            self.next += 1;
        }
        self.in_use += 1;
        Ok(id)
    }

    /// Frees span `id`, which holds nothing and is on no list, for reuse.
    pub(super) fn free(&mut self, id: u32) -> Result<(), Error> {
        let free = self.free;
        let span = self.get_mut(id)?;
        if span.live != 0 || span.nr_pages() != 0 || span.list != NO_LIST {
            return Err(Error::Corrupt("freeing a span in use"));
        }
        span.list = UNUSED;
        span.next = free;
        self.free = id;
        self.in_use -= 1;
        Ok(())
    }

    /// Gives every page of every span, and the descriptor table, back to `pages`.
    pub(super) fn release<S: PageSource>(&mut self, pages: &mut Pages<S>) {
        for id in self.ids() {
            if let Some(span) = self.table.get_mut(id as usize) {
                span.free_all(pages);
            }
        }
        self.table.release(pages);
        *self = Self::new();
    }
}

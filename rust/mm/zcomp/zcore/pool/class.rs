// SPDX-License-Identifier: GPL-2.0

//! Size classes: which slot an object of a given length takes, and the span that holds
//! such slots.
//!
//! A small object takes a slot of its class: a [`SLOT_HEADER`]-byte header (the object's
//! handle, for compaction to find the handle of an object it moves) followed by the
//! payload, rounded up to the class's slot size. Slot sizes are multiples of
//! [`CLASS_SPACING`] from [`MIN_SLOT_SIZE`] up. A class's slots lie end to end across the
//! pages of a span, so a slot may straddle a page boundary, as in zsmalloc. The number of
//! pages of a span is chosen, per slot size, to minimise what a span costs per slot, its
//! descriptor included:
//!
//! ```text
//!   pages(size) = argmin over p in 1..=MAX_SPAN_PAGES of (p * PAGE_SIZE + DESC) / slots(p)
//!   slots(p)    = min(floor(p * PAGE_SIZE / size), MAX_SPAN_SLOTS)
//! ```
//!
//! where `DESC` is the size of a span descriptor. A slot size is worth a class only while
//! that cost is below a page, which ends the small classes a little under 4 KiB.
//! Neighbouring slot sizes whose spans have the same pages and slots are merged into one
//! class, the largest size of the run, since the smaller sizes would only waste the same
//! tail; that leaves [`NR_SMALL_CLASSES`] small classes.
//!
//! Larger objects (up to a whole page) are huge: each gets a page of its own, and a span of
//! the huge class only groups [`HUGE_SPAN_PAGES`] such pages under one descriptor.

use core::mem::size_of;

use super::super::page_source::PAGE_SIZE;
use super::span::Span;

/// Spacing in bytes between consecutive slot sizes.
pub const CLASS_SPACING: usize = 16;

/// Bytes of header in front of every small object: the low bytes of its handle, which are
/// all a handle has (see [`MAX_OBJECTS`](super::MAX_OBJECTS)).
pub const SLOT_HEADER: usize = 3;

/// Largest number of pages in one span.
pub const MAX_SPAN_PAGES: usize = 16;

/// Largest number of slots in one span (bits in a span's slot bitmap).
pub(super) const MAX_SPAN_SLOTS: usize = 256;

/// Smallest slot, header included. LZ4 cannot compress a page below about 20 bytes, so a
/// smaller class would serve no compressed page; and with it no page is overlapped by more
/// slots than a span's per-page byte counters can count.
const MIN_SLOT_SIZE: usize = 32;

const _: () = assert!(PAGE_SIZE / MIN_SLOT_SIZE + 2 <= u8::MAX as usize);

/// Pages (one object each) in a span of the huge class: as many handles as a span
/// descriptor keeps in the place of the slot bitmap.
pub(super) const HUGE_SPAN_PAGES: usize = MAX_SPAN_SLOTS / 32;

/// `(pages, slots)` of the cheapest span for slots of `size` bytes, and whether that shape
/// costs less than a page per slot, descriptor included.
const fn span_shape(size: usize) -> (usize, usize, bool) {
    let desc = size_of::<Span>();
    let mut best = (1, PAGE_SIZE / size);
    let mut pages = 2;
    while pages <= MAX_SPAN_PAGES {
        let slots = pages * PAGE_SIZE / size;
        if slots > MAX_SPAN_SLOTS {
            break;
        }
        // Cross-multiplied: (pages * PAGE_SIZE + desc) / slots < (best pages ...) / best slots.
        if (pages * PAGE_SIZE + desc) * best.1 < (best.0 * PAGE_SIZE + desc) * slots {
            best = (pages, slots);
        }
        pages += 1;
    }
    (
        best.0,
        best.1,
        best.0 * PAGE_SIZE + desc < PAGE_SIZE * best.1,
    )
}

/// Number of slot sizes (multiples of [`CLASS_SPACING`]) worth a small class.
const NR_SIZES: usize = {
    let mut n = 0;
    while span_shape((n + 1) * CLASS_SPACING).2 {
        n += 1;
    }
    n
};

/// Largest slot size (header included) of a small class.
pub const MAX_SLOT_SIZE: usize = NR_SIZES * CLASS_SPACING;

/// Largest object stored in a small class; larger objects get a page each.
pub const MAX_SMALL_OBJECT: usize = MAX_SLOT_SIZE - SLOT_HEADER;

/// Slot size `i` (of `0..NR_SIZES`), in bytes.
const fn slot_size(i: usize) -> usize {
    let size = (i + 1) * CLASS_SPACING;
    if size < MIN_SLOT_SIZE {
        MIN_SLOT_SIZE
    } else {
        size
    }
}

/// Whether slot sizes `i` and `i + 1` have spans of the same shape, and so one class.
const fn same_shape(i: usize) -> bool {
    let (a, b) = (span_shape(slot_size(i)), span_shape(slot_size(i + 1)));
    a.0 == b.0 && a.1 == b.1
}

/// Number of small classes after merging slot sizes with the same span shape.
pub const NR_SMALL_CLASSES: usize = {
    let mut n = 1;
    let mut i = 0;
    while i + 1 < NR_SIZES {
        if !same_shape(i) {
            n += 1;
        }
        i += 1;
    }
    n
};

/// The class number of an object of `len` bytes, 1 to [`PAGE_SIZE`]. Classes are numbered
/// by slot size, the huge class last: an object of a lower class takes less of the pool, which
/// is what a caller deciding between two compressions of one page wants to know.
pub fn size_class(len: usize) -> usize {
    Class::of_len(len).index()
}

/// Number of classes, the huge class included.
pub const NR_CLASSES: usize = NR_SMALL_CLASSES + 1;

const _: () = assert!(NR_CLASSES <= u8::MAX as usize);

/// Shape of one class.
#[derive(Clone, Copy)]
pub(super) struct ClassInfo {
    /// Slot size in bytes, header included ([`PAGE_SIZE`] for the huge class).
    pub(super) size: usize,
    /// Pages per span.
    pub(super) pages: usize,
    /// Slots per span.
    pub(super) slots: usize,
}

/// Entries of [`CLASS_OF_STEP`]: one per [`CLASS_SPACING`] step of slot size, up to that of
/// a whole page.
const LEN_STEPS: usize = (PAGE_SIZE + SLOT_HEADER - 1) / CLASS_SPACING + 1;

/// The shape of every class, and the class of every slot-size step.
const TABLES: ([ClassInfo; NR_CLASSES], [u8; LEN_STEPS]) = {
    let huge = ClassInfo {
        size: PAGE_SIZE,
        pages: HUGE_SPAN_PAGES,
        slots: HUGE_SPAN_PAGES,
    };
    let mut info = [huge; NR_CLASSES];
    let mut of_step = [NR_SMALL_CLASSES as u8; LEN_STEPS];
    // From the largest size down: a run of sizes with one shape takes the run's largest.
    let mut class = NR_SMALL_CLASSES;
    let mut i = NR_SIZES;
    while i > 0 {
        i -= 1;
        if i + 1 == NR_SIZES || !same_shape(i) {
            class -= 1;
            let (pages, slots, _) = span_shape(slot_size(i));
            info[class] = ClassInfo {
                size: slot_size(i),
                pages,
                slots,
            };
        }
        of_step[i] = class as u8;
    }
    (info, of_step)
};

/// Shapes of all classes.
const CLASS_INFO: [ClassInfo; NR_CLASSES] = TABLES.0;

/// Class of slot-size step `(len + SLOT_HEADER - 1) / CLASS_SPACING` of an object of `len`
/// bytes.
const CLASS_OF_STEP: [u8; LEN_STEPS] = TABLES.1;

/// A size class.
///
/// # Invariants
///
/// The value is below [`NR_CLASSES`]; [`NR_SMALL_CLASSES`] is the huge class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Class(u8);

impl Class {
    /// The huge class.
    pub(super) const HUGE: Class = Class(NR_SMALL_CLASSES as u8);

    /// Class number `n`, if there is one.
    pub(super) fn new(n: usize) -> Option<Class> {
        // INVARIANT: checked.
        (n < NR_CLASSES).then_some(Class(n as u8))
    }

    /// The class of an object of `len` bytes, 1 to [`PAGE_SIZE`].
    pub(super) fn of_len(len: usize) -> Class {
        match CLASS_OF_STEP.get((len + SLOT_HEADER - 1) / CLASS_SPACING) {
            // INVARIANT: `TABLES` fills the table with class numbers only.
            Some(&c) => Class(c),
            None => Class::HUGE,
        }
    }

    /// Every class, the huge one last.
    #[cfg(any(test, debug_assertions))]
    pub(super) fn all() -> impl Iterator<Item = Class> {
        // INVARIANT: `0..NR_CLASSES`.
        (0..NR_CLASSES as u8).map(Class)
    }

    /// The class number.
    pub(super) fn index(self) -> usize {
        self.0 as usize
    }

    /// Whether this is the huge class.
    pub(super) fn is_huge(self) -> bool {
        self == Class::HUGE
    }

    /// The class's shape.
    pub(super) fn info(self) -> &'static ClassInfo {
        // By the type invariant the index is in range.
        &CLASS_INFO[self.index()]
    }

    /// The largest object the class holds.
    pub(super) fn max_len(self) -> usize {
        if self.is_huge() {
            PAGE_SIZE
        } else {
            self.info().size - SLOT_HEADER
        }
    }
}

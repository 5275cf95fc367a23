// SPDX-License-Identifier: GPL-2.0

//! The shared pool: a dense allocator for compressed objects.
//!
//! # Layout
//!
//! An object of `len` bytes (1 to [`PAGE_SIZE`]) is either *small* or *huge*.
//!
//! A small object occupies one *slot* of a size class. A slot is a 3-byte header (the
//! object's handle, which fits in 24 bits, used by compaction to find the handle of an
//! object it moves) followed by the payload, rounded up to the class size. Class sizes
//! are spaced [`CLASS_SPACING`] (16) bytes apart, from 32 to 3840 bytes. The slots of a
//! class live in *spans*: up to 16 pages that need not be physically contiguous. Slots are
//! laid end to end across the pages of a span, so a slot may straddle a page boundary (as
//! in zsmalloc). The number of pages of a class's span is chosen at compile time to
//! minimise the bytes a span costs per slot, descriptor included:
//!
//! ```text
//!   pages(size) = argmin over p in 1..=16 of (p * 4096 + 192) / floor(p * 4096 / size)
//! ```
//!
//! (with at most 256 slots per span). Averaged over all class sizes the tail left at the end
//! of a span is 0.36% of the span, against 4.6% with zsmalloc's four-page zspages (1.7%
//! with eight-page ones). Neighbouring sizes with the same span shape are merged into one
//! class, as zsmalloc does, leaving 191 small classes.
//!
//! Pages of a span are populated lazily: a page is present if and only if at least one live
//! slot overlaps it. Storing into a slot allocates the pages it needs; freeing a slot
//! returns at once every page that no other live slot overlaps. So a span that is partly
//! empty costs only the pages its live objects touch, and a freed or written-back object
//! gives its memory back without waiting for compaction whenever its neighbours are gone.
//!
//! Objects above the largest class (payload over 3837 bytes, up to a raw page) are huge:
//! each has a page of its own, taken from and returned to the page source on store and
//! free. Huge spans only group 8 such pages under one descriptor.
//!
//! # Handles
//!
//! A [`Handle`] is a 24-bit index into the handle table, a radix table in pool pages whose
//! 5-byte slots (819 to a page) hold the object's current location (span, slot) and length;
//! the class follows from the length. Compaction moves objects and rewrites their handle
//! slot; the handle a caller holds never changes, so handles stay valid across compaction
//! with nothing for the caller to do. Span ids have 19 bits, so a pool has at most 524 287
//! spans (at least 2 GiB of data pages, far more for most classes). Free handles are reused
//! last freed first, through a list threaded through their slots.
//!
//! [`Pool::free`] collects [`FREE_BATCH`] (16) frees and then applies them together: it
//! frees all their handles, starting to fetch the descriptor each named, then their slots.
//! On a pool larger than the cache each free is two dependent cache misses; batched, the
//! misses of different frees overlap. A freed object's pages therefore return to the page
//! source within 15 further frees, or at the next compaction or statistics read, which
//! apply pending frees first.
//!
//! # Compaction
//!
//! Each class keeps its non-full spans on [`NR_GROUPS`] lists by fullness (eighths), except
//! its *fill span*: the span stores go to, taken off the lists (as SLUB keeps a CPU's slab
//! off the partial list) until it is full, when the fullest listed span takes its place.
//! The class state caches the fill span's descriptor, lowest free slot and where that slot
//! lies (its start, and the next page if it straddles a page boundary), so a store can
//! start copying as soon as it has read one cache line, and it moves no span between lists.
//! Nor does a free, unless it empties the span or frees from a full one: a span a free makes
//! emptier stays on the list of its old fullness. What reads the lists corrects them: the
//! search for the fullest listed span (for a new fill span, or to see whether one is fuller
//! than the fill span) moves a span it finds listed too high down to its own list, and
//! compaction refiles the spans of a class before it picks the emptiest.
//! [`Pool::compact`] takes, per class, the emptiest span as source and the fullest other
//! span as destination, and moves objects (highest slot first) into the lowest free slots
//! of the destination until the source is empty and freed. When a class has a single
//! non-full span left, its objects are moved down to its lowest free slots so that its
//! upper pages empty. When compaction is done, each class has at most one non-full span,
//! and that span's live slots are packed at its start, so the waste of a class is under
//! one page.
//!
//! # Locking and bounds
//!
//! All mutation takes `&mut self`; the kernel wraps the pool in a spinlock. No method
//! sleeps (the page source must not either). Every method does bounded work: a store
//! touches one span (at most 16 pages) plus at most two table pages to grow a table, a
//! free at most [`FREE_BATCH`] spans;
//! [`Pool::compact`] moves at most `max_moves` objects (each a copy of at most 3840 bytes
//! plus a bitmap scan of four words) and looks at each class at most once per call, refiling
//! its listed spans then.
//! [`Pool::verify`] walks the whole pool and is meant for tests.
//!
//! # Cost
//!
//! A store reads its class state (which holds where the fill slot lies), copies the object
//! into the slot, updates the span's descriptor (bitmap, per-page live counts, in-use count)
//! and the handle's slot, and prefetches the class's next free slot. A slot's lines are
//! written without being read, so a store to lines not in the cache waits for them while
//! its caller goes on, slowing the caller's next memory-heavy work (the next page's
//! compression) by 50-120 ns; the prefetch, a store ahead, takes most of that away. A slot
//! on a page the span does not have yet cannot be prefetched that way, so the pool takes
//! its next data page from the source a few stores early and prefetches its start
//! ([`SPARE_PREFETCH`]). A free reads the handle's slot and then the descriptor it names,
//! which batching overlaps across frees, and then decrements counts: no class state (but in
//! the fill span), no search of the bitmap, no move between lists. It takes about 370
//! instructions to store a 560-byte object (85 of them the copy) and 170 to free one.
//! Measured by `scripts/bench-pool.sh`, with each page compressed by LZ4 and stored at
//! once, as the kernel does, and each store charged both its own time and what it adds to
//! the next compression, store and free come to 3.7-5.0% of LZ4's time per page for
//! anonymous memory, text and executables, and 6.5-7.9% for zero-heavy pages (560-byte
//! objects, on which LZ4 takes only 1.5 us where it takes 3.3-7.3 on the others): a store
//! takes 62-79 ns and adds 3-7, a free takes 29-30. In the same runs, copying the same
//! objects into a stream per size class, with the same prefetch and none of the pool's
//! bookkeeping, came to 2.4-2.9% of LZ4, and doing so through a handle table like the
//! pool's to 3.2-4.1% (a store of 33-40 ns adding 8-14, a free of 6): the rest, about 50 ns
//! per page, is the pool's own slot bookkeeping.
//!
//! # Density
//!
//! Measured by `scripts/bench-pool.sh` on its four data sets (about 47 000 live objects of
//! 1.5 KiB on average for anonymous memory, after storing 64 000, freeing half and storing
//! a quarter again, then compacting), every page the pool holds, data and metadata, comes to
//! 2.7% over the compressed bytes for anonymous memory and text and 2.2% for executables,
//! against 3.8% to 8.1% (data pages alone) for zsmalloc's packing on the same trace. For
//! anonymous memory the overhead splits into: class rounding and span tails 1.0%, the last
//! partly used page of each class 0.5%, slot headers 0.2%, and metadata pages 1.0%: the
//! span descriptors 0.5% and the handle table 0.4%, both sized by their peak use (tables
//! never shrink, and the live entries of a table page are rarely all gone at once). Finer
//! (8-byte) class spacing and 8-page spans were measured and found no better: the first
//! trades rounding for more partly used pages at this scale, the second makes the largest
//! classes huge and span tails longer.

use core::mem::size_of;
use core::num::NonZeroU32;
use core::ops::Range;
use core::ptr::{self, NonNull};

use crate::page_source::{PageSource, PAGE_SIZE};

/// `ptr.add(count)` for a [`NonNull`]: `NonNull::add` is newer than the kernel's minimum Rust.
///
/// # Safety
///
/// As for `pointer::add`: the result must stay inside the allocation `ptr` points into.
unsafe fn nonnull_add<T>(ptr: NonNull<T>, count: usize) -> NonNull<T> {
    // SAFETY: by the caller's guarantee the result lies inside the allocation `ptr` points
    // into, so it is non-null like `ptr`.
    unsafe { NonNull::new_unchecked(ptr.as_ptr().add(count)) }
}

/// Frees that [`Pool::free`] collects before applying them together.
pub const FREE_BATCH: usize = 16;

/// Spacing in bytes between consecutive size classes.
pub const CLASS_SPACING: usize = 16;

/// Bytes of per-object header stored in front of every small object: the low 24 bits of
/// its handle, which is all a handle has (see [`MAX_OBJECTS`]).
pub const SLOT_HEADER: usize = 3;

/// Largest number of pages in one span.
pub const MAX_SPAN_PAGES: usize = 16;

/// Largest number of slots in one span (bits in a span's slot bitmap).
const MAX_SPAN_SLOTS: usize = 256;

/// Smallest slot, header included. LZ4 cannot compress a page below about 20 bytes, so a
/// smaller class would serve no compressed page, and with it a page is overlapped by at
/// most 130 slots, which a span counts in a byte per page.
const MIN_SLOT_SIZE: usize = 32;

const _: () = assert!(PAGE_SIZE / MIN_SLOT_SIZE + 2 <= u8::MAX as usize);

/// Pages (one object each) in a span of the huge class: as many handles as fit in the
/// slot bitmap's place.
const HUGE_SPAN_PAGES: usize = MAX_SPAN_SLOTS / 32;

/// Number of fullness lists per class.
pub const NR_GROUPS: usize = 8;

/// Number of pointers in a page of the radix tables.
const PTRS_PER_PAGE: usize = PAGE_SIZE / size_of::<usize>();

/// Number of root pointers of each radix table kept in the [`Pool`] itself.
const TABLE_ROOT: usize = 64;

/// Bytes of one handle-table slot.
const HANDLE_SLOT: usize = 5;

/// Handle slots per handle-table page.
const HANDLES_PER_PAGE: usize = PAGE_SIZE / HANDLE_SLOT;

/// Bits of a span id in a handle slot.
const SPAN_BITS: u32 = 19;

const fn min(a: usize, b: usize) -> usize {
    if a < b {
        a
    } else {
        b
    }
}

const fn max(a: usize, b: usize) -> usize {
    if a > b {
        a
    } else {
        b
    }
}

/// Span descriptors per descriptor-table page.
const DESCS_PER_PAGE: usize = PAGE_SIZE / size_of::<SpanDesc>();

/// Largest number of handles (and so of objects) one pool can hold.
/// Bounded by the handle table's reach and by the handle bits a slot header holds.
pub const MAX_OBJECTS: usize = min(
    TABLE_ROOT * PTRS_PER_PAGE * HANDLES_PER_PAGE,
    1 << (8 * SLOT_HEADER),
) - 1;

const _: () = assert!(MAX_OBJECTS < 1 << (8 * SLOT_HEADER));

/// Largest number of spans one pool can hold.
/// Bounded by the descriptor table's reach and by the span bits of a handle slot.
const MAX_SPANS: usize = min(TABLE_ROOT * PTRS_PER_PAGE * DESCS_PER_PAGE, 1 << SPAN_BITS) - 1;

/// Returns `(pages, slots)` of the cheapest span for slots of `size` bytes, and whether
/// that shape costs less than a page per object, descriptor included.
const fn span_shape(size: usize) -> (usize, usize, bool) {
    let desc = size_of::<SpanDesc>();
    let mut best_pages = 1;
    let mut best_slots = PAGE_SIZE / size;
    let mut pages = 2;
    while pages <= MAX_SPAN_PAGES {
        let slots = pages * PAGE_SIZE / size;
        if slots > MAX_SPAN_SLOTS {
            break;
        }
        // (pages * PAGE_SIZE + desc) / slots < (best_pages * PAGE_SIZE + desc) / best_slots
        if (pages * PAGE_SIZE + desc) * best_slots < (best_pages * PAGE_SIZE + desc) * slots {
            best_pages = pages;
            best_slots = slots;
        }
        pages += 1;
    }
    let cheaper = best_pages * PAGE_SIZE + desc < PAGE_SIZE * best_slots;
    (best_pages, best_slots, cheaper)
}

/// Number of slot sizes (multiples of [`CLASS_SPACING`]) worth a size class.
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

/// Number of small size classes after merging sizes with the same span shape.
pub const NR_SMALL_CLASSES: usize = {
    let mut n = 0;
    let mut i = NR_SIZES;
    let mut prev = (0, 0);
    while i > 0 {
        i -= 1;
        let s = span_shape(max((i + 1) * CLASS_SPACING, MIN_SLOT_SIZE));
        if s.0 != prev.0 || s.1 != prev.1 {
            n += 1;
            prev = (s.0, s.1);
        }
    }
    n
};

/// Number of classes including the huge class, whose index is [`NR_SMALL_CLASSES`].
pub const NR_CLASSES: usize = NR_SMALL_CLASSES + 1;

/// Index of the huge class.
const HUGE: usize = NR_SMALL_CLASSES;

/// Shape of one class, fixed at compile time.
#[derive(Clone, Copy)]
struct ClassInfo {
    /// Slot size in bytes, header included ([`PAGE_SIZE`] for the huge class).
    size: u16,
    /// Pages per span.
    pages: u16,
    /// Slots per span.
    slots: u16,
    /// [`recip`] of `slots`, to divide by `slots` with a multiplication.
    recip_slots: u64,
}

/// Bits [`div_by`] shifts its product right by.
const RECIP_SHIFT: u32 = 40;

/// `ceil(2^40 / d)` for `d >= 1`.
const fn recip(d: usize) -> u64 {
    (1u64 << RECIP_SHIFT).div_ceil(d as u64)
}

/// `x / d` given `r == recip(d)`: a multiplication and a shift, where the compiler's
/// division by a constant, exact for every 32-bit `x`, takes up to seven instructions.
/// Exact whenever `x < DIV_LIMIT` and `d < 2^16`: then `x * d < 2^40`, and with
/// `r * d = 2^40 + e` and `0 <= e < d`, `x * r / 2^40 = x / d + x * e / (d * 2^40)`, where
/// the second term is below `1 / d`, too little to carry past the next integer; and
/// `x * r <= x * 2^40 < 2^64`.
fn div_by(x: usize, r: u64) -> usize {
    ((x as u64).wrapping_mul(r) >> RECIP_SHIFT) as usize
}

/// Bound on the dividends of [`div_by`].
const DIV_LIMIT: usize = 1 << 24;

// `div_by` divides fullness eighths by slot counts, and table indices by entries per page.
const _: () = assert!(MAX_SPAN_SLOTS * NR_GROUPS < DIV_LIMIT && MAX_SPAN_SLOTS < 1 << 16);
const _: () = assert!(HANDLES_PER_PAGE < 1 << 16 && DESCS_PER_PAGE < 1 << 16);
const _: () = assert!(MAX_OBJECTS < DIV_LIMIT && MAX_SPANS < DIV_LIMIT);

/// Entries of [`CLASS_OF_LEN`]: one per [`CLASS_SPACING`] step of slot size up to that of
/// the largest object.
const LEN_STEPS: usize = (PAGE_SIZE + SLOT_HEADER - 1) / CLASS_SPACING + 1;

// A class fits a byte of `CLASS_OF_LEN`.
const _: () = assert!(NR_CLASSES <= 1 << 8);

/// Class shapes, and the class of each length step.
const TABLES: ([ClassInfo; NR_CLASSES], [u8; LEN_STEPS]) = {
    let mut info = [ClassInfo {
        size: 0,
        pages: 0,
        slots: 0,
        recip_slots: 0,
    }; NR_CLASSES];
    let mut of_len = [HUGE as u8; LEN_STEPS];
    let mut class = NR_SMALL_CLASSES;
    let mut i = NR_SIZES;
    let mut prev = (0, 0);
    while i > 0 {
        i -= 1;
        let size = max((i + 1) * CLASS_SPACING, MIN_SLOT_SIZE);
        let s = span_shape(size);
        if s.0 != prev.0 || s.1 != prev.1 {
            class -= 1;
            prev = (s.0, s.1);
            info[class] = ClassInfo {
                size: size as u16,
                pages: s.0 as u16,
                slots: s.1 as u16,
                recip_slots: recip(s.1),
            };
        }
        of_len[i] = class as u8;
    }
    info[HUGE] = ClassInfo {
        size: PAGE_SIZE as u16,
        pages: HUGE_SPAN_PAGES as u16,
        slots: HUGE_SPAN_PAGES as u16,
        recip_slots: recip(HUGE_SPAN_PAGES),
    };
    (info, of_len)
};

// The class tables are constants rather than statics: the compiler then knows their
// contents, and folds lookups (that a length's class is the huge one becomes a comparison of
// the length), and it addresses them directly rather than through the global offset table of
// a position-independent build.

/// Shapes of all classes.
const CLASS_INFO: [ClassInfo; NR_CLASSES] = TABLES.0;

/// Class of an object of `len` bytes, indexed by `(len + SLOT_HEADER - 1) / CLASS_SPACING`
/// (entry `i` is the class of slot size `(i + 1) * CLASS_SPACING`). It covers every length
/// up to [`PAGE_SIZE`], so that a lookup of a length known to be in range needs no check.
const CLASS_OF_LEN: [u8; LEN_STEPS] = TABLES.1;

/// Returns the class for an object of `len` bytes (1 to [`PAGE_SIZE`]).
fn class_of_len(len: usize) -> usize {
    match CLASS_OF_LEN.get((len + SLOT_HEADER - 1) / CLASS_SPACING) {
        Some(&c) => c as usize,
        None => HUGE,
    }
}

/// Shape of class `c` (all-zero for an out-of-range class, which callers never pass).
fn info(c: usize) -> ClassInfo {
    match CLASS_INFO.get(c) {
        Some(i) => *i,
        None => ClassInfo {
            size: PAGE_SIZE as u16,
            pages: 0,
            slots: 0,
            recip_slots: recip(1),
        },
    }
}

/// An opaque reference to a stored object.
///
/// A handle stays valid, and refers to the same bytes, from the [`Pool::store`] that
/// returned it until it is passed to [`Pool::free`], whatever compaction does in between.
/// It fits in 32 bits so entries can embed it; zero is never a handle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Handle(NonZeroU32);

impl Handle {
    /// Returns the raw 32-bit value, for embedding in an entry.
    pub const fn to_raw(self) -> u32 {
        self.0.get()
    }

    /// Rebuilds a handle from [`Handle::to_raw`]'s value; `None` for zero.
    pub const fn from_raw(raw: u32) -> Option<Self> {
        match NonZeroU32::new(raw) {
            Some(v) => Some(Self(v)),
            None => None,
        }
    }

    /// Index in the handle table.
    fn index(self) -> usize {
        self.0.get() as usize
    }
}

/// Why [`Pool::store`] failed. The pool is unchanged after any error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The object is empty.
    Empty,
    /// The object is larger than [`PAGE_SIZE`].
    TooLarge,
    /// The page source had no page available.
    NoMemory,
    /// The pool already holds [`MAX_OBJECTS`] objects or its span table is full.
    TooManyObjects,
}

/// Why a read failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadError {
    /// The handle does not refer to a live object.
    BadHandle,
    /// The output buffer is shorter than the object.
    BufferTooSmall,
}

/// Pool-wide statistics, as plain integers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Pages currently obtained from the page source (data plus metadata).
    pub pages_held: u64,
    /// Pages for object data: those of spans, and the spare page a non-empty pool keeps
    /// for the next store that needs a page (see [`SPARE_PREFETCH`]).
    pub data_pages: u64,
    /// Pages holding metadata: handle table, span descriptors, class state.
    pub meta_pages: u64,
    /// Live objects.
    pub objects: u64,
    /// Live objects stored in a page of their own (the huge class).
    pub huge_objects: u64,
    /// Sum of the lengths of live objects.
    pub bytes_stored: u64,
    /// Spans in use (small and huge).
    pub spans: u64,
    /// Bytes of data pages not holding object payload: headers, class rounding, span tails,
    /// free slots. `data_pages * PAGE_SIZE - bytes_stored`.
    pub fragmentation_bytes: u64,
    /// Pages returned to the source by [`Pool::free`] since the pool was created.
    pub pages_freed_on_free: u64,
    /// Pages returned to the source by [`Pool::compact`] since the pool was created.
    pub pages_compacted: u64,
    /// Objects moved by [`Pool::compact`] since the pool was created.
    pub objects_moved: u64,
}

/// Statistics of one size class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Slot size in bytes, header included ([`PAGE_SIZE`] for the huge class).
    pub slot_size: u32,
    /// Largest object length stored in this class.
    pub max_len: u32,
    /// Pages per span.
    pub pages_per_span: u32,
    /// Slots per span.
    pub slots_per_span: u32,
    /// Live objects in this class.
    pub objects: u32,
    /// Spans of this class in use.
    pub spans: u32,
}

/// Result of one [`Pool::compact`] call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompactStats {
    /// Objects moved by this call.
    pub moved: u32,
    /// Pages returned to the page source by this call.
    pub pages_freed: u32,
    /// True if there was nothing left to do when the call returned.
    pub done: bool,
}

/// Outcome of one compaction step.
enum Step {
    /// An object moved; this many pages were freed.
    Moved(u32),
    /// Nothing worth moving in the class.
    Idle,
    /// A destination page could not be obtained.
    NoMemory,
}

/// A failed [`Pool::verify`] check, naming what was inconsistent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VerifyError(pub &'static str);

/// Span descriptor, stored in descriptor-table pages.
///
/// # Invariants
///
/// For a descriptor in use (`in_use == 1`) of small class `class`:
/// - bit `i` of `bits` is set iff slot `i` holds a live object, and `inuse` counts them;
/// - `live[p]` counts the live slots that overlap byte range
///   `[p * PAGE_SIZE, (p + 1) * PAGE_SIZE)` of the span, `pages[p]` is `Some` iff it is not
///   zero, and `nr_pages` counts such pages;
/// - a live slot starts with its handle ([`SLOT_HEADER`] bytes, little endian) and that
///   handle's table slot records this span and slot.
///
/// For the huge class `pages[i]` is `Some` iff slot `i` is live, and the handle of slot
/// `i` is kept in `bits` instead (two per word), and `live` is all zero. A descriptor not
/// in use has no pages and `next` links it on the free descriptor list. `group` is the
/// fullness list the span is on, [`GROUP_FULL`] when it is full, or [`GROUP_FILL`] when it
/// is its class's fill span; in the last two cases it is on no list.
///
/// The fields a store or a free touches (counters, links, bitmap, per-page counts) share the
/// first cache line; the page pointers, which a read needs, fill the next two.
#[repr(C, align(64))]
struct SpanDesc {
    class: u16,
    inuse: u16,
    group: u8,
    nr_pages: u8,
    in_use: u8,
    _pad: u8,
    prev: u32,
    next: u32,
    bits: [u64; MAX_SPAN_SLOTS / 64],
    live: [u8; MAX_SPAN_PAGES],
    pages: [Option<NonNull<u8>>; MAX_SPAN_PAGES],
}

const _: () = assert!(size_of::<SpanDesc>() == 192);

/// `SpanDesc::group` of a full span, which is on no list.
const GROUP_FULL: u8 = NR_GROUPS as u8;

/// `SpanDesc::group` of the span its class stores into (see [`Fill`]), which is on no list.
const GROUP_FILL: u8 = NR_GROUPS as u8 + 1;

/// Fullness list of a non-full span with `inuse` of `slots` slots used.
fn group_of(inuse: usize, slots: usize) -> u8 {
    if inuse >= slots {
        GROUP_FULL
    } else {
        (inuse * NR_GROUPS / slots.max(1)) as u8
    }
}

/// [`group_of`] for a span of class shape `ci`, without a division.
fn group_of_class(inuse: usize, ci: &ClassInfo) -> u8 {
    if inuse >= ci.slots as usize {
        GROUP_FULL
    } else {
        group_of_partial(inuse, ci)
    }
}

/// [`group_of_class`] for a span known not to be full, as one is after a free.
fn group_of_partial(inuse: usize, ci: &ClassInfo) -> u8 {
    div_by(inuse * NR_GROUPS, ci.recip_slots) as u8
}

/// The pages of a span that slot `slot` of a small class of shape `ci` overlaps: one, or
/// two neighbours.
fn pages_of_slot(ci: &ClassInfo, slot: usize) -> Range<usize> {
    let off = slot * ci.size as usize;
    off / PAGE_SIZE..(off + ci.size as usize - 1) / PAGE_SIZE + 1
}

impl SpanDesc {
    fn test(&self, i: usize) -> bool {
        match self.bits.get(i / 64) {
            Some(w) => w & (1 << (i % 64)) != 0,
            None => false,
        }
    }

    fn set(&mut self, i: usize) {
        if let Some(w) = self.bits.get_mut(i / 64) {
            *w |= 1 << (i % 64);
        }
    }

    fn clear(&mut self, i: usize) {
        if let Some(w) = self.bits.get_mut(i / 64) {
            *w &= !(1 << (i % 64));
        }
    }

    /// Lowest clear bit in `start..n`.
    fn first_zero(&self, start: usize, n: usize) -> Option<usize> {
        let mut wi = start / 64;
        // Bits below `start` in its word count as set.
        let mut below = (1u64 << (start % 64)) - 1;
        while let Some(w) = self.bits.get(wi) {
            let w = w | below;
            if w != u64::MAX {
                let i = wi * 64 + w.trailing_ones() as usize;
                return if i < n { Some(i) } else { None };
            }
            below = 0;
            wi += 1;
        }
        None
    }

    /// Highest set bit.
    fn last_one(&self) -> Option<usize> {
        for (wi, w) in self.bits.iter().enumerate().rev() {
            if *w != 0 {
                return Some(wi * 64 + 63 - w.leading_zeros() as usize);
            }
        }
        None
    }

    /// Marks slot `slot` of small class shape `ci` live, counting it on its pages.
    fn occupy(&mut self, ci: &ClassInfo, slot: usize) {
        self.set(slot);
        for p in pages_of_slot(ci, slot) {
            if let Some(n) = self.live.get_mut(p) {
                *n += 1;
            }
        }
    }

    /// Marks live slot `slot` of small class shape `ci` free, uncounting it on its pages.
    /// Returns the pages no live slot overlaps any more, a bit each.
    fn vacate(&mut self, ci: &ClassInfo, slot: usize) -> u32 {
        self.clear(slot);
        let mut emptied = 0;
        for p in pages_of_slot(ci, slot) {
            if let Some(n) = self.live.get_mut(p) {
                *n -= 1;
                if *n == 0 {
                    emptied |= 1 << p;
                }
            }
        }
        emptied
    }

    fn huge_handle(&self, i: usize) -> u32 {
        match self.bits.get(i / 2) {
            Some(w) => (w >> ((i % 2) * 32)) as u32,
            None => 0,
        }
    }

    fn set_huge_handle(&mut self, i: usize, h: u32) {
        if let Some(w) = self.bits.get_mut(i / 2) {
            let shift = (i % 2) * 32;
            *w = (*w & !(0xffff_ffffu64 << shift)) | ((h as u64) << shift);
        }
    }

    /// Unlinks page `p`, if present, and returns it.
    fn take_page(&mut self, p: usize) -> Option<NonNull<u8>> {
        let page = self.pages.get_mut(p)?.take()?;
        self.nr_pages -= 1;
        Some(page)
    }

    fn page(&self, p: usize) -> Option<NonNull<u8>> {
        self.pages.get(p).copied().flatten()
    }

    /// Address of byte `off` of the span and how many bytes follow it in its page.
    fn addr(&self, off: usize) -> Option<(NonNull<u8>, usize)> {
        let page = self.page(off / PAGE_SIZE)?;
        let in_page = off % PAGE_SIZE;
        // SAFETY: `in_page < PAGE_SIZE`, inside the page.
        Some((unsafe { nonnull_add(page, in_page) }, PAGE_SIZE - in_page))
    }
}

/// Per-class state, stored in class-state pages, a cache line each.
///
/// It holds no counters: a free would have to update them, and a class's state is rarely
/// in the cache when a free comes (classes are many); [`Pool::class_stats`] counts instead.
#[repr(C, align(64))]
struct ClassState {
    /// Heads of the fullness lists (descriptor ids, 0 for empty).
    heads: [u32; NR_GROUPS],
    fill: Fill,
}

const _: () = assert!(size_of::<ClassState>() == 64);

/// The span a small class stores into, taken off the fullness lists while it is filled (as
/// SLUB keeps a CPU's slab off the partial list), its lowest free slot, and where that slot
/// starts in memory.
///
/// A store finds its slot and, most of the time, its address here, so it can start copying
/// without waiting for the span's descriptor (whose bitmap it updates meanwhile), and it
/// moves no span between lists until the span is full.
#[derive(Clone, Copy)]
struct Fill {
    /// The span's descriptor, `None` when the class has no fill span.
    desc: Option<NonNull<SpanDesc>>,
    /// Where slot `slot` lies, if every page under it is present.
    at: Option<SlotAddr>,
    id: u32,
    slot: u32,
}

impl Fill {
    const NONE: Self = Self {
        desc: None,
        at: None,
        id: 0,
        slot: 0,
    };
}

/// Where a slot of a small class lies in memory.
#[derive(Clone, Copy, PartialEq, Eq)]
struct SlotAddr {
    /// The slot's first byte.
    start: NonNull<u8>,
    /// The start of the page the slot continues in, if it straddles a page boundary.
    rest: Option<NonNull<u8>>,
}

/// Where slot `slot` of span `d` of class shape `ci` lies, if every page under it is present.
#[inline]
fn slot_addr(d: &SpanDesc, ci: &ClassInfo, slot: usize) -> Option<SlotAddr> {
    let off = slot * ci.size as usize;
    let (start, room) = d.addr(off)?;
    let rest = if room >= ci.size as usize {
        None
    } else {
        Some(d.page(off / PAGE_SIZE + 1)?)
    };
    Some(SlotAddr { start, rest })
}

/// Where the slot of `size` bytes at span offset `next` lies, found from `at`, where the
/// slot at offset `off < next` lies, if it is within one page under that slot: most of the
/// time, so a store need not read the span's page pointers, a cache line it has no other
/// use for.
fn addr_after(at: SlotAddr, off: usize, next: usize, size: usize) -> Option<SlotAddr> {
    if next % PAGE_SIZE + size > PAGE_SIZE {
        return None;
    }
    let page = if next / PAGE_SIZE == off / PAGE_SIZE {
        // SAFETY: `at.start` lies `off % PAGE_SIZE` bytes into its page.
        unsafe { NonNull::new_unchecked(at.start.as_ptr().sub(off % PAGE_SIZE)) }
    } else if next / PAGE_SIZE == off / PAGE_SIZE + 1 {
        at.rest?
    } else {
        return None;
    };
    Some(SlotAddr {
        // SAFETY: the slot lies within `page`.
        start: unsafe { nonnull_add(page, next % PAGE_SIZE) },
        rest: None,
    })
}

/// Writes a slot at `at`, of which `room` bytes lie in its first page: its header, holding
/// handle `idx`, then `data`.
///
/// # Safety
///
/// `at` must be where a free slot of at least `SLOT_HEADER + data.len()` bytes lies, in
/// pages the caller has exclusive access to, `room` of them in its first page if it
/// straddles a page boundary.
#[inline]
unsafe fn write_slot(at: SlotAddr, room: usize, idx: u32, data: &[u8]) {
    let Some(rest) = at.rest else {
        let dst = at.start.as_ptr();
        // The header is stored as a value, not copied from memory as below, which would cost
        // its bytes a trip through the stack.
        // SAFETY: by the caller's guarantee the slot holds the header and `data`; an array of
        // bytes needs no alignment.
        unsafe {
            dst.cast::<[u8; SLOT_HEADER]>().write(slot_header(idx));
            ptr::copy_nonoverlapping(data.as_ptr(), dst.add(SLOT_HEADER), data.len());
        }
        return;
    };
    let hdr = slot_header(idx);
    // The part of header and data that fits before the page ends, and the rest.
    let (hdr_here, hdr_next) = hdr.split_at(room.min(SLOT_HEADER));
    let (data_here, data_next) = data.split_at((room - hdr_here.len()).min(data.len()));
    // SAFETY: by the caller's guarantee `room` bytes of the slot lie from `at.start` on, and
    // the rest from `rest` on; the parts come to at most that.
    unsafe {
        copy_two(at.start, hdr_here, data_here);
        copy_two(rest, hdr_next, data_next);
    }
}

/// The header of a slot holding the object of handle `idx`: the handle's low
/// [`SLOT_HEADER`] bytes, little endian.
fn slot_header(idx: u32) -> [u8; SLOT_HEADER] {
    let b = idx.to_le_bytes();
    [b[0], b[1], b[2]]
}

/// Copies `a` and then `b` to `dst`.
///
/// # Safety
///
/// `dst` must be valid for writes of `a.len() + b.len()` bytes that overlap neither.
unsafe fn copy_two(dst: NonNull<u8>, a: &[u8], b: &[u8]) {
    // SAFETY: by the caller's guarantee both copies stay inside the destination.
    unsafe {
        ptr::copy_nonoverlapping(a.as_ptr(), dst.as_ptr(), a.len());
        ptr::copy_nonoverlapping(b.as_ptr(), dst.as_ptr().add(a.len()), b.len());
    }
}

/// Cache line size of the architectures the pool is built for; prefetches step by it.
const CACHE_LINE: usize = 64;

/// Bytes fetched ahead at the start of the spare data page.
///
/// A page new to the pool may come from memory unused for a while, whose lines a store's
/// writes would wait for without a prefetch: as a class fills a new span, each store that
/// first reaches a page would, delaying the caller by about as much as a whole store costs
/// (one store in nine, for the 560-byte objects of zero-heavy pages). So the pool takes its
/// next data page from the source before a store needs it, and starts fetching its first
/// lines then, several stores ahead. The first store into a fresh page writes from its
/// start (a whole slot, or the tail of one that straddles the boundary); 1 KiB covers that
/// for the classes of the best-compressed pages, against whose shorter compression time a
/// miss weighs most.
pub const SPARE_PREFETCH: usize = 1024;

/// Starts fetching, for writing, the cache lines of the slot at `at`, `size` bytes of which
/// `room` lie in its first page, without waiting for them.
///
/// A store writes its slot's lines without having read them, so each costs a fetch from
/// memory that the store's writes wait for, and that delays whatever the caller does next.
/// Fetching the next slot's lines right after a store lets them arrive while the caller
/// goes on (as the processor's own prefetcher does for a stream of adjacent writes, which a
/// class's stores are not, being spread between other classes' and filling free slots
/// between live ones).
#[inline]
fn prefetch_slot(at: SlotAddr, size: usize, room: usize) {
    match at.rest {
        None => prefetch_for_write(at.start, size),
        Some(rest) => {
            prefetch_for_write(at.start, room);
            prefetch_for_write(rest, size - room);
        }
    }
}

/// Starts fetching, for writing, the cache lines under the `n` bytes at `p`.
fn prefetch_for_write(p: NonNull<u8>, n: usize) {
    let end = p.as_ptr() as usize + n;
    let mut line = p.as_ptr() as usize & !(CACHE_LINE - 1);
    // Four lines a step while four remain: a step of one line costs three instructions of
    // loop besides its prefetch.
    while line + 3 * CACHE_LINE < end {
        prefetch_4_lines_for_write(line);
        line += 4 * CACHE_LINE;
    }
    while line < end {
        prefetch_line_for_write(line);
        line += CACHE_LINE;
    }
}

/// Starts fetching the cache line at address `line` for writing. A hint only: it cannot
/// fault and changes nothing the program can observe; a no-op where no instruction for it
/// is known (and under Miri, which runs no assembly).
#[inline(always)]
fn prefetch_line_for_write(line: usize) {
    // `prefetcht0` rather than `prefetchw`, which not every x86-64 processor has.
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: a prefetch is a hint: it does not fault whatever the address, and it writes no
    // register, flag or memory.
    unsafe {
        core::arch::asm!(
            "prefetcht0 [{}]",
            in(reg) line,
            options(nostack, preserves_flags, readonly)
        );
    }
    #[cfg(all(target_arch = "aarch64", not(miri)))]
    // SAFETY: as for x86-64: `prfm` is a hint that neither faults nor writes anything.
    unsafe {
        core::arch::asm!(
            "prfm pstl1keep, [{}]",
            in(reg) line,
            options(nostack, preserves_flags, readonly)
        );
    }
    #[cfg(any(miri, not(any(target_arch = "x86_64", target_arch = "aarch64"))))]
    let _ = line;
}

/// [`prefetch_line_for_write`] for the four cache lines from `line` on, with their offsets
/// in the instructions rather than in registers of their own.
#[inline(always)]
fn prefetch_4_lines_for_write(line: usize) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: as in `prefetch_line_for_write`, for each of the four prefetches.
    unsafe {
        core::arch::asm!(
            "prefetcht0 [{0}]",
            "prefetcht0 [{0} + 64]",
            "prefetcht0 [{0} + 128]",
            "prefetcht0 [{0} + 192]",
            in(reg) line,
            options(nostack, preserves_flags, readonly)
        );
    }
    #[cfg(all(target_arch = "aarch64", not(miri)))]
    // SAFETY: as in `prefetch_line_for_write`, for each of the four prefetches.
    unsafe {
        core::arch::asm!(
            "prfm pstl1keep, [{0}]",
            "prfm pstl1keep, [{0}, #64]",
            "prfm pstl1keep, [{0}, #128]",
            "prfm pstl1keep, [{0}, #192]",
            in(reg) line,
            options(nostack, preserves_flags, readonly)
        );
    }
    #[cfg(any(miri, not(any(target_arch = "x86_64", target_arch = "aarch64"))))]
    let _ = line;
}

// The offsets written out in `prefetch_4_lines_for_write`.
const _: () = assert!(CACHE_LINE == 64);

/// Class states per class-state page.
const CLASSES_PER_PAGE: usize = PAGE_SIZE / size_of::<ClassState>();

/// Pages of class state.
const CLASS_PAGES: usize = NR_CLASSES.div_ceil(CLASSES_PER_PAGE);

/// Handle slot encoding, in the low 40 bits of a `u64` stored as 5 little-endian bytes.
/// A live slot holds `slot << 31 | (len - 1) << 19 | span` (slot 9 bits, length 12, span
/// [`SPAN_BITS`]), so that a read needs no descriptor field but the page pointers (the class
/// follows from the length); a free slot holds [`HS_FREE`] (a slot number no span has) and
/// the next free handle in its low 31 bits.
const HS_FREE: u64 = 0x1ff << 31;

const _: () = assert!(HANDLE_SLOT == 5);
const _: () = assert!(MAX_SPAN_SLOTS < 0x1ff && PAGE_SIZE <= 1 << 12 && SPAN_BITS == 19);
const _: () = assert!(NR_CLASSES <= 1 << 16 && MAX_OBJECTS < 1 << 31);

fn hs_encode(span: u32, slot: usize, len: usize) -> u64 {
    ((slot as u64) << 31) | (((len - 1) as u64) << 19) | span as u64
}

fn hs_is_free(v: u64) -> bool {
    v & HS_FREE == HS_FREE
}

/// A decoded live handle slot.
#[derive(Clone, Copy)]
struct Loc {
    class: usize,
    span: u32,
    slot: usize,
    len: usize,
}

/// The span a handle slot holding `v` names, 0 (no span) for a free slot.
fn hs_span(v: u64) -> u32 {
    if hs_is_free(v) {
        0
    } else {
        (v & ((1 << SPAN_BITS) - 1)) as u32
    }
}

fn hs_decode(v: u64) -> Option<Loc> {
    (hs_span(v) != 0).then(|| hs_loc(v))
}

/// [`hs_decode`] of a value [`hs_span`] found live.
fn hs_loc(v: u64) -> Loc {
    let len = ((v >> 19) & 0xfff) as usize + 1;
    Loc {
        class: class_of_len(len),
        span: (v & ((1 << SPAN_BITS) - 1)) as u32,
        slot: ((v >> 31) & 0x1ff) as usize,
        len,
    }
}

/// A handle-table slot.
///
/// # Invariants
///
/// Points at [`HANDLE_SLOT`] bytes inside a populated handle-table page of the pool it came
/// from; such pages live as long as the pool.
#[derive(Clone, Copy)]
struct HSlot(NonNull<u8>);

impl HSlot {
    // The slot is read and written as a `u32` and a `u8` (little endian), in registers,
    // rather than through a byte buffer whose narrow stores a wide load could not forward.
    fn get(self) -> u64 {
        let p = self.0.as_ptr();
        // SAFETY: by the type invariant the slot's `HANDLE_SLOT` (5) bytes are readable and
        // initialised (the page was zero-filled when obtained); the read is unaligned.
        let (lo, hi) = unsafe { (p.cast::<u32>().read_unaligned(), p.add(4).read()) };
        lo as u64 | (hi as u64) << 32
    }

    /// Writes the slot. Callers hold the pool mutably, which makes the write exclusive.
    fn set(self, v: u64) {
        let p = self.0.as_ptr();
        // SAFETY: by the type invariant the slot's 5 bytes are writable pool memory, and the
        // caller holds the pool mutably, so nothing else accesses them.
        unsafe {
            p.cast::<u32>().write_unaligned(v as u32);
            p.add(4).write((v >> 32) as u8);
        }
    }
}

/// A lazily populated radix table: `TABLE_ROOT` pointers to pages of `PTRS_PER_PAGE`
/// pointers to leaf pages of fixed-size entries.
///
/// # Invariants
///
/// Every `Some` pointer in `root` and in the pages it reaches is a page obtained from the
/// pool's page source, zero-filled when obtained, owned by the table. `last_leaf`, if set,
/// is leaf page number `.0` of the table.
struct Table {
    root: [Option<NonNull<u8>>; TABLE_ROOT],
    /// The leaf page the table last grew into, which the next new entry most likely lives
    /// in too: finding it here saves reading a pointer page.
    last_leaf: Option<(usize, NonNull<u8>)>,
}

/// Leaf page number and position in that page of entry `idx` (below [`DIV_LIMIT`]) of a
/// table with `per_leaf` entries to a leaf page.
fn locate(idx: usize, per_leaf: usize) -> (usize, usize) {
    let leaf_no = div_by(idx, recip(per_leaf));
    (leaf_no, idx - leaf_no * per_leaf)
}

impl Table {
    const fn new() -> Self {
        Self {
            root: [None; TABLE_ROOT],
            last_leaf: None,
        }
    }

    /// Address of entry `idx` (entries of `esize` bytes, `per_leaf` to a page), or `None`
    /// if its leaf page is not populated.
    fn entry(&self, idx: usize, per_leaf: usize, esize: usize) -> Option<NonNull<u8>> {
        // Beyond the reach of every table, and of `locate`.
        if idx >= DIV_LIMIT {
            return None;
        }
        let (leaf_no, in_leaf) = locate(idx, per_leaf);
        let mid = (*self.root.get(leaf_no / PTRS_PER_PAGE)?)?;
        // SAFETY: by the type invariant `mid` is a live page of `PTRS_PER_PAGE` pointer
        // slots initialised to zero (`None`) or to a page pointer, and the index is below
        // `PTRS_PER_PAGE`.
        let leaf = unsafe {
            mid.cast::<Option<NonNull<u8>>>()
                .as_ptr()
                .add(leaf_no % PTRS_PER_PAGE)
                .read()
        }?;
        // SAFETY: `in_leaf < per_leaf` and `per_leaf * esize <= PAGE_SIZE` for every table in
        // this file, so the result stays inside the leaf page.
        Some(unsafe { nonnull_add(leaf, in_leaf * esize) })
    }

    /// Takes index `*next` for a new entry of `esize` bytes at the end of the table,
    /// populating the table page it lives in, and advances `*next`. Returns the index and
    /// the entry's address. Indices above `max` are refused.
    fn grow<S: PageSource>(
        &mut self,
        src: &mut S,
        meta_pages: &mut u64,
        next: &mut u32,
        max: usize,
        (per_leaf, esize): (usize, usize),
    ) -> Result<(u32, NonNull<u8>), StoreError> {
        let idx = *next;
        if idx as usize > max {
            return Err(StoreError::TooManyObjects);
        }
        // `max` (`MAX_OBJECTS` or `MAX_SPANS`) is below `DIV_LIMIT`.
        let (leaf_no, in_leaf) = locate(idx as usize, per_leaf);
        let leaf = match self.last_leaf {
            Some((n, leaf)) if n == leaf_no => leaf,
            _ => {
                let leaf = self
                    .populate(src, meta_pages, leaf_no)
                    .ok_or(StoreError::NoMemory)?;
                // INVARIANT: `leaf` is leaf page `leaf_no`.
                self.last_leaf = Some((leaf_no, leaf));
                leaf
            }
        };
        *next += 1;
        // SAFETY: as in `entry`, the entry lies inside the leaf page.
        Ok((idx, unsafe { nonnull_add(leaf, in_leaf * esize) }))
    }

    /// Makes sure leaf page `leaf_no` exists and returns it. Returns `None` if a page could
    /// not be obtained or the leaf is beyond the table's reach.
    fn populate<S: PageSource>(
        &mut self,
        src: &mut S,
        meta_pages: &mut u64,
        leaf_no: usize,
    ) -> Option<NonNull<u8>> {
        let root = self.root.get_mut(leaf_no / PTRS_PER_PAGE)?;
        let mid = match *root {
            Some(m) => m,
            None => {
                let m = alloc_zeroed(src, meta_pages)?;
                // INVARIANT: `m` is a fresh zero-filled page from `src`.
                *root = Some(m);
                m
            }
        };
        // SAFETY: as in `entry`, the slot is inside the live pointer page `mid`.
        let slot = unsafe {
            mid.cast::<Option<NonNull<u8>>>()
                .as_ptr()
                .add(leaf_no % PTRS_PER_PAGE)
        };
        // SAFETY: `slot` is valid for reads, see above.
        if let Some(leaf) = unsafe { slot.read() } {
            return Some(leaf);
        }
        let leaf = alloc_zeroed(src, meta_pages)?;
        // SAFETY: `slot` is valid for writes, see above.
        // INVARIANT: `leaf` is a fresh zero-filled page from `src`.
        unsafe { slot.write(Some(leaf)) };
        Some(leaf)
    }

    /// Returns every page of the table to `src`.
    fn release<S: PageSource>(&mut self, src: &mut S) {
        self.last_leaf = None;
        for root in self.root.iter_mut() {
            let Some(mid) = root.take() else { continue };
            for i in 0..PTRS_PER_PAGE {
                // SAFETY: `mid` is a live pointer page, `i < PTRS_PER_PAGE`.
                let leaf = unsafe { mid.cast::<Option<NonNull<u8>>>().as_ptr().add(i).read() };
                if let Some(leaf) = leaf {
                    // SAFETY: `leaf` came from `src` and is no longer referenced.
                    unsafe { src.free_page(leaf) };
                }
            }
            // SAFETY: `mid` came from `src` and is no longer referenced.
            unsafe { src.free_page(mid) };
        }
    }
}

/// Gets a zero-filled page from `src` and counts it as metadata.
fn alloc_zeroed<S: PageSource>(src: &mut S, meta_pages: &mut u64) -> Option<NonNull<u8>> {
    let page = src.alloc_page()?;
    // SAFETY: the `PageSource` contract makes `page` valid for `PAGE_SIZE` bytes of writes.
    unsafe { ptr::write_bytes(page.as_ptr(), 0, PAGE_SIZE) };
    *meta_pages += 1;
    Some(page)
}

/// The compressed-object pool.
///
/// # Invariants
///
/// - Descriptor ids `1..next_desc` have populated descriptor-table entries; handle indices
///   `1..next_handle` have populated handle-table entries.
/// - `class_pages` are either all `None` (nothing stored yet) or all `Some`, zero-filled
///   when obtained and holding [`ClassState`] values.
/// - Every page reachable from the pool was obtained from `src` and is owned by the pool.
/// - Counters in `stats` match what [`Pool::verify`] recounts.
/// - For each class `c` whose [`ClassState::fill`] cursor has `desc` set: it points to the
///   descriptor of span `id`, which is in use, of class `c`, not full, has
///   `group == GROUP_FILL`, at least one live slot (outside [`Pool::store`]), and `slot` as
///   its lowest free slot; `at` is [`slot_addr`] of that slot. No listed span of `c` is
///   fuller than the fill span by fullness group (its own, whatever list it is on). No
///   other span has `group == GROUP_FILL`; the huge class has no fill span.
pub struct Pool<S: PageSource> {
    src: S,
    handles: Table,
    descs: Table,
    class_pages: [Option<NonNull<u8>>; CLASS_PAGES],
    next_handle: u32,
    free_handle: u32,
    next_desc: u32,
    free_desc: u32,
    compact_class: u16,
    /// Handles freed and not yet applied: the first `npending`.
    pending: [u32; FREE_BATCH],
    npending: u8,
    stats: PoolStats,
    spare_desc: SpanDesc,
    spare_class: ClassState,
    /// A data page taken from the source before a store needs it, its first lines already
    /// being fetched (see `alloc_data_page`). Counted in `stats.data_pages`; returned to
    /// the source when the last object is freed.
    spare_page: Option<NonNull<u8>>,
}

// SAFETY: the pool exclusively owns every page it points to; moving it to another thread
// moves that ownership. The page source moves with it and is required to be `Send`.
unsafe impl<S: PageSource + Send> Send for Pool<S> {}

// SAFETY: methods taking `&self` only read pool memory; all mutation needs `&mut self`.
unsafe impl<S: PageSource + Sync> Sync for Pool<S> {}

impl<S: PageSource> Pool<S> {
    /// Creates an empty pool drawing pages from `src`. Allocates nothing.
    pub const fn new(src: S) -> Self {
        Self {
            src,
            handles: Table::new(),
            descs: Table::new(),
            class_pages: [None; CLASS_PAGES],
            next_handle: 1,
            free_handle: 0,
            next_desc: 1,
            free_desc: 0,
            compact_class: 0,
            pending: [0; FREE_BATCH],
            npending: 0,
            stats: PoolStats {
                pages_held: 0,
                data_pages: 0,
                meta_pages: 0,
                objects: 0,
                huge_objects: 0,
                bytes_stored: 0,
                spans: 0,
                fragmentation_bytes: 0,
                pages_freed_on_free: 0,
                pages_compacted: 0,
                objects_moved: 0,
            },
            spare_desc: SpanDesc {
                class: 0,
                inuse: 0,
                group: GROUP_FULL,
                nr_pages: 0,
                in_use: 0,
                _pad: 0,
                prev: 0,
                next: 0,
                bits: [0; MAX_SPAN_SLOTS / 64],
                live: [0; MAX_SPAN_PAGES],
                pages: [None; MAX_SPAN_PAGES],
            },
            spare_class: ClassState {
                heads: [0; NR_GROUPS],
                fill: Fill::NONE,
            },
            spare_page: None,
        }
    }

    /// The page source.
    pub fn source(&self) -> &S {
        &self.src
    }

    /// The page source, mutably (to adjust its limits, for example).
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.src
    }

    // ---- metadata access -------------------------------------------------------------

    fn desc_ptr(&self, id: u32) -> Option<NonNull<SpanDesc>> {
        if id == 0 || id >= self.next_desc {
            return None;
        }
        Some(
            self.descs
                .entry(id as usize, DESCS_PER_PAGE, size_of::<SpanDesc>())?
                .cast(),
        )
    }

    /// Descriptor `id`; an unused spare for an id that does not exist.
    fn d(&self, id: u32) -> &SpanDesc {
        match self.desc_ptr(id) {
            // SAFETY: the entry is inside a populated, zero-initialised descriptor page owned
            // by the pool (zero bytes are a valid `SpanDesc`), and `&self` keeps it alive and
            // free of writers.
            Some(p) => unsafe { p.as_ref() },
            None => &self.spare_desc,
        }
    }

    /// Descriptor `id`, mutably; an unused spare for an id that does not exist.
    fn dm(&mut self, id: u32) -> &mut SpanDesc {
        debug_assert!(id != 0 && id < self.next_desc, "bad span id {id}");
        match self.desc_ptr(id) {
            // SAFETY: as in `d`; `&mut self` makes the reference exclusive.
            Some(mut p) => unsafe { p.as_mut() },
            None => &mut self.spare_desc,
        }
    }

    fn class_ptr(&self, c: usize) -> Option<NonNull<ClassState>> {
        let page = (*self.class_pages.get(c / CLASSES_PER_PAGE)?)?;
        // SAFETY: the index is below `CLASSES_PER_PAGE`, so the entry is inside the page.
        Some(unsafe { nonnull_add(page.cast::<ClassState>(), c % CLASSES_PER_PAGE) })
    }

    fn cs(&self, c: usize) -> &ClassState {
        match self.class_ptr(c) {
            // SAFETY: class pages are zero-initialised (a valid `ClassState`) and owned by
            // the pool; `&self` keeps them alive and free of writers.
            Some(p) => unsafe { p.as_ref() },
            None => &self.spare_class,
        }
    }

    fn csm(&mut self, c: usize) -> &mut ClassState {
        match self.class_ptr(c) {
            // SAFETY: as in `cs`; `&mut self` makes the reference exclusive.
            Some(mut p) => unsafe { p.as_mut() },
            None => &mut self.spare_class,
        }
    }

    fn hptr(&self, idx: usize) -> Option<HSlot> {
        if idx == 0 || idx >= self.next_handle as usize {
            return None;
        }
        // INVARIANT: handles below `next_handle` have populated table entries.
        Some(HSlot(self.handles.entry(
            idx,
            HANDLES_PER_PAGE,
            HANDLE_SLOT,
        )?))
    }

    fn hget(&self, idx: usize) -> u64 {
        self.hptr(idx).map_or(0, HSlot::get)
    }

    fn hset(&mut self, idx: usize, v: u64) {
        if let Some(p) = self.hptr(idx) {
            p.set(v);
        }
    }

    /// Takes a free handle. Returns its index and its table slot, which stays valid for
    /// the life of the pool (handle-table pages are only freed on drop).
    fn alloc_handle(&mut self) -> Result<(u32, HSlot), StoreError> {
        if self.free_handle != 0 {
            let idx = self.free_handle;
            if let Some(p) = self.hptr(idx as usize) {
                let v = p.get();
                debug_assert!(hs_is_free(v));
                self.free_handle = (v & 0x7fff_ffff) as u32;
                return Ok((idx, p));
            }
            debug_assert!(false, "free handle {idx} without a slot");
            return Err(StoreError::TooManyObjects);
        }
        let (idx, slot) = self.handles.grow(
            &mut self.src,
            &mut self.stats.meta_pages,
            &mut self.next_handle,
            MAX_OBJECTS,
            (HANDLES_PER_PAGE, HANDLE_SLOT),
        )?;
        // INVARIANT: the slot lies in a populated handle-table page.
        Ok((idx, HSlot(slot)))
    }

    fn free_handle(&mut self, idx: u32) {
        self.hset(idx as usize, HS_FREE | self.free_handle as u64);
        self.free_handle = idx;
    }

    fn alloc_desc(&mut self, class: usize) -> Result<u32, StoreError> {
        let id = if self.free_desc != 0 {
            let id = self.free_desc;
            self.free_desc = self.d(id).next;
            id
        } else {
            self.descs
                .grow(
                    &mut self.src,
                    &mut self.stats.meta_pages,
                    &mut self.next_desc,
                    MAX_SPANS,
                    (DESCS_PER_PAGE, size_of::<SpanDesc>()),
                )?
                .0
        };
        let d = self.dm(id);
        // INVARIANT: a new span has no pages and no live slots.
        d.pages = [None; MAX_SPAN_PAGES];
        d.bits = [0; MAX_SPAN_SLOTS / 64];
        d.live = [0; MAX_SPAN_PAGES];
        d.prev = 0;
        d.next = 0;
        d.class = class as u16;
        d.inuse = 0;
        d.group = GROUP_FULL;
        d.nr_pages = 0;
        d.in_use = 1;
        self.stats.spans += 1;
        Ok(id)
    }

    /// Retires an empty span that is on no list.
    fn free_desc(&mut self, id: u32) {
        let free = self.free_desc;
        let d = self.dm(id);
        debug_assert!(d.inuse == 0 && d.nr_pages == 0 && d.group == GROUP_FULL);
        d.in_use = 0;
        d.next = free;
        self.free_desc = id;
        self.stats.spans -= 1;
    }

    fn ensure_class_pages(&mut self) -> Result<(), StoreError> {
        if self.class_pages.iter().all(|p| p.is_some()) {
            return Ok(());
        }
        let mut pages = [None; CLASS_PAGES];
        for slot in pages.iter_mut() {
            match alloc_zeroed(&mut self.src, &mut self.stats.meta_pages) {
                Some(p) => *slot = Some(p),
                None => {
                    for p in pages.iter().flatten() {
                        // SAFETY: `p` was just obtained from `src` and is not referenced.
                        unsafe { self.src.free_page(*p) };
                        self.stats.meta_pages -= 1;
                    }
                    return Err(StoreError::NoMemory);
                }
            }
        }
        // INVARIANT: all class pages are now present and zero-filled.
        self.class_pages = pages;
        Ok(())
    }

    // ---- fullness lists ----------------------------------------------------------------

    /// The head of fullness list `group` of `class`, if the class state exists.
    fn head_ptr(&self, class: usize, group: u8) -> Option<NonNull<u32>> {
        if group as usize >= NR_GROUPS {
            return None;
        }
        let cp = self.class_ptr(class)?;
        // SAFETY: `cp` points to a `ClassState` in a pool-owned page and `group` indexes its
        // `heads`; only a pointer is formed, no reference.
        let head = unsafe {
            ptr::addr_of_mut!((*cp.as_ptr()).heads)
                .cast::<u32>()
                .add(group as usize)
        };
        // SAFETY: derived from the non-null `cp` by an in-bounds offset.
        Some(unsafe { NonNull::new_unchecked(head) })
    }

    /// Puts span `id`, which is on no list, at the head of list `group` of its class.
    fn list_add(&mut self, id: u32, group: u8) {
        if let Some(dp) = self.desc_ptr(id) {
            self.list_add_at(id, dp, group);
        }
    }

    /// [`Pool::list_add`] for span `id` with descriptor `dp`.
    fn list_add_at(&mut self, id: u32, dp: NonNull<SpanDesc>, group: u8) {
        // SAFETY: `dp` is a descriptor in a pool-owned page and `&mut self` excludes other
        // users; the only other descriptor reached meanwhile, the list head, is not `id`,
        // which is on no list.
        let d = unsafe { &mut *dp.as_ptr() };
        let Some(head_ptr) = self.head_ptr(d.class as usize, group) else {
            return;
        };
        // SAFETY: `head_ptr` points into pool-owned class state, which nothing else
        // references.
        let head = unsafe { head_ptr.as_ptr().read() };
        d.group = group;
        d.prev = 0;
        d.next = head;
        if head != 0 {
            self.dm(head).prev = id;
        }
        // SAFETY: as above.
        unsafe { head_ptr.as_ptr().write(id) };
    }

    /// Takes span `id` off its list, if it is on one.
    fn list_del(&mut self, id: u32) {
        if let Some(dp) = self.desc_ptr(id) {
            self.list_del_at(dp);
        }
    }

    /// [`Pool::list_del`] for the span with descriptor `dp`.
    fn list_del_at(&mut self, dp: NonNull<SpanDesc>) {
        // SAFETY: as in `list_add`: the neighbours reached meanwhile are other descriptors.
        let d = unsafe { &mut *dp.as_ptr() };
        if d.group as usize >= NR_GROUPS {
            // Full or filling: on no list.
            return;
        }
        let (prev, next) = (d.prev, d.next);
        if prev != 0 {
            self.dm(prev).next = next;
        } else if let Some(head_ptr) = self.head_ptr(d.class as usize, d.group) {
            // SAFETY: `head_ptr` points into pool-owned class state.
            unsafe { head_ptr.as_ptr().write(next) };
        }
        if next != 0 {
            self.dm(next).prev = prev;
        }
        d.group = GROUP_FULL;
        d.prev = 0;
        d.next = 0;
    }

    /// Moves span `id` to the list matching its fullness, unless it is a fill span.
    fn regroup(&mut self, id: u32) {
        let d = self.d(id);
        if d.group == GROUP_FILL {
            return;
        }
        let g = group_of_class(d.inuse as usize, &info(d.class as usize));
        if g != d.group {
            self.list_del(id);
            if g != GROUP_FULL {
                self.list_add(id, g);
            }
        }
    }

    /// The fullest listed span of `class` other than `not`, 0 if there is none.
    ///
    /// A span met listed above its own fullness (frees leave spans where they are, see
    /// [`Pool::free_small`]) is moved down to it first, so the span returned is listed where
    /// its fullness puts it, and no listed span is fuller.
    fn fullest(&mut self, class: usize, not: u32) -> u32 {
        let ci = info(class);
        let mut group = NR_GROUPS;
        while group > 0 {
            group -= 1;
            let mut id = self.cs(class).heads.get(group).copied().unwrap_or(0);
            if id == not && id != 0 {
                id = self.d(id).next;
            }
            if id == 0 {
                continue;
            }
            // A listed span only loses objects while listed, so it is never above its list.
            if group_of_class(self.d(id).inuse as usize, &ci) as usize >= group {
                return id;
            }
            self.regroup(id);
            // Look at this list again.
            group += 1;
        }
        0
    }

    /// Head of the emptiest non-empty list of `class`: the emptiest listed span once
    /// [`Pool::refile`] has run.
    fn emptiest(&self, class: usize) -> u32 {
        self.cs(class)
            .heads
            .iter()
            .copied()
            .find(|&h| h != 0)
            .unwrap_or(0)
    }

    /// Moves every listed span of `class` to the list of its own fullness.
    fn refile(&mut self, class: usize) {
        // From the fullest list down, as spans only move down: each is looked at once on
        // the list it was on, and at most once more on the list it moves to.
        for group in (0..NR_GROUPS).rev() {
            let mut id = self.cs(class).heads.get(group).copied().unwrap_or(0);
            while id != 0 {
                let next = self.d(id).next;
                self.regroup(id);
                id = next;
            }
        }
    }

    // ---- page and byte helpers ---------------------------------------------------------

    /// Takes a data page: the spare, replaced by a new one from the source, or a page from
    /// the source if there is no spare.
    fn alloc_data_page(&mut self) -> Option<NonNull<u8>> {
        let page = match self.spare_page.take() {
            Some(spare) => spare,
            None => {
                let page = self.src.alloc_page()?;
                self.stats.data_pages += 1;
                page
            }
        };
        if let Some(spare) = self.src.alloc_page() {
            prefetch_for_write(spare, SPARE_PREFETCH);
            self.stats.data_pages += 1;
            self.spare_page = Some(spare);
        }
        Some(page)
    }

    /// Returns the spare data page, if any, to the source.
    fn release_spare_page(&mut self) {
        if let Some(page) = self.spare_page.take() {
            // SAFETY: the spare came from `src` and nothing refers to it.
            unsafe { self.src.free_page(page) };
            self.stats.data_pages -= 1;
        }
    }

    /// Makes sure the pages under slot `slot` of span `id`, of small class shape `ci`, are
    /// present. On failure frees the pages it obtained and returns false.
    fn populate_slot(&mut self, id: u32, ci: &ClassInfo, slot: usize) -> bool {
        let pages = pages_of_slot(ci, slot);
        let mut got = 0u32;
        for p in pages.clone() {
            if self.d(id).page(p).is_some() {
                continue;
            }
            match self.alloc_data_page() {
                Some(page) => {
                    let d = self.dm(id);
                    if let Some(slot) = d.pages.get_mut(p) {
                        *slot = Some(page);
                        d.nr_pages += 1;
                        got |= 1u32.wrapping_shl(p as u32);
                    }
                }
                None => {
                    for q in pages {
                        if got & 1u32.wrapping_shl(q as u32) != 0 {
                            self.release_page(id, q);
                        }
                    }
                    return false;
                }
            }
        }
        true
    }

    /// Returns page `p` of span `id` to the source.
    fn release_page(&mut self, id: u32, p: usize) {
        if let Some(page) = self.dm(id).take_page(p) {
            self.free_data_page(page);
        }
    }

    /// Returns data page `page`, which [`SpanDesc::take_page`] just unlinked from its span, to
    /// the source.
    fn free_data_page(&mut self, page: NonNull<u8>) {
        // SAFETY: the page came from `src`; its span no longer links it, and no live slot
        // overlaps it (which is when a span lets a page go), so nothing refers to it.
        unsafe { self.src.free_page(page) };
        self.stats.data_pages -= 1;
    }

    /// Address of byte `off` of span `id` and how many bytes follow it in its page.
    fn span_addr(&self, id: u32, off: usize) -> Option<(NonNull<u8>, usize)> {
        self.d(id).addr(off)
    }

    /// Copies bytes `[off, off + out.len())` of span `id` to `out`.
    fn span_read(&self, id: u32, mut off: usize, mut out: &mut [u8]) {
        let d = self.d(id);
        while !out.is_empty() {
            let Some((src, room)) = d.addr(off) else {
                debug_assert!(false, "read from a missing page");
                out.fill(0);
                return;
            };
            let n = room.min(out.len());
            // SAFETY: `src` has `room >= n` readable, initialised bytes (written by a store)
            // in a pool-owned page; `out` is a distinct caller buffer.
            unsafe { ptr::copy_nonoverlapping(src.as_ptr(), out.as_mut_ptr(), n) };
            out = &mut out[n..];
            off += n;
        }
    }

    /// Copies `n` bytes from span `sid` at `soff` to span `did` at `doff`. The two ranges
    /// must not overlap and their pages must be present.
    fn span_copy(&mut self, sid: u32, mut soff: usize, did: u32, mut doff: usize, mut n: usize) {
        while n > 0 {
            let (Some((s, sroom)), Some((d, droom))) =
                (self.span_addr(sid, soff), self.span_addr(did, doff))
            else {
                debug_assert!(false, "copy over a missing page");
                return;
            };
            let k = n.min(sroom).min(droom);
            // SAFETY: both ranges lie within pool-owned pages (`k` bytes fit in each), and
            // the caller guarantees the slot ranges do not overlap.
            unsafe { ptr::copy_nonoverlapping(s.as_ptr(), d.as_ptr(), k) };
            soff += k;
            doff += k;
            n -= k;
        }
    }

    fn slot_handle(&self, id: u32, slot: usize) -> u32 {
        let d = self.d(id);
        if d.class as usize == HUGE {
            return d.huge_handle(slot);
        }
        let mut h = [0u8; 4];
        if let Some(hdr) = h.get_mut(..SLOT_HEADER) {
            self.span_read(id, slot * info(d.class as usize).size as usize, hdr);
        }
        u32::from_le_bytes(h)
    }

    // ---- public API --------------------------------------------------------------------

    /// Stores `data` (1 to [`PAGE_SIZE`] bytes) and returns its handle.
    ///
    /// Does not sleep. On error the pool is unchanged.
    pub fn store(&mut self, data: &[u8]) -> Result<Handle, StoreError> {
        let len = data.len();
        if len == 0 {
            return Err(StoreError::Empty);
        }
        if len > PAGE_SIZE {
            return Err(StoreError::TooLarge);
        }
        let (idx, hp) = self.alloc_handle()?;
        let class = class_of_len(len);
        let res = if class == HUGE {
            self.store_huge(idx, data)
        } else {
            self.store_small(class, idx, data)
        };
        match res {
            Ok((id, slot)) => {
                hp.set(hs_encode(id, slot, len));
                self.stats.objects += 1;
                self.stats.bytes_stored += len as u64;
                if class == HUGE {
                    self.stats.huge_objects += 1;
                }
                match Handle::from_raw(idx) {
                    Some(h) => Ok(h),
                    None => Err(StoreError::TooManyObjects),
                }
            }
            Err(e) => {
                self.free_handle(idx);
                Err(e)
            }
        }
    }

    /// Picks a span of `class` with a free slot, creating one if needed. Returns the span
    /// and whether it was created.
    fn span_for_store(&mut self, class: usize) -> Result<(u32, bool), StoreError> {
        let id = self.fullest(class, 0);
        if id != 0 {
            return Ok((id, false));
        }
        let id = self.alloc_desc(class)?;
        self.list_add(id, 0);
        Ok((id, true))
    }

    /// Undoes `span_for_store` creating span `id` after a failed store.
    fn drop_new_span(&mut self, id: u32, created: bool) {
        if created && self.d(id).inuse == 0 {
            self.list_del(id);
            self.free_desc(id);
        }
    }

    /// Makes the fullest listed span of small class `class` its fill span, or a new span if
    /// none is listed, and returns the new cursor.
    fn refill(&mut self, class: usize) -> Result<Fill, StoreError> {
        self.ensure_class_pages()?;
        let listed = self.fullest(class, 0);
        let id = if listed != 0 {
            self.list_del(listed);
            listed
        } else {
            self.alloc_desc(class)?
        };
        let ci = info(class);
        let d = self.dm(id);
        let Some(slot) = d.first_zero(0, ci.slots as usize) else {
            debug_assert!(false, "listed span {id} is full");
            d.group = GROUP_FULL;
            return Err(StoreError::NoMemory);
        };
        d.group = GROUP_FILL;
        let at = slot_addr(d, &ci, slot);
        let desc = self.desc_ptr(id);
        debug_assert!(desc.is_some(), "fill span {id} without a descriptor");
        // INVARIANT: span `id` is in use, of class `class`, off the lists and marked as its
        // class's fill span; a listed or new span is not full, so it has a lowest free slot.
        let fill = Fill {
            desc,
            at,
            id,
            slot: slot as u32,
        };
        self.csm(class).fill = fill;
        Ok(fill)
    }

    /// Ends the fill span of small class `class`, if any: lists it by fullness, or frees it
    /// if it holds nothing.
    fn retire_fill(&mut self, class: usize) {
        let f = &mut self.csm(class).fill;
        if f.desc.is_none() {
            return;
        }
        let id = f.id;
        *f = Fill::NONE;
        let d = self.dm(id);
        d.group = GROUP_FULL;
        if d.inuse == 0 {
            self.free_desc(id);
        } else {
            self.regroup(id);
        }
    }

    fn store_small(
        &mut self,
        class: usize,
        idx: u32,
        data: &[u8],
    ) -> Result<(u32, usize), StoreError> {
        // Class pages are obtained with the first fill span, so a class without a fill span
        // is all a store checks for before it reads the cursor.
        // SAFETY: class state lives in populated, zero-initialised pool pages (a valid
        // `ClassState`), and `&mut self` keeps them alive and free of other users.
        let fill = match self.class_ptr(class).map(|cp| unsafe { cp.as_ref() }.fill) {
            Some(f) if f.desc.is_some() => f,
            _ => self.refill(class)?,
        };
        let (Some(dp), Some(cp)) = (fill.desc, self.class_ptr(class)) else {
            return Err(StoreError::NoMemory);
        };
        let (id, slot) = (fill.id, fill.slot as usize);
        let ci = info(class);
        let size = ci.size as usize;
        let off = slot * size;
        // Without an address the slot lacks a page.
        if fill.at.is_none() && !self.populate_slot(id, &ci, slot) {
            // A span that became the fill span for this store and is still empty goes.
            if self.d(id).inuse == 0 {
                self.retire_fill(class);
            }
            return Err(StoreError::NoMemory);
        }
        // SAFETY: by the `Pool` invariant `dp` is the descriptor of the class's fill span, in
        // a populated descriptor page owned by the pool. `&mut self` excludes other users,
        // and until the last use of `d` below nothing else forms a reference to this
        // descriptor: only the cursor and the counters are touched meanwhile.
        let d = unsafe { &mut *dp.as_ptr() };
        let Some(at) = fill.at.or_else(|| slot_addr(d, &ci, slot)) else {
            debug_assert!(false, "slot {slot} of span {id} without its pages");
            return Err(StoreError::NoMemory);
        };
        let room = PAGE_SIZE - off % PAGE_SIZE;
        // SAFETY: by the `Pool` invariant (or, for a slot whose pages were just populated,
        // by `slot_addr`), `at` is where free slot `slot` lies in pages the pool owns and
        // nothing else references (`&mut self`); the slot's `size` bytes hold the header and
        // `data`, `room` of them in its first page.
        unsafe { write_slot(at, room, idx, data) };
        d.occupy(&ci, slot);
        d.inuse += 1;
        // INVARIANT: `next` is the lowest free slot, as `slot` was; a full span leaves.
        let next = match d.first_zero(slot + 1, ci.slots as usize) {
            Some(n) => {
                let next_off = n * size;
                let next_at = addr_after(at, off, next_off, size).or_else(|| slot_addr(d, &ci, n));
                if let Some(next_at) = next_at {
                    prefetch_slot(next_at, size, PAGE_SIZE - next_off % PAGE_SIZE);
                }
                Fill {
                    at: next_at,
                    slot: n as u32,
                    ..fill
                }
            }
            None => {
                d.group = GROUP_FULL;
                Fill::NONE
            }
        };
        // SAFETY: as above for `cp`; no other reference to the class state is alive.
        unsafe { (*cp.as_ptr()).fill = next };
        Ok((id, slot))
    }

    fn store_huge(&mut self, idx: u32, data: &[u8]) -> Result<(u32, usize), StoreError> {
        self.ensure_class_pages()?;
        let (id, created) = self.span_for_store(HUGE)?;
        let Some(slot) = self.lowest_free(id, HUGE_SPAN_PAGES) else {
            debug_assert!(false, "listed span is full");
            return Err(StoreError::NoMemory);
        };
        let Some(page) = self.alloc_data_page() else {
            self.drop_new_span(id, created);
            return Err(StoreError::NoMemory);
        };
        // SAFETY: `page` is a fresh page of `PAGE_SIZE >= data.len()` bytes.
        unsafe { ptr::copy_nonoverlapping(data.as_ptr(), page.as_ptr(), data.len()) };
        let d = self.dm(id);
        if let Some(p) = d.pages.get_mut(slot) {
            *p = Some(page);
        }
        d.nr_pages += 1;
        d.set_huge_handle(slot, idx);
        d.inuse += 1;
        self.regroup(id);
        Ok((id, slot))
    }

    /// Looks up a live handle.
    fn lookup(&self, h: Handle) -> Option<Loc> {
        let loc = hs_decode(self.hget(h.index()));
        debug_assert!(loc.is_some(), "bad handle {}", h.to_raw());
        loc
    }

    /// Length of the object `h` refers to.
    pub fn object_len(&self, h: Handle) -> Result<usize, ReadError> {
        self.lookup(h).map(|l| l.len).ok_or(ReadError::BadHandle)
    }

    /// Copies the object `h` refers to into the start of `out` and returns its length.
    pub fn read(&self, h: Handle, out: &mut [u8]) -> Result<usize, ReadError> {
        let Loc {
            class,
            span: id,
            slot,
            len,
        } = self.lookup(h).ok_or(ReadError::BadHandle)?;
        let out = out.get_mut(..len).ok_or(ReadError::BufferTooSmall)?;
        if class == HUGE {
            let Some(page) = self.d(id).page(slot) else {
                return Err(ReadError::BadHandle);
            };
            // SAFETY: the huge page holds the `len <= PAGE_SIZE` bytes stored there.
            unsafe { ptr::copy_nonoverlapping(page.as_ptr(), out.as_mut_ptr(), len) };
        } else {
            self.span_read(id, slot * info(class).size as usize + SLOT_HEADER, out);
        }
        Ok(len)
    }

    /// Returns the bytes of the object `h` refers to: borrowed from the pool if they are
    /// contiguous in one page, otherwise copied into `scratch`.
    pub fn map<'a>(
        &'a self,
        h: Handle,
        scratch: &'a mut [u8; PAGE_SIZE],
    ) -> Result<&'a [u8], ReadError> {
        let Loc {
            class,
            span: id,
            slot,
            len,
        } = self.lookup(h).ok_or(ReadError::BadHandle)?;
        let off = if class == HUGE {
            slot * PAGE_SIZE
        } else {
            slot * info(class).size as usize + SLOT_HEADER
        };
        if let Some((p, room)) = self.span_addr(id, off) {
            if room >= len {
                // SAFETY: `len` initialised bytes at `p` lie in one pool page, which cannot
                // be freed or written while `&'a self` is held.
                return Ok(unsafe { core::slice::from_raw_parts(p.as_ptr(), len) });
            }
        }
        let n = self.read(h, scratch)?;
        Ok(&scratch[..n])
    }

    /// Lists the other live objects that share a page with `h`: once they and `h` are
    /// freed or written back, every page under `h` returns to the page source.
    ///
    /// Writes up to `out.len()` handles and returns how many there are in all. A writeback
    /// engine can use it to release whole pages, zbud-style, instead of scattered bytes:
    /// an object touches at most two pages, shared with fewer than `2 * PAGE_SIZE / slot
    /// size + 2` other objects (five for the 1.5 KiB objects typical of anonymous memory).
    pub fn page_mates(&mut self, h: Handle, out: &mut [Handle]) -> Result<usize, ReadError> {
        self.apply_frees();
        let Loc {
            class,
            span: id,
            slot,
            ..
        } = self.lookup(h).ok_or(ReadError::BadHandle)?;
        if class == HUGE {
            return Ok(0);
        }
        let ci = info(class);
        let size = (ci.size as usize).max(1);
        let last_slot = (ci.slots as usize).saturating_sub(1);
        let off = slot * size;
        let lo = (off / PAGE_SIZE) * PAGE_SIZE / size;
        let hi = ((((off + size - 1) / PAGE_SIZE) + 1) * PAGE_SIZE - 1) / size;
        let d = self.d(id);
        let mut n = 0;
        for i in lo..=hi.min(last_slot) {
            if i == slot || !d.test(i) {
                continue;
            }
            if let (Some(o), Some(mate)) =
                (out.get_mut(n), Handle::from_raw(self.slot_handle(id, i)))
            {
                *o = mate;
            }
            n += 1;
        }
        Ok(n)
    }

    /// Frees the object `h` refers to; `h` must not be used again.
    ///
    /// Frees are applied [`FREE_BATCH`] at a time, which makes each several times cheaper
    /// on a large pool (see `apply_frees`): the object's pages go back to the source, at
    /// the latest, when `FREE_BATCH - 1` more frees have been made, or at the next call of
    /// [`Pool::compact`], [`Pool::stats`], [`Pool::class_stats`] or [`Pool::page_mates`],
    /// which apply pending frees first.
    ///
    /// `h` must be live; a stale or forged handle trips a debug assertion and is otherwise
    /// ignored when detectably invalid.
    pub fn free(&mut self, h: Handle) {
        if let Some(p) = self.pending.get_mut(self.npending as usize) {
            *p = h.to_raw();
            self.npending += 1;
        }
        if self.npending as usize >= FREE_BATCH {
            self.apply_frees();
        }
    }

    /// Applies the frees [`Pool::free`] has collected.
    ///
    /// Each free needs a handle slot and then the descriptor it names, two dependent cache
    /// misses on a large pool. Freeing every handle of the batch first, and starting to
    /// fetch the descriptor each named, lets the misses of different frees overlap instead
    /// of queueing one behind the other; the spans are updated after.
    fn apply_frees(&mut self) {
        let n = core::mem::take(&mut self.npending) as usize;
        // The descriptor of the span each freed handle named, and what its slot held.
        let mut freed = [None; FREE_BATCH];
        for (f, &h) in freed.iter_mut().zip(self.pending.get(..n).unwrap_or(&[])) {
            let Some(hp) = self.hptr(h as usize) else {
                debug_assert!(false, "bad handle {h}");
                continue;
            };
            let v = hp.get();
            // A free slot here is a handle freed twice, maybe earlier in this batch.
            let Some(dp) = self.desc_ptr(hs_span(v)) else {
                debug_assert!(false, "handle {h} freed twice");
                continue;
            };
            let loc = hs_loc(v);
            // Reading the header costs a cache miss; check it in debug builds only.
            debug_assert_eq!(
                self.slot_handle(loc.span, loc.slot),
                h,
                "slot header mismatch"
            );
            prefetch_line_for_write(dp.as_ptr() as usize);
            hp.set(HS_FREE | self.free_handle as u64);
            self.free_handle = h;
            self.stats.objects -= 1;
            self.stats.bytes_stored -= loc.len as u64;
            *f = Some((dp, v));
        }
        for &(dp, v) in freed.iter().take(n).flatten() {
            self.free_object(dp, hs_loc(v));
        }
        if self.stats.objects == 0 {
            self.release_spare_page();
        }
    }

    /// Frees the object at `loc`, in the span with descriptor `dp`, whose handle is free.
    fn free_object(&mut self, dp: NonNull<SpanDesc>, loc: Loc) {
        let Loc {
            class,
            span: id,
            slot,
            ..
        } = loc;
        #[cfg(debug_assertions)]
        {
            // SAFETY: `dp` is the descriptor of span `id` in a populated, zero-initialised
            // pool page, and `&self` keeps it alive and free of writers for the check.
            let d = unsafe { dp.as_ref() };
            let live = if class == HUGE {
                d.page(slot).is_some()
            } else {
                d.test(slot)
            };
            assert!(d.in_use != 0 && d.class as usize == class && live);
        }
        if class == HUGE {
            self.stats.huge_objects -= 1;
            let freed = self.free_slot(id, slot);
            self.stats.pages_freed_on_free += freed as u64;
        } else {
            self.free_small(dp, id, class, slot);
        }
    }

    /// [`Pool::free_slot`] for live slot `slot` of small span `id` of class `class`, whose
    /// descriptor is `dp`.
    fn free_small(&mut self, dp: NonNull<SpanDesc>, id: u32, class: usize, slot: usize) {
        let ci = info(class);
        // SAFETY: as in `store_small`: `dp` is a live descriptor in a pool-owned page, and
        // nothing else refers to it until the last use of `d`.
        let d = unsafe { &mut *dp.as_ptr() };
        let emptied = d.vacate(&ci, slot);
        d.inuse -= 1;
        // A listed span stays on its list though it may now belong on an emptier one: moving
        // it touches the class state and its neighbours on both lists, and would happen
        // several times as the span empties, while what reads the lists moves a span it
        // finds listed too high (`fullest`, `refile`). So a free goes on only when it empties
        // the span or a page, or frees from a full span, which must be listed again, or
        // from the fill span, whose cursor may have to move.
        if emptied != 0 || d.inuse == 0 || d.group >= GROUP_FULL {
            self.span_shrunk(dp, id, class, slot, emptied);
        }
    }

    /// Does what [`Pool::free_small`] leaves to be done after freeing slot `slot` of span
    /// `id` of small class `class`, with descriptor `dp`, which left pages `emptied` (a bit
    /// each) without live slots: returns those pages to the source, and frees the span if it
    /// is empty, lists it if it was full, or updates the class's cursor if it is the fill
    /// span.
    #[inline(never)]
    fn span_shrunk(
        &mut self,
        dp: NonNull<SpanDesc>,
        id: u32,
        class: usize,
        slot: usize,
        emptied: u32,
    ) {
        let freed = self.release_pages(dp, emptied);
        self.stats.pages_freed_on_free += freed as u64;
        let ci = info(class);
        // SAFETY: as in `free_small`.
        let d = unsafe { &mut *dp.as_ptr() };
        // A span a free left is not full.
        let group = group_of_partial(d.inuse as usize, &ci);
        if d.group == GROUP_FILL {
            if d.inuse == 0 {
                self.retire_fill(class);
            } else {
                let fell = group != group_of_class(d.inuse as usize + 1, &ci);
                let f = &mut self.csm(class).fill;
                if (slot as u32) < f.slot || freed != 0 {
                    // INVARIANT: the cursor keeps the lowest free slot, and its address only
                    // while the page under it is present.
                    f.slot = f.slot.min(slot as u32);
                    f.at = slot_addr(d, &ci, f.slot as usize);
                }
                if fell {
                    // In an emptier group now, it may have fallen behind a listed span.
                    self.yield_fill(class);
                }
            }
        } else if d.inuse == 0 {
            self.list_del_at(dp);
            self.free_desc(id);
        } else if d.group == GROUP_FULL {
            self.list_add_at(id, dp, group);
            // Listed again, it may be fuller than the fill span.
            self.yield_fill(class);
        }
    }

    /// Retires the fill span of small class `class` if a listed span is in a fuller group.
    ///
    /// Stores go to the fullest span, where freed slots on present pages take objects
    /// without new pages; a fill span emptier than a listed span would take new pages for
    /// its unpopulated slots instead.
    fn yield_fill(&mut self, class: usize) {
        let fill = self.cs(class).fill;
        if fill.desc.is_none() {
            return;
        }
        let group = group_of_class(self.d(fill.id).inuse as usize, &info(class));
        let fullest = self.fullest(class, 0);
        if fullest != 0 && self.d(fullest).group > group {
            self.retire_fill(class);
        }
    }

    /// Returns to the source the pages of the span described by `dp` whose bits are set in
    /// `pages`, which no live slot overlaps. Returns how many there were.
    fn release_pages(&mut self, dp: NonNull<SpanDesc>, mut pages: u32) -> u32 {
        // SAFETY: as in `store_small`: `dp` is a live descriptor in a pool-owned page, and
        // nothing else refers to it until the last use of `d`.
        let d = unsafe { &mut *dp.as_ptr() };
        let mut freed = 0;
        while pages != 0 {
            if let Some(page) = d.take_page(pages.trailing_zeros() as usize) {
                self.free_data_page(page);
                freed += 1;
            }
            pages &= pages - 1;
        }
        freed
    }

    /// Empties slot `slot` of span `id`, returning unused pages and the span itself if it
    /// became empty. Returns the number of data pages freed.
    fn free_slot(&mut self, id: u32, slot: usize) -> u32 {
        let class = self.d(id).class as usize;
        let freed = if class == HUGE {
            self.dm(id).set_huge_handle(slot, 0);
            self.release_page(id, slot);
            1
        } else {
            match self.desc_ptr(id) {
                Some(dp) => {
                    // SAFETY: as in `release_pages`; the reference ends before that is called.
                    let emptied = unsafe { &mut *dp.as_ptr() }.vacate(&info(class), slot);
                    self.release_pages(dp, emptied)
                }
                None => 0,
            }
        };
        self.drop_object(id);
        freed
    }

    /// Accounts for one live object fewer in span `id`: frees the span once it is empty,
    /// otherwise moves it to the list of its new fullness.
    fn drop_object(&mut self, id: u32) {
        let d = self.dm(id);
        debug_assert!(d.group != GROUP_FILL, "fill span {id} compacted");
        d.inuse -= 1;
        if d.inuse == 0 {
            self.list_del(id);
            self.free_desc(id);
        } else {
            self.regroup(id);
        }
    }

    /// Moves the object in slot `from` of span `sid` to slot `to` of span `did`. Returns
    /// the pages freed, or `None` if a page for the destination was not available.
    fn move_object(&mut self, sid: u32, from: usize, did: u32, to: usize) -> Option<u32> {
        let h = self.slot_handle(sid, from);
        let Loc { class, len, .. } = hs_decode(self.hget(h as usize))?;
        if class == HUGE {
            let page = self.dm(sid).pages.get_mut(from).and_then(Option::take)?;
            let d = self.dm(sid);
            d.nr_pages -= 1;
            d.set_huge_handle(from, 0);
            let d = self.dm(did);
            if let Some(p) = d.pages.get_mut(to) {
                *p = Some(page);
            }
            d.nr_pages += 1;
            d.set_huge_handle(to, h);
        } else {
            let ci = info(class);
            let size = ci.size as usize;
            if !self.populate_slot(did, &ci, to) {
                return None;
            }
            self.span_copy(sid, from * size, did, to * size, SLOT_HEADER + len);
            self.dm(did).occupy(&ci, to);
        }
        self.dm(did).inuse += 1;
        self.hset(h as usize, hs_encode(did, to, len));
        // Regroup the destination before the source: the source may be freed.
        if did != sid {
            self.regroup(did);
        }
        let freed = if class == HUGE {
            self.drop_object(sid);
            0
        } else {
            self.free_slot(sid, from)
        };
        self.stats.objects_moved += 1;
        Some(freed)
    }

    /// One compaction move in `class`, if there is one worth making.
    fn compact_step(&mut self, class: usize) -> Step {
        let src = self.emptiest(class);
        if src == 0 {
            return Step::Idle;
        }
        let nslots = info(class).slots as usize;
        let dst = self.fullest(class, src);
        let (from, to, dst) = if dst != 0 {
            match (self.highest_live(src), self.lowest_free(dst, nslots)) {
                (Some(from), Some(to)) => (from, to, dst),
                _ => return Step::Idle,
            }
        } else if class == HUGE {
            return Step::Idle;
        } else {
            // A single non-full span: pack its objects into its lowest slots.
            let d = self.d(src);
            match (d.last_one(), d.first_zero(0, nslots)) {
                (Some(from), Some(to)) if to < from => (from, to, src),
                _ => return Step::Idle,
            }
        };
        match self.move_object(src, from, dst, to) {
            Some(freed) => Step::Moved(freed),
            None => Step::NoMemory,
        }
    }

    fn highest_live(&self, id: u32) -> Option<usize> {
        let d = self.d(id);
        if d.class as usize == HUGE {
            d.pages.iter().rposition(Option::is_some)
        } else {
            d.last_one()
        }
    }

    fn lowest_free(&self, id: u32, nslots: usize) -> Option<usize> {
        let d = self.d(id);
        if d.class as usize == HUGE {
            d.pages.iter().take(nslots).position(Option::is_none)
        } else {
            d.first_zero(0, nslots)
        }
    }

    /// Moves at most `max_moves` objects to empty the sparsest spans of each class into
    /// the fullest, returning freed pages to the source.
    ///
    /// Bounded work: at most `max_moves` moves (each copies at most one slot) and one
    /// visit of each class. Resumes where the previous call stopped; call it again, dropping
    /// the lock in between if needed, until [`CompactStats::done`] is true.
    pub fn compact(&mut self, max_moves: u32) -> CompactStats {
        self.apply_frees();
        let mut st = CompactStats::default();
        let mut visited = 0;
        while visited < NR_CLASSES {
            let class = self.compact_class as usize % NR_CLASSES;
            // Compaction works on listed spans only, and takes the emptiest as source.
            self.retire_fill(class);
            self.refile(class);
            loop {
                if st.moved >= max_moves {
                    self.stats.pages_compacted += st.pages_freed as u64;
                    return st;
                }
                match self.compact_step(class) {
                    Step::Moved(freed) => {
                        st.moved += 1;
                        st.pages_freed += freed;
                    }
                    Step::Idle => break,
                    Step::NoMemory => {
                        self.stats.pages_compacted += st.pages_freed as u64;
                        return st;
                    }
                }
            }
            self.compact_class = ((class + 1) % NR_CLASSES) as u16;
            visited += 1;
        }
        self.stats.pages_compacted += st.pages_freed as u64;
        st.done = true;
        st
    }

    /// Pool-wide statistics, after applying pending frees.
    pub fn stats(&mut self) -> PoolStats {
        self.apply_frees();
        let mut s = self.stats;
        s.pages_held = s.data_pages + s.meta_pages;
        s.fragmentation_bytes = (s.data_pages * PAGE_SIZE as u64).saturating_sub(s.bytes_stored);
        s
    }

    /// Statistics of class `class` (`0..NR_CLASSES`; the last is the huge class), after
    /// applying pending frees. Walks every span descriptor: meant for diagnostics, not for
    /// a hot path.
    pub fn class_stats(&mut self, class: usize) -> Option<ClassStats> {
        self.apply_frees();
        let ci = CLASS_INFO.get(class)?;
        let (mut objects, mut spans) = (0, 0);
        for id in 1..self.next_desc {
            let d = self.d(id);
            if d.in_use != 0 && d.class as usize == class {
                objects += d.inuse as u32;
                spans += 1;
            }
        }
        Some(ClassStats {
            slot_size: ci.size as u32,
            max_len: if class == HUGE {
                PAGE_SIZE as u32
            } else {
                ci.size as u32 - SLOT_HEADER as u32
            },
            pages_per_span: ci.pages as u32,
            slots_per_span: ci.slots as u32,
            objects,
            spans,
        })
    }

    /// Checks every structural invariant of the pool, walking all of it. For tests.
    pub fn verify(&self) -> Result<(), VerifyError> {
        let mut objects = 0u64;
        let mut bytes = 0u64;
        let mut huge = 0u64;
        let mut live_handles = 0u64;
        for idx in 1..self.next_handle as usize {
            let v = self.hget(idx);
            let Some(Loc {
                class: hclass,
                span: id,
                slot,
                len,
            }) = hs_decode(v)
            else {
                if !hs_is_free(v) {
                    return Err(VerifyError("handle slot neither live nor free"));
                }
                continue;
            };
            live_handles += 1;
            bytes += len as u64;
            let d = self.d(id);
            if d.in_use == 0 {
                return Err(VerifyError("live handle points at an unused span"));
            }
            let class = d.class as usize;
            if class != class_of_len(len) || class != hclass {
                return Err(VerifyError("object in the wrong class"));
            }
            if class == HUGE {
                huge += 1;
                if d.page(slot).is_none() {
                    return Err(VerifyError("huge object without a page"));
                }
            } else if !d.test(slot) {
                return Err(VerifyError("live handle points at a free slot"));
            }
            if self.slot_handle(id, slot) as usize != idx {
                return Err(VerifyError("slot header does not match its handle"));
            }
        }
        let mut free_handles = 0u64;
        let mut f = self.free_handle;
        while f != 0 {
            free_handles += 1;
            if free_handles > self.next_handle as u64 {
                return Err(VerifyError("free handle list loops"));
            }
            let v = self.hget(f as usize);
            if !hs_is_free(v) {
                return Err(VerifyError("free list holds a live handle"));
            }
            f = (v & 0x7fff_ffff) as u32;
        }
        if live_handles + free_handles + 1 != self.next_handle as u64 {
            return Err(VerifyError("handles lost"));
        }
        let pending = self.pending.get(..self.npending as usize).unwrap_or(&[]);
        for (i, &h) in pending.iter().enumerate() {
            if hs_decode(self.hget(h as usize)).is_none()
                || pending.get(..i).is_some_and(|p| p.contains(&h))
            {
                return Err(VerifyError("pending free of a dead handle"));
            }
        }
        let mut data_pages = 0u64;
        let mut spans = 0u64;
        for id in 1..self.next_desc {
            let d = self.d(id);
            let present = d.pages.iter().filter(|p| p.is_some()).count();
            if d.in_use == 0 {
                if present != 0 {
                    return Err(VerifyError("unused span holds pages"));
                }
                continue;
            }
            spans += 1;
            data_pages += present as u64;
            if present != d.nr_pages as usize {
                return Err(VerifyError("span page count"));
            }
            let class = d.class as usize;
            let ci = info(class);
            let nslots = ci.slots as usize;
            let inuse = if class == HUGE {
                present
            } else {
                let n: u32 = d.bits.iter().map(|w| w.count_ones()).sum();
                n as usize
            };
            if inuse != d.inuse as usize || inuse == 0 {
                return Err(VerifyError("span use count"));
            }
            if class != HUGE {
                if d.last_one().unwrap_or(0) >= nslots {
                    return Err(VerifyError("slot bit beyond the span"));
                }
                let mut overlapping = [0u8; MAX_SPAN_PAGES];
                for slot in (0..nslots).filter(|&i| d.test(i)) {
                    for p in pages_of_slot(&ci, slot) {
                        if let Some(n) = overlapping.get_mut(p) {
                            *n += 1;
                        }
                    }
                }
                if overlapping != d.live {
                    return Err(VerifyError("per-page live counts"));
                }
                if d.live
                    .iter()
                    .zip(&d.pages)
                    .any(|(&n, p)| (n != 0) != p.is_some())
                {
                    return Err(VerifyError("page presence does not match live slots"));
                }
            }
            objects += inuse as u64;
            if d.group == GROUP_FILL {
                let fill = self.cs(class).fill;
                if fill.id != id || fill.desc != self.desc_ptr(id) || fill.desc.is_none() {
                    return Err(VerifyError("fill span without its cursor"));
                }
                if d.first_zero(0, nslots) != Some(fill.slot as usize) {
                    return Err(VerifyError("fill cursor is not the lowest free slot"));
                }
                if fill.at != slot_addr(d, &ci, fill.slot as usize) {
                    return Err(VerifyError("fill cursor address"));
                }
            } else if d.group == GROUP_FULL {
                if inuse != nslots {
                    return Err(VerifyError("unlisted span is not full"));
                }
            } else if d.group as usize >= NR_GROUPS || d.group < group_of(inuse, nslots) {
                return Err(VerifyError("span listed below its fullness"));
            }
        }
        for class in 0..NR_CLASSES {
            let cs = self.cs(class);
            let slots = info(class).slots as usize;
            // Fullness group of the fullest listed span, plus one (0 for none).
            let mut top = 0;
            for (g, &head) in cs.heads.iter().enumerate() {
                let mut id = head;
                let mut prev = 0;
                let mut n = 0u64;
                while id != 0 {
                    let d = self.d(id);
                    if d.in_use == 0 || d.class as usize != class || d.group as usize != g {
                        return Err(VerifyError("list holds a foreign span"));
                    }
                    if d.prev != prev {
                        return Err(VerifyError("list back link"));
                    }
                    n += 1;
                    if n > spans {
                        return Err(VerifyError("list loops"));
                    }
                    top = top.max(group_of(d.inuse as usize, slots) + 1);
                    prev = id;
                    id = d.next;
                }
            }
            if cs.fill.desc.is_some() {
                let d = self.d(cs.fill.id);
                if d.in_use == 0 || d.class as usize != class || d.group != GROUP_FILL {
                    return Err(VerifyError("fill cursor on a foreign span"));
                }
                if top > group_of(d.inuse as usize, slots) + 1 {
                    return Err(VerifyError("a listed span is fuller than the fill span"));
                }
            }
        }
        let s = &self.stats;
        if objects != s.objects || live_handles != s.objects {
            return Err(VerifyError("object count"));
        }
        if bytes != s.bytes_stored || huge != s.huge_objects {
            return Err(VerifyError("byte or huge count"));
        }
        if data_pages + self.spare_page.is_some() as u64 != s.data_pages || spans != s.spans {
            return Err(VerifyError("page or span count"));
        }
        Ok(())
    }
}

impl<S: PageSource> Drop for Pool<S> {
    fn drop(&mut self) {
        self.release_spare_page();
        for id in 1..self.next_desc {
            for p in 0..MAX_SPAN_PAGES {
                self.release_page(id, p);
            }
        }
        self.handles.release(&mut self.src);
        self.descs.release(&mut self.src);
        for page in self.class_pages.iter_mut() {
            if let Some(p) = page.take() {
                // SAFETY: class pages came from `src` and nothing refers to them any more.
                unsafe { self.src.free_page(p) };
            }
        }
    }
}

/// Bytes of pool metadata per object, scaled by 1000, for a pool in state `s`: the
/// metadata pages plus the slot headers of small objects.
pub fn metadata_milli_bytes_per_object(s: &PoolStats) -> u64 {
    if s.objects == 0 {
        return 0;
    }
    let small = s.objects - s.huge_objects;
    (s.meta_pages * PAGE_SIZE as u64 + small * SLOT_HEADER as u64) * 1000 / s.objects
}

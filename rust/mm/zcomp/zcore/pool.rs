// SPDX-License-Identifier: GPL-2.0

//! The shared pool: a dense allocator for compressed objects.
//!
//! A caller stores an object of 1 to [`PAGE_SIZE`] bytes and gets a [`Handle`], reads the
//! object through the handle, and frees it. Objects are grouped by size class into spans
//! of up to [`MAX_SPAN_PAGES`] pages that a free gives back page by page, and compaction
//! moves objects out of sparse spans so that whole spans empty; handles stay valid
//! throughout. Every page the pool uses, for data and metadata alike, comes from a
//! [`PageSource`].
//!
//! The pieces, in the order an object meets them:
//!
//! | file | what |
//! |---|---|
//! | `class.rs` | size classes: which slot an object takes, how many pages a span has |
//! | `handle.rs` | handles and the table that says where each object is |
//! | `span.rs` | spans: their pages, slot bitmap and per-page live counts, byte access |
//! | `lists.rs` | each class's spans by fullness, which stores and compaction pick from |
//! | `store.rs`, `read.rs`, `free.rs` | the three operations on an object |
//! | `compact.rs` | moving objects to empty sparse spans |
//! | `table.rs`, `pages.rs` | the page-backed arrays the metadata lives in, and the pages |
//! | `verify.rs` | a walk that checks every invariant, for tests and debug builds |
//!
//! # Locking and bounds
//!
//! All mutation takes `&mut self`; the kernel wraps the pool in a lock. No method sleeps (the
//! page source must not either). Every method but [`Pool::class_stats`] and
//! [`Pool::verify`], which walk the pool, does bounded work: a store or a free touches one
//! span (at most 16 pages), a span's neighbours on two lists, and at most two new table
//! pages; [`Pool::compact`] moves at most `max_moves` objects and looks at each class at
//! most once per call.
//!
//! # Errors
//!
//! A call that fails changes nothing the caller can see (a store may keep a metadata page it
//! took). An inconsistency the pool finds in its own metadata, which only a bug or memory
//! corruption can cause, is returned as [`Error::Corrupt`] rather than worked around.

mod class;
mod compact;
mod free;
mod handle;
mod lists;
mod pages;
mod read;
mod span;
mod store;
mod table;
#[cfg(any(test, debug_assertions))]
mod verify;

pub use class::{
    size_class, CLASS_SPACING, MAX_SLOT_SIZE, MAX_SMALL_OBJECT, MAX_SPAN_PAGES, NR_CLASSES,
    NR_SMALL_CLASSES, SLOT_HEADER,
};
pub use handle::{Handle, MAX_OBJECTS};
pub use lists::NR_GROUPS;

use super::page_source::{PageSource, PAGE_SIZE};
use class::Class;
use handle::Handles;
use lists::Lists;
use pages::Pages;
use span::Spans;

/// Why a pool operation failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The object is empty.
    Empty,
    /// The object is larger than [`PAGE_SIZE`].
    TooLarge,
    /// The page source had no page available.
    NoMemory,
    /// The pool holds [`MAX_OBJECTS`] objects, or as many spans as it can name.
    Full,
    /// The handle does not refer to a live object.
    BadHandle,
    /// The output buffer is shorter than the object.
    BufferTooSmall,
    /// The pool's metadata contradicts itself; the text names the check that failed.
    Corrupt(&'static str),
}

/// Pool-wide statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Pages held from the page source: data plus metadata.
    pub pages_held: u64,
    /// Pages holding object data.
    pub data_pages: u64,
    /// Pages holding metadata: the handle table, span descriptors and list heads.
    pub meta_pages: u64,
    /// Live objects.
    pub objects: u64,
    /// Live objects of the huge class, a page each.
    pub huge_objects: u64,
    /// Sum of the lengths of the live objects.
    pub bytes_stored: u64,
    /// Spans in use.
    pub spans: u64,
    /// Bytes of data pages that hold no object payload (headers, class rounding, span
    /// tails, free slots): `data_pages * PAGE_SIZE - bytes_stored`.
    pub fragmentation_bytes: u64,
    /// Pages given back to the source by [`Pool::free`] since the pool was created.
    pub pages_freed_on_free: u64,
    /// Pages given back to the source by [`Pool::compact`] since the pool was created.
    pub pages_compacted: u64,
    /// Objects moved by [`Pool::compact`] since the pool was created.
    pub objects_moved: u64,
}

/// Statistics of one size class.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Slot size in bytes, header included ([`PAGE_SIZE`] for the huge class).
    pub slot_size: u32,
    /// Largest object the class holds.
    pub max_len: u32,
    /// Pages per span.
    pub pages_per_span: u32,
    /// Slots per span.
    pub slots_per_span: u32,
    /// Live objects of the class.
    pub objects: u32,
    /// Spans of the class in use.
    pub spans: u32,
}

/// What one [`Pool::compact`] call did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompactStats {
    /// Objects moved.
    pub moved: u32,
    /// Pages given back to the page source.
    pub pages_freed: u32,
    /// Whether every class was left with nothing worth moving.
    pub done: bool,
}

/// The compressed-object pool.
///
/// # Invariants
///
/// - Every page the pool holds was taken from `pages`, and is held by exactly one span or
///   table of this pool.
/// - A live handle names a live slot of a span in use, of the class of the handle's
///   length, whose header (or, for the huge class, descriptor) holds that handle; every
///   live slot is named by exactly one live handle.
/// - A span in use holds at least one object (outside a call that is storing into it) and
///   is on the fullness list its fullness puts it on, or on none when it is full.
/// - The counters in `stats` are what [`Pool::verify`] counts.
pub struct Pool<S: PageSource> {
    pages: Pages<S>,
    handles: Handles,
    spans: Spans,
    lists: Lists,
    /// The class the next [`Pool::compact`] call starts with.
    compact_class: usize,
    /// What the pool wasted when compaction last finished, or less if it has wasted less
    /// since: the waste [`Pool::settle`] measures growth from.
    settled_waste: u64,
    /// Whether a store has taken data pages since the last [`Pool::settle`].
    grew: bool,
    /// The counters of [`PoolStats`] that are not derived from others.
    stats: PoolStats,
}

impl<S: PageSource> Pool<S> {
    /// Creates an empty pool drawing pages from `src`. Allocates nothing.
    pub const fn new(src: S) -> Self {
        Self {
            pages: Pages::new(src),
            handles: Handles::new(),
            spans: Spans::new(),
            lists: Lists::new(),
            compact_class: 0,
            settled_waste: 0,
            grew: false,
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
        }
    }

    /// The page source.
    pub fn source(&self) -> &S {
        self.pages.source()
    }

    /// The page source, mutably (to adjust its limits, for example).
    pub fn source_mut(&mut self) -> &mut S {
        self.pages.source_mut()
    }

    /// Pool-wide statistics.
    pub fn stats(&self) -> PoolStats {
        let data_pages = self.pages.data_pages();
        let meta_pages = self.pages.meta_pages();
        PoolStats {
            pages_held: data_pages + meta_pages,
            data_pages,
            meta_pages,
            spans: self.spans.in_use(),
            fragmentation_bytes: self.waste(),
            ..self.stats
        }
    }

    /// Bytes of data pages that hold no object payload: [`PoolStats::fragmentation_bytes`].
    fn waste(&self) -> u64 {
        (self.pages.data_pages() * PAGE_SIZE as u64).saturating_sub(self.stats.bytes_stored)
    }

    /// Statistics of class `class` (`0..NR_CLASSES`, the huge class last). Walks every span
    /// descriptor: for diagnostics, not for a hot path.
    pub fn class_stats(&self, class: usize) -> Option<ClassStats> {
        let class = Class::new(class)?;
        let info = class.info();
        let mut stats = ClassStats {
            slot_size: info.size as u32,
            max_len: class.max_len() as u32,
            pages_per_span: info.pages as u32,
            slots_per_span: info.slots as u32,
            objects: 0,
            spans: 0,
        };
        for span in self.spans.ids().filter_map(|id| self.spans.get(id).ok()) {
            if span.class() == class {
                stats.objects += span.live() as u32;
                stats.spans += 1;
            }
        }
        Some(stats)
    }
}

impl<S: PageSource> Drop for Pool<S> {
    fn drop(&mut self) {
        self.spans.release(&mut self.pages);
        self.handles.release(&mut self.pages);
        self.lists.release(&mut self.pages);
    }
}

// SPDX-License-Identifier: GPL-2.0

//! The core of zcomp: the parts with no kernel dependency.
//!
//! These modules use only `core` and reach the kernel through the
//! [`page_source::PageSource`] trait, so the same files build in the kernel crate and, on a
//! host, as the `zcomp-core` crate with unit tests, property tests, fuzzing and
//! benchmarks. Everything that touches kernel objects (pages, locks, debugfs, KUnit) lives
//! outside this folder.

pub mod entry;
pub mod index;
pub mod limit;
pub mod lru;
pub mod lru_key;
mod page_array;
pub mod page_source;
// The block frontend parses its sysfs writes with it; the host crate, which has no kernel
// configuration, builds it for its tests.
#[cfg(any(CONFIG_ZCOMP_BLOCK, not(CONFIG_ZCOMP)))]
pub mod parse;
pub mod pool;
// The block frontend's backing devices; the host crate builds it for its tests.
#[cfg(any(CONFIG_ZCOMP_BLOCK, not(CONFIG_ZCOMP)))]
pub mod slot_map;
pub mod writeback;

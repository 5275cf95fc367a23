// SPDX-License-Identifier: GPL-2.0

//! Host build of the zcomp core.
//!
//! The modules are the kernel's `mm/zcomp/` sources, included by path so that `crate::`
//! references resolve exactly as in the kernel crate. The lint set mirrors the kernel's
//! Rust flags so that the host build warns about what the kernel build would.

#![cfg_attr(not(test), no_std)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(
    missing_docs,
    rust_2018_idioms,
    unreachable_pub,
    clippy::all,
    clippy::undocumented_unsafe_blocks,
    clippy::unnecessary_safety_comment,
    clippy::unnecessary_safety_doc,
    clippy::mut_mut,
    clippy::ignored_unit_patterns,
    clippy::no_mangle_with_rust_abi
)]

#[cfg(any(test, feature = "host-source"))]
extern crate alloc;

#[path = "../../../rust/mm/zcomp/page_source.rs"]
pub mod page_source;

#[path = "../../../rust/mm/zcomp/pool.rs"]
pub mod pool;

#[path = "../../../rust/mm/zcomp/entry.rs"]
pub mod entry;

#[cfg(any(test, feature = "host-source"))]
pub mod host;

#[cfg(test)]
mod tests;

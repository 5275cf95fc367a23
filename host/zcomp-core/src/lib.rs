// SPDX-License-Identifier: GPL-2.0

//! Host build of the zcomp core.
//!
//! The modules are the kernel's `mm/zcomp/zcore/` sources, included through the same root
//! module (`zcore.rs`) as in the kernel crate, so the module list is written once. The lint
//! set mirrors the kernel's Rust flags so that the host build warns about what the kernel
//! build would.

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

/// The kernel's `mm/zcomp/`, of which only the core is built here.
#[path = "../../../rust/mm/zcomp"]
mod mm_zcomp {
    pub(crate) mod zcore;
}

pub use mm_zcomp::zcore::*;

#[cfg(any(test, feature = "host-source"))]
pub mod host;

#[cfg(test)]
mod tests;

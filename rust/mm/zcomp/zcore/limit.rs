// SPDX-License-Identifier: GPL-2.0

//! The pools' memory limit, with zswap's hysteresis.
//!
//! Once the pools reach their limit (`max_pool_percent` of RAM), stores are refused until
//! writeback has brought them down to the accept threshold (`accept_threshold_percent` of
//! the limit), so that the pools do not flip between full and not full at every store.

use core::sync::atomic::{AtomicBool, Ordering};

/// What the limit says of a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitCheck {
    /// Below the limit, and not draining: store.
    Accept,
    /// At the limit: refuse, and have writeback make room.
    Full,
    /// Below the limit but above the accept threshold since the limit was reached: refuse.
    Draining,
}

/// The limit's state: whether the pools reached their limit and have not yet drained to the
/// accept threshold. Races between stores only make a check a store late.
#[derive(Debug, Default)]
pub struct Limit {
    full: AtomicBool,
}

impl Limit {
    /// A limit not reached.
    pub const fn new() -> Self {
        Self {
            full: AtomicBool::new(false),
        }
    }

    /// Checks a store with the pools at `cur` pages, against a limit of `max` pages and an
    /// accept threshold of `accept` pages.
    pub fn check(&self, cur: usize, max: usize, accept: usize) -> LimitCheck {
        if cur >= max {
            self.full.store(true, Ordering::Relaxed);
            return LimitCheck::Full;
        }
        if self.full.load(Ordering::Relaxed) {
            if cur > accept {
                return LimitCheck::Draining;
            }
            self.full.store(false, Ordering::Relaxed);
        }
        LimitCheck::Accept
    }
}

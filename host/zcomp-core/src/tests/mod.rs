// SPDX-License-Identifier: GPL-2.0

//! Unit and property tests of the core.

mod compact;
mod entry;
mod index;
mod limit;
mod lru;
mod lru_key;
mod parse;
mod pool;
mod prop;
mod slot_map;
mod writeback;

/// Deterministic test bytes: `len` bytes derived from `seed`.
pub(crate) fn pattern(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

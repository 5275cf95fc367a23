// SPDX-License-Identifier: GPL-2.0

use proptest::prelude::*;

use super::prop::config;
use crate::lru::MAX_KEY;
use crate::lru_key::*;

#[test]
fn the_ends_of_each_range_have_keys_and_the_next_values_do_not() {
    let swap = |swap_type, offset| LruKey::Swap { swap_type, offset };
    let block = |device, index| LruKey::Block { device, index };
    let last_swap = swap(MAX_SWAP_TYPES - 1, (1 << 56) - 1);
    let last_block = block(MAX_DEVICES - 1, MAX_BLOCKS - 1);
    assert_eq!(swap(0, 0).encode(), Some(0));
    assert_eq!(last_swap.encode(), Some((1 << 61) - 1));
    assert_eq!(last_block.encode(), Some(MAX_KEY));
    for key in [swap(0, 0), last_swap, block(0, 0), last_block] {
        assert_eq!(LruKey::decode(key.encode().unwrap()), key);
    }
    assert_eq!(swap(MAX_SWAP_TYPES, 0).encode(), None);
    assert_eq!(swap(0, 1 << 56).encode(), None);
    assert_eq!(block(MAX_DEVICES, 0).encode(), None);
    assert_eq!(block(0, MAX_BLOCKS).encode(), None);
    // The LRU's flag bits, were they left on a key, do not change what it names.
    assert_eq!(LruKey::decode(3 << 62 | 5), swap(0, 5));
}

fn any_key() -> impl Strategy<Value = LruKey> {
    prop_oneof![
        (0..MAX_SWAP_TYPES, 0..1u64 << 56)
            .prop_map(|(swap_type, offset)| LruKey::Swap { swap_type, offset }),
        (0..MAX_DEVICES, 0..MAX_BLOCKS).prop_map(|(device, index)| LruKey::Block { device, index }),
    ]
}

proptest! {
    #![proptest_config(config())]

    /// Every key round-trips, fits the LRU, and no two entries share one.
    #[test]
    fn keys_round_trip_and_are_distinct(a in any_key(), b in any_key()) {
        let (ka, kb) = (a.encode().unwrap(), b.encode().unwrap());
        prop_assert!(ka <= MAX_KEY && kb <= MAX_KEY);
        prop_assert_eq!(LruKey::decode(ka), a);
        prop_assert_eq!(ka == kb, a == b);
    }
}

// SPDX-License-Identifier: GPL-2.0

use super::prop::{config, max_ops};
use crate::slot_map::SlotMap;
use proptest::prelude::*;
use std::collections::BTreeSet;

fn map(len: u64) -> SlotMap<Vec<u64>> {
    SlotMap::new(vec![0; SlotMap::<Vec<u64>>::words_for(len)], len).unwrap()
}

#[test]
fn every_slot_is_handed_out_once_then_the_map_is_full() {
    for len in [1, 63, 64, 65, 130] {
        let mut m = map(len);
        let mut seen = BTreeSet::new();
        for _ in 0..len {
            let slot = m.alloc().unwrap();
            assert!(slot < len, "slot {slot} of {len}");
            assert!(seen.insert(slot), "slot {slot} twice");
        }
        assert_eq!(m.alloc(), None);
        assert_eq!(m.used(), len);
    }
}

#[test]
fn a_freed_slot_is_taken_again_and_freeing_twice_is_refused() {
    let mut m = map(100);
    let slots: Vec<u64> = (0..100).map(|_| m.alloc().unwrap()).collect();
    assert!(m.free(slots[70]));
    assert!(!m.free(slots[70]));
    assert!(!m.is_taken(slots[70]));
    assert_eq!(m.alloc(), Some(slots[70]));
    assert!(!m.free(100), "past the end");
    assert!(!m.free(u64::MAX));
}

#[test]
fn allocation_goes_on_from_the_last_slot_taken() {
    let mut m = map(256);
    for _ in 0..130 {
        m.alloc().unwrap();
    }
    // A slot freed near the start is not taken before the later free ones.
    assert!(m.free(3));
    assert_eq!(m.alloc(), Some(130));
}

#[test]
fn bad_storage_is_refused() {
    assert!(SlotMap::new(vec![0u64; 1], 65).is_none(), "too short");
    assert!(SlotMap::new(vec![1u64; 2], 65).is_none(), "not zeroed");
    assert!(SlotMap::new(vec![0u64; 1], 0).is_none(), "no slots");
}

#[derive(Clone, Debug)]
enum Op {
    Alloc,
    Free(u64),
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn map_matches_a_set(len in 1u64..300, ops in prop::collection::vec(
        prop_oneof![3 => Just(Op::Alloc), 2 => (0u64..320).prop_map(Op::Free)], 1..max_ops())) {
        let mut m = map(len);
        let mut model = BTreeSet::new();
        for op in ops {
            match op {
                Op::Alloc => match m.alloc() {
                    Some(slot) => {
                        prop_assert!(slot < len);
                        prop_assert!(model.insert(slot));
                    }
                    None => prop_assert_eq!(model.len() as u64, len),
                },
                Op::Free(slot) => prop_assert_eq!(m.free(slot), model.remove(&slot)),
            }
            prop_assert_eq!(m.used(), model.len() as u64);
        }
        for slot in 0..len + 70 {
            prop_assert_eq!(m.is_taken(slot), model.contains(&slot));
        }
    }
}

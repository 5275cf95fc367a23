// SPDX-License-Identifier: GPL-2.0

//! The index: records in leaf pages taken on first use and given back when empty.

use std::collections::BTreeMap;

use proptest::prelude::*;

use crate::entry::{Entry, EntryState};
use crate::host::HostPageSource;
use crate::index::*;

type TestRegion<'a> = Region<&'a mut HostPageSource, u64>;

fn record(fill: u64, owner: u64) -> Record<u64> {
    Record {
        entry: Entry::new(EntryState::SameFilled(fill)).unwrap(),
        owner,
    }
}

#[test]
fn a_leaf_is_taken_on_first_store_and_given_back_with_its_last_record() {
    let mut src = HostPageSource::new();
    {
        let mut region = TestRegion::new(&mut src);
        assert!(region.is_empty());
        assert_eq!(region.leaf_pages(), 0);
        let leaf = TestRegion::LEAF_SLOTS;
        assert!(region.insert(3, record(1, 10)).unwrap().is_none());
        assert!(region.insert(4, record(2, 20)).unwrap().is_none());
        assert!(region.insert(leaf + 1, record(3, 30)).unwrap().is_none());
        assert_eq!(region.leaf_pages(), 2);
        assert_eq!(region.get(4).map(|r| r.owner), Some(20));
        assert!(region.get(5).is_none());
        assert_eq!(region.remove(3).map(|r| r.owner), Some(10));
        assert!(region.remove(3).is_none());
        assert_eq!(region.leaf_pages(), 2);
        assert_eq!(region.remove(4).map(|r| r.owner), Some(20));
        assert_eq!(region.leaf_pages(), 1);
        assert!(!region.is_empty());
    }
    // Dropping the region gives the last leaf back.
    assert_eq!(src.live_pages(), 0);
}

#[test]
fn insert_over_a_record_returns_the_old_one() {
    let mut src = HostPageSource::new();
    let mut region = TestRegion::new(&mut src);
    region.insert(7, record(1, 1)).unwrap();
    let old = region.insert(7, record(2, 2)).unwrap().unwrap();
    assert_eq!(old.owner, 1);
    assert_eq!(old.entry.state(), EntryState::SameFilled(1));
    assert_eq!(
        region.get(7).unwrap().entry.state(),
        EntryState::SameFilled(2)
    );
    region.remove(7);
    assert_eq!(region.leaf_pages(), 0);
}

#[test]
fn failures_change_nothing_and_return_the_record() {
    let mut src = HostPageSource::new();
    src.fail_after(Some(0));
    let mut region = TestRegion::new(&mut src);
    let (err, back) = region.insert(0, record(5, 55)).unwrap_err();
    assert_eq!(err, IndexError::NoMemory);
    assert_eq!(back.owner, 55);
    let (err, _) = region.insert(TestRegion::SLOTS, record(5, 55)).unwrap_err();
    assert_eq!(err, IndexError::OutOfRange);
    let (err, _) = region.insert(0, Record::default()).unwrap_err();
    assert_eq!(err, IndexError::EmptyRecord);
    assert!(region.is_empty());
    assert!(region.get(TestRegion::SLOTS).is_none());
    assert!(region.remove(TestRegion::SLOTS).is_none());
}

#[test]
fn a_leaf_holds_a_pages_worth_of_records() {
    // 16-byte entries plus an 8-byte owner: 170 records in a 4 KiB page.
    assert_eq!(TestRegion::LEAF_SLOTS, 170);
    assert_eq!(TestRegion::SLOTS, 170 * REGION_LEAVES);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 4 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Random inserts, removes and modifications (some emptying the record) agree with a
    /// map, and the region holds exactly the leaf pages that have a record in them.
    #[test]
    fn agrees_with_a_map(ops in proptest::collection::vec((0u8..4, 0usize..2000, any::<u64>()), 1..200)) {
        let mut src = HostPageSource::new();
        let mut region = TestRegion::new(&mut src);
        let mut model = BTreeMap::new();
        for (op, slot, v) in ops {
            match op {
                0 => {
                    let old = region.insert(slot, record(v, v)).unwrap().map(|r| r.owner);
                    prop_assert_eq!(old, model.insert(slot, v));
                }
                1 => prop_assert_eq!(region.remove(slot).map(|r| r.owner), model.remove(&slot)),
                2 => {
                    let old = region.modify(slot, |r| core::mem::replace(&mut r.owner, v));
                    prop_assert_eq!(old, model.get_mut(&slot).map(|m| core::mem::replace(m, v)));
                }
                _ => {
                    let old = region.modify(slot, |r| {
                        r.entry = Entry::EMPTY;
                        r.owner
                    });
                    prop_assert_eq!(old, model.remove(&slot));
                    prop_assert!(region.get(slot).is_none());
                }
            }
        let leaves: std::collections::BTreeSet<usize> =
                model.keys().map(|s| s / TestRegion::LEAF_SLOTS).collect();
            prop_assert_eq!(region.leaf_pages(), leaves.len());
        }
        for (slot, v) in &model {
            prop_assert_eq!(region.get(*slot).map(|r| r.owner), Some(*v));
        }
        drop(region);
        prop_assert_eq!(src.live_pages(), 0);
    }
}

// SPDX-License-Identifier: GPL-2.0

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU16;

use crate::host::HostPageSource;
use crate::lru::*;
use crate::writeback::*;

/// An engine whose frontend writes a key back as `outcome` says (by default it succeeds),
/// and drops the key's node when it does, as a frontend drops the entry.
struct Fake {
    lru: RefCell<Lru<HostPageSource>>,
    nodes: RefCell<BTreeMap<u64, NodeId>>,
    outcome: RefCell<BTreeMap<u64, WritebackError>>,
    written: RefCell<Vec<u64>>,
}

impl Fake {
    fn new() -> Self {
        Self {
            lru: RefCell::new(Lru::new(HostPageSource::new())),
            nodes: RefCell::default(),
            outcome: RefCell::default(),
            written: RefCell::default(),
        }
    }

    fn store(&self, list: ListId, key: u64) {
        let id = self.lru.borrow_mut().insert(list, key).unwrap();
        self.nodes.borrow_mut().insert(key, id);
    }

    /// The entry of `key` goes away (invalidated), and its node with it.
    fn drop_entry(&self, key: u64) {
        let id = self.nodes.borrow_mut().remove(&key).unwrap();
        self.lru.borrow_mut().remove(id).unwrap();
    }
}

impl Writeback for Fake {
    type Pages = HostPageSource;

    fn with_lru<R>(&self, f: impl FnOnce(&mut Lru<HostPageSource>) -> R) -> R {
        f(&mut self.lru.borrow_mut())
    }

    fn write_back(&self, node: NodeId, key: u64) -> Result<(), WritebackError> {
        assert_eq!(self.nodes.borrow().get(&key), Some(&node));
        if let Some(&e) = self.outcome.borrow().get(&key) {
            if e == WritebackError::Gone {
                self.drop_entry(key);
            }
            return Err(e);
        }
        self.drop_entry(key);
        self.written.borrow_mut().push(key);
        Ok(())
    }
}

#[test]
fn the_coldest_pages_go_first_after_their_second_chance() {
    let w = Fake::new();
    for key in 0..40 {
        w.store(1, key);
    }
    // The first scan rotates SCAN_PER_PAGE referenced pages and finds none to take.
    assert_eq!(shrink_list(&w, 1, 1), Shrunk::default());
    // The next takes the coldest of those, now unreferenced, in order.
    assert_eq!(
        shrink_list(&w, 1, 3),
        Shrunk {
            written: 3,
            kept: 0,
            skipped: 0,
        }
    );
    assert_eq!(*w.written.borrow(), [0, 1, 2]);
    assert_eq!(w.lru.borrow().len(), 37);
}

#[test]
fn a_page_that_cannot_go_is_kept_and_ends_the_scan() {
    let w = Fake::new();
    for key in 0..4 {
        w.store(1, key);
    }
    shrink_list(&w, 1, 0);
    let _ = w.with_lru(|lru| lru.isolate_coldest(1, 4)).map(|(id, _)| {
        // Clear the references by a full rotation, then put the node back.
        w.with_lru(|lru| lru.putback(1, id)).unwrap();
    });
    w.outcome.borrow_mut().insert(1, WritebackError::Kept);
    w.outcome.borrow_mut().insert(2, WritebackError::Gone);
    let shrunk = shrink_list(&w, 1, 4);
    // 0 goes, 1 is kept (back at the warm end) and the scan stops there.
    assert_eq!(
        shrunk,
        Shrunk {
            written: 1,
            kept: 1,
            skipped: 0,
        }
    );
    assert_eq!(w.lru.borrow().keys(1), [1, 3, 2]);
    // A page whose entry went meanwhile is passed over, not counted.
    let shrunk = shrink_list(&w, 1, 4);
    assert_eq!(
        shrunk,
        Shrunk {
            written: 1,
            kept: 1,
            skipped: 0,
        }
    );
    assert_eq!(*w.written.borrow(), [0, 3]);
}

#[test]
fn a_page_its_frontend_cannot_write_is_passed_over() {
    let w = Fake::new();
    for key in 0..40 {
        w.store(1, key);
    }
    // A full rotation clears every reference.
    assert_eq!(w.with_lru(|lru| lru.isolate_coldest(1, 40)), None);
    // The two coldest cannot go: they go back to the warm end and 2 and 3 go instead.
    for key in 0..2 {
        w.outcome.borrow_mut().insert(key, WritebackError::Skipped);
    }
    assert_eq!(
        shrink_list(&w, 1, 2),
        Shrunk {
            written: 2,
            kept: 0,
            skipped: 2,
        }
    );
    assert_eq!(*w.written.borrow(), [2, 3]);
    assert_eq!(w.lru.borrow().keys(1)[..2], [1, 0]);
    // A list of nothing else is given up after SCAN_PER_PAGE of them.
    for key in 0..40 {
        w.outcome.borrow_mut().insert(key, WritebackError::Skipped);
    }
    let shrunk = shrink_list(&w, 1, 40);
    assert_eq!((shrunk.written, shrunk.skipped), (0, SCAN_PER_PAGE));
    assert_eq!(w.lru.borrow().len(), 38);
}

#[test]
fn the_pool_limit_takes_the_lists_in_turn_until_the_threshold() {
    let w = Fake::new();
    for key in 0..30 {
        w.store((key % 3) as ListId + 1, key);
    }
    // Clear every reference: a full pass over each list.
    for list in 1..=3 {
        shrink_list(&w, list, 0);
        assert_eq!(w.with_lru(|lru| lru.isolate_coldest(list, 10)), None);
    }
    let cursor = AtomicU16::new(0);
    let w = &w;
    let left = |n: usize| move || w.lru.borrow().len() > n;
    // List 2 may not write back.
    let (shrunk, again) = shrink_batch(w, &cursor, left(24), |l| l != 2);
    assert_eq!((shrunk.written, again), (6, false));
    assert_eq!(*w.written.borrow(), [0, 2, 3, 5, 6, 8]);
    // A batch ends after BATCH pages and asks for another while over the threshold.
    let (shrunk, again) = shrink_batch(w, &cursor, left(0), |_| true);
    assert_eq!((shrunk.written, again), (BATCH, true));
    // With nothing left to take, it stops.
    let (_, again) = shrink_batch(w, &cursor, left(0), |_| true);
    assert!(!again && w.lru.borrow().is_empty());
}

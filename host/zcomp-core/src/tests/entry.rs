// SPDX-License-Identifier: GPL-2.0

use crate::entry::*;
use crate::lru::*;
use crate::page_source::PAGE_SIZE;
use crate::pool::Handle;

fn h(v: u32) -> Handle {
    Handle::from_raw(v).unwrap()
}

#[test]
fn states_round_trip() {
    let states = [
        EntryState::Empty,
        EntryState::SameFilled(0),
        EntryState::SameFilled(u64::MAX),
        EntryState::Stored {
            handle: h(1),
            len: 1,
            pool: 0,
            algo: 0,
        },
        EntryState::Stored {
            handle: h(u32::MAX),
            len: (PAGE_SIZE - 1) as u16,
            pool: u8::MAX,
            algo: NR_ALGOS - 1,
        },
        EntryState::Raw {
            handle: h(77),
            pool: 0,
        },
        EntryState::Raw {
            handle: h(78),
            pool: u8::MAX,
        },
        EntryState::WrittenBack { slot: 0, len: 4096 },
        EntryState::WrittenBack {
            slot: MAX_WB_SLOT,
            len: 123,
        },
    ];
    for s in states {
        let e = Entry::new(s).unwrap();
        assert_eq!(e.state(), s);
        let back = Entry::from_bytes(&e.to_bytes()).unwrap();
        assert_eq!(back, e);
        assert_eq!(back.state(), s);
    }
    assert_eq!(Entry::default(), Entry::EMPTY);
    assert_eq!(Entry::EMPTY.to_bytes(), [0u8; 16]);
}

#[test]
fn rejects_out_of_range() {
    assert_eq!(
        Entry::new(EntryState::Stored {
            handle: h(1),
            len: 0,
            pool: 0,
            algo: 0,
        }),
        Err(EntryError::BadLength)
    );
    assert_eq!(
        Entry::new(EntryState::Stored {
            handle: h(1),
            len: 4096,
            pool: 0,
            algo: 0,
        }),
        Err(EntryError::BadLength)
    );
    assert_eq!(
        Entry::new(EntryState::Stored {
            handle: h(1),
            len: 100,
            pool: 0,
            algo: NR_ALGOS,
        }),
        Err(EntryError::BadAlgo)
    );
    assert_eq!(
        Entry::new(EntryState::WrittenBack {
            slot: MAX_WB_SLOT + 1,
            len: 1
        }),
        Err(EntryError::BadSlot)
    );
    let mut bad = [0u8; 16];
    bad[0] = 7;
    assert_eq!(Entry::from_bytes(&bad), Err(EntryError::Corrupt));
    bad[0] = 2; // Stored with a zero handle and length.
    assert_eq!(Entry::from_bytes(&bad), Err(EntryError::Corrupt));
    let mut raw = Entry::new(EntryState::Raw {
        handle: h(5),
        pool: 3,
    })
    .unwrap()
    .to_bytes();
    raw[3] |= 0x20; // Raw naming a compressor.
    assert_eq!(Entry::from_bytes(&raw), Err(EntryError::Corrupt));
}

#[test]
fn flags_do_not_disturb_state() {
    let s = EntryState::Stored {
        handle: h(9),
        len: 1000,
        pool: 1,
        algo: 2,
    };
    let mut e = Entry::new(s).unwrap();
    e.set_flags(flags::ALL);
    assert_eq!(e.flags(), flags::ALL);
    assert_eq!(e.state(), s);
    e.clear_flags(flags::IDLE);
    assert!(!e.test_flags(flags::IDLE) && e.test_flags(flags::REFERENCED));
    assert_eq!(Entry::from_bytes(&e.to_bytes()), Ok(e));
    let mut empty = Entry::EMPTY;
    empty.set_flags(flags::ALL);
    assert_eq!(empty, Entry::EMPTY);
    assert_eq!(e.pool_len(), 1000);
    assert_eq!(
        Entry::new(EntryState::Raw {
            handle: h(1),
            pool: 0
        })
        .unwrap()
        .pool_len(),
        PAGE_SIZE
    );
}

fn stored(i: u32) -> Entry {
    Entry::new(EntryState::Stored {
        handle: h(i + 1),
        len: 10,
        pool: 0,
        algo: 0,
    })
    .unwrap()
}

fn order(lru: &Lru, t: &mut [Entry]) -> Vec<u32> {
    let mut v = Vec::new();
    let mut i = lru.front();
    while let Some(x) = i {
        v.push(x);
        i = t[x as usize].lru_next();
    }
    // Walk back from the tail too.
    let mut w = Vec::new();
    let mut i = lru.back();
    while let Some(x) = i {
        w.push(x);
        i = t[x as usize].lru_prev();
    }
    w.reverse();
    assert_eq!(v, w);
    assert_eq!(v.len() as u32, lru.len());
    v
}

#[test]
fn lru_links_live_in_the_entry() {
    let mut t: Vec<Entry> = (0..8).map(stored).collect();
    t[7] = Entry::new(EntryState::SameFilled(5)).unwrap();
    let mut lru = Lru::new();
    for i in 0..5 {
        lru.push_front(&mut t[..], i).unwrap();
    }
    assert_eq!(order(&lru, &mut t), [4, 3, 2, 1, 0]);
    assert_eq!(
        lru.push_front(&mut t[..], 2),
        Err(EntryError::AlreadyLinked)
    );
    assert_eq!(lru.push_front(&mut t[..], 7), Err(EntryError::NotLinkable));
    assert_eq!(lru.push_front(&mut t[..], 99), Err(EntryError::NotLinkable));
    lru.remove(&mut t[..], 2).unwrap();
    assert_eq!(lru.remove(&mut t[..], 2), Err(EntryError::NotLinked));
    assert_eq!(order(&lru, &mut t), [4, 3, 1, 0]);
    // Links do not change the decoded state.
    assert_eq!(t[3].handle(), Some(h(4)));
    assert_eq!(lru.pop_back(&mut t[..]), Some(0));
    t[1].set_flags(flags::REFERENCED);
    // 1 is referenced: it gets a second chance and 3 is the victim.
    assert_eq!(lru.second_chance(&mut t[..], 10), Some(3));
    assert!(!t[1].test_flags(flags::REFERENCED));
    assert_eq!(order(&lru, &mut t), [1, 4]);
    assert_eq!(lru.second_chance(&mut t[..], 0), None);
    while lru.pop_back(&mut t[..]).is_some() {}
    assert!(lru.is_empty());
    for e in &t[..7] {
        assert_eq!(e.lru_prev(), None);
        assert_eq!(e.lru_next(), None);
    }
}

/// An [`EntryTable`] other than a slice: a few entries at arbitrary indices.
struct Sparse(Vec<(u32, Entry)>);

impl EntryTable for Sparse {
    fn entry_mut(&mut self, index: u32) -> Option<&mut Entry> {
        self.0.iter_mut().find(|(i, _)| *i == index).map(|(_, e)| e)
    }
}

#[test]
fn lru_links_indices_up_to_the_largest() {
    let mut t = Sparse(vec![
        (0, stored(0)),
        (MAX_LRU_INDEX, stored(1)),
        (u32::MAX, stored(2)),
    ]);
    let mut lru = Lru::new();
    lru.push_front(&mut t, 0).unwrap();
    lru.push_front(&mut t, MAX_LRU_INDEX).unwrap();
    // One beyond would encode as a zero link, which means none.
    assert_eq!(
        lru.push_front(&mut t, u32::MAX),
        Err(EntryError::NotLinkable)
    );
    assert_eq!(
        (lru.front(), lru.back(), lru.len()),
        (Some(MAX_LRU_INDEX), Some(0), 2)
    );
    assert!(lru.contains(&mut t, MAX_LRU_INDEX) && !lru.contains(&mut t, u32::MAX));
    assert_eq!(lru.pop_back(&mut t), Some(0));
    assert_eq!(lru.pop_back(&mut t), Some(MAX_LRU_INDEX));
    assert!(lru.is_empty());
}

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

#[test]
fn the_lru_node_lives_in_the_second_word() {
    let node = NodeId::from_raw(77).unwrap();
    let e = stored(3).with_lru_node(Some(node));
    assert_eq!(e.lru_node(), Some(node));
    // The node does not change the decoded state, and survives encoding.
    assert_eq!(e.state(), stored(3).state());
    assert_eq!(Entry::from_bytes(&e.to_bytes()), Ok(e));
    assert_eq!(e.with_lru_node(None).lru_node(), None);
    // Entries not in the pool have no node, and keep their second word.
    let same = Entry::same_filled(5).with_lru_node(Some(node));
    assert_eq!(
        (same.lru_node(), same.state()),
        (None, EntryState::SameFilled(5))
    );
    // A second word above 32 bits is not a node id.
    let mut bytes = e.to_bytes();
    bytes[12] = 1;
    assert_eq!(Entry::from_bytes(&bytes), Err(EntryError::Corrupt));
}

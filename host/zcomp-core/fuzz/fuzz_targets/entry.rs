// SPDX-License-Identifier: GPL-2.0

//! The entry codec: decoding arbitrary bytes never panics, accepted encodings are
//! canonical, and every state survives an encode/decode round trip.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcomp_core::entry::{Entry, EntryState};

fuzz_target!(|data: &[u8]| {
    let Some(bytes) = data.get(..16) else { return };
    let bytes: [u8; 16] = bytes.try_into().unwrap();
    if let Ok(e) = Entry::from_bytes(&bytes) {
        assert_eq!(e.to_bytes(), bytes);
        let state = e.state();
        let mut fresh = Entry::new(state).expect("decoded state re-encodes");
        fresh.set_flags(e.flags());
        assert_eq!(fresh.state(), state);
        assert_eq!(fresh.flags(), e.flags());
        assert_eq!(e.handle().is_some(), e.in_pool());
    }
    // Build a state from the bytes and round-trip it.
    let v = u64::from_le_bytes(bytes[..8].try_into().unwrap());
    let w = u64::from_le_bytes(bytes[8..].try_into().unwrap());
    let handle = zcomp_core::pool::Handle::from_raw(w as u32 | 1).unwrap();
    let state = match bytes[0] % 5 {
        0 => EntryState::Empty,
        1 => EntryState::SameFilled(v),
        2 => EntryState::Stored {
            handle,
            len: (v % 4096) as u16,
            pool: (w >> 32) as u8,
            algo: (w >> 40) as u8 % 9,
        },
        3 => EntryState::Raw {
            handle,
            pool: (w >> 32) as u8,
        },
        _ => EntryState::WrittenBack {
            slot: v >> 20,
            len: (w % 4097) as u16,
        },
    };
    if let Ok(e) = Entry::new(state) {
        assert_eq!(e.state(), state);
        assert_eq!(Entry::from_bytes(&e.to_bytes()), Ok(e));
    }
});

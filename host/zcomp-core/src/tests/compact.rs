// SPDX-License-Identifier: GPL-2.0

//! Compaction: what it frees, what it moves, and that handles survive it.

use super::pattern;
use super::pool::{
    address, check, free_seven_eighths, read_back, scaled, slots_per_span, three_full_spans,
};
use crate::host::HostPageSource;
use crate::page_source::PAGE_SIZE;
use crate::pool::*;

#[test]
fn compaction_frees_pages_and_keeps_handles() {
    let mut src = HostPageSource::new();
    let mut pool = Pool::new(&mut src);
    let mut items = Vec::new();
    // Few distinct sizes, so that even the small run under Miri fills its spans.
    let sizes = [200, 333, 700, 1000, 1500, 1800, 2000, 3000];
    for i in 0..scaled(2000) {
        let len = sizes[i as usize % sizes.len()] + (i as usize % 5);
        let d = pattern(i, len);
        items.push((pool.store(&d).unwrap(), d));
    }
    let full = pool.stats();
    let mut kept = Vec::new();
    for (i, it) in items.into_iter().enumerate() {
        if i % 3 == 0 {
            kept.push(it);
        } else {
            pool.free(it.0).unwrap();
        }
    }
    check(&pool);
    let before = pool.stats();
    let mut rounds = 0;
    loop {
        let r = pool.compact(64).unwrap();
        assert!(r.moved <= 64);
        check(&pool);
        rounds += 1;
        if r.done {
            break;
        }
        assert!(rounds < 10_000);
    }
    let after = pool.stats();
    assert!(after.data_pages < before.data_pages);
    assert!(after.data_pages < full.data_pages / 2);
    assert!(after.pages_compacted > 0 && after.objects_moved > 0);
    assert_eq!(pool.source().live_pages() as u64, after.pages_held);
    // Each class is left with at most one partly used page of waste, plus span tails.
    let slack = after.data_pages * PAGE_SIZE as u64 - after.bytes_stored;
    assert!(
        slack < NR_CLASSES as u64 * PAGE_SIZE as u64,
        "slack {slack} after compaction"
    );
    for (h, d) in &kept {
        read_back(&pool, *h, d);
    }
    // Compacting again does nothing.
    let again = pool.compact(u32::MAX).unwrap();
    assert!(again.done && again.moved == 0 && again.pages_freed == 0);
    for (h, _) in kept {
        pool.free(h).unwrap();
    }
    assert_eq!(pool.stats().data_pages, 0);
    drop(pool);
    assert_eq!(src.live_pages(), 0);
}

#[test]
fn compaction_moves_huge_objects_between_spans() {
    let mut pool = Pool::new(HostPageSource::new());
    let items: Vec<_> = (0..64)
        .map(|i| {
            let d = pattern(i, 4096);
            (pool.store(&d).unwrap(), d)
        })
        .collect();
    let spans = pool.stats().spans;
    for (i, (h, _)) in items.iter().enumerate() {
        if i % 4 != 0 {
            pool.free(*h).unwrap();
        }
    }
    while !pool.compact(8).unwrap().done {}
    check(&pool);
    assert!(pool.stats().spans < spans / 2);
    for (i, (h, d)) in items.iter().enumerate() {
        if i % 4 == 0 {
            read_back(&pool, *h, d);
        }
    }
}

/// Objects that compaction moves, within a span and between spans, read back byte for
/// byte through the handles they were stored under.
#[test]
fn moved_objects_read_back_identically() {
    // In-page, straddling, in-page without straddling, straddling near the largest small
    // class, and huge.
    let lens: &[usize] = if cfg!(miri) {
        &[1500, 2044, PAGE_SIZE]
    } else {
        &[200, 1500, 2044, 3000, PAGE_SIZE]
    };
    for &len in lens {
        let mut src = HostPageSource::new();
        let mut pool = Pool::new(&mut src);
        let per_span = slots_per_span(&pool, len);
        assert!(per_span >= 4);
        // Two full spans, A then B; each object distinct.
        let items: Vec<_> = (0..2 * per_span as u64)
            .map(|i| {
                let d = pattern(len as u64 * 1000 + i, len);
                (pool.store(&d).unwrap(), d)
            })
            .collect();
        assert_eq!(pool.stats().spans, 2);
        // A keeps half of its objects, B a quarter: B is the emptier, and its objects move
        // to A's free slots.
        let (a, b) = items.split_at(per_span);
        let mut kept = Vec::new();
        for (i, it) in a.iter().enumerate() {
            if i % 2 == 0 {
                kept.push(it.clone());
            } else {
                pool.free(it.0).unwrap();
            }
        }
        let mut movers = Vec::new();
        for (i, it) in b.iter().enumerate() {
            if i % 4 == 0 {
                movers.push((it.0, it.1.clone(), address(&pool, it.0)));
            } else {
                pool.free(it.0).unwrap();
            }
        }
        check(&pool);
        let before = pool.stats();
        let mut rounds = 0;
        loop {
            let r = pool.compact(3).unwrap();
            check(&pool);
            for (h, d, _) in &movers {
                read_back(&pool, *h, d);
            }
            if r.done {
                break;
            }
            rounds += 1;
            assert!(rounds < 1000);
        }
        let after = pool.stats();
        assert_eq!(after.spans, 1, "{len}-byte objects");
        assert!(after.objects_moved - before.objects_moved >= movers.len() as u64);
        assert_eq!(after.objects, before.objects);
        assert_eq!(after.bytes_stored, before.bytes_stored);
        for (h, d, was) in &movers {
            read_back(&pool, *h, d);
            // Where B's objects were is gone, so an object that can be seen in place has
            // moved.
            if let (Some(was), Some(now)) = (was, address(&pool, *h)) {
                assert_ne!(*was, now, "{len}-byte object did not move");
            }
            if len == 2044 || len == PAGE_SIZE {
                assert!(was.is_some() && address(&pool, *h).is_some());
            }
        }
        for (h, d) in &kept {
            read_back(&pool, *h, d);
        }
        for (h, _, _) in movers {
            pool.free(h).unwrap();
        }
        for (h, _) in kept {
            pool.free(h).unwrap();
        }
        check(&pool);
        assert_eq!(pool.stats().data_pages, 0);
        drop(pool);
        assert_eq!(src.live_pages(), 0);
    }
}

/// With one span left in a class, compaction moves its objects down to its lowest free
/// slots, so that its upper pages empty.
#[test]
fn compaction_packs_a_lone_span() {
    let mut pool = Pool::new(HostPageSource::new());
    // Slots of 2048 bytes, two to a page.
    let per_span = slots_per_span(&pool, 2044);
    let items: Vec<_> = (0..per_span as u64)
        .map(|i| {
            let d = pattern(i, 2044);
            (pool.store(&d).unwrap(), d)
        })
        .collect();
    let full = pool.stats().data_pages;
    assert_eq!(full as usize, per_span / 2);
    // Every other object goes: every page keeps one.
    let mut kept = Vec::new();
    for (i, it) in items.into_iter().enumerate() {
        if i % 2 == 0 {
            kept.push(it);
        } else {
            pool.free(it.0).unwrap();
        }
    }
    assert_eq!(pool.stats().data_pages, full);
    let r = pool.compact(u32::MAX).unwrap();
    check(&pool);
    assert!(r.done);
    assert_eq!(pool.stats().data_pages, full / 2);
    assert_eq!(r.pages_freed as u64, full / 2);
    assert_eq!(pool.stats().pages_compacted, full / 2);
    for (h, d) in &kept {
        read_back(&pool, *h, d);
    }
}

#[test]
fn compaction_without_memory_stops_early() {
    let mut src = HostPageSource::new();
    let mut pool = Pool::new(&mut src);
    let per_span = slots_per_span(&pool, 2044);
    let items: Vec<_> = (0..2 * per_span as u64)
        .map(|i| {
            let d = pattern(i, 2044);
            (pool.store(&d).unwrap(), d)
        })
        .collect();
    // The first span keeps the objects of its lower half, whose pages stay; the second one
    // object in each of its upper pages, which have to move to pages of the first that are
    // gone.
    let mut kept = Vec::new();
    for (i, it) in items.into_iter().enumerate() {
        let keep = if i < per_span {
            i < per_span / 2
        } else {
            i % 2 == 0 && i >= per_span + per_span / 2
        };
        if keep {
            kept.push(it);
        } else {
            pool.free(it.0).unwrap();
        }
    }
    check(&pool);
    let before = pool.stats();
    pool.source_mut().fail_after(Some(0));
    let r = pool.compact(u32::MAX).unwrap();
    check(&pool);
    assert!(!r.done);
    assert_eq!(pool.stats().objects, before.objects);
    for (h, d) in &kept {
        read_back(&pool, *h, d);
    }
    pool.source_mut().fail_after(None);
    while !pool.compact(4).unwrap().done {}
    check(&pool);
    assert!(pool.stats().data_pages < before.data_pages);
    for (h, d) in &kept {
        read_back(&pool, *h, d);
    }
}

#[test]
fn compaction_empties_the_emptiest_span_first() {
    let mut pool = Pool::new(HostPageSource::new());
    let (spans, _) = three_full_spans(&mut pool);
    // A is the emptiest; B and C, the fullest, have a slot each for its objects, and the
    // fourth span the rest.
    let kept = free_seven_eighths(&mut pool, &spans[0]);
    pool.free(spans[1][0]).unwrap();
    pool.free(spans[2][0]).unwrap();
    check(&pool);
    let before = pool.stats();
    // As many moves as A has objects empty it, and free it, only if A is the source.
    let r = pool.compact(kept.len() as u32).unwrap();
    check(&pool);
    let after = pool.stats();
    assert_eq!(r.moved as usize, kept.len());
    assert_eq!(after.spans, before.spans - 1, "moved {} objects", r.moved);
    assert_eq!(after.objects_moved, kept.len() as u64);
    assert_eq!(
        after.pages_compacted - before.pages_compacted,
        r.pages_freed as u64
    );
    for h in kept {
        read_back(&pool, h, &[5u8; 200]);
    }
}

/// Each object overwritten, in a scattered order, by one of another size, as a block
/// device's blocks are by other data, with a free and a store per overwrite, and with
/// [`Pool::settle`] after each store if `settle`. Returns what
/// the pool wastes at the end, what it wastes once compaction is done, and the bytes it
/// stores.
fn overwrite_with_larger_objects(settle: bool) -> (u64, u64, u64) {
    let mut pool = Pool::new(HostPageSource::new());
    let n = 6000;
    let mut live: Vec<_> = (0..n)
        .map(|i| {
            let d = pattern(i, 200 + (i as usize * 37) % 800);
            (pool.store(&d).unwrap(), d)
        })
        .collect();
    for i in 0..n {
        let victim = (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as usize % live.len();
        pool.free(live.swap_remove(victim).0).unwrap();
        let d = pattern(n + i, 1200 + (i as usize * 53) % 1500);
        live.push((pool.store(&d).unwrap(), d));
        if settle {
            let r = pool.settle(4).unwrap();
            assert!(r.is_none_or(|r| r.moved <= 4));
        }
    }
    check(&pool);
    for (h, d) in &live {
        read_back(&pool, *h, d);
    }
    let end = pool.stats();
    while !pool.compact(64).unwrap().done {}
    check(&pool);
    (
        end.fragmentation_bytes,
        pool.stats().fragmentation_bytes,
        end.bytes_stored,
    )
}

/// Settling after the stores that take pages keeps the waste within a sixteenth of what the
/// pool stores of what compaction leaves, where not settling wastes far more.
#[test]
#[cfg_attr(miri, ignore = "too slow under Miri; uses no unsafe code of its own")]
fn settling_bounds_the_waste_that_shifting_sizes_leave() {
    let (waste, packed, stored) = overwrite_with_larger_objects(true);
    assert!(
        waste <= packed + stored / 16,
        "settled: waste {waste}, packed {packed}, stored {stored}"
    );
    let (waste, packed, stored) = overwrite_with_larger_objects(false);
    assert!(
        waste > packed + stored / 8,
        "unsettled: waste {waste}, packed {packed}, stored {stored}"
    );
}

/// A pool that wastes no more than when compaction finished is left alone.
#[test]
fn settling_a_packed_pool_moves_nothing() {
    let mut pool = Pool::new(HostPageSource::new());
    let items: Vec<_> = (0..64)
        .map(|i| pool.store(&pattern(i, 1000)).unwrap())
        .collect();
    while !pool.compact(64).unwrap().done {}
    pool.free(items[10]).unwrap();
    assert_eq!(pool.settle(4), Ok(None));
    assert_eq!(pool.stats().objects_moved, 0);
}

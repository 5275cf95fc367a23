// SPDX-License-Identifier: GPL-2.0

use super::pattern;
use crate::host::HostPageSource;
use crate::page_source::{PageSource, PAGE_SIZE};
use crate::pool::*;

fn check<S: PageSource>(pool: &Pool<S>) {
    if let Err(e) = pool.verify() {
        panic!("verify: {}", e.0);
    }
}

fn read_back<S: PageSource>(pool: &Pool<S>, h: Handle, want: &[u8]) {
    let mut buf = [0u8; PAGE_SIZE];
    assert_eq!(pool.read(h, &mut buf), Ok(want.len()));
    assert_eq!(&buf[..want.len()], want);
    let mut scratch = [0u8; PAGE_SIZE];
    assert_eq!(pool.map(h, &mut scratch).unwrap(), want);
    assert_eq!(pool.object_len(h), Ok(want.len()));
}

/// The spare data page a pool keeps while it holds objects.
const SPARE: u64 = 1;

/// `n`, or a tenth of it under Miri.
fn scaled(n: u64) -> u64 {
    if cfg!(miri) {
        n / 10
    } else {
        n
    }
}

#[test]
fn class_table_is_sane() {
    let mut prev_size = 0;
    for c in 0..NR_CLASSES {
        let s = Pool::new(HostPageSource::new()).class_stats(c).unwrap();
        assert!(s.slot_size > prev_size, "class sizes increase");
        prev_size = s.slot_size;
        assert!(s.pages_per_span >= 1 && s.pages_per_span as usize <= MAX_SPAN_PAGES);
        assert!(s.slots_per_span >= 1 && s.slots_per_span <= 256);
        if c + 1 < NR_CLASSES {
            // Per-page live counts are bytes: no page is overlapped by more than 255 slots.
            assert!(s.slot_size >= 32);
            assert_eq!(s.slot_size as usize % CLASS_SPACING, 0);
            assert!(s.slots_per_span * s.slot_size <= s.pages_per_span * PAGE_SIZE as u32);
            // The next slot would not fit: no class wastes a whole slot at its tail.
            assert!((s.slots_per_span + 1) * s.slot_size > s.pages_per_span * PAGE_SIZE as u32);
        }
    }
    assert_eq!(prev_size as usize, PAGE_SIZE);
    assert_eq!(MAX_SMALL_OBJECT, MAX_SLOT_SIZE - SLOT_HEADER);
    const { assert!(MAX_SLOT_SIZE > 3500 && MAX_SLOT_SIZE < PAGE_SIZE) };
}

#[test]
fn store_read_free_each_size() {
    let mut src = HostPageSource::new();
    let mut pool = Pool::new(&mut src);
    let lens = [
        1,
        2,
        3,
        11,
        12,
        13,
        100,
        1000,
        2044,
        2045,
        3000,
        MAX_SMALL_OBJECT,
        MAX_SMALL_OBJECT + 1,
        4095,
        4096,
    ];
    let mut held = Vec::new();
    for (i, &len) in lens.iter().enumerate() {
        let data = pattern(i as u64, len);
        let h = pool.store(&data).unwrap();
        held.push((h, data));
        check(&pool);
    }
    for (h, d) in &held {
        read_back(&pool, *h, d);
    }
    let st = pool.stats();
    assert_eq!(st.objects, lens.len() as u64);
    assert_eq!(st.bytes_stored, lens.iter().sum::<usize>() as u64);
    assert_eq!(st.huge_objects, 3);
    for (h, _) in held {
        pool.free(h);
        check(&pool);
    }
    let st = pool.stats();
    assert_eq!(
        (st.objects, st.bytes_stored, st.data_pages, st.spans),
        (0, 0, 0, 0)
    );
    assert_eq!(st.pages_held, st.meta_pages);
    drop(pool);
    assert_eq!(src.live_pages(), 0);
}

#[test]
fn rejects_bad_lengths() {
    let mut pool = Pool::new(HostPageSource::new());
    assert_eq!(pool.store(&[]), Err(StoreError::Empty));
    assert_eq!(pool.store(&[0u8; PAGE_SIZE + 1]), Err(StoreError::TooLarge));
    assert_eq!(pool.stats().pages_held, 0);
}

#[test]
fn read_into_short_buffer_fails() {
    let mut pool = Pool::new(HostPageSource::new());
    let h = pool.store(&[7u8; 100]).unwrap();
    let mut small = [0u8; 99];
    assert_eq!(pool.read(h, &mut small), Err(ReadError::BufferTooSmall));
}

#[test]
fn freeing_returns_pages_at_once() {
    let mut src = HostPageSource::new();
    let mut pool = Pool::new(&mut src);
    // Slots of 2048 bytes: two objects per page, no straddling.
    let a = pool.store(&[1u8; 2044]).unwrap();
    let b = pool.store(&[2u8; 2044]).unwrap();
    assert_eq!(pool.stats().data_pages, 1 + SPARE);
    pool.free(a);
    assert_eq!(pool.stats().data_pages, 1 + SPARE);
    // The last object's page goes, and the spare with it.
    pool.free(b);
    assert_eq!(pool.stats().data_pages, 0);
    assert_eq!(pool.stats().pages_freed_on_free, 1);
    // A huge object has a page of its own.
    let h = pool.store(&[3u8; 4000]).unwrap();
    assert_eq!(pool.stats().data_pages, 1 + SPARE);
    pool.free(h);
    assert_eq!(pool.stats().data_pages, 0);
    check(&pool);
}

#[test]
fn straddling_objects_survive() {
    let mut pool = Pool::new(HostPageSource::new());
    // 1500-byte objects straddle page boundaries in their span.
    let items: Vec<_> = (0..40)
        .map(|i| {
            let d = pattern(i, 1500);
            (pool.store(&d).unwrap(), d)
        })
        .collect();
    for (h, d) in &items {
        read_back(&pool, *h, d);
    }
    check(&pool);
}

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
            pool.free(it.0);
        }
    }
    check(&pool);
    let before = pool.stats();
    let mut rounds = 0;
    loop {
        let r = pool.compact(64);
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
    let again = pool.compact(u32::MAX);
    assert!(again.done && again.moved == 0);
    for (h, _) in kept {
        pool.free(h);
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
            pool.free(*h);
        }
    }
    while !pool.compact(8).done {}
    check(&pool);
    assert!(pool.stats().spans < spans / 2);
    for (i, (h, d)) in items.iter().enumerate() {
        if i % 4 == 0 {
            read_back(&pool, *h, d);
        }
    }
}

#[test]
fn allocation_failure_is_an_error_and_leaks_nothing() {
    let budgets: Vec<u64> = if cfg!(miri) {
        vec![0, 3, 9]
    } else {
        (0..40).collect()
    };
    for budget in budgets {
        let mut src = HostPageSource::new();
        src.fail_after(Some(budget));
        let mut pool = Pool::new(&mut src);
        let mut items = Vec::new();
        let mut failures = 0;
        for i in 0..scaled(200) {
            let len = [30, 700, 1500, 3000, 4096][i as usize % 5];
            let d = pattern(i, len);
            match pool.store(&d) {
                Ok(h) => items.push((h, d)),
                Err(e) => {
                    assert!(matches!(e, StoreError::NoMemory));
                    failures += 1;
                }
            }
            check(&pool);
        }
        assert!(failures > 0);
        assert_eq!(pool.stats().objects, items.len() as u64);
        for (h, d) in &items {
            read_back(&pool, *h, d);
        }
        // Compaction under memory pressure stays consistent.
        for (i, (h, _)) in items.iter().enumerate() {
            if i % 2 == 1 {
                pool.free(*h);
            }
        }
        while !pool.compact(16).done {
            check(&pool);
            if pool.compact(16).moved == 0 {
                break;
            }
        }
        check(&pool);
        for (i, (h, d)) in items.iter().enumerate() {
            if i % 2 == 0 {
                read_back(&pool, *h, d);
            }
        }
        drop(pool);
        assert_eq!(src.live_pages(), 0, "leak with budget {budget}");
    }
}

#[test]
fn stats_per_class_add_up() {
    let mut pool = Pool::new(HostPageSource::new());
    for i in 0..scaled(500) {
        pool.store(&pattern(i, 1 + (i as usize * 97) % PAGE_SIZE))
            .unwrap();
    }
    let total: u64 = (0..NR_CLASSES)
        .map(|c| pool.class_stats(c).unwrap().objects as u64)
        .sum();
    assert_eq!(total, scaled(500));
    assert!(pool.class_stats(NR_CLASSES).is_none());
    let st = pool.stats();
    assert_eq!(st.pages_held, st.data_pages + st.meta_pages);
    assert_eq!(
        st.fragmentation_bytes,
        st.data_pages * PAGE_SIZE as u64 - st.bytes_stored
    );
    assert!(metadata_milli_bytes_per_object(&st) > 0);
}

#[test]
fn handles_are_reused_after_free() {
    let mut pool = Pool::new(HostPageSource::new());
    let a = pool.store(b"hello").unwrap();
    pool.free(a);
    // Applies the pending free.
    assert_eq!(pool.stats().objects, 0);
    let b = pool.store(b"world").unwrap();
    assert_eq!(a, b);
    assert_eq!(Handle::from_raw(b.to_raw()), Some(b));
    assert_eq!(Handle::from_raw(0), None);
}

/// A handle freed twice in one batch trips a debug assertion and is otherwise freed once:
/// the pool stays consistent and does not hand the handle out twice.
#[test]
#[cfg_attr(debug_assertions, should_panic(expected = "freed twice"))]
fn handle_freed_twice_in_a_batch_is_freed_once() {
    let mut pool = Pool::new(HostPageSource::new());
    let a = pool.store(b"first").unwrap();
    let b = pool.store(b"second").unwrap();
    pool.free(a);
    pool.free(a);
    assert_eq!(pool.stats().objects, 1);
    check(&pool);
    let c = pool.store(b"third").unwrap();
    let d = pool.store(b"fourth").unwrap();
    assert_ne!(c, d);
    read_back(&pool, b, b"second");
    read_back(&pool, c, b"third");
    read_back(&pool, d, b"fourth");
}

#[test]
fn stores_fill_freed_slots_before_taking_pages() {
    let mut pool = Pool::new(HostPageSource::new());
    let data = [5u8; 200];
    let class = class_of(&mut pool, &data);
    let cs = pool.class_stats(class).unwrap();
    let per_span = cs.slots_per_span as usize;
    // Three full spans and a quarter of a fourth, which stores then go to.
    let handles: Vec<Handle> = (0..3 * per_span + per_span / 4)
        .map(|_| pool.store(&data).unwrap())
        .collect();
    // Every other object of the full spans goes: no page of theirs empties.
    for h in handles[..3 * per_span].iter().step_by(2) {
        pool.free(*h);
    }
    let pages = pool.stats().data_pages;
    // The freed slots take new objects before the fourth span's empty pages are populated.
    for _ in 0..per_span {
        pool.store(&data).unwrap();
    }
    assert!(
        pool.stats().data_pages <= pages + 1,
        "{} data pages, {pages} before",
        pool.stats().data_pages
    );
    pool.verify().unwrap();
}

/// Three full spans of 200-byte objects, A, B and C in store order, and a fourth a quarter
/// full that stores go to. Returns the handles by span and the objects a span holds.
fn three_full_spans<S: PageSource>(pool: &mut Pool<S>) -> (Vec<Vec<Handle>>, usize) {
    let data = [5u8; 200];
    let class = class_of(pool, &data);
    let per_span = pool.class_stats(class).unwrap().slots_per_span as usize;
    assert!(per_span >= 16);
    let handles: Vec<Handle> = (0..3 * per_span + per_span / 4)
        .map(|_| pool.store(&data).unwrap())
        .collect();
    let spans = handles.chunks(per_span).map(<[Handle]>::to_vec).collect();
    (spans, per_span)
}

/// Frees all but every eighth object of `span`.
fn free_seven_eighths<S: PageSource>(pool: &mut Pool<S>, span: &[Handle]) -> Vec<Handle> {
    let mut kept = Vec::new();
    for (i, h) in span.iter().enumerate() {
        if i % 8 == 0 {
            kept.push(*h);
        } else {
            pool.free(*h);
        }
    }
    kept
}

#[test]
fn new_fill_span_is_the_fullest_though_frees_left_lists_stale() {
    let mut pool = Pool::new(HostPageSource::new());
    let (spans, _) = three_full_spans(&mut pool);
    // B and C lose one object each; A, listed last and so first on the list its first free
    // put it on, loses seven eighths, which leave it there.
    pool.free(spans[1][0]);
    pool.free(spans[2][0]);
    let kept = free_seven_eighths(&mut pool, &spans[0]);
    check(&pool);
    // The next store goes to the fullest span, B or C, not to A at the head of its stale list.
    let h = pool.store(&[5u8; 200]).unwrap();
    let mut mates = [h; 64];
    let n = pool.page_mates(h, &mut mates).unwrap();
    assert!(n > 0);
    for m in &mates[..n.min(mates.len())] {
        assert!(!spans[0].contains(m), "stored among A's objects {kept:?}");
    }
    check(&pool);
}

#[test]
fn compaction_empties_the_emptiest_span_though_frees_left_lists_stale() {
    let mut pool = Pool::new(HostPageSource::new());
    let (spans, _) = three_full_spans(&mut pool);
    // A, listed first, is the emptiest; C, listed last, heads the list all three are on.
    let kept = free_seven_eighths(&mut pool, &spans[0]);
    pool.free(spans[1][0]);
    pool.free(spans[2][0]);
    check(&pool);
    let before = pool.stats();
    // As many moves as A has objects empty it, and free it, only if A is the source.
    let r = pool.compact(kept.len() as u32);
    check(&pool);
    let after = pool.stats();
    assert_eq!(r.moved as usize, kept.len());
    assert_eq!(after.spans, before.spans - 1, "moved {} objects", r.moved);
    for h in kept {
        read_back(&pool, h, &[5u8; 200]);
    }
}

/// The class that objects like `data` go to.
fn class_of<S: PageSource>(pool: &mut Pool<S>, data: &[u8]) -> usize {
    (0..NR_CLASSES)
        .find(|&c| {
            pool.class_stats(c)
                .is_some_and(|cs| cs.max_len as usize >= data.len())
        })
        .unwrap()
}

#[test]
fn frees_apply_in_batches() {
    let mut src = HostPageSource::new();
    let mut pool = Pool::new(&mut src);
    // Huge objects: a page each.
    let handles: Vec<Handle> = (0..FREE_BATCH)
        .map(|_| pool.store(&[7; PAGE_SIZE]).unwrap())
        .collect();
    let held = pool.source().live_pages();
    for &h in &handles[1..] {
        pool.free(h);
    }
    assert_eq!(pool.source().live_pages(), held);
    pool.free(handles[0]);
    // Their pages, and the spare of a pool left empty.
    assert_eq!(
        pool.source().live_pages(),
        held - FREE_BATCH - SPARE as usize
    );
    assert_eq!(pool.stats().objects, 0);
    pool.verify().unwrap();
}

#[test]
fn page_mates_name_the_objects_sharing_pages() {
    let mut src = HostPageSource::new();
    let mut pool = Pool::new(&mut src);
    // Slots of 2048 bytes: objects pair up in pages.
    let hs: Vec<_> = (0..4)
        .map(|i| pool.store(&pattern(i, 2044)).unwrap())
        .collect();
    let mut out = [hs[0]; 8];
    assert_eq!(pool.page_mates(hs[0], &mut out), Ok(1));
    assert_eq!(out[0], hs[1]);
    assert_eq!(pool.page_mates(hs[3], &mut out), Ok(1));
    assert_eq!(out[0], hs[2]);
    // Freeing an object and its mates releases its page.
    let pages = pool.stats().data_pages;
    pool.free(hs[2]);
    pool.free(hs[3]);
    assert_eq!(pool.stats().data_pages, pages - 1);
    // 1500-byte objects straddle: the mates cover both pages under the object.
    let hs: Vec<_> = (0..8)
        .map(|i| pool.store(&pattern(i, 1496)).unwrap())
        .collect();
    let n = pool.page_mates(hs[2], &mut out).unwrap();
    assert!((2..=6).contains(&n), "{n} mates");
    for m in &out[..n] {
        assert!(hs.contains(m) && *m != hs[2]);
    }
    // Huge objects have pages of their own.
    let h = pool.store(&[9u8; 4096]).unwrap();
    assert_eq!(pool.page_mates(h, &mut out), Ok(0));
    // A short output buffer still gets the full count.
    assert_eq!(pool.page_mates(hs[2], &mut []), Ok(n));
}

#[test]
fn pool_struct_is_small() {
    struct Zst;
    impl PageSource for Zst {
        fn alloc_page(&mut self) -> Option<core::ptr::NonNull<u8>> {
            None
        }
        unsafe fn free_page(&mut self, _page: core::ptr::NonNull<u8>) {}
    }
    let size = core::mem::size_of::<Pool<Zst>>();
    assert!(size <= 2048, "Pool is {size} bytes");
    // An allocation failure on the very first store leaves nothing behind.
    let mut pool = Pool::new(Zst);
    assert_eq!(pool.store(b"x"), Err(StoreError::NoMemory));
    assert_eq!(pool.stats(), PoolStats::default());
    println!("size_of::<Pool<Zst>>() = {size}");
}

#[test]
fn handle_reuse_in_any_order_stays_consistent() {
    let mut pool = Pool::new(HostPageSource::new());
    let n = scaled(600);
    let mut items: Vec<_> = (0..n)
        .map(|i| {
            let d = pattern(i, 1 + (i as usize * 37) % 2000);
            (pool.store(&d).unwrap(), d)
        })
        .collect();
    // Free in a scrambled order, then store again: every handle taken comes off the free
    // list threaded through the 5-byte handle slots.
    let mut order: Vec<usize> = (0..items.len()).collect();
    for i in (1..order.len()).rev() {
        order.swap(i, (i * 7919 + 13) % (i + 1));
    }
    let mut freed = Vec::new();
    for &i in order.iter().take(items.len() / 2) {
        pool.free(items[i].0);
        freed.push(i);
    }
    check(&pool);
    for (k, &i) in freed.iter().enumerate() {
        let d = pattern(1000 + k as u64, 1 + (k * 53) % PAGE_SIZE);
        items[i] = (pool.store(&d).unwrap(), d);
        if k % 16 == 0 {
            check(&pool);
        }
    }
    check(&pool);
    for (h, d) in &items {
        read_back(&pool, *h, d);
    }
    // The header holds 24 handle bits; the largest small object fills its slot exactly.
    const { assert!(MAX_OBJECTS < 1 << (8 * SLOT_HEADER)) };
    let big = pattern(7, MAX_SMALL_OBJECT);
    let h = pool.store(&big).unwrap();
    read_back(&pool, h, &big);
    assert_eq!(
        pool.class_stats(NR_CLASSES - 2).unwrap().max_len as usize,
        MAX_SMALL_OBJECT
    );
    check(&pool);
}

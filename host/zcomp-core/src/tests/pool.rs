// SPDX-License-Identifier: GPL-2.0

use super::pattern;
use crate::host::HostPageSource;
use crate::page_source::{OwnedPage, PageSource, PAGE_SIZE};
use crate::pool::*;

pub(super) fn check<S: PageSource>(pool: &Pool<S>) {
    if let Err(e) = pool.verify() {
        panic!("verify: {e:?}");
    }
}

pub(super) fn read_back<S: PageSource>(pool: &Pool<S>, h: Handle, want: &[u8]) {
    let mut buf = [0u8; PAGE_SIZE];
    assert_eq!(pool.read(h, &mut buf), Ok(want.len()));
    assert_eq!(&buf[..want.len()], want);
    let mut scratch = [0u8; PAGE_SIZE];
    assert_eq!(pool.map(h, &mut scratch).unwrap(), want);
    assert_eq!(pool.object_len(h), Ok(want.len()));
}

/// The address of the bytes of `h` in the pool, if they lie in one page (so that
/// [`Pool::map`] lends them rather than copying them out).
pub(super) fn address<S: PageSource>(pool: &Pool<S>, h: Handle) -> Option<usize> {
    let mut scratch = [0u8; PAGE_SIZE];
    let scratch_at = scratch.as_ptr() as usize;
    let at = pool.map(h, &mut scratch).unwrap().as_ptr() as usize;
    (at != scratch_at).then_some(at)
}

/// `n`, or a tenth of it under Miri.
pub(super) fn scaled(n: u64) -> u64 {
    if cfg!(miri) {
        n / 10
    } else {
        n
    }
}

/// The class that objects of `len` bytes go to.
fn class_of<S: PageSource>(pool: &Pool<S>, len: usize) -> usize {
    (0..NR_CLASSES)
        .find(|&c| {
            pool.class_stats(c)
                .is_some_and(|cs| cs.max_len as usize >= len)
        })
        .unwrap()
}

/// Slots in a span of the class of `len`-byte objects.
pub(super) fn slots_per_span<S: PageSource>(pool: &Pool<S>, len: usize) -> usize {
    pool.class_stats(class_of(pool, len))
        .unwrap()
        .slots_per_span as usize
}

#[test]
#[cfg_attr(miri, ignore = "566 s under Miri; arithmetic only")]
fn size_class_is_where_the_pool_puts_objects() {
    let pool = Pool::new(HostPageSource::new());
    let mut prev = 0;
    for len in 1..=PAGE_SIZE {
        let c = size_class(len);
        assert_eq!(c, class_of(&pool, len), "len {len}");
        assert!(c >= prev, "classes grow with the length");
        prev = c;
    }
    assert_eq!(size_class(MAX_SMALL_OBJECT), NR_SMALL_CLASSES - 1);
    assert_eq!(size_class(MAX_SMALL_OBJECT + 1), NR_SMALL_CLASSES);
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
    assert_eq!(pool.source().live_pages() as u64, st.pages_held);
    for (h, _) in held {
        pool.free(h).unwrap();
        check(&pool);
    }
    let st = pool.stats();
    assert_eq!(
        (st.objects, st.bytes_stored, st.data_pages, st.spans),
        (0, 0, 0, 0)
    );
    assert_eq!(st.pages_held, st.meta_pages);
    assert_eq!(pool.source().live_pages() as u64, st.meta_pages);
    drop(pool);
    assert_eq!(src.live_pages(), 0);
}

#[test]
fn rejects_bad_lengths() {
    let mut pool = Pool::new(HostPageSource::new());
    assert_eq!(pool.store(&[]), Err(Error::Empty));
    assert_eq!(pool.store(&[0u8; PAGE_SIZE + 1]), Err(Error::TooLarge));
    assert_eq!(pool.stats().pages_held, 0);
    assert_eq!(pool.source().total_allocs(), 0);
}

#[test]
fn read_into_short_buffer_fails() {
    let mut pool = Pool::new(HostPageSource::new());
    let h = pool.store(&[7u8; 100]).unwrap();
    let mut small = [0u8; 99];
    assert_eq!(pool.read(h, &mut small), Err(Error::BufferTooSmall));
    assert_eq!(small, [0u8; 99]);
    let mut exact = [0u8; 100];
    assert_eq!(pool.read(h, &mut exact), Ok(100));
    assert_eq!(exact, [7u8; 100]);
}

#[test]
fn freeing_returns_pages_at_once() {
    let mut src = HostPageSource::new();
    let mut pool = Pool::new(&mut src);
    // Slots of 2048 bytes: two objects per page, no straddling.
    let a = pool.store(&[1u8; 2044]).unwrap();
    let b = pool.store(&[2u8; 2044]).unwrap();
    let c = pool.store(&[3u8; 2044]).unwrap();
    assert_eq!(pool.stats().data_pages, 2);
    // `c` is alone in its page, which goes with it.
    let held = pool.source().live_pages();
    pool.free(c).unwrap();
    assert_eq!(pool.stats().data_pages, 1);
    assert_eq!(pool.source().live_pages(), held - 1);
    assert_eq!(pool.stats().pages_freed_on_free, 1);
    // `a` shares its page with `b`: the page stays until both are gone.
    pool.free(a).unwrap();
    assert_eq!(pool.stats().data_pages, 1);
    read_back(&pool, b, &[2u8; 2044]);
    pool.free(b).unwrap();
    assert_eq!(pool.stats().data_pages, 0);
    assert_eq!(pool.stats().spans, 0);
    assert_eq!(pool.stats().pages_freed_on_free, 2);
    assert_eq!(pool.source().live_pages(), held - 2);
    check(&pool);

    // A huge object has a page of its own, which each free gives back.
    let huge: Vec<Handle> = (0..12)
        .map(|i| pool.store(&pattern(i, PAGE_SIZE)).unwrap())
        .collect();
    assert_eq!(pool.stats().data_pages, 12);
    for (i, &h) in huge.iter().enumerate() {
        let held = pool.source().live_pages();
        pool.free(h).unwrap();
        assert_eq!(pool.stats().data_pages, 11 - i as u64);
        assert_eq!(pool.source().live_pages(), held - 1);
        check(&pool);
    }

    // Objects of 1500 bytes straddle pages: a free gives back exactly the pages that no
    // live object overlaps any more.
    let hs: Vec<Handle> = (0..8)
        .map(|i| pool.store(&pattern(i, 1500)).unwrap())
        .collect();
    let pages = pool.stats().data_pages;
    assert!(pages >= 3);
    for &h in hs.iter().rev() {
        let before = pool.stats();
        let held = pool.source().live_pages() as u64;
        pool.free(h).unwrap();
        let after = pool.stats();
        let freed = after.pages_freed_on_free - before.pages_freed_on_free;
        assert_eq!(after.data_pages, before.data_pages - freed);
        assert_eq!(pool.source().live_pages() as u64, held - freed);
        check(&pool);
    }
    assert_eq!(pool.stats().data_pages, 0);
    assert_eq!(pool.stats().pages_held, pool.stats().meta_pages);
    drop(pool);
    assert_eq!(src.live_pages(), 0);
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
                    assert_eq!(e, Error::NoMemory);
                    failures += 1;
                }
            }
            check(&pool);
            assert_eq!(pool.source().live_pages() as u64, pool.stats().pages_held);
        }
        assert!(failures > 0);
        assert_eq!(pool.stats().objects, items.len() as u64);
        for (h, d) in &items {
            read_back(&pool, *h, d);
        }
        // Compaction under memory pressure stays consistent.
        for (i, (h, _)) in items.iter().enumerate() {
            if i % 2 == 1 {
                pool.free(*h).unwrap();
            }
        }
        while !pool.compact(16).unwrap().done {
            check(&pool);
            if pool.compact(16).unwrap().moved == 0 {
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

/// A store that fails for want of a page keeps no data page and no span, so the pool holds
/// exactly what it held before, metadata pages aside; the stores after it work as usual.
#[test]
fn failed_store_leaves_no_pages_behind() {
    let lens: &[usize] = if cfg!(miri) {
        &[1500, PAGE_SIZE]
    } else {
        &[100, 1500, 3000, PAGE_SIZE]
    };
    for &len in lens {
        let per_span = slots_per_span(&Pool::new(HostPageSource::new()), len);
        // An empty pool, one with a span started, and one whose spans are all full (one
        // full span only under Miri).
        let prefills = if cfg!(miri) {
            vec![0, 1, per_span]
        } else {
            vec![0, 1, 2, per_span, 2 * per_span]
        };
        for prefill in prefills {
            // Every budget from none up to the first that lets the store through: each of
            // the allocations the store makes fails once.
            for budget in 0.. {
                assert!(budget < 8, "a store took more than 7 pages");
                let mut src = HostPageSource::new();
                let mut pool = Pool::new(&mut src);
                let mut items: Vec<_> = (0..prefill as u64)
                    .map(|i| {
                        let d = pattern(i, len);
                        (pool.store(&d).unwrap(), d)
                    })
                    .collect();
                let before = pool.stats();
                pool.source_mut().fail_after(Some(budget));
                let d = pattern(9999, len);
                let stored = match pool.store(&d) {
                    Ok(h) => {
                        items.push((h, d));
                        true
                    }
                    Err(e) => {
                        assert_eq!(e, Error::NoMemory);
                        check(&pool);
                        let after = pool.stats();
                        let what = format!("{len} bytes, {prefill} stored, budget {budget}");
                        assert_eq!(after.data_pages, before.data_pages, "{what}");
                        assert_eq!(after.spans, before.spans, "{what}");
                        assert_eq!(after.objects, before.objects, "{what}");
                        assert_eq!(after.bytes_stored, before.bytes_stored, "{what}");
                        assert_eq!(after.huge_objects, before.huge_objects, "{what}");
                        assert!(after.meta_pages >= before.meta_pages, "{what}");
                        // Every page the source handed out is one the pool counts.
                        assert_eq!(pool.source().live_pages() as u64, after.pages_held);
                        // The store works once pages can be had again.
                        pool.source_mut().fail_after(None);
                        let d = pattern(9999, len);
                        items.push((pool.store(&d).unwrap(), d));
                        false
                    }
                };
                check(&pool);
                for (h, d) in &items {
                    read_back(&pool, *h, d);
                }
                pool.source_mut().fail_after(None);
                for (h, _) in items {
                    pool.free(h).unwrap();
                }
                let st = pool.stats();
                assert_eq!((st.objects, st.data_pages, st.spans), (0, 0, 0));
                assert_eq!(pool.source().live_pages() as u64, st.meta_pages);
                drop(pool);
                assert_eq!(src.live_pages(), 0);
                if stored {
                    break;
                }
            }
        }
    }
}

#[test]
fn stats_per_class_add_up() {
    let mut pool = Pool::new(HostPageSource::new());
    for i in 0..scaled(500) {
        pool.store(&pattern(i, 1 + (i as usize * 97) % PAGE_SIZE))
            .unwrap();
    }
    let classes: Vec<ClassStats> = (0..NR_CLASSES)
        .map(|c| pool.class_stats(c).unwrap())
        .collect();
    let objects: u64 = classes.iter().map(|cs| cs.objects as u64).sum();
    let spans: u64 = classes.iter().map(|cs| cs.spans as u64).sum();
    assert_eq!(objects, scaled(500));
    assert!(pool.class_stats(NR_CLASSES).is_none());
    let st = pool.stats();
    assert_eq!(spans, st.spans);
    assert_eq!(
        classes[NR_CLASSES - 1].objects as u64,
        st.huge_objects,
        "the huge class is last"
    );
    assert_eq!(st.pages_held, st.data_pages + st.meta_pages);
    assert!(st.meta_pages > 0);
    assert_eq!(
        st.fragmentation_bytes,
        st.data_pages * PAGE_SIZE as u64 - st.bytes_stored
    );
    assert_eq!(pool.source().live_pages() as u64, st.pages_held);
}

#[test]
fn handles_are_reused_after_free() {
    let mut pool = Pool::new(HostPageSource::new());
    let a = pool.store(b"hello").unwrap();
    pool.free(a).unwrap();
    assert_eq!(pool.stats().objects, 0);
    let b = pool.store(b"world").unwrap();
    assert_eq!(a, b);
    read_back(&pool, b, b"world");
    assert_eq!(Handle::from_raw(b.to_raw()), Some(b));
    assert_eq!(Handle::from_raw(0), None);
}

/// A second free of a handle, or a free of one never handed out, fails and changes nothing:
/// the pool stays consistent and does not hand the handle out twice.
#[test]
fn double_free_returns_bad_handle_and_changes_nothing() {
    let mut src = HostPageSource::new();
    let mut pool = Pool::new(&mut src);
    let a = pool.store(b"first").unwrap();
    let b = pool.store(&pattern(2, 3000)).unwrap();
    let huge = pool.store(&pattern(3, PAGE_SIZE)).unwrap();
    pool.free(a).unwrap();
    pool.free(huge).unwrap();
    let before = pool.stats();
    let live = pool.source().live_pages();
    let never = [
        Handle::from_raw(1000).unwrap(),
        Handle::from_raw(MAX_OBJECTS as u32).unwrap(),
        Handle::from_raw(u32::MAX).unwrap(),
    ];
    for h in [a, huge, a].into_iter().chain(never) {
        assert_eq!(pool.free(h), Err(Error::BadHandle), "{h:?}");
        assert_eq!(pool.stats(), before);
        assert_eq!(pool.source().live_pages(), live);
        check(&pool);
        let (mut buf, mut scratch) = ([0u8; PAGE_SIZE], [0u8; PAGE_SIZE]);
        assert_eq!(pool.read(h, &mut buf), Err(Error::BadHandle));
        assert_eq!(pool.object_len(h), Err(Error::BadHandle));
        assert_eq!(pool.map(h, &mut scratch), Err(Error::BadHandle));
    }
    read_back(&pool, b, &pattern(2, 3000));
    // Each freed handle is handed out once.
    let c = pool.store(b"third").unwrap();
    let d = pool.store(b"fourth").unwrap();
    let e = pool.store(b"fifth").unwrap();
    let mut all = [b, c, d, e];
    all.sort();
    assert!(all.windows(2).all(|w| w[0] != w[1]), "{all:?}");
    read_back(&pool, b, &pattern(2, 3000));
    read_back(&pool, c, b"third");
    read_back(&pool, d, b"fourth");
    read_back(&pool, e, b"fifth");
    check(&pool);
    for h in [b, c, d, e] {
        pool.free(h).unwrap();
    }
    assert_eq!(pool.stats().objects, 0);
    assert_eq!(pool.stats().data_pages, 0);
    check(&pool);
    drop(pool);
    assert_eq!(src.live_pages(), 0);
}

#[test]
fn stores_fill_freed_slots_before_taking_pages() {
    let mut pool = Pool::new(HostPageSource::new());
    let data = [5u8; 200];
    let per_span = slots_per_span(&pool, data.len());
    // Three full spans and a quarter of a fourth.
    let handles: Vec<Handle> = (0..3 * per_span + per_span / 4)
        .map(|_| pool.store(&data).unwrap())
        .collect();
    // Every other object of the full spans goes: no page of theirs empties, and each is
    // fuller than the fourth.
    for h in handles[..3 * per_span].iter().step_by(2) {
        pool.free(*h).unwrap();
    }
    let before = pool.stats();
    // The freed slots take new objects before the fourth span's empty pages are populated.
    for _ in 0..per_span {
        pool.store(&data).unwrap();
        assert_eq!(pool.stats().data_pages, before.data_pages);
    }
    assert_eq!(pool.stats().spans, before.spans);
    check(&pool);
}

/// A store goes to the fullest listed span of its class: after frees, to the span that
/// lost fewest objects, then to the next fullest, and to a new span only once every span of
/// the class is full.
#[test]
fn store_goes_to_the_fullest_listed_span() {
    let mut pool = Pool::new(HostPageSource::new());
    // Slots of 2048 bytes, two to a page: every object is in one page, where `address`
    // finds it.
    let len = 2044;
    let data = [5u8; 2044];
    let per_span = slots_per_span(&pool, len);
    assert!(per_span >= 16);
    let handles: Vec<Handle> = (0..3 * per_span)
        .map(|_| pool.store(&data).unwrap())
        .collect();
    let (a, rest) = handles.split_at(per_span);
    let (b, c) = rest.split_at(per_span);
    // A keeps half of its objects, B all but one, C one in eight, each a fullness list of
    // its own.
    let mut a_free = Vec::new();
    for (i, &h) in a.iter().enumerate() {
        if i % 2 == 1 {
            a_free.push(address(&pool, h).unwrap());
            pool.free(h).unwrap();
        }
    }
    let b_free = address(&pool, b[3]).unwrap();
    pool.free(b[3]).unwrap();
    for (i, &h) in c.iter().enumerate() {
        if i % 8 != 0 {
            pool.free(h).unwrap();
        }
    }
    check(&pool);
    let before = pool.stats();
    // B first, where the store takes the freed slot.
    let h = pool.store(&data).unwrap();
    assert_eq!(address(&pool, h), Some(b_free));
    // Then A, into its freed slots, lowest first, with no new page.
    for &want in &a_free {
        let h = pool.store(&data).unwrap();
        assert_eq!(address(&pool, h), Some(want));
        assert_eq!(pool.stats().data_pages, before.data_pages);
    }
    // Then C, which gave back its empty pages, before any new span.
    for _ in 0..per_span - per_span.div_ceil(8) {
        pool.store(&data).unwrap();
        assert_eq!(pool.stats().spans, before.spans);
    }
    assert_eq!(
        pool.stats().objects as usize,
        3 * per_span,
        "every span is full"
    );
    check(&pool);
    pool.store(&data).unwrap();
    assert_eq!(pool.stats().spans, before.spans + 1);
    check(&pool);
}

/// Three full spans of 200-byte objects, A, B and C in store order, and a fourth a quarter
/// full. Returns the handles by span and the objects a span holds.
pub(super) fn three_full_spans<S: PageSource>(pool: &mut Pool<S>) -> (Vec<Vec<Handle>>, usize) {
    let data = [5u8; 200];
    let per_span = slots_per_span(pool, data.len());
    assert!(per_span >= 16);
    let handles: Vec<Handle> = (0..3 * per_span + per_span / 4)
        .map(|_| pool.store(&data).unwrap())
        .collect();
    let spans = handles.chunks(per_span).map(<[Handle]>::to_vec).collect();
    (spans, per_span)
}

/// Frees all but every eighth object of `span`.
pub(super) fn free_seven_eighths<S: PageSource>(
    pool: &mut Pool<S>,
    span: &[Handle],
) -> Vec<Handle> {
    let mut kept = Vec::new();
    for (i, h) in span.iter().enumerate() {
        if i % 8 == 0 {
            kept.push(*h);
        } else {
            pool.free(*h).unwrap();
        }
    }
    kept
}

#[test]
fn pool_struct_is_small() {
    struct Zst;
    impl PageSource for Zst {
        fn alloc_page(&mut self) -> Option<OwnedPage> {
            None
        }
        unsafe fn free_page(&mut self, _page: OwnedPage) {}
    }
    let size = core::mem::size_of::<Pool<Zst>>();
    assert!(size <= 2048, "Pool is {size} bytes");
    // An allocation failure on the very first store leaves nothing behind.
    let mut pool = Pool::new(Zst);
    assert_eq!(pool.store(b"x"), Err(Error::NoMemory));
    assert_eq!(pool.stats(), PoolStats::default());
    check(&pool);
    assert_eq!(
        pool.compact(10),
        Ok(CompactStats {
            moved: 0,
            pages_freed: 0,
            done: true
        })
    );
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
        pool.free(items[i].0).unwrap();
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

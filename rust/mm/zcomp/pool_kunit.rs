// SPDX-License-Identifier: GPL-2.0

//! KUnit tests of the pool on real kernel pages.
//!
//! The host tests cover the pool's logic against a model; these check what only the kernel
//! can: that the pool works on pages from the page allocator, taken with `GFP_NOWAIT` under the
//! engine's spinlock (lockdep and `CONFIG_DEBUG_ATOMIC_SLEEP` watch that), and that the pages it
//! reports holding are the pages it gives back.

use crate::pages::KernelPages;
use crate::zcore::page_source::PAGE_SIZE;
use crate::zcore::pool::{Handle, Pool, MAX_SMALL_OBJECT};
use core::sync::atomic::{AtomicUsize, Ordering};
use kernel::{
    bindings, c_str,
    kunit::{kunit_case, kunit_case_null},
    new_spinlock,
    prelude::*,
    sync::SpinLock,
};

/// Reports a failed check to KUnit and ends the test case.
macro_rules! check {
    ($cond:expr) => {
        kernel::kunit_assert!("zcomp_pool", "pool_kunit.rs", 0, $cond)
    };
}

/// Whether the pool passes its own walk of every invariant. The walk is built into debug
/// builds (`CONFIG_RUST_DEBUG_ASSERTIONS`) only; elsewhere the read-back checks stand alone.
fn consistent(pool: &SpinLock<Pool<KernelPages>>) -> bool {
    #[cfg(debug_assertions)]
    let ok = pool.lock().verify().is_ok();
    #[cfg(not(debug_assertions))]
    let ok = {
        let _ = pool;
        true
    };
    ok
}

/// Object lengths around every kind of boundary: the smallest, class edges, objects that
/// straddle two pages, the largest small object, the smallest huge one, and a raw page.
const LENGTHS: [usize; 12] = [
    1,
    15,
    16,
    17,
    100,
    1000,
    2047,
    2900,
    MAX_SMALL_OBJECT,
    MAX_SMALL_OBJECT + 1,
    4000,
    PAGE_SIZE,
];

/// Objects of each length: enough to need several spans in every class.
const PER_LENGTH: usize = 48;

/// The byte at `i` of the `n`-th test object: distinct per object and position.
fn pattern(n: usize, i: usize) -> u8 {
    (n.wrapping_mul(131) ^ i.wrapping_mul(7) ^ (i >> 8)) as u8
}

fn fill(buf: &mut [u8], n: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = pattern(n, i);
    }
}

fn is_pattern(buf: &[u8], n: usize) -> bool {
    buf.iter().enumerate().all(|(i, &b)| b == pattern(n, i))
}

/// Stored objects: their handles and lengths, in store order.
struct Stored {
    handles: KVec<Option<Handle>>,
    lens: KVec<usize>,
}

/// Stores `PER_LENGTH` objects of every length in `LENGTHS` through the lock.
fn store_all(pool: &SpinLock<Pool<KernelPages>>, buf: &mut [u8]) -> Result<Stored> {
    let mut stored = Stored {
        handles: KVec::new(),
        lens: KVec::new(),
    };
    for _ in 0..PER_LENGTH {
        for &len in LENGTHS.iter() {
            let n = stored.lens.len();
            fill(&mut buf[..len], n);
            let handle = pool.lock().store(&buf[..len]).map_err(|_| ENOMEM)?;
            stored.handles.push(Some(handle), GFP_KERNEL)?;
            stored.lens.push(len, GFP_KERNEL)?;
        }
    }
    Ok(stored)
}

/// Reads back every live object and checks its length and bytes.
fn all_intact(pool: &SpinLock<Pool<KernelPages>>, stored: &Stored, buf: &mut [u8]) -> bool {
    stored.handles.iter().enumerate().all(|(n, h)| match h {
        None => true,
        Some(h) => {
            matches!(pool.lock().read(*h, buf), Ok(len) if len == stored.lens[n])
                && is_pattern(&buf[..stored.lens[n]], n)
        }
    })
}

/// Pages the suite's pools hold.
static KUNIT_PAGES: AtomicUsize = AtomicUsize::new(0);

/// A pool behind a spinlock, as the engine keeps it.
type LockedPool = Pin<KBox<SpinLock<Pool<KernelPages>>>>;

/// A pool holding `PER_LENGTH` objects of every length in `LENGTHS`, and a page-sized buffer.
fn filled_pool() -> Result<(LockedPool, KVec<u8>, Stored)> {
    let pool = KBox::pin_init(
        new_spinlock!(
            Pool::new(KernelPages::new(&KUNIT_PAGES)),
            "zcomp_kunit_pool"
        ),
        GFP_KERNEL,
    )?;
    let mut buf = KVec::from_elem(0u8, PAGE_SIZE, GFP_KERNEL)?;
    let stored = store_all(&pool, &mut buf)?;
    Ok((pool, buf, stored))
}

/// Store, read back, free: every byte comes back and every page goes back.
extern "C" fn store_read_free(_test: *mut bindings::kunit) {
    let Ok((pool, mut buf, mut stored)) = filled_pool() else {
        check!(false);
        return;
    };

    let stats = pool.lock().stats();
    let bytes: usize = stored.lens.iter().sum();
    check!(stats.objects == stored.lens.len() as u64);
    check!(stats.bytes_stored == bytes as u64);
    // Dense enough to matter, and no page unaccounted for.
    check!(stats.pages_held * (PAGE_SIZE as u64) >= stats.bytes_stored);
    check!(stats.data_pages + stats.meta_pages == stats.pages_held);
    // The page source counts what the pool holds.
    check!(KUNIT_PAGES.load(Ordering::Relaxed) as u64 == stats.pages_held);
    check!(all_intact(&pool, &stored, &mut buf));
    check!(consistent(&pool));

    for h in stored.handles.iter_mut() {
        if let Some(h) = h.take() {
            check!(pool.lock().free(h).is_ok());
        }
    }
    let stats = pool.lock().stats();
    check!(stats.objects == 0 && stats.bytes_stored == 0);
    check!(stats.data_pages == 0);
    check!(consistent(&pool));
}

/// Free every other object, compact, and check that pages came back and nothing moved wrongly.
extern "C" fn compact_returns_pages(_test: *mut bindings::kunit) {
    let Ok((pool, mut buf, mut stored)) = filled_pool() else {
        check!(false);
        return;
    };
    for h in stored.handles.iter_mut().step_by(2) {
        if let Some(h) = h.take() {
            check!(pool.lock().free(h).is_ok());
        }
    }
    let before = pool.lock().stats();

    // Compact in bounded steps, dropping the lock between them as the engine does.
    let mut freed = 0u64;
    for _ in 0..10_000 {
        let Ok(step) = pool.lock().compact(64) else {
            check!(false);
            return;
        };
        freed += u64::from(step.pages_freed);
        if step.done {
            break;
        }
    }
    let after = pool.lock().stats();

    check!(freed > 0);
    check!(after.objects == before.objects && after.bytes_stored == before.bytes_stored);
    check!(after.data_pages < before.data_pages);
    check!(all_intact(&pool, &stored, &mut buf));
    check!(consistent(&pool));
}

static mut CASES: [bindings::kunit_case; 3] = [
    kunit_case(c_str!("store_read_free"), store_read_free),
    kunit_case(c_str!("compact_returns_pages"), compact_returns_pages),
    kunit_case_null(),
];

kernel::kunit_unsafe_test_suite!(zcomp_pool, CASES);

// SPDX-License-Identifier: GPL-2.0

//! Random operation sequences on the pool, checked against a model and, in builds with
//! debug assertions (`cargo fuzz build -a`), `Pool::verify`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcomp_core::host::HostPageSource;
use zcomp_core::page_source::{PageSource, PAGE_SIZE};
use zcomp_core::pool::{Error, Handle, Pool};

fn fill(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i as u8).wrapping_mul(31)))
        .collect()
}

/// Checks the pool's invariants where its walk of them is built, and that the source has
/// handed out exactly the pages the pool says it holds.
fn check<S: PageSource>(pool: &Pool<S>, live_pages: usize) {
    #[cfg(debug_assertions)]
    if let Err(e) = pool.verify() {
        panic!("verify: {e:?}");
    }
    assert_eq!(live_pages as u64, pool.stats().pages_held);
}

fuzz_target!(|data: &[u8]| {
    let mut src = HostPageSource::new();
    {
        let mut pool = Pool::new(&mut src);
        let mut model: Vec<(Handle, Vec<u8>)> = Vec::new();
        // Freed handles not handed out since.
        let mut freed: Vec<Handle> = Vec::new();
        let mut buf = [0u8; PAGE_SIZE];
        let mut it = data.chunks_exact(3);
        for op in &mut it {
            let arg = u16::from_le_bytes([op[1], op[2]]) as usize;
            let before = pool.stats();
            match op[0] % 9 {
                0..=2 => {
                    let len = 1 + arg % PAGE_SIZE;
                    let d = fill(op[0], len);
                    match pool.store(&d) {
                        Ok(h) => {
                            freed.retain(|f| *f != h);
                            model.push((h, d));
                        }
                        Err(e) => {
                            assert_eq!(e, Error::NoMemory);
                            assert_eq!(pool.stats().data_pages, before.data_pages);
                            assert_eq!(pool.stats().spans, before.spans);
                        }
                    }
                }
                3 | 4 if !model.is_empty() => {
                    let (h, _) = model.swap_remove(arg % model.len());
                    assert_eq!(pool.free(h), Ok(()));
                    freed.push(h);
                    let after = pool.stats();
                    let gone = after.pages_freed_on_free - before.pages_freed_on_free;
                    assert_eq!(after.data_pages, before.data_pages - gone);
                }
                5 if !model.is_empty() => {
                    let (h, d) = &model[arg % model.len()];
                    assert_eq!(pool.read(*h, &mut buf), Ok(d.len()));
                    assert_eq!(&buf[..d.len()], &d[..]);
                }
                6 => {
                    let max = 1 + arg as u32 % 64;
                    let r = pool.compact(max).expect("compact");
                    assert!(r.moved <= max);
                }
                7 => {
                    let n = arg % 16;
                    pool.source_mut()
                        .fail_after(if n == 0 { None } else { Some(n as u64) });
                }
                8 if !freed.is_empty() => {
                    let h = freed[arg % freed.len()];
                    assert_eq!(pool.free(h), Err(Error::BadHandle));
                    assert_eq!(pool.read(h, &mut buf), Err(Error::BadHandle));
                    assert_eq!(pool.stats(), before);
                }
                _ => {}
            }
        }
        check(&pool, pool.source().live_pages());
        assert_eq!(pool.stats().objects, model.len() as u64);
        pool.source_mut().fail_after(None);
        while !pool.compact(64).expect("compact").done {}
        check(&pool, pool.source().live_pages());
        let mut scratch = [0u8; PAGE_SIZE];
        for (h, d) in &model {
            assert_eq!(pool.map(*h, &mut scratch).unwrap(), &d[..]);
        }
        for (h, _) in model {
            assert_eq!(pool.free(h), Ok(()));
        }
        assert_eq!(pool.stats().data_pages, 0);
        check(&pool, pool.source().live_pages());
    }
    assert_eq!(src.live_pages(), 0);
});

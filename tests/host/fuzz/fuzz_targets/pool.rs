// SPDX-License-Identifier: GPL-2.0

//! Random operation sequences on the pool, checked against a model and `Pool::verify`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use zcomp_core::host::HostPageSource;
use zcomp_core::page_source::PAGE_SIZE;
use zcomp_core::pool::{Handle, Pool, StoreError};

fn fill(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| seed.wrapping_add((i as u8).wrapping_mul(31)))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let mut src = HostPageSource::new();
    {
        let mut pool = Pool::new(&mut src);
        let mut model: Vec<(Handle, Vec<u8>)> = Vec::new();
        let mut buf = [0u8; PAGE_SIZE];
        let mut it = data.chunks_exact(3);
        for op in &mut it {
            let arg = u16::from_le_bytes([op[1], op[2]]) as usize;
            match op[0] % 8 {
                0..=2 => {
                    let len = 1 + arg % PAGE_SIZE;
                    let d = fill(op[0], len);
                    match pool.store(&d) {
                        Ok(h) => model.push((h, d)),
                        Err(e) => assert_eq!(e, StoreError::NoMemory),
                    }
                }
                3 | 4 if !model.is_empty() => {
                    let (h, _) = model.swap_remove(arg % model.len());
                    pool.free(h);
                }
                5 if !model.is_empty() => {
                    let (h, d) = &model[arg % model.len()];
                    assert_eq!(pool.read(*h, &mut buf), Ok(d.len()));
                    assert_eq!(&buf[..d.len()], &d[..]);
                }
                6 => {
                    pool.compact(1 + arg as u32 % 64);
                }
                7 => {
                    let n = arg % 16;
                    pool.source_mut()
                        .fail_after(if n == 0 { None } else { Some(n as u64) });
                }
                _ => {}
            }
        }
        if let Err(e) = pool.verify() {
            panic!("verify: {}", e.0);
        }
        assert_eq!(pool.stats().objects, model.len() as u64);
        pool.source_mut().fail_after(None);
        while !pool.compact(64).done {}
        let mut scratch = [0u8; PAGE_SIZE];
        for (h, d) in &model {
            assert_eq!(pool.map(*h, &mut scratch).unwrap(), &d[..]);
        }
        for (h, _) in model {
            pool.free(h);
        }
        assert_eq!(pool.stats().data_pages, 0);
    }
    assert_eq!(src.live_pages(), 0);
});

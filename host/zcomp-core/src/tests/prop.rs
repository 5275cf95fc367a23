// SPDX-License-Identifier: GPL-2.0

//! Random operation sequences against trivially correct models.

use proptest::prelude::*;

use super::pattern;
use crate::entry::*;
use crate::host::HostPageSource;
use crate::page_source::{PageSource, PAGE_SIZE};
use crate::pool::*;

#[derive(Clone, Debug)]
enum Op {
    Store {
        len: usize,
        seed: u64,
    },
    Free(usize),
    /// Frees a handle already freed and not handed out again.
    FreeAgain(usize),
    Read(usize),
    Compact(u32),
    Fail(u64),
}

fn len_strategy() -> impl Strategy<Value = usize> {
    prop_oneof![
        3 => 1usize..64,
        6 => 64usize..3000,
        2 => 3000usize..=PAGE_SIZE,
        1 => Just(PAGE_SIZE),
    ]
}

fn op_strategy() -> impl Strategy<Value = Op> {
    prop_oneof![
        10 => (len_strategy(), any::<u64>()).prop_map(|(len, seed)| Op::Store { len, seed }),
        6 => any::<usize>().prop_map(Op::Free),
        1 => any::<usize>().prop_map(Op::FreeAgain),
        3 => any::<usize>().prop_map(Op::Read),
        1 => (1u32..64).prop_map(Op::Compact),
        1 => (0u64..8).prop_map(Op::Fail),
    ]
}

pub(super) fn config() -> ProptestConfig {
    ProptestConfig {
        cases: if cfg!(miri) { 3 } else { 256 },
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

pub(super) fn max_ops() -> usize {
    if cfg!(miri) {
        40
    } else {
        400
    }
}

/// The pool's own check of its invariants, and that the source has handed out exactly the
/// pages the pool says it holds.
fn consistent<S: PageSource>(pool: &Pool<S>, live_pages: usize) -> Result<(), TestCaseError> {
    if let Err(e) = pool.verify() {
        return Err(TestCaseError::fail(format!("verify: {e:?}")));
    }
    prop_assert_eq!(live_pages as u64, pool.stats().pages_held);
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn pool_matches_model(ops in prop::collection::vec(op_strategy(), 1..max_ops())) {
        let mut src = HostPageSource::new();
        {
            let mut pool = Pool::new(&mut src);
            let mut model: Vec<(Handle, Vec<u8>)> = Vec::new();
            // Freed handles not handed out since.
            let mut freed: Vec<Handle> = Vec::new();
            let mut buf = [0u8; PAGE_SIZE];
            let mut scratch = [0u8; PAGE_SIZE];
            for op in ops {
                let before = pool.stats();
                match op {
                    Op::Store { len, seed } => {
                        let data = pattern(seed, len);
                        match pool.store(&data) {
                            Ok(h) => {
                                prop_assert!(model.iter().all(|(m, _)| *m != h));
                                freed.retain(|f| *f != h);
                                model.push((h, data));
                            }
                            Err(e) => {
                                prop_assert_eq!(e, Error::NoMemory);
                                // Nothing but metadata pages stays behind.
                                let after = pool.stats();
                                prop_assert_eq!(after.data_pages, before.data_pages);
                                prop_assert_eq!(after.spans, before.spans);
                            }
                        }
                    }
                    Op::Free(i) if !model.is_empty() => {
                        let (h, d) = model.swap_remove(i % model.len());
                        prop_assert_eq!(pool.free(h), Ok(()));
                        freed.push(h);
                        // The pages go back at once.
                        let after = pool.stats();
                        let gone = after.pages_freed_on_free - before.pages_freed_on_free;
                        prop_assert_eq!(after.data_pages, before.data_pages - gone);
                        prop_assert_eq!(after.bytes_stored, before.bytes_stored - d.len() as u64);
                        if model.is_empty() {
                            prop_assert_eq!((after.data_pages, after.spans), (0, 0));
                        }
                    }
                    Op::FreeAgain(i) if !freed.is_empty() => {
                        let h = freed[i % freed.len()];
                        prop_assert_eq!(pool.free(h), Err(Error::BadHandle));
                        prop_assert_eq!(pool.read(h, &mut buf), Err(Error::BadHandle));
                        prop_assert_eq!(pool.stats(), before);
                    }
                    Op::Read(i) if !model.is_empty() => {
                        let (h, d) = &model[i % model.len()];
                        prop_assert_eq!(pool.read(*h, &mut buf), Ok(d.len()));
                        prop_assert_eq!(&buf[..d.len()], &d[..]);
                        prop_assert_eq!(pool.map(*h, &mut scratch), Ok(&d[..]));
                        prop_assert_eq!(pool.object_len(*h), Ok(d.len()));
                    }
                    Op::Compact(n) => {
                        let r = pool
                            .compact(n)
                            .map_err(|e| TestCaseError::fail(format!("compact: {e:?}")))?;
                        let after = pool.stats();
                        prop_assert!(r.moved <= n);
                        prop_assert_eq!(after.objects_moved, before.objects_moved + r.moved as u64);
                        prop_assert_eq!(
                            after.pages_compacted,
                            before.pages_compacted + r.pages_freed as u64
                        );
                    }
                    Op::Fail(n) => {
                        // Fail after a few allocations, or stop failing.
                        pool.source_mut().fail_after(if n == 0 { None } else { Some(n) });
                    }
                    _ => {}
                }
                consistent(&pool, pool.source().live_pages())?;
                let st = pool.stats();
                prop_assert_eq!(st.objects, model.len() as u64);
                prop_assert_eq!(
                    st.bytes_stored,
                    model.iter().map(|(_, d)| d.len() as u64).sum::<u64>()
                );
            }
            // Every byte survives a full compaction.
            pool.source_mut().fail_after(None);
            while !pool.compact(32).map_err(|e| TestCaseError::fail(format!("{e:?}")))?.done {}
            consistent(&pool, pool.source().live_pages())?;
            for (h, d) in &model {
                prop_assert_eq!(pool.map(*h, &mut scratch), Ok(&d[..]));
            }
            for (h, _) in model.drain(..) {
                prop_assert_eq!(pool.free(h), Ok(()));
            }
            let st = pool.stats();
            prop_assert_eq!((st.objects, st.data_pages, st.spans), (0, 0, 0));
            consistent(&pool, pool.source().live_pages())?;
        }
        prop_assert_eq!(src.live_pages(), 0);
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn entry_decoding_is_canonical(bytes in any::<[u8; 16]>()) {
        if let Ok(e) = Entry::from_bytes(&bytes) {
            prop_assert_eq!(e.to_bytes(), bytes);
            // Rebuilding from the decoded state gives the same entry up to flags and links.
            let mut fresh = Entry::new(e.state()).unwrap();
            fresh.set_flags(e.flags());
            prop_assert_eq!(fresh.state(), e.state());
            prop_assert_eq!(fresh.flags(), e.flags());
        }
    }
}

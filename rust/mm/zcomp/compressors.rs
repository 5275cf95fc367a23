// SPDX-License-Identifier: GPL-2.0

//! The compressor layer: the engine's compression algorithms, each with a stream per CPU.
//!
//! An entry records which of the engine's [`NR_ALGOS`] algorithms compressed it, so entries
//! stay readable after the compressor of new stores changes. An algorithm is a name and the
//! level and dictionary it was given (see [`codec`](crate::codec)). Its users hold uses of
//! it: the swap frontend keeps those it selects for the engine's lifetime, a block device
//! gives its own back when it is reset, and the last use frees the algorithm. The same name
//! with the same parameters finds the same algorithm while it is in use.
//!
//! A stream is a transform and a buffer for one operation at a time. Each algorithm has one
//! per CPU id behind a mutex: a task that is preempted and moves keeps its stream locked, and
//! another task on its old CPU waits for it, as with zswap's per-CPU compression contexts.
//! Compression runs under that mutex only, never under a lock that other CPUs' stores, loads
//! or invalidations wait on. Decompression reads the object where it lies in its pool, under
//! the pool's lock held for reading, as zsmalloc maps an object: other loads share that lock,
//! and only a store, free or compaction in the same pool waits for it. The streams are made
//! when the algorithm is selected, never on the swap path: stores run in reclaim, and an
//! allocation under a stream's mutex would make reclaim wait on itself.

use crate::codec::{Codec, Params, Transform};
use crate::zcore::entry::NR_ALGOS;
use crate::zcore::page_source::PAGE_SIZE;
use core::sync::atomic::{AtomicPtr, AtomicU8, Ordering};
use kernel::{
    compress::Compressor, cpu, fmt, new_mutex, prelude::*, str::CStr, str::CString, sync::Mutex,
};

/// Room for the output of any algorithm on one page: LZO, for one, checks the length only
/// after compressing.
const STREAM_BUFFER: usize = 2 * PAGE_SIZE;

/// A transform and its output buffer.
struct Stream {
    tfm: Transform,
    buf: KVec<u8>,
}

/// One algorithm and its streams, one per CPU id.
///
/// The streams come first: they go before the codec, whose dictionaries zstd's contexts
/// refer to.
struct Algorithm {
    streams: KVec<Pin<KBox<Mutex<Stream>>>>,
    name: CString,
    params: Params,
    codec: Codec,
}

impl Algorithm {
    /// Makes the algorithm's streams. May sleep.
    fn new(name: &CStr, params: Params) -> Result<Self> {
        let codec = Codec::new(name, &params, PAGE_SIZE)?;
        let nr = cpu::nr_cpu_ids() as usize;
        let mut streams = KVec::with_capacity(nr, GFP_KERNEL)?;
        for _ in 0..nr {
            let stream = Stream {
                tfm: codec.transform(name)?,
                buf: KVec::from_elem(0, STREAM_BUFFER, GFP_KERNEL)?,
            };
            streams.push(
                KBox::pin_init(new_mutex!(stream, "zcomp_stream"), GFP_KERNEL)?,
                GFP_KERNEL,
            )?;
        }
        Ok(Self {
            streams,
            name: CString::try_from_fmt(fmt!("{}", name))?,
            params,
            codec,
        })
    }

    /// Runs `f` with the calling CPU's stream. May sleep.
    fn with_stream<R>(&self, f: impl FnOnce(&mut Transform, &mut [u8]) -> Result<R>) -> Result<R> {
        let cpu = cpu::current_cpu_hint() as usize % self.streams.len();
        let mut stream = self.streams[cpu].lock();
        let Stream { tfm, buf } = &mut *stream;
        f(tfm, buf)
    }
}

/// The algorithms in use, and the one the swap frontend's new stores use.
///
/// # Invariants
///
/// A non-null `algos[i]` points to an `Algorithm` leaked from a `KBox`, and `users[i]` is
/// not zero; it is freed, and the slot cleared, only by [`Compressors::release`] of its last
/// user. A null `algos[i]` has no users. `current` is below [`NR_ALGOS`] and `algos[current]`
/// is non-null, unless no algorithm was ever selected.
pub(crate) struct Compressors {
    algos: [AtomicPtr<Algorithm>; NR_ALGOS as usize],
    current: AtomicU8,
    /// How many uses [`Compressors::acquire`] handed out of each algorithm, and not yet
    /// released; the lock serialises adding and removing algorithms.
    users: Pin<KBox<Mutex<[u32; NR_ALGOS as usize]>>>,
}

impl Compressors {
    /// No algorithm yet.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            algos: core::array::from_fn(|_| AtomicPtr::new(core::ptr::null_mut())),
            current: AtomicU8::new(0),
            users: KBox::pin_init(
                new_mutex!([0; NR_ALGOS as usize], "zcomp_algorithms"),
                GFP_KERNEL,
            )?,
        })
    }

    fn get(&self, id: u8) -> Option<&Algorithm> {
        let ptr = self.algos.get(id as usize)?.load(Ordering::Acquire);
        // SAFETY: By the type invariant a non-null pointer is an `Algorithm` that only the
        // release of its last use frees, after which, by the safety requirements of
        // `release`, nobody compresses or decompresses with `id`; the acquire load pairs with
        // the release store that published it.
        unsafe { ptr.as_ref() }
    }

    /// Makes `name` the algorithm of the swap frontend's new stores; fails as
    /// [`Compressors::acquire`]. The use is never released: entries of the swap frontend
    /// compressed with an earlier algorithm may stay in the pools for as long as their pages
    /// stay swapped out. May sleep.
    pub(crate) fn select(&self, name: &CStr) -> Result {
        let id = self.acquire(name, &Params::default())?;
        self.current.store(id, Ordering::Release);
        Ok(())
    }

    /// A use of algorithm `name` with `params`: its number, which stays its own until the
    /// use is given back with [`Compressors::release`]. Fails with `ENOENT` if the crypto API
    /// has no such compression algorithm, with `ENOSPC` if [`NR_ALGOS`] others are in use,
    /// and as [`Params::for_algorithm`]. May sleep.
    pub(crate) fn acquire(&self, name: &CStr, params: &Params) -> Result<u8> {
        let params = params.for_algorithm(name)?;
        let mut users = self.users.lock();
        let mut free = None;
        for id in 0..NR_ALGOS {
            match self.get(id) {
                Some(algo)
                    if algo.name.as_bytes() == name.as_bytes() && algo.params.same(&params) =>
                {
                    users[id as usize] = users[id as usize].saturating_add(1);
                    return Ok(id);
                }
                Some(_) => {}
                None => {
                    free.get_or_insert(id);
                }
            }
        }
        let Some(id) = free else {
            pr_info!("{}: {} algorithms are in use already\n", name, NR_ALGOS);
            return Err(ENOSPC);
        };
        if !Compressor::exists(name) {
            return Err(ENOENT);
        }
        let algo = KBox::new(Algorithm::new(name, params)?, GFP_KERNEL)?;
        // INVARIANT: the slot was null and gets a leaked box and its first user; `current`
        // names it only after that.
        users[id as usize] = 1;
        self.algos[id as usize].store(KBox::into_raw(algo), Ordering::Release);
        Ok(id)
    }

    /// Gives back a use of algorithm `id`, and frees the algorithm if it was the last. May
    /// sleep.
    ///
    /// # Safety
    ///
    /// The use came from [`Compressors::acquire`] and is given back once. Nothing compresses
    /// or decompresses with `id` for the caller any more: no entry it made with `id` is left.
    pub(crate) unsafe fn release(&self, id: u8) {
        let mut users = self.users.lock();
        let Some(count) = users.get_mut(id as usize) else {
            return;
        };
        *count = count.saturating_sub(1);
        if *count == 0 {
            let ptr = self.algos[id as usize].swap(core::ptr::null_mut(), Ordering::AcqRel);
            if !ptr.is_null() {
                // SAFETY: By the type invariant `ptr` came from `KBox::into_raw`; it had no
                // other user, and by the safety requirements nothing uses it for this one.
                drop(unsafe { KBox::from_raw(ptr) });
            }
        }
    }

    /// The number of the algorithm of new stores, if one was selected.
    pub(crate) fn current(&self) -> Option<u8> {
        let id = self.current.load(Ordering::Acquire);
        self.get(id).map(|_| id)
    }

    /// Compresses `src` with algorithm `id` and calls `f` with the result, or fails with
    /// `E2BIG` if the result is not shorter than `src`. May sleep.
    pub(crate) fn compress<R>(
        &self,
        id: u8,
        src: &[u8; PAGE_SIZE],
        f: impl FnOnce(&[u8]) -> Result<R>,
    ) -> Result<R> {
        let algo = self.get(id).ok_or(EINVAL)?;
        algo.with_stream(|tfm, buf| {
            let len = algo.codec.compress(tfm, src, buf)?;
            if len >= PAGE_SIZE {
                return Err(E2BIG);
            }
            f(&buf[..len])
        })
    }

    /// Fills `dst` with the decompression, with algorithm `id`, of the bytes `source` hands
    /// to the function it is given; `source` also gets a page of scratch space for bytes it
    /// must gather first. Fails with `EIO` unless exactly a page comes out. May sleep, but
    /// not in `source`'s call to the function, so `source` may hold a spinlock around it: the
    /// synchronous algorithms decompress without sleeping or allocating, as zram relies on
    /// when it decompresses an object zsmalloc has mapped.
    pub(crate) fn decompress(
        &self,
        id: u8,
        dst: &mut [u8; PAGE_SIZE],
        source: impl FnOnce(&mut [u8; PAGE_SIZE], &mut dyn FnMut(&[u8]) -> Result) -> Result,
    ) -> Result {
        let algo = self.get(id).ok_or(EINVAL)?;
        algo.with_stream(|tfm, buf| {
            let scratch = buf.first_chunk_mut::<PAGE_SIZE>().ok_or(EINVAL)?;
            source(
                scratch,
                &mut |src| match algo.codec.decompress(tfm, src, dst) {
                    Ok(PAGE_SIZE) => Ok(()),
                    _ => Err(EIO),
                },
            )
        })
    }
}

impl Drop for Compressors {
    fn drop(&mut self) {
        for slot in &self.algos {
            let ptr = slot.swap(core::ptr::null_mut(), Ordering::Acquire);
            if !ptr.is_null() {
                // SAFETY: By the type invariant `ptr` came from `KBox::into_raw` and, with
                // `&mut self`, nothing else refers to it.
                drop(unsafe { KBox::from_raw(ptr) });
            }
        }
    }
}

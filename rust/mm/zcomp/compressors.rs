// SPDX-License-Identifier: GPL-2.0

//! The compressor layer: the engine's compression algorithms, each with a stream per CPU.
//!
//! An entry records which of the engine's [`NR_ALGOS`] algorithms compressed it, so entries
//! stay readable after the compressor of new stores changes. An algorithm is a name and the
//! level and dictionary it was given (see [`codec`](crate::codec)); once the engine has used
//! it, it keeps its number for the engine's lifetime: selecting the same name with the same
//! parameters again finds it.
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
struct Algorithm {
    name: CString,
    params: Params,
    codec: Codec,
    streams: KVec<Pin<KBox<Mutex<Stream>>>>,
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
            name: CString::try_from_fmt(fmt!("{}", name))?,
            params,
            codec,
            streams,
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

/// The algorithms the engine has used, and the one new stores use.
///
/// # Invariants
///
/// A non-null `algos[i]` points to an `Algorithm` leaked from a `KBox` that lives as long as
/// `self`; once non-null it never changes. `current` is below [`NR_ALGOS`] and `algos[current]`
/// is non-null, unless no algorithm was ever selected.
pub(crate) struct Compressors {
    algos: [AtomicPtr<Algorithm>; NR_ALGOS as usize],
    current: AtomicU8,
    /// Serialises [`Compressors::select`].
    select_lock: Pin<KBox<Mutex<()>>>,
}

impl Compressors {
    /// No algorithm yet.
    pub(crate) fn new() -> Result<Self> {
        Ok(Self {
            algos: core::array::from_fn(|_| AtomicPtr::new(core::ptr::null_mut())),
            current: AtomicU8::new(0),
            select_lock: KBox::pin_init(new_mutex!((), "zcomp_select"), GFP_KERNEL)?,
        })
    }

    fn get(&self, id: u8) -> Option<&Algorithm> {
        let ptr = self.algos.get(id as usize)?.load(Ordering::Acquire);
        // SAFETY: By the type invariant a non-null pointer is an `Algorithm` that lives as long
        // as `self`; the acquire load pairs with the release store that published it.
        unsafe { ptr.as_ref() }
    }

    /// Makes `name` the algorithm of the swap frontend's new stores; fails as
    /// [`Compressors::id_of`]. May sleep.
    pub(crate) fn select(&self, name: &CStr) -> Result {
        let id = self.id_of(name, &Params::default())?;
        self.current.store(id, Ordering::Release);
        Ok(())
    }

    /// The number of algorithm `name` with `params`, given one if it has none. Fails with
    /// `ENOENT` if the crypto API has no such compression algorithm, with `ENOSPC` if
    /// [`NR_ALGOS`] others have been used, and as [`Params::for_algorithm`]. May sleep.
    pub(crate) fn id_of(&self, name: &CStr, params: &Params) -> Result<u8> {
        let params = params.for_algorithm(name)?;
        let _guard = self.select_lock.lock();
        let mut free = None;
        for id in 0..NR_ALGOS {
            match self.get(id) {
                Some(algo)
                    if algo.name.as_bytes() == name.as_bytes() && algo.params.same(&params) =>
                {
                    return Ok(id)
                }
                Some(_) => {}
                None => {
                    free.get_or_insert(id);
                }
            }
        }
        let Some(id) = free else {
            pr_info!(
                "{}: no room for another algorithm or set of parameters\n",
                name
            );
            return Err(ENOSPC);
        };
        if !Compressor::exists(name) {
            return Err(ENOENT);
        }
        let algo = KBox::new(Algorithm::new(name, params)?, GFP_KERNEL)?;
        // INVARIANT: the slot was null and is published once, with a leaked box that
        // `Drop` frees; `current` names it only after that.
        self.algos[id as usize].store(KBox::into_raw(algo), Ordering::Release);
        Ok(id)
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

// SPDX-License-Identifier: GPL-2.0

//! Density and speed of the zcomp pool on real page data, side by side with zbud-style and
//! zsmalloc-style packing simulated on the same trace.
//!
//! Usage: `bench-pool [--out DIR] [--max-pages N] [--seed S] NAME=DIR...`
//!
//! Each `NAME=DIR` is a data set: every regular file under `DIR` (sorted by path), cut into
//! 4 KiB pages (the last partial page of a file is zero-padded). Same-filled pages are
//! counted and kept out of the pool, as zram and zswap do. Other pages are compressed with
//! LZ4 (`LZ4_compress_default`, the format of the kernel's lib/lz4); a page that does not
//! shrink is stored raw (`PAGE_SIZE` bytes).
//!
//! Trace: store every page; free a random half (seeded); store a random half of the freed
//! pages again; compact; read everything back and check every byte.
//!
//! Density: "pool/cmp" is data pages over compressed bytes; "+meta/cmp" counts every page
//! the packing holds, data and metadata (in-slot headers are inside the data pages and are
//! not counted twice); "meta B/obj" is metadata per object wherever it lives, headers
//! included.
//!
//! Speed: the trace runs `REPS` times (7; the `REPS` environment variable overrides it).
//! Each store compresses its page with LZ4 and stores the result at once, as the kernel
//! does; LZ4 and the store are each timed on their own, and frees in batches of 32 made
//! back to back, each timing less the cost of reading the clock. The clock read waits for
//! the store's loads but not for its writes, which drain while the next page is compressed,
//! as in the kernel; what that costs shows up as LZ4 running slower after a store. So the
//! trace is also replayed with no store at all, and the store is charged its own time plus
//! the difference in LZ4 time ("added to the next compression"). The replays run
//! interleaved, a segment of 32 stores of each in turn, so that the machine's drift in
//! speed moves them alike, and each segment starts with the pages it compresses evicted
//! from the caches, as a page being reclaimed has not been used for a while (see
//! `interleave`). LZ4's times are compared page by page, leaving out pages hit by an
//! interrupt or a preemption in either replay (see `lz4_alone_and_added`). The cost ratio
//! `(store + added + free) / lz4 alone` is computed per run and reported as the median and
//! the range over the runs; timings as the median and the minimum, and the added time as
//! the median. As references, the trace is also replayed copying each object into
//! never-reused memory with no bookkeeping at all: end to end, the least a store can cost;
//! into a stream per size class, the least a store can cost when objects are segregated
//! by size as in the pool (see `Placement`); and the same through a handle table, the least
//! store and free can cost when objects also move behind stable handles, as in the pool and
//! zsmalloc (see `HandleCopies`). The pool's pages, the reference copies and the
//! pages fed to LZ4 all lie in transparent huge pages, as the kernel reaches them through
//! its direct map (see `pages.rs`).

mod pages;
mod sim;

use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Instant;

use zcomp_core::page_source::PAGE_SIZE;
use zcomp_core::pool::{Pool, PoolStats, CLASS_SPACING, SLOT_HEADER};

use pages::{DirectMapPages, HugeRegion};
use sim::{Zbud, Zsmalloc};

/// xorshift64*: a small seeded generator, so runs are reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            v.swap(i, self.below(i + 1));
        }
    }
}

struct Args {
    out: PathBuf,
    max_pages: usize,
    seed: u64,
    sets: Vec<(String, PathBuf)>,
}

fn parse_args() -> Result<Args, String> {
    let mut a = Args {
        out: PathBuf::from("out/bench-pool"),
        max_pages: 65536,
        seed: 0x5eed,
        sets: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--out" => a.out = PathBuf::from(value("--out")?),
            "--max-pages" => {
                a.max_pages = value("--max-pages")?.parse().map_err(|e| format!("{e}"))?
            }
            "--seed" => a.seed = value("--seed")?.parse().map_err(|e| format!("{e}"))?,
            s => match s.split_once('=') {
                Some((name, dir)) => a.sets.push((name.to_string(), PathBuf::from(dir))),
                None => return Err(format!("expected NAME=DIR, got {s}")),
            },
        }
    }
    if a.sets.is_empty() {
        return Err("usage: bench-pool [--out DIR] [--max-pages N] [--seed S] NAME=DIR...".into());
    }
    Ok(a)
}

fn list_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let ft = e.file_type()?;
        if ft.is_dir() {
            list_files(&e.path(), out)?;
        } else if ft.is_file() {
            out.push(e.path());
        }
    }
    Ok(())
}

/// A data set after compression: one object per page that is not same-filled.
struct Corpus {
    pages: usize,
    same_filled: usize,
    zero: usize,
    raw: usize,
    objects: Vec<Vec<u8>>,
    /// The page each object was compressed from, `PAGE_SIZE` bytes per object, in huge
    /// pages as the compressor reads them through the kernel's direct map.
    pages_raw: HugeRegion,
}

impl Corpus {
    /// The page object `o` was compressed from.
    fn page(&self, o: usize) -> &[u8] {
        &self.pages_raw.as_slice()[o * PAGE_SIZE..(o + 1) * PAGE_SIZE]
    }
}

fn is_same_filled(page: &[u8]) -> Option<u64> {
    let first = u64::from_ne_bytes(page[..8].try_into().ok()?);
    page.chunks_exact(8)
        .all(|w| u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])) == first)
        .then_some(first)
}

fn load(dir: &Path, max_pages: usize) -> Result<Corpus, String> {
    let mut files = Vec::new();
    list_files(dir, &mut files).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (mut pages, mut same_filled, mut zero, mut raw) = (0, 0, 0, 0);
    let mut objects = Vec::new();
    let mut pages_raw = Vec::new();
    let mut buf = vec![0u8; lz4::block::compress_bound(PAGE_SIZE).unwrap_or(8192)];
    let mut checked = 0;
    'files: for f in files {
        let Ok(data) = std::fs::read(&f) else {
            continue;
        };
        for chunk in data.chunks(PAGE_SIZE) {
            if pages >= max_pages {
                break 'files;
            }
            let mut page = [0u8; PAGE_SIZE];
            page[..chunk.len()].copy_from_slice(chunk);
            pages += 1;
            if let Some(v) = is_same_filled(&page) {
                same_filled += 1;
                if v == 0 {
                    zero += 1;
                }
                continue;
            }
            let n = lz4_compress(&page, &mut buf)?;
            if checked < 64 {
                let back = lz4::block::decompress(&buf[..n], Some(PAGE_SIZE as i32))
                    .map_err(|e| format!("lz4 decompress: {e}"))?;
                if back != page {
                    return Err("lz4 round trip mismatch".into());
                }
                checked += 1;
            }
            let len = stored_form(&page, &mut buf, n)?;
            if len == PAGE_SIZE {
                raw += 1;
            }
            objects.push(buf[..len].to_vec());
            pages_raw.extend_from_slice(&page);
        }
    }
    let mut region = HugeRegion::new(pages_raw.len())?;
    region.as_mut_slice()[..pages_raw.len()].copy_from_slice(&pages_raw);
    Ok(Corpus {
        pages,
        same_filled,
        zero,
        raw,
        objects,
        pages_raw: region,
    })
}

/// Makes `out`, holding `n` bytes that LZ4 made of `page`, hold what is stored for the
/// page: those bytes, or the page itself (`PAGE_SIZE` bytes) if it did not shrink. Returns
/// the length.
fn stored_form(page: &[u8], out: &mut [u8], n: usize) -> Result<usize, String> {
    if n < PAGE_SIZE {
        return Ok(n);
    }
    out.get_mut(..PAGE_SIZE)
        .ok_or("output buffer too short")?
        .copy_from_slice(page);
    Ok(PAGE_SIZE)
}

/// Compresses `page` into `out` with `LZ4_compress_default` and returns the length.
fn lz4_compress(page: &[u8], out: &mut [u8]) -> Result<usize, String> {
    lz4::block::compress_to_buffer(page, Some(lz4::block::CompressionMode::DEFAULT), false, out)
        .map_err(|e| format!("lz4: {e}"))
}

/// The trace, as operations on object indices.
enum Op {
    Store(usize),
    Free(usize),
}

fn make_trace(n: usize, rng: &mut Rng) -> Vec<Op> {
    let mut t: Vec<Op> = (0..n).map(Op::Store).collect();
    let mut idx: Vec<usize> = (0..n).collect();
    rng.shuffle(&mut idx);
    let freed = &idx[..n / 2];
    t.extend(freed.iter().map(|&i| Op::Free(i)));
    let mut again = freed.to_vec();
    rng.shuffle(&mut again);
    t.extend(again[..again.len() / 2].iter().map(|&i| Op::Store(i)));
    t
}

/// Density figures of one packing.
#[derive(Default, Clone, Copy)]
struct Density {
    /// Bytes of pages holding object data.
    pool_bytes: u64,
    /// Metadata bytes: outside the data pages plus in-object headers (which lie inside
    /// `pool_bytes`).
    meta_bytes: u64,
    /// The part of `meta_bytes` outside the data pages.
    meta_outside: u64,
}

/// Median and minimum of a set of per-repetition figures.
#[derive(Default, Clone, Copy)]
struct Spread {
    median: f64,
    min: f64,
    max: f64,
}

fn spread(v: &[f64]) -> Spread {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return Spread::default();
    }
    let median = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    Spread {
        median,
        min: v[0],
        max: v[n - 1],
    }
}

struct Result1 {
    name: String,
    corpus_pages: usize,
    same_filled: usize,
    zero: usize,
    raw: usize,
    objects: usize,
    compressed: u64,
    pre: Density,
    steady: Density,
    steady_stats: PoolStats,
    waste: Waste,
    zs4_pre: Density,
    zs4: Density,
    zs8: Density,
    zbud_pre: Density,
    zbud: Density,
    store_ns: Spread,
    store_after_ns: Spread,
    free_ns: Spread,
    read_ns: Spread,
    compact_ms: Spread,
    lz4_ns: Spread,
    copy_ns: Spread,
    copy_after_ns: Spread,
    class_copy_ns: Spread,
    class_copy_after_ns: Spread,
    /// `(store + added + free) / lz4` of each repetition, in percent.
    cost_pct: Spread,
    /// `(copy by size class + added) / lz4` of each repetition, in percent.
    class_copy_pct: Spread,
    handle_copy_ns: Spread,
    handle_copy_after_ns: Spread,
    handle_free_ns: Spread,
    /// `(copy by size class through a handle table + added + free) / lz4` of each
    /// repetition, in percent.
    handle_copy_pct: Spread,
    reps: usize,
}

/// Metadata per object, in thousandths of a byte, wherever it lives: the metadata pages
/// plus the slot header of each small object (huge objects have none).
fn metadata_milli_bytes_per_object(s: &PoolStats) -> u64 {
    if s.objects == 0 {
        return 0;
    }
    let small = s.objects - s.huge_objects;
    (s.meta_pages * PAGE_SIZE as u64 + small * SLOT_HEADER as u64) * 1000 / s.objects
}

fn density(s: &PoolStats) -> Density {
    Density {
        pool_bytes: s.data_pages * PAGE_SIZE as u64,
        meta_bytes: metadata_milli_bytes_per_object(s) * s.objects / 1000,
        meta_outside: s.meta_pages * PAGE_SIZE as u64,
    }
}

/// Where the steady-state data pages go beyond the compressed bytes, in bytes.
#[derive(Default, Clone, Copy)]
struct Waste {
    /// Slot headers of small objects.
    headers: u64,
    /// Slot sizes beyond object plus header.
    rounding: u64,
    /// The bytes after the last slot of every span, as if all its pages were present.
    tails: u64,
    /// The rest: free slots in the pages of partly used spans.
    free_slots: u64,
}

fn waste<S: zcomp_core::page_source::PageSource>(pool: &Pool<S>, st: &PoolStats) -> Waste {
    let (mut slot_bytes, mut tails) = (0u64, 0u64);
    for class in 0..zcomp_core::pool::NR_CLASSES {
        let Some(cs) = pool.class_stats(class) else {
            continue;
        };
        slot_bytes += cs.objects as u64 * cs.slot_size as u64;
        let span = cs.pages_per_span as u64 * PAGE_SIZE as u64;
        tails += cs.spans as u64 * (span - cs.slots_per_span as u64 * cs.slot_size as u64);
    }
    let headers = (st.objects - st.huge_objects) * SLOT_HEADER as u64;
    Waste {
        headers,
        rounding: slot_bytes.saturating_sub(st.bytes_stored + headers),
        tails,
        free_slots: (st.data_pages * PAGE_SIZE as u64).saturating_sub(slot_bytes + tails),
    }
}

/// What reading the clock costs, in ns: the median of back-to-back `Instant` reads.
///
/// `Instant::now` reads the TSC after the instructions before it have completed (Linux's
/// vDSO orders the read), so a single operation timed between two reads includes the
/// latency of its loads but not the draining of its stores, which overlaps the next
/// operation, as it does in the kernel; see [`PoolRun::store_after_ns`].
fn clock_ns() -> f64 {
    let reads: Vec<f64> = (0..10_001)
        .map(|_| {
            let t = Instant::now();
            t.elapsed().as_nanos() as f64
        })
        .collect();
    spread(&reads).median
}

/// LZ4 time per page with nothing else done (less the clock cost), and how much longer LZ4
/// takes per page in the replay `with`.
///
/// The replays compress the same pages in the same order, so they are compared page by
/// page. A page whose time in either replay is over four times that replay's median was hit
/// by an interrupt or a preemption (a few pages in a thousand on a busy machine, each adding
/// microseconds): it is left out of both sides of the comparison, or a handful of them
/// would move the means by more than a store costs.
fn lz4_alone_and_added(alone: &[u32], with: &[u32], clock: f64) -> (f64, f64) {
    let limit = |v: &[u32]| {
        let mut sorted = v.to_vec();
        sorted.sort_unstable();
        4 * sorted.get(sorted.len() / 2).copied().unwrap_or(0)
    };
    let limits = [limit(alone), limit(with)];
    let (mut sum_alone, mut sum_with, mut n) = (0.0, 0.0, 0u32);
    for (&a, &w) in alone.iter().zip(with) {
        if a <= limits[0] && w <= limits[1] {
            sum_alone += a as f64;
            sum_with += w as f64;
            n += 1;
        }
    }
    let n = n.max(1) as f64;
    (sum_alone / n - clock, (sum_with - sum_alone) / n)
}

/// Operations timed one by one or a batch at a time.
#[derive(Default)]
struct OpTimes {
    ns: u128,
    /// Clock readings taken, one per call of [`OpTimes::time`].
    timings: u64,
    ops: u64,
}

impl OpTimes {
    /// Runs `f`, which makes `ops` operations, and times it.
    fn time<T>(&mut self, ops: u64, f: impl FnOnce() -> T) -> T {
        let t = Instant::now();
        let r = f();
        self.ns += t.elapsed().as_nanos();
        self.timings += 1;
        self.ops += ops;
        r
    }

    /// Mean time per operation, less the cost of reading the clock, `clock` ns per timing.
    fn mean(&self, clock: f64) -> f64 {
        (self.ns as f64 - clock * self.timings as f64) / self.ops.max(1) as f64
    }
}

/// What a replay of the trace measured.
#[derive(Default)]
struct TraceTimes {
    /// LZ4, page by page in trace order, clock reads included (ns).
    lz4: Vec<u32>,
    /// Stores, one by one.
    store: OpTimes,
    /// Frees, in batches of up to 32 made back to back.
    free: OpTimes,
}

/// Where a replay keeps what its stores returned, by object.
type Handles<H> = Vec<Option<H>>;

/// What a replay stores objects into.
trait Target {
    type Handle: Copy;
    fn store(&mut self, data: &[u8]) -> Result<Self::Handle, String>;
    fn free(&mut self, h: Self::Handle) -> Result<(), String>;
}

impl<S: zcomp_core::page_source::PageSource> Target for Pool<S> {
    type Handle = zcomp_core::pool::Handle;

    fn store(&mut self, data: &[u8]) -> Result<Self::Handle, String> {
        Pool::store(self, data).map_err(|e| format!("store: {e:?}"))
    }

    fn free(&mut self, h: Self::Handle) -> Result<(), String> {
        Pool::free(self, h).map_err(|e| format!("free: {e:?}"))
    }
}

/// No store at all: the replay's LZ4 on its own.
struct Nothing;

/// The handle of a target that keeps none, as big as a pool handle, so that the replay's
/// bookkeeping costs the same with every target.
type NoHandle = std::num::NonZeroU32;

impl Target for Nothing {
    type Handle = NoHandle;

    fn store(&mut self, _data: &[u8]) -> Result<NoHandle, String> {
        Ok(NoHandle::MIN)
    }

    fn free(&mut self, _h: NoHandle) -> Result<(), String> {
        Ok(())
    }
}

/// How a reference replay places objects in never-reused memory.
#[derive(Clone, Copy)]
enum Placement {
    /// End to end in one stream, a log: consecutive stores write consecutive bytes, which
    /// the processor's prefetcher streams in ahead of the writes.
    Log,
    /// In a stream per size class, with a slot header and rounded up to the class size as
    /// in the pool ([`CLASS_SPACING`] apart), the class's next slot prefetched after each
    /// store as the pool prefetches it. Consecutive stores write to different places, as
    /// in any allocator that segregates objects by size (the pool, zsmalloc), so nothing
    /// streams their writes.
    ByClass,
}

impl Placement {
    /// The stream an object of `len` bytes goes to, and the bytes it takes there.
    fn place(self, len: usize) -> (usize, usize) {
        match self {
            Placement::Log => (0, len),
            Placement::ByClass => {
                let size = (len + SLOT_HEADER).next_multiple_of(CLASS_SPACING);
                (size / CLASS_SPACING, size)
            }
        }
    }
}

/// Objects copied into never-reused memory, with none of an allocator's bookkeeping: the
/// least a store placing objects as `placement` says can cost.
struct Copies<'a> {
    buf: &'a mut [u8],
    placement: Placement,
    /// The unused part of each stream of `buf`.
    streams: Vec<Range<usize>>,
}

impl<'a> Copies<'a> {
    /// The bytes of each stream for the objects `trace` stores.
    fn stream_sizes(placement: Placement, c: &Corpus, trace: &[Op]) -> Vec<usize> {
        let mut sizes = Vec::new();
        for op in trace {
            if let Op::Store(o) = *op {
                let (stream, size) = placement.place(c.objects[o].len());
                if sizes.len() <= stream {
                    sizes.resize(stream + 1, 0);
                }
                sizes[stream] += size;
            }
        }
        sizes
    }

    /// Lays streams of `sizes` bytes end to end in `buf`.
    fn new(buf: &'a mut [u8], placement: Placement, sizes: &[usize]) -> Self {
        let mut at = 0;
        let streams = sizes
            .iter()
            .map(|&n| {
                at += n;
                at - n..at
            })
            .collect();
        Self {
            buf,
            placement,
            streams,
        }
    }
}

impl Copies<'_> {
    /// Copies `data` into its stream, behind `header` if objects are placed by class, and
    /// returns where it went.
    fn put(&mut self, data: &[u8], header: [u8; SLOT_HEADER]) -> Result<usize, String> {
        let (stream, size) = self.placement.place(data.len());
        let free = self
            .streams
            .get_mut(stream)
            .filter(|f| f.len() >= size)
            .ok_or("stream too short")?;
        let at = free.start;
        free.start += size;
        let next = free.start..free.end.min(free.start + size);
        let slot = &mut self.buf[at..at + size];
        match self.placement {
            Placement::Log => slot.copy_from_slice(data),
            Placement::ByClass => {
                let (slot_header, payload) = slot.split_at_mut(SLOT_HEADER);
                slot_header.copy_from_slice(&header);
                payload[..data.len()].copy_from_slice(data);
                zcomp_core::host::prefetch_for_write(&self.buf[next]);
            }
        }
        Ok(at)
    }
}

impl Target for Copies<'_> {
    type Handle = NoHandle;

    fn store(&mut self, data: &[u8]) -> Result<NoHandle, String> {
        self.put(data, [0; SLOT_HEADER]).map(|_| NoHandle::MIN)
    }

    fn free(&mut self, _h: NoHandle) -> Result<(), String> {
        Ok(())
    }
}

/// Objects copied by size class as [`Copies`] places them, each reached through a handle:
/// a table entry holding where its object lies, as the pool's and zsmalloc's handles do so
/// that objects can move without their owners knowing. Handles are reused last freed
/// first, through a list threaded through the free entries, and each object's header holds
/// its handle, as in the pool. Nothing else is kept: the memory of a freed object is never
/// reused. So this is what stable handles add to segregating objects by size, the least an
/// allocator that moves objects behind such handles can cost.
struct HandleCopies<'a> {
    copies: Copies<'a>,
    /// Per handle, 8 bytes: its object's offset and length, or [`HandleCopies::FREE`] and
    /// the next free handle. Entry 0 is no handle.
    table: &'a mut [u8],
    /// The lowest handle never used.
    unused: u32,
    /// The last freed handle, 0 for none.
    free: u32,
}

impl<'a> HandleCopies<'a> {
    const FREE: u64 = 1 << 63;

    /// Bytes of table for `objects` handles, all a replay needs: the table lies in huge
    /// pages, as the pool's does, and no store grows it.
    fn table_bytes(objects: usize) -> usize {
        (objects + 1) * 8
    }

    fn new(copies: Copies<'a>, table: &'a mut [u8]) -> Self {
        Self {
            copies,
            table,
            unused: 1,
            free: 0,
        }
    }

    fn entry(&mut self, h: NoHandle) -> Result<&mut [u8; 8], String> {
        let at = h.get() as usize * 8;
        self.table
            .get_mut(at..at + 8)
            .and_then(|e| e.try_into().ok())
            .ok_or_else(|| "handle table too short".into())
    }
}

impl Target for HandleCopies<'_> {
    type Handle = NoHandle;

    fn store(&mut self, data: &[u8]) -> Result<NoHandle, String> {
        let h = match NoHandle::new(self.free) {
            Some(h) => {
                self.free = u64::from_le_bytes(*self.entry(h)?) as u32;
                h
            }
            None => {
                let h = NoHandle::new(self.unused).ok_or("too many handles")?;
                self.unused += 1;
                h
            }
        };
        let mut header = [0; SLOT_HEADER];
        header.copy_from_slice(&h.get().to_le_bytes()[..SLOT_HEADER]);
        let at = self.copies.put(data, header)?;
        *self.entry(h)? = (at as u64 | (data.len() as u64) << 40).to_le_bytes();
        Ok(h)
    }

    fn free(&mut self, h: NoHandle) -> Result<(), String> {
        let next = self.free;
        let e = self.entry(h)?;
        if u64::from_le_bytes(*e) & Self::FREE != 0 {
            return Err("handle freed twice".into());
        }
        *e = (Self::FREE | next as u64).to_le_bytes();
        self.free = h.get();
        Ok(())
    }
}

/// Stores per segment of an interleaved replay (see [`interleave`]): short enough that the
/// machine's speed does not drift between the replays of a segment, long enough that the
/// replays' effects on each other's caches at the switches do not matter.
const SEGMENT_STORES: usize = 32;

/// A replay of the trace into `target`, run a segment at a time: each store compresses its
/// page with LZ4 and stores the result at once, as the kernel does, each timed on its own;
/// frees are timed in batches of up to 32. Handles are kept in `handles` outside the timing:
/// looking them up by object would add the benchmark's own cache misses to the operations'.
struct Replay<'a, T: Target> {
    target: &'a mut T,
    handles: Handles<T::Handle>,
    /// The next operation of the trace.
    next: usize,
    times: TraceTimes,
}

impl<'a, T: Target> Replay<'a, T> {
    fn new(target: &'a mut T, objects: usize) -> Self {
        Self {
            target,
            handles: vec![None; objects],
            next: 0,
            times: TraceTimes::default(),
        }
    }
}

/// A replay that runs a segment at a time, whatever it stores into.
trait Segments {
    /// Runs the next segment; returns false at the end of the trace.
    fn segment(&mut self, c: &Corpus, trace: &[Op], out: &mut [u8]) -> Result<bool, String>;
}

impl<T: Target> Segments for Replay<'_, T> {
    /// Replays the trace's next [`SEGMENT_STORES`] stores and the frees among and after
    /// them, the pages to compress first evicted from the caches, as a page being reclaimed
    /// has not been used for a while. Returns false at the end of the trace.
    fn segment(&mut self, c: &Corpus, trace: &[Op], out: &mut [u8]) -> Result<bool, String> {
        const BATCH: usize = 32;
        let ops = trace.get(self.next..).unwrap_or(&[]);
        let pages = ops.iter().filter_map(|op| match *op {
            Op::Store(o) => Some(c.page(o)),
            Op::Free(_) => None,
        });
        for page in pages.take(SEGMENT_STORES) {
            pages::evict(page);
        }
        let mut stores = 0;
        while let Some(op) = trace.get(self.next) {
            if let Op::Store(o) = *op {
                if stores == SEGMENT_STORES {
                    break;
                }
                let page = c.page(o);
                let t = Instant::now();
                let n = lz4_compress(page, out)?;
                self.times
                    .lz4
                    .push(t.elapsed().as_nanos().try_into().unwrap_or(u32::MAX));
                let len = stored_form(page, out, n)?;
                let target = &mut *self.target;
                let h = self.times.store.time(1, || target.store(&out[..len]))?;
                self.handles[o] = Some(h);
                (self.next, stores) = (self.next + 1, stores + 1);
                continue;
            }
            let mut batch = [None; BATCH];
            let mut k = 0;
            while let (Some(Op::Free(o)), Some(slot)) = (trace.get(self.next), batch.get_mut(k)) {
                *slot = self.handles[*o].take();
                (self.next, k) = (self.next + 1, k + 1);
            }
            let target = &mut *self.target;
            self.times.free.time(k as u64, || {
                batch.into_iter().flatten().try_for_each(|h| target.free(h))
            })?;
        }
        Ok(self.next < trace.len())
    }
}

/// Runs `replays` (no store, into the pool, and the reference copies) a segment of each in
/// turn, so that drift in the machine's speed (tens of ns per page over the hundreds of
/// milliseconds a whole replay takes, on a shared host) moves them all alike instead of
/// showing up as a difference between them. The order rotates from segment to segment, so
/// each replay follows each other one equally often.
fn interleave(c: &Corpus, trace: &[Op], replays: &mut [&mut dyn Segments]) -> Result<(), String> {
    let mut out = vec![0u8; lz4::block::compress_bound(PAGE_SIZE).unwrap_or(2 * PAGE_SIZE)];
    let n = replays.len();
    for turn in 0.. {
        let mut more = false;
        for which in 0..n {
            more |= replays[(turn + which) % n].segment(c, trace, &mut out)?;
        }
        if !more {
            break;
        }
    }
    Ok(())
}

/// What one run of the trace through the pool measured.
struct PoolRun {
    store_ns: f64,
    /// How much longer LZ4 takes on the page after a store than on its own: the cost of
    /// the store's writes draining while the next page is compressed.
    store_after_ns: f64,
    free_ns: f64,
    read_ns: f64,
    compact_ms: f64,
    /// LZ4 compression time per page, on its own.
    lz4_ns: f64,
    /// Copying the same objects into never-reused memory, per store, and what the copies
    /// add to the next compression: end to end, and by size class (see [`Placement`]).
    copy_ns: f64,
    copy_after_ns: f64,
    class_copy_ns: f64,
    class_copy_after_ns: f64,
    /// The same for the copies by size class through a handle table, and their frees.
    handle_copy_ns: f64,
    handle_copy_after_ns: f64,
    handle_free_ns: f64,
    pre: Density,
    steady: PoolStats,
    waste: Waste,
    live: usize,
    compressed: u64,
}

fn pool_trace(c: &Corpus, trace: &[Op]) -> Result<PoolRun, String> {
    let n = c.objects.len();

    // Enough pre-faulted pages for the whole trace, recycled as the kernel's page allocator
    // does and mapped with huge pages as the kernel's direct map is.
    let mut src = DirectMapPages::new(n + n / 4)?;
    let mut pool = Pool::new(&mut src);
    // References: the same objects copied into never-reused memory, end to end, by size
    // class, and by size class through a handle table.
    let log_sizes = Copies::stream_sizes(Placement::Log, c, trace);
    let class_sizes = Copies::stream_sizes(Placement::ByClass, c, trace);
    let mut log_region = HugeRegion::new(log_sizes.iter().sum())?;
    let mut class_region = HugeRegion::new(class_sizes.iter().sum())?;
    let mut handle_region = HugeRegion::new(class_sizes.iter().sum())?;
    let mut table_region = HugeRegion::new(HandleCopies::table_bytes(n))?;
    let mut log = Copies::new(log_region.as_mut_slice(), Placement::Log, &log_sizes);
    let mut by_class = Copies::new(
        class_region.as_mut_slice(),
        Placement::ByClass,
        &class_sizes,
    );
    let mut by_handle = HandleCopies::new(
        Copies::new(
            handle_region.as_mut_slice(),
            Placement::ByClass,
            &class_sizes,
        ),
        table_region.as_mut_slice(),
    );
    let clock = clock_ns();
    let mut nothing = Nothing;
    let mut alone = Replay::new(&mut nothing, n);
    let mut through_pool = Replay::new(&mut pool, n);
    let mut through_log = Replay::new(&mut log, n);
    let mut through_classes = Replay::new(&mut by_class, n);
    let mut through_handles = Replay::new(&mut by_handle, n);
    interleave(
        c,
        trace,
        &mut [
            &mut alone,
            &mut through_pool,
            &mut through_log,
            &mut through_classes,
            &mut through_handles,
        ],
    )?;
    let (lz4_ns, store_after_ns) =
        lz4_alone_and_added(&alone.times.lz4, &through_pool.times.lz4, clock);
    let (_, copy_after_ns) = lz4_alone_and_added(&alone.times.lz4, &through_log.times.lz4, clock);
    let (_, class_copy_after_ns) =
        lz4_alone_and_added(&alone.times.lz4, &through_classes.times.lz4, clock);
    let copy_ns = through_log.times.store.mean(clock);
    let class_copy_ns = through_classes.times.store.mean(clock);
    let (_, handle_copy_after_ns) =
        lz4_alone_and_added(&alone.times.lz4, &through_handles.times.lz4, clock);
    let handle_copy_ns = through_handles.times.store.mean(clock);
    let handle_free_ns = through_handles.times.free.mean(clock);
    let Replay {
        handles,
        times: pool_times,
        ..
    } = through_pool;

    let pre = density(&pool.stats());
    let t = Instant::now();
    while !pool
        .compact(1024)
        .map_err(|e| format!("compact: {e:?}"))?
        .done
    {}
    let compact_ms = t.elapsed().as_secs_f64() * 1e3;
    let steady_stats = pool.stats();
    let waste = waste(&pool, &steady_stats);

    let mut buf = [0u8; PAGE_SIZE];
    let live: Vec<usize> = (0..n).filter(|&i| handles[i].is_some()).collect();
    let t = Instant::now();
    let mut sum = 0u64;
    for &i in &live {
        if let Some(h) = handles[i] {
            let len = pool.read(h, &mut buf).map_err(|e| format!("read: {e:?}"))?;
            sum = sum.wrapping_add(buf[len - 1] as u64);
        }
    }
    let read_ns = t.elapsed().as_nanos() as f64 / live.len().max(1) as f64;
    std::hint::black_box(sum);
    for &i in &live {
        if let Some(h) = handles[i] {
            let len = pool.read(h, &mut buf).map_err(|e| format!("read: {e:?}"))?;
            if buf[..len] != c.objects[i][..] {
                return Err(format!("object {i} read back wrong"));
            }
        }
    }
    let compressed: u64 = live.iter().map(|&i| c.objects[i].len() as u64).sum();
    // With every object read back intact, this stands in for the pool's own consistency
    // walk, which release builds leave out: its counts agree with what the trace left.
    if steady_stats.objects != live.len() as u64 || steady_stats.bytes_stored != compressed {
        return Err("pool statistics disagree with the objects stored".into());
    }
    for h in handles.into_iter().flatten() {
        pool.free(h).map_err(|e| format!("free: {e:?}"))?;
    }
    drop(pool);
    if src.live_pages() != 0 {
        return Err("pool leaked pages".into());
    }
    Ok(PoolRun {
        store_ns: pool_times.store.mean(clock),
        store_after_ns,
        free_ns: pool_times.free.mean(clock),
        read_ns,
        compact_ms,
        lz4_ns,
        copy_ns,
        copy_after_ns,
        class_copy_ns,
        class_copy_after_ns,
        handle_copy_ns,
        handle_copy_after_ns,
        handle_free_ns,
        pre,
        steady: steady_stats,
        waste,
        live: live.len(),
        compressed,
    })
}

/// Runs of the trace; timings are reported as the median and the minimum over them,
/// against noise from other work on the machine. `REPS` in the environment overrides it.
const REPS: usize = 7;

fn run(name: &str, c: &Corpus, seed: u64) -> Result<Result1, String> {
    let n = c.objects.len();
    let trace = make_trace(n, &mut Rng(seed | 1));
    let reps = std::env::var("REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(REPS)
        .max(1);
    let mut runs = Vec::new();
    for _ in 0..reps {
        runs.push(pool_trace(c, &trace)?);
    }
    let fig = |f: fn(&PoolRun) -> f64| spread(&runs.iter().map(f).collect::<Vec<_>>());
    let store_ns = fig(|r| r.store_ns);
    let store_after_ns = fig(|r| r.store_after_ns);
    let free_ns = fig(|r| r.free_ns);
    let read_ns = fig(|r| r.read_ns);
    let compact_ms = fig(|r| r.compact_ms);
    let lz4_ns = fig(|r| r.lz4_ns);
    let copy_ns = fig(|r| r.copy_ns);
    let copy_after_ns = fig(|r| r.copy_after_ns);
    let class_copy_ns = fig(|r| r.class_copy_ns);
    let class_copy_after_ns = fig(|r| r.class_copy_after_ns);
    let cost_pct = fig(|r| 100.0 * (r.store_ns + r.store_after_ns + r.free_ns) / r.lz4_ns);
    let class_copy_pct = fig(|r| 100.0 * (r.class_copy_ns + r.class_copy_after_ns) / r.lz4_ns);
    let handle_copy_ns = fig(|r| r.handle_copy_ns);
    let handle_copy_after_ns = fig(|r| r.handle_copy_after_ns);
    let handle_free_ns = fig(|r| r.handle_free_ns);
    let handle_copy_pct =
        fig(|r| 100.0 * (r.handle_copy_ns + r.handle_copy_after_ns + r.handle_free_ns) / r.lz4_ns);
    let best = runs.swap_remove(0);

    // The same trace through the simulated allocators.
    let mut zs4 = Zsmalloc::new(4);
    let mut zs8 = Zsmalloc::new(8);
    let mut zbud = Zbud::new();
    let mut zs4_loc = vec![None; n];
    let mut zs8_loc = vec![None; n];
    let mut zbud_loc = vec![None; n];
    for op in &trace {
        match *op {
            Op::Store(i) => {
                let len = c.objects[i].len();
                zs4_loc[i] = Some(zs4.alloc(len));
                zs8_loc[i] = Some(zs8.alloc(len));
                zbud_loc[i] = Some(zbud.alloc(len));
            }
            Op::Free(i) => {
                if let Some(l) = zs4_loc[i].take() {
                    zs4.free(l);
                }
                if let Some(l) = zs8_loc[i].take() {
                    zs8.free(l);
                }
                if let Some(l) = zbud_loc[i].take() {
                    zbud.free(l);
                }
            }
        }
    }
    let zs4_pre = zs4.density();
    let zbud_pre = zbud.density();
    Ok(Result1 {
        name: name.to_string(),
        corpus_pages: c.pages,
        same_filled: c.same_filled,
        zero: c.zero,
        raw: c.raw,
        objects: best.live,
        compressed: best.compressed,
        pre: best.pre,
        steady: density(&best.steady),
        steady_stats: best.steady,
        waste: best.waste,
        zs4_pre,
        zs4: zs4.compacted_density(),
        zs8: zs8.compacted_density(),
        zbud_pre,
        zbud: zbud.density(),
        store_ns,
        store_after_ns,
        free_ns,
        read_ns,
        compact_ms,
        lz4_ns,
        copy_ns,
        copy_after_ns,
        class_copy_ns,
        class_copy_after_ns,
        cost_pct,
        class_copy_pct,
        handle_copy_ns,
        handle_copy_after_ns,
        handle_free_ns,
        handle_copy_pct,
        reps,
    })
}

fn ratio(d: &Density, compressed: u64) -> f64 {
    d.pool_bytes as f64 / compressed.max(1) as f64
}

/// Every page the packing holds, data and metadata, over the compressed bytes. In-slot
/// headers lie inside the data pages and are not counted a second time.
fn ratio_total(d: &Density, compressed: u64) -> f64 {
    (d.pool_bytes + d.meta_outside) as f64 / compressed.max(1) as f64
}

fn report(r: &Result1) -> String {
    let mut s = String::new();
    let c = r.compressed;
    let per_obj = |d: &Density| d.meta_bytes as f64 / r.objects.max(1) as f64;
    let _ = writeln!(
        s,
        "== {}: {} pages read, {} same-filled ({} zero, kept out of the pool), {} raw (incompressible)",
        r.name, r.corpus_pages, r.same_filled, r.zero, r.raw
    );
    let _ = writeln!(
        s,
        "   steady state: objects {}, compressed bytes {} (mean {:.0} B, ratio {:.2}x of 4 KiB)",
        r.objects,
        c,
        c as f64 / r.objects.max(1) as f64,
        (r.objects * PAGE_SIZE) as f64 / c.max(1) as f64
    );
    let _ = writeln!(
        s,
        "   {:<22} {:>12} {:>9} {:>11} {:>10} {:>12}",
        "packing", "pool bytes", "pool/cmp", "+meta/cmp", "meta B/obj", "pre-compact"
    );
    let rows: [(&str, &Density, Option<&Density>); 5] = [
        ("zcomp pool", &r.steady, Some(&r.pre)),
        ("zsmalloc (4-page)", &r.zs4, Some(&r.zs4_pre)),
        ("zsmalloc (8-page)", &r.zs8, None),
        ("zbud (no compaction)", &r.zbud, Some(&r.zbud_pre)),
        (
            "ideal (compressed)",
            &Density {
                pool_bytes: c,
                meta_bytes: 0,
                meta_outside: 0,
            },
            None,
        ),
    ];
    for (name, d, pre) in rows {
        let _ = writeln!(
            s,
            "   {:<22} {:>12} {:>9.4} {:>11.4} {:>10.1} {:>12}",
            name,
            d.pool_bytes,
            ratio(d, c),
            ratio_total(d, c),
            per_obj(d),
            pre.map_or("-".to_string(), |p| format!("{:.4}", ratio(p, c)))
        );
    }
    let st = &r.steady_stats;
    let _ = writeln!(
        s,
        "   zcomp pages: {} data + {} metadata; {} spans; {} huge objects; moved {} objects, {} pages compacted in {:.1} ms",
        st.data_pages, st.meta_pages, st.spans, st.huge_objects, st.objects_moved, st.pages_compacted, r.compact_ms.median
    );
    let w = &r.waste;
    let pct = |b: u64| 100.0 * b as f64 / c.max(1) as f64;
    let _ = writeln!(
        s,
        "   zcomp overhead over compressed bytes: rounding {:.2}%, span tails {:.2}%, free slots {:.2}%, slot headers {:.2}%, metadata pages {:.2}%",
        pct(w.rounding),
        pct(w.tails),
        pct(w.free_slots),
        pct(w.headers),
        pct(st.meta_pages * PAGE_SIZE as u64)
    );
    let _ = writeln!(
        s,
        "   ns/op (median / min of {} runs): store {:.1} / {:.1}, then {:.1} (median) added to the next compression; read {:.1} / {:.1}, free {:.1} / {:.1}; lz4 compress {:.0} / {:.0} ns/page",
        r.reps,
        r.store_ns.median,
        r.store_ns.min,
        r.store_after_ns.median,
        r.read_ns.median,
        r.read_ns.min,
        r.free_ns.median,
        r.free_ns.min,
        r.lz4_ns.median,
        r.lz4_ns.min,
    );
    let _ = writeln!(
        s,
        "   (store+added+free)/lz4 per run: median {:.2}%, from {:.2}% to {:.2}%",
        r.cost_pct.median, r.cost_pct.min, r.cost_pct.max,
    );
    let _ = writeln!(
        s,
        "   a bare copy of each object to never-reused memory: end to end {:.1} / {:.1} ns, then {:.1} added; by size class {:.1} / {:.1} ns, then {:.1} added, {:.2}% of lz4 (median)",
        r.copy_ns.median,
        r.copy_ns.min,
        r.copy_after_ns.median,
        r.class_copy_ns.median,
        r.class_copy_ns.min,
        r.class_copy_after_ns.median,
        r.class_copy_pct.median,
    );
    let _ = writeln!(
        s,
        "   the same by size class, through a handle table: store {:.1} / {:.1} ns, then {:.1} added; free {:.1} / {:.1} ns; {:.2}% of lz4 (median)",
        r.handle_copy_ns.median,
        r.handle_copy_ns.min,
        r.handle_copy_after_ns.median,
        r.handle_free_ns.median,
        r.handle_free_ns.min,
        r.handle_copy_pct.median,
    );
    s
}

/// A bar series of the plot: label, colour, and the figure it shows.
type Series = (&'static str, plotters::style::RGBColor, fn(&Result1) -> f64);

fn plot(results: &[Result1], path: &Path) -> Result<(), String> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (900, 480)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    // Every packing with its metadata, so the bars compare what each really costs.
    let series: [Series; 4] = [
        ("zcomp pool", RGBColor(31, 119, 180), |r| {
            ratio_total(&r.steady, r.compressed)
        }),
        ("zsmalloc 4-page", RGBColor(255, 127, 14), |r| {
            ratio_total(&r.zs4, r.compressed)
        }),
        ("zsmalloc 8-page", RGBColor(44, 160, 44), |r| {
            ratio_total(&r.zs8, r.compressed)
        }),
        ("zbud", RGBColor(214, 39, 40), |r| {
            ratio_total(&r.zbud, r.compressed)
        }),
    ];
    // Scale to the dense packings; zbud is an order of magnitude off, so its bars are cut
    // at the top of the chart and labelled with their value.
    let ymax = results
        .iter()
        .flat_map(|r| series[..3].iter().map(move |s| (s.2)(r)))
        .fold(0.0f64, f64::max);
    let ymax = ((ymax - 1.0) * 100.0 * 1.4).max(5.0);
    let n = results.len();
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Steady-state pool overhead over compressed bytes (%)",
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(0f64..n as f64, 0f64..ymax)
        .map_err(|e| e.to_string())?;
    let names: Vec<String> = results.iter().map(|r| r.name.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&|x| {
            let i = x.floor() as usize;
            if (x - i as f64 - 0.5).abs() < 0.01 {
                names.get(i).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc("(data + metadata pages) / compressed bytes - 1 (%)")
        .draw()
        .map_err(|e| e.to_string())?;
    let w = 0.8 / series.len() as f64;
    for (k, (label, color, f)) in series.iter().enumerate() {
        let color = *color;
        chart
            .draw_series(results.iter().enumerate().map(|(i, r)| {
                let x0 = i as f64 + 0.1 + k as f64 * w;
                let y = ((f)(r) - 1.0) * 100.0;
                Rectangle::new(
                    [(x0, 0.0), (x0 + w * 0.9, y.clamp(0.0, ymax))],
                    color.filled(),
                )
            }))
            .map_err(|e| e.to_string())?
            .label(*label)
            .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled()));
        chart
            .draw_series(results.iter().enumerate().filter_map(|(i, r)| {
                let y = ((f)(r) - 1.0) * 100.0;
                let x0 = i as f64 + 0.1 + k as f64 * w;
                (y > ymax)
                    .then(|| Text::new(format!("{y:.0}%"), (x0, ymax * 0.97), ("sans-serif", 12)))
            }))
            .map_err(|e| e.to_string())?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut results = Vec::new();
    for (name, dir) in &args.sets {
        let c = match load(dir, args.max_pages) {
            Ok(c) if !c.objects.is_empty() => c,
            Ok(_) => {
                eprintln!("{name}: no compressible pages under {}", dir.display());
                std::process::exit(1);
            }
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(1);
            }
        };
        match run(name, &c, args.seed) {
            Ok(r) => {
                print!("{}", report(&r));
                results.push(r);
            }
            Err(e) => {
                eprintln!("{name}: {e}");
                std::process::exit(1);
            }
        }
    }
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("{}: {e}", args.out.display());
        std::process::exit(1);
    }
    let svg = args.out.join("density.svg");
    match plot(&results, &svg) {
        Ok(()) => println!("plot: {}", svg.display()),
        Err(e) => eprintln!("plot failed: {e}"),
    }
    let mut line = String::from("summary");
    let mut worst_margin = f64::MAX;
    let mut worst_cost = 0f64;
    for r in &results {
        let c = r.compressed;
        let ovh = ratio(&r.steady, c);
        let margin = ratio(&r.zs4, c) - ovh;
        let cost = r.cost_pct.median;
        worst_margin = worst_margin.min(margin);
        worst_cost = worst_cost.max(cost);
        let _ = write!(
            line,
            " {n}_pool_over_cmp={:.4} {n}_total_over_cmp={:.4} {n}_zs4_over_cmp={:.4} {n}_zs8_over_cmp={:.4} {n}_zbud_over_cmp={:.4} {n}_pre_compact_over_cmp={:.4} {n}_zs4_pre_compact_over_cmp={:.4} {n}_meta_b_per_obj={:.1} {n}_store_ns={:.0} {n}_store_after_ns={:.0} {n}_free_ns={:.0} {n}_read_ns={:.0} {n}_lz4_ns={:.0} {n}_cost_pct={:.2} {n}_cost_pct_max={:.2} {n}_class_copy_pct={:.2} {n}_handle_copy_pct={:.2}",
            ovh,
            ratio_total(&r.steady, c),
            ratio(&r.zs4, c),
            ratio(&r.zs8, c),
            ratio(&r.zbud, c),
            ratio(&r.pre, c),
            ratio(&r.zs4_pre, c),
            r.steady.meta_bytes as f64 / r.objects.max(1) as f64,
            r.store_ns.median,
            r.store_after_ns.median,
            r.free_ns.median,
            r.read_ns.median,
            r.lz4_ns.median,
            cost,
            r.cost_pct.max,
            r.class_copy_pct.median,
            r.handle_copy_pct.median,
            n = r.name
        );
    }
    let _ = write!(
        line,
        " min_margin_vs_zs4={worst_margin:.4} max_cost_pct={worst_cost:.2}"
    );
    println!("{line}");
}

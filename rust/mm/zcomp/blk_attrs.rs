// SPDX-License-Identifier: GPL-2.0

//! The block frontend's sysfs files, `/sys/block/zramN/*`, as zram 6.12 documents them in
//! `Documentation/admin-guide/blockdev/zram.rst`.
//!
//! Reads print what zram prints, in its formats, so that `zramctl` and other tools parse them
//! unchanged. Writes refuse what zram refuses, with its errors; in addition, a write that is
//! not entirely understood (trailing characters after a size, say) is refused with `EINVAL`
//! and changes nothing.

use crate::blk::backing::{path_arg, WritebackMode};
use crate::blk::{BlkDev, BlkOps, Config, ALGORITHMS};
use crate::blk_io::{Recompression, NR_SECONDARY};
use crate::codec::{Dict, Params};
use crate::zcore::page_source::PAGE_SIZE;
use crate::zcore::parse::{
    key_values, parse_c_u64, parse_i32, parse_size, parse_u64, trim_newline,
};
use core::fmt::Write;
use core::sync::atomic::{AtomicU64, Ordering};
use kernel::{
    bindings, block::disk::DiskRef, compress::Compressor, cpu, ffi::c_char, prelude::*, read_file,
    str::CStr, sync::Arc,
};

/// Longest algorithm name zram takes, `CRYPTO_MAX_ALG_NAME` with its terminator.
const MAX_ALG_NAME: usize = 128;

/// Version of the `debug_stat` format.
const DEBUG_STAT_VERSION: u32 = 1;

/// A sysfs read buffer: one page, the excess cut off.
struct ShowBuf<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Write for ShowBuf<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let n = s.len().min(self.buf.len() - self.len);
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
        Ok(())
    }
}

fn get(c: &AtomicU64) -> u64 {
    c.load(Ordering::Relaxed)
}

/// Prints the algorithms a device may use, `selected` in brackets, as zram lists them.
fn write_algorithms(out: &mut ShowBuf<'_>, selected: &CStr) -> core::fmt::Result {
    for algo in ALGORITHMS.iter().filter(|a| Compressor::exists(a)) {
        if algo.as_bytes() == selected.as_bytes() {
            write!(out, "[{}] ", algo)?;
        } else {
            write!(out, "{} ", algo)?;
        }
    }
    writeln!(out)
}

/// The algorithm `name` (with or without a newline) names: `E2BIG` for a name longer than
/// zram takes, `EINVAL` for one the crypto API does not offer.
fn algorithm_named(name: &[u8]) -> Result<&'static CStr> {
    if name.len() >= MAX_ALG_NAME {
        return Err(E2BIG);
    }
    let name = trim_newline(name);
    ALGORITHMS
        .into_iter()
        .find(|a| a.as_bytes() == name && Compressor::exists(a))
        .ok_or(EINVAL)
}

/// Makes `set`'s change to the algorithms of `dev`'s next initialisation: `EBUSY` once the
/// device is initialised, as zram.
fn set_algorithm(dev: &BlkDev, set: impl FnOnce(&mut Config)) -> Result {
    let mut config = dev.lock();
    if dev.store(&config).is_some() {
        pr_info!("cannot change the algorithm of an initialized device\n");
        return Err(EBUSY);
    }
    set(&mut config);
    Ok(())
}

/// Carries out a write to `algorithm_params` of `dev`: `[algo=NAME | priority=N] [level=L]
/// [dict=PATH]`. As zram, the write replaces the level and dictionary of one of the device's
/// algorithms, which it takes at the next initialisation, and which a reset forgets; the
/// dictionary is read now. A level the algorithm's compressor cannot honour is refused now
/// (see [`Params`]).
fn set_params(dev: &BlkDev, input: &[u8]) -> Result {
    let (mut algo, mut priority, mut level, mut dict) = (None, 0, None, None);
    for word in key_values(input) {
        match word.ok_or(EINVAL)? {
            (b"algo", name) => algo = Some(name),
            (b"priority", p) => priority = parse_i32(p).ok_or(EINVAL)?,
            (b"level", l) => level = Some(parse_i32(l).ok_or(EINVAL)?),
            (b"dict", path) => dict = Some(path),
            _ => return Err(EINVAL),
        }
    }
    let dict = dict.map(read_dict).transpose()?;
    let params = Params { level, dict };
    let mut config = dev.lock();
    let mut algorithms =
        Iterator::chain(core::iter::once(Some(config.algorithm)), config.secondary);
    // As zram: `algo` names one of the device's algorithms, and overrides `priority`.
    let (prio, target) = match algo {
        Some(name) => algorithms
            .enumerate()
            .find(|(_, a)| a.is_some_and(|a| a.as_bytes() == name)),
        None => usize::try_from(priority)
            .ok()
            .and_then(|p| Some((p, algorithms.nth(p)?))),
    }
    .ok_or(EINVAL)?;
    // A priority with no algorithm yet, or whose algorithm changes, has its parameters
    // checked again when the device is initialised.
    if let Some(target) = target {
        params.for_algorithm(target)?;
    }
    config.params[prio] = params;
    Ok(())
}

/// Reads the compression dictionary at `path`, a sysfs write. Fails with `EINVAL`, as zram,
/// if the file cannot be read. May sleep.
fn read_dict(path: &[u8]) -> Result<Dict> {
    let path = path_arg(path).map_err(|_| EINVAL)?;
    let path = CStr::from_bytes_with_nul(&path).map_err(|_| EINVAL)?;
    let bytes = read_file::read_from_path(path, i32::MAX as usize).map_err(|e| {
        pr_info!(
            "cannot read the dictionary {}: error {}\n",
            path,
            e.to_errno()
        );
        EINVAL
    })?;
    Ok(Arc::new(bytes, GFP_KERNEL)?)
}

/// Prints attribute `name` of `dev` into `out`.
fn show(dev: &BlkDev, name: &[u8], out: &mut ShowBuf<'_>) -> Result {
    let config = dev.lock();
    let store = dev.store(&config);
    let page = PAGE_SIZE as u64;
    match name {
        b"initstate" => writeln!(out, "{}", store.is_some() as u32),
        b"disksize" => writeln!(out, "{}", config.disksize),
        b"max_comp_streams" => writeln!(out, "{}", cpu::nr_cpu_ids()),
        b"comp_algorithm" => write_algorithms(out, config.algorithm),
        b"recomp_algorithm" => {
            for (p, algo) in (1..).zip(config.secondary) {
                if let Some(algo) = algo {
                    write!(out, "#{}: ", p)?;
                    write_algorithms(out, algo)?;
                }
            }
            Ok(())
        }
        b"io_stat" => {
            // Writes to the backing device that failed are failed writes of the device's
            // data too: the blocks stayed in the pools.
            let (reads, writes, notify) = store.map_or((0, 0, 0), |s| {
                (
                    get(&s.stats.failed_reads),
                    get(&s.stats.failed_writes)
                        + s.backing.as_ref().map_or(0, |b| get(&b.failed_writes)),
                    get(&s.stats.notify_free),
                )
            });
            writeln!(out, "{:8} {:8} {:8} {:8}", reads, writes, 0, notify)
        }
        b"mm_stat" => {
            let limit = dev.limit_pages.load(Ordering::Relaxed) as u64;
            let (mut orig, mut compr, mut used, mut max_used) = (0, 0, 0, 0);
            let (mut same, mut compacted, mut huge, mut huge_since) = (0, 0, 0, 0);
            if let Some(s) = store {
                let st = &s.stats;
                orig = get(&st.pages_stored) * page;
                compr = get(&st.compr_data_size);
                used = s.pools.pages() as u64 * page;
                max_used = get(&st.max_used_pages) * page;
                same = get(&st.same_pages);
                compacted = s.pools.stats().pages_compacted;
                huge = get(&st.huge_pages);
                huge_since = get(&st.huge_pages_since);
            }
            writeln!(
                out,
                "{:8} {:8} {:8} {:8} {:8} {:8} {:8} {:8} {:8}",
                orig,
                compr,
                used,
                limit * page,
                max_used,
                same,
                compacted,
                huge,
                huge_since
            )
        }
        b"backing_dev" => match &config.backing {
            Some(backing) => {
                let path = core::str::from_utf8(backing.path()).map_err(|_| EINVAL)?;
                writeln!(out, "{}", path)
            }
            None => writeln!(out, "none"),
        },
        b"bd_stat" => {
            // In 4 KiB units, as zram prints them.
            let units = page / 4096;
            let (count, reads, writes) = store
                .and_then(|s| s.backing.as_ref())
                .map_or((0, 0, 0), |b| (b.used(), get(&b.reads), get(&b.writes)));
            writeln!(
                out,
                "{:8} {:8} {:8}",
                count * units,
                reads * units,
                writes * units
            )
        }
        b"writeback_limit" => writeln!(out, "{}", get(&dev.wb_limit.pages)),
        b"writeback_limit_enable" => writeln!(
            out,
            "{}",
            dev.wb_limit.enabled.load(Ordering::Relaxed) as u32
        ),
        b"debug_stat" => writeln!(out, "version: {}\n{:8} {:8}", DEBUG_STAT_VERSION, 0, 0),
        _ => return Err(EINVAL),
    }
    .map_err(|_| EINVAL)
}

/// Carries out a write of `input` to attribute `name` of `dev`.
fn store(disk: &DiskRef<BlkOps>, dev: &BlkDev, name: &[u8], input: &[u8]) -> Result {
    match name {
        b"disksize" => match parse_size(input) {
            Some(size) if size > 0 => dev.init(disk, size),
            _ => Err(EINVAL),
        },
        b"reset" => match parse_u64(input) {
            Some(n) if n > 0 && n <= u16::MAX as u64 => dev.reset(disk),
            Some(n) if n > u16::MAX as u64 => Err(ERANGE),
            _ => Err(EINVAL),
        },
        b"comp_algorithm" => {
            let algo = algorithm_named(input)?;
            set_algorithm(dev, |config| config.algorithm = algo)
        }
        // `algo=NAME [priority=N]`, N from 1 (the default) to 3.
        b"recomp_algorithm" => {
            let (mut algo, mut priority) = (None, 1);
            for word in key_values(input) {
                match word.ok_or(EINVAL)? {
                    (b"algo", name) => algo = Some(algorithm_named(name)?),
                    (b"priority", p) => priority = parse_u64(p).ok_or(EINVAL)?,
                    _ => return Err(EINVAL),
                }
            }
            let algo = algo.ok_or(EINVAL)?;
            let slot = usize::try_from(priority)
                .ok()
                .and_then(|p| p.checked_sub(1))
                .filter(|&i| i < NR_SECONDARY)
                .ok_or(EINVAL)?;
            set_algorithm(dev, |config| config.secondary[slot] = Some(algo))
        }
        b"algorithm_params" => set_params(dev, input),
        b"recompress" => {
            let r = Recompression::parse(input)?;
            let config = dev.lock();
            let s = dev.store(&config).ok_or(EINVAL)?;
            let names = config.secondary.map(|a| a.map(CStr::as_bytes));
            s.recompress(&r, r.priorities(&names)?)
        }
        b"mem_limit" => {
            let limit = parse_size(input).ok_or(EINVAL)?;
            let pages = limit.div_ceil(PAGE_SIZE as u64);
            dev.limit_pages.store(
                usize::try_from(pages).map_err(|_| EINVAL)?,
                Ordering::Relaxed,
            );
            Ok(())
        }
        b"mem_used_max" => {
            if parse_u64(input) != Some(0) {
                return Err(EINVAL);
            }
            let config = dev.lock();
            if let Some(s) = dev.store(&config) {
                s.stats
                    .max_used_pages
                    .store(s.pools.pages() as u64, Ordering::Relaxed);
            }
            Ok(())
        }
        b"compact" => {
            let config = dev.lock();
            let s = dev.store(&config).ok_or(EINVAL)?;
            s.pools.compact();
            Ok(())
        }
        b"backing_dev" => dev.set_backing(input),
        b"writeback" => {
            let mode = WritebackMode::parse(input).ok_or(EINVAL)?;
            let config = dev.lock();
            let s = dev.store(&config).ok_or(EINVAL)?;
            s.writeback(mode, &dev.wb_limit).map(|_| ())
        }
        // `all`, or an age in seconds: the blocks not accessed for that long.
        b"idle" => {
            let age = match trim_newline(input) {
                b"all" => None,
                secs => Some(parse_c_u64(secs).ok_or(EINVAL)?),
            };
            let config = dev.lock();
            dev.store(&config).ok_or(EINVAL)?.mark_idle(age);
            Ok(())
        }
        b"writeback_limit" => {
            let pages = parse_u64(input).ok_or(EINVAL)?;
            dev.wb_limit.pages.store(pages, Ordering::Relaxed);
            Ok(())
        }
        b"writeback_limit_enable" => {
            let enable = parse_u64(input).ok_or(EINVAL)?;
            dev.wb_limit.enabled.store(enable != 0, Ordering::Relaxed);
            Ok(())
        }
        // Kept for old tools: the compression streams are per CPU.
        b"max_comp_streams" => Ok(()),
        _ => Err(EINVAL),
    }
}

/// Reads attribute `name` of the device of `dev` into `buf`, a page: returns the length
/// printed or an error.
///
/// # Safety
///
/// `dev` is the device of a disk of the block frontend and `name` the name of one of its
/// attributes, as `blk_sysfs.c`'s show callback passes them; `buf` is the page-sized buffer
/// of a sysfs read.
#[no_mangle]
pub(crate) unsafe extern "C" fn mm_zcomp_blk_show(
    dev: *mut bindings::device,
    name: *const c_char,
    buf: *mut c_char,
) -> isize {
    // SAFETY: By the caller's guarantee `dev` is the device of one of the frontend's disks,
    // during one of its attribute callbacks.
    let disk = unsafe { DiskRef::<BlkOps>::from_dev(dev) };
    // SAFETY: `name` is an attribute's name, a static C string.
    let name = unsafe { CStr::from_char_ptr(name) };
    // SAFETY: sysfs hands a show callback a page to fill, which nothing else uses meanwhile.
    let buf = unsafe { core::slice::from_raw_parts_mut(buf.cast::<u8>(), PAGE_SIZE) };
    let mut out = ShowBuf { buf, len: 0 };
    match show(&disk.data(), name.as_bytes(), &mut out) {
        Ok(()) => out.len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

/// Writes `len` bytes at `buf` to attribute `name` of the device of `dev`: returns `len` or
/// an error.
///
/// # Safety
///
/// As for [`mm_zcomp_blk_show`]; `buf` holds the `len` bytes of a sysfs write.
#[no_mangle]
pub(crate) unsafe extern "C" fn mm_zcomp_blk_store(
    dev: *mut bindings::device,
    name: *const c_char,
    buf: *const c_char,
    len: usize,
) -> isize {
    // SAFETY: As in `mm_zcomp_blk_show`.
    let disk = unsafe { DiskRef::<BlkOps>::from_dev(dev) };
    // SAFETY: As in `mm_zcomp_blk_show`.
    let name = unsafe { CStr::from_char_ptr(name) };
    // SAFETY: sysfs hands a store callback the `len` bytes written.
    let input = unsafe { core::slice::from_raw_parts(buf.cast::<u8>(), len) };
    match store(disk, &disk.data(), name.as_bytes(), input) {
        Ok(()) => len as isize,
        Err(e) => e.to_errno() as isize,
    }
}

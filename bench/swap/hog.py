# SPDX-License-Identifier: GPL-2.0
"""The hog of make bench-swap: anonymous memory of real programs, under a limit.

Fills SIZE MiB of anonymous memory, in PROCS processes, with the pages of
core dumps of running programs (the "anon" set of scripts/bench-corpus.sh),
then reads every page PASSES times in a scattered order, and checks that the
memory still holds what was written. Run in a memory cgroup limited below
SIZE, the pages go out to compressed swap as they are written and come back
as they are read. With HOG_PAGEOUT=1 in the environment, each process instead
pushes all of its pages out to swap itself (madvise(MADV_PAGEOUT)) once it has
filled them and before every read pass after the first, so that every page goes
out and comes back the same number of times whatever memory the system has left.
Prints one line of key=value pairs: the time to fill and to read, and the
statistics of zswap (its debugfs directory) or of a zram device (its sysfs
directory) when every page had been written.
"""

import ctypes
import os
import select
import signal
import sys
import time
import zlib

from peak import peak

PAGE = 4096
MADV_PAGEOUT = 21
LIBC = ctypes.CDLL(None, use_errno=True)
PAGEOUT = os.environ.get("HOG_PAGEOUT") == "1"


def fill(mem, corpus):
    """Fills MEM with the corpus files, in name order, repeated; returns its CRC."""
    names = sorted(os.path.join(d, f) for d, _, fs in os.walk(corpus) for f in fs
                   if not f.startswith("."))
    if not names:
        sys.exit(f"hog: no files in {corpus}")
    view, off = memoryview(mem), 0
    while off < len(mem):
        for name in names:
            with open(name, "rb") as f:
                while off < len(mem):
                    n = f.readinto(view[off:off + (1 << 20)])
                    if not n:
                        break
                    off += n
            if off >= len(mem):
                break
    return zlib.crc32(mem)


def page_out(mem):
    """Swaps out the whole pages of MEM now, whatever the memory pressure."""
    buf = ctypes.c_char.from_buffer(mem)
    addr = ctypes.addressof(buf)
    start = -(-addr // PAGE) * PAGE
    end = (addr + len(mem)) // PAGE * PAGE
    failed = LIBC.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), MADV_PAGEOUT)
    del buf
    if failed:
        sys.stderr.write(f"hog: madvise(MADV_PAGEOUT): errno {ctypes.get_errno()}\n")
        os._exit(2)


def child(corpus, size, passes, ready_w, go_r):
    mem = bytearray(size)
    crc = fill(mem, corpus)
    if PAGEOUT:
        page_out(mem)
    os.write(ready_w, b"r")
    os.read(go_r, 1)
    npages = size // PAGE
    step = 7919 % npages or 1
    total = 0
    for n in range(passes):
        if PAGEOUT and n > 0:
            page_out(mem)
        i = 0
        for _ in range(npages):
            total += mem[i * PAGE]
            i = (i + step) % npages
    ok = zlib.crc32(mem) == crc
    os._exit(0 if ok else 1)


def main():
    corpus, mib, procs, passes, stats_dir, cgroup = sys.argv[1:7]
    size, procs, passes = int(mib) << 20, int(procs), int(passes)
    per = size // procs // PAGE * PAGE
    ready_r, ready_w = os.pipe()
    go_r, go_w = os.pipe()
    t0 = time.monotonic()
    pids = []
    for _ in range(procs):
        pid = os.fork()
        if pid == 0:
            child(corpus, per, passes, ready_w, go_r)
        pids.append(pid)
    ready = 0
    while ready < procs:
        if select.select([ready_r], [], [], 1.0)[0]:
            ready += len(os.read(ready_r, procs))
        elif any(os.waitpid(pid, os.WNOHANG)[0] for pid in pids):
            # A child died before it filled its memory (the OOM killer, say).
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            sys.exit("hog: a process died while filling its memory")
    t1 = time.monotonic()
    stats = peak(stats_dir, cgroup)
    os.write(go_w, b"g" * procs)
    failed = 0
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        failed += status != 0
    t2 = time.monotonic()
    fields = {"fill_s": f"{t1 - t0:.2f}", "read_s": f"{t2 - t1:.2f}", **stats,
              "intact": int(failed == 0)}
    print(" ".join(f"{k}={v}" for k, v in fields.items()))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

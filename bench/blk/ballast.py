# SPDX-License-Identifier: GPL-2.0
"""make bench-blk: takes MIB MiB of memory and locks it, so that the rest of the
guest runs with that much less; prints "ready" and waits to be killed.

    ballast.py MIB
"""

import ctypes
import mmap
import signal
import sys

MCL_CURRENT = 1


def main():
    size = int(sys.argv[1]) << 20
    mem = mmap.mmap(-1, size)
    for off in range(0, size, mmap.PAGESIZE):
        mem[off] = 1
    if ctypes.CDLL(None, use_errno=True).mlockall(MCL_CURRENT):
        sys.exit(f"ballast: mlockall: errno {ctypes.get_errno()}")
    print("ready", flush=True)
    signal.pause()


if __name__ == "__main__":
    main()

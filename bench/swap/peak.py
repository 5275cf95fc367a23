# SPDX-License-Identifier: GPL-2.0
"""What make bench-swap's workloads read once their memory is written."""


def _read(path, key=None):
    try:
        with open(path) as f:
            if key is None:
                return int(f.read())
            for line in f:
                k, v = line.split()
                if k == key:
                    return int(v)
    except OSError:
        pass
    return -1


def peak(stats, cgroup):
    """The pages stored, their compressed bytes and the pool's size: from a zram device's
    mm_stat if STATS is its sysfs directory, else from zswap's debugfs directory STATS and
    the compressed bytes charged to the cgroup; -1 for what cannot be read."""
    try:
        with open(f"{stats}/mm_stat") as f:
            orig, compr, used = (int(v) for v in f.read().split()[:3])
        return {"stored_pages": orig // 4096, "pool_bytes": used, "compressed_bytes": compr}
    except OSError:
        pass
    return {
        "stored_pages": _read(f"{stats}/stored_pages"),
        "pool_bytes": _read(f"{stats}/pool_total_size"),
        "compressed_bytes": _read(f"{cgroup}/memory.stat", "zswap"),
    }

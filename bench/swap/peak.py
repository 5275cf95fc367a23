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


def peak(debugfs, cgroup):
    """zswap's stored pages and pool size, and the compressed bytes charged to the
    cgroup; -1 for what cannot be read."""
    return {
        "stored_pages": _read(f"{debugfs}/stored_pages"),
        "pool_bytes": _read(f"{debugfs}/pool_total_size"),
        "compressed_bytes": _read(f"{cgroup}/memory.stat", "zswap"),
    }

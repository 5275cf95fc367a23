# SPDX-License-Identifier: GPL-2.0
"""make bench-blk: fio's JSON output (on stdin) of one job group as key=value pairs.

Prints the operations, seconds, IOPS, MiB/s and completion latency percentiles of
the direction that moved data, in the format of blkio.c's line.
"""

import json
import sys


def main():
    job = json.load(sys.stdin)["jobs"][0]
    io = job["read"] if job["read"]["io_bytes"] else job["write"]
    pct = io["clat_ns"].get("percentile", {})

    def us(p):
        return pct.get(p, 0) / 1000

    print(f"ops={io['total_ios']} secs={io['runtime'] / 1000:.3f} iops={io['iops']:.0f} "
          f"mib_s={io['bw_bytes'] / 2**20:.2f} lat_p50_us={us('50.000000'):.1f} "
          f"lat_p99_us={us('99.000000'):.1f} lat_p999_us={us('99.900000'):.1f}")


if __name__ == "__main__":
    main()

# SPDX-License-Identifier: GPL-2.0
"""make bench-blk's report: stock zram against zcomp's block frontend, from the guests'
lines.

Reads the "bench: kernel=K workload=W key=value..." lines of every boot, prints per
workload the median of each figure for each kernel and the ratios zcomp/zram, the
compression ratio and the pool's overhead from mm_stat, writes a bar chart (SVG), and ends
with one line of key=value pairs.

    report.py RESULTS SVG
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pairs import STOCK, ZCOMP, finish, median, parse  # noqa: E402

IO_FIGURES = ("iops", "mib_s", "lat_p50_us", "lat_p99_us", "lat_p999_us")
SWAP_FIGURES = ("wall_s", "fill_s", "read_s", "pswpout", "pswpin")
MEM_FIGURES = ("orig_bytes", "compr_bytes", "used_bytes")


def row(key, s, z):
    ratio = f"{z / s:.3f}" if s else "-"
    print(f"  {key:<22}{s:>14.2f}{z:>14.2f}{ratio:>13}")


def main():
    results, svg_path = sys.argv[1:3]
    runs = parse(results)
    summary, bars = {}, []
    intact = all(r.get("intact", "1") == "1" for rs in runs.values() for r in rs)
    for w in sorted({w for w, _ in runs} - {"intact"}):
        stock, zcomp = runs.get((w, STOCK), []), runs.get((w, ZCOMP), [])
        if not stock or not zcomp:
            sys.exit(f"report: workload {w} lacks runs of one kernel")
        swap = w == "swap"
        print(f"{w}: {len(stock)} stock and {len(zcomp)} zcomp boots, medians")
        print(f"  {'figure':<22}{'stock zram':>14}{'zcomp':>14}{'zcomp/zram':>13}")
        mem = ("stored_pages", "compressed_bytes", "pool_bytes") if swap else MEM_FIGURES
        for key in (SWAP_FIGURES if swap else IO_FIGURES) + mem:
            row(key, median(stock, key), median(zcomp, key))
        orig, compr, used = mem
        for name, runs_k in (("stock zram", stock), ("zcomp", zcomp)):
            o, c, u = (median(runs_k, k) for k in mem)
            o = o * 4096 if swap else o
            print(f"  {name}: compression ratio {o / max(c, 1):.3f}, "
                  f"pool overhead (used/compressed) {u / max(c, 1):.3f}")
        if swap:
            speedup = median(stock, "wall_s") / median(zcomp, "wall_s")
        else:
            speedup = median(zcomp, "iops") / median(stock, "iops")
        used_ratio = median(zcomp, used) / median(stock, used)
        print(f"  throughput zcomp/zram: {speedup:.3f}; memory used zcomp/zram: {used_ratio:.3f}")
        key = w.replace("-", "_")
        summary[f"{key}_speedup"] = f"{speedup:.3f}"
        summary[f"{key}_used_ratio"] = f"{used_ratio:.3f}"
        bars.append((f"{w} throughput", speedup))
        bars.append((f"{w} memory", 1 / used_ratio))
    finish(runs, summary, svg_path, "zcomp against stock zram: throughput and memory ratios "
           "(above 1: zcomp better)", bars, intact)

if __name__ == "__main__":
    main()

# SPDX-License-Identifier: GPL-2.0
"""make bench-swap's report: stock zswap against zcomp, from the guests' lines.

Reads the "bench: kernel=K workload=W key=value..." lines of every boot,
prints per workload the median of each figure for each kernel and the ratios
zcomp/zswap, writes a bar chart (SVG), and ends with one line of key=value
pairs.

    report.py RESULTS SVG
"""

import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pairs import STOCK, ZCOMP, finish, median, parse  # noqa: E402

FIGURES = ("wall_s", "fill_s", "read_s", "zswpout", "zswpin", "zswpwb", "pswpout",
           "pswpin", "stored_pages", "compressed_bytes", "pool_bytes")


def per_page(runs, key):
    """Median over runs of KEY per stored page, at the peak."""
    return statistics.median(float(r[key]) / max(1.0, float(r["stored_pages"]))
                             for r in runs)


def main():
    results, svg_path = sys.argv[1:3]
    runs = parse(results)
    workloads = sorted({w for w, _ in runs})
    summary, bars = {}, []
    intact = all(r.get("intact") == "1" for rs in runs.values() for r in rs)
    for w in workloads:
        stock, zcomp = runs.get((w, STOCK), []), runs.get((w, ZCOMP), [])
        if not stock or not zcomp:
            sys.exit(f"report: workload {w} lacks runs of one kernel")
        print(f"{w}: {len(stock)} stock and {len(zcomp)} zcomp boots, medians")
        print(f"  {'figure':<22}{'stock zswap':>14}{'zcomp':>14}{'zcomp/zswap':>13}")
        for key in FIGURES:
            s, z = median(stock, key), median(zcomp, key)
            ratio = f"{z / s:.3f}" if s else "-"
            print(f"  {key:<22}{s:>14.2f}{z:>14.2f}{ratio:>13}")
        for key in ("compressed_bytes", "pool_bytes"):
            s, z = per_page(stock, key), per_page(zcomp, key)
            print(f"  {key + '/stored page':<22}{s:>14.1f}{z:>14.1f}{z / s:>13.3f}")
        speedup = median(stock, "wall_s") / median(zcomp, "wall_s")
        pool = per_page(zcomp, "pool_bytes") / per_page(stock, "pool_bytes")
        rate = median(zcomp, "zswpout") / median(zcomp, "fill_s")
        stock_rate = median(stock, "zswpout") / median(stock, "fill_s")
        print(f"  throughput zcomp/zswap (wall time ratio): {speedup:.3f}")
        print(f"  stores per second while filling: zswap {stock_rate:.0f}, zcomp {rate:.0f}")
        key = w.replace("-", "_")
        summary[f"{key}_speedup"] = f"{speedup:.3f}"
        summary[f"{key}_pool_per_page_ratio"] = f"{pool:.3f}"
        summary[f"{key}_zcomp_stores_per_s"] = f"{rate:.0f}"
        summary[f"{key}_zswap_stores_per_s"] = f"{stock_rate:.0f}"
        bars.append((f"{w} throughput", speedup))
        bars.append((f"{w} pool density", 1 / pool))
    finish(runs, summary, svg_path, "zcomp against stock zswap: throughput and pool density ratios "
           "(above 1: zcomp better)", bars, intact)

if __name__ == "__main__":
    main()

# SPDX-License-Identifier: GPL-2.0
"""make bench-swap's report: stock zswap against zcomp, from the guests' lines.

Reads the "bench: kernel=K workload=W key=value..." lines of every boot,
prints per workload the median of each figure for each kernel and the ratios
zcomp/zswap, writes a bar chart (SVG), and ends with one line of key=value
pairs.

    report.py RESULTS SVG
"""

import statistics
import sys

STOCK, ZCOMP = "bench-stock", "bench-zcomp"
FIGURES = ("wall_s", "fill_s", "read_s", "zswpout", "zswpin", "zswpwb", "pswpout",
           "pswpin", "stored_pages", "compressed_bytes", "pool_bytes")


def parse(path):
    runs = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("bench: kernel="):
                continue
            fields = dict(kv.split("=", 1) for kv in line.split()[1:] if "=" in kv)
            runs.setdefault((fields["workload"], fields["kernel"]), []).append(fields)
    return runs


def median(runs, key):
    return statistics.median(float(r[key]) for r in runs)


def per_page(runs, key):
    """Median over runs of KEY per stored page, at the peak."""
    return statistics.median(float(r[key]) / max(1.0, float(r["stored_pages"]))
                             for r in runs)


def svg(path, bars):
    """A bar chart of (label, value) ratios, with a line at 1.0: throughput is stock wall
    time over zcomp's, density stock pool bytes per stored page over zcomp's."""
    width, height, left, top, bar = 640, 60 + 40 * len(bars), 220, 30, 24
    scale = (width - left - 40) / max(1.5, max(v for _, v in bars) * 1.1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="13">',
           f'<text x="10" y="18">zcomp against stock zswap: throughput and pool density ratios (above 1: zcomp better)</text>']
    for i, (label, value) in enumerate(bars):
        y = top + 40 * i
        out.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end">{label}</text>')
        out.append(f'<rect x="{left}" y="{y}" width="{value * scale:.1f}" height="{bar}" '
                   'fill="#4a7bb7"/>')
        out.append(f'<text x="{left + value * scale + 6:.1f}" y="{y + 17}">{value:.3f}</text>')
    x1 = left + scale
    out.append(f'<line x1="{x1:.1f}" y1="{top - 6}" x2="{x1:.1f}" y2="{height - 10}" '
               'stroke="#c33" stroke-dasharray="4 3"/>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


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
    svg(svg_path, bars)
    print(f"plot: {svg_path}")
    summary["pairs"] = min(len(rs) for rs in runs.values())
    summary["intact"] = int(intact)
    print(" ".join(f"{k}={v}" for k, v in summary.items()))


if __name__ == "__main__":
    main()

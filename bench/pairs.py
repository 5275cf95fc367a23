# SPDX-License-Identifier: GPL-2.0
"""What the reports of make bench-swap and make bench-blk share: reading the guests'
"bench: kernel=K workload=W key=value..." lines, medians over boots, and the plot of
zcomp's ratios against the stock kernel's."""

import statistics

STOCK, ZCOMP = "bench-stock", "bench-zcomp"


def parse(path):
    """{(workload, kernel): [fields of each boot]} from the lines in PATH."""
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


def svg(path, title, bars):
    """A bar chart of (label, ratio) bars, with a line at 1.0."""
    width, height, left, top, bar = 640, 60 + 40 * len(bars), 220, 30, 24
    scale = (width - left - 40) / max(1.5, max(v for _, v in bars) * 1.1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="13">',
           f'<text x="10" y="18">{title}</text>']
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


def finish(runs, summary, svg_path, title, bars, intact):
    """Plots BARS, then prints the summary line: SUMMARY's pairs, the number of pairs of
    boots and whether every boot found its data intact."""
    svg(svg_path, title, bars)
    print(f"plot: {svg_path}")
    summary["pairs"] = min(len(rs) for rs in runs.values())
    summary["intact"] = int(intact)
    print(" ".join(f"{k}={v}" for k, v in summary.items()))

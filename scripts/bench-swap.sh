#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stock 6.12 zswap (zsmalloc, lz4) against zcomp (lz4) on identical guests:
# both kernels built from Kconfig.fragment without its debugging options
# (scripts/build-kernel.sh bench-stock, bench-zcomp), booted in turn, PAIRS
# times each (default 3). bench/swap/README.md has the workloads and the
# method. Writes out/bench-swap/ (every boot's lines, the report, the plot)
# and ends with one line of key=value pairs.
set -euo pipefail
. "$(dirname "$0")/env.sh"
. "$(dirname "$0")/bench-pairs.sh"
PAIRS=${PAIRS:-3}
out=$ZCOMP_ROOT/out/bench-swap
corpus=$ZCOMP_ROOT/out/corpus/anon

mkdir -p "$out"
bash "$ZCOMP_ROOT/scripts/bench-corpus.sh" >&2
bench_build bench-swap "$out"
bench_pairs bench-swap "$out" "$PAIRS" 512M "$ZCOMP_ROOT/bench/swap/guest.sh" "$corpus"
python3 "$ZCOMP_ROOT/bench/swap/report.py" "$out/results.txt" "$out/bench-swap.svg" |
	tee "$out/report.txt"

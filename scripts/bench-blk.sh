#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Stock 6.12 zram against zcomp's block frontend, both with lz4, on identical
# guests: both kernels built from Kconfig.fragment without its debugging
# options (scripts/build-kernel.sh bench-stock, bench-zcomp), booted in turn,
# PAIRS times each (default 3). bench/blk/README.md has the workloads and the
# method. Writes out/bench-blk/ (every boot's lines, the report, the plot) and
# ends with one line of key=value pairs.
set -euo pipefail
. "$(dirname "$0")/env.sh"
. "$(dirname "$0")/bench-pairs.sh"
PAIRS=${PAIRS:-3}
out=$ZCOMP_ROOT/out/bench-blk
corpus=$ZCOMP_ROOT/out/corpus

mkdir -p "$out"
bash "$ZCOMP_ROOT/scripts/bench-corpus.sh" >&2
cc -O2 -Wall -pthread -o "$out/blkio" "$ZCOMP_ROOT/bench/blk/blkio.c"
bench_build bench-blk "$out"
bench_pairs bench-blk "$out" "$PAIRS" 1G "$ZCOMP_ROOT/bench/blk/guest.sh" "$corpus" "$out/blkio"
python3 "$ZCOMP_ROOT/bench/blk/report.py" "$out/results.txt" "$out/bench-blk.svg" |
	tee "$out/report.txt"

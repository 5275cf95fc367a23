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
PAIRS=${PAIRS:-3}
out=$ZCOMP_ROOT/out/bench-blk
corpus=$ZCOMP_ROOT/out/corpus

mkdir -p "$out"
bash "$ZCOMP_ROOT/scripts/bench-corpus.sh" >&2
cc -O2 -Wall -pthread -o "$out/blkio" "$ZCOMP_ROOT/bench/blk/blkio.c"
for k in bench-stock bench-zcomp; do
	echo "bench-blk: building $k" >&2
	bash "$ZCOMP_ROOT/scripts/build-kernel.sh" "$k" >"$out/build-$k.log" 2>&1 || {
		tail -20 "$out/build-$k.log" >&2
		echo "bench-blk: building $k failed" >&2
		exit 1
	}
done
: >"$out/results.txt"
for pair in $(seq "$PAIRS"); do
	for k in bench-stock bench-zcomp; do
		echo "bench-blk: pair $pair of $PAIRS, $k" >&2
		GUEST_MEMORY=1G bash "$ZCOMP_ROOT/qemu/guest-run.sh" -k "$k" -t 1800 \
			"$ZCOMP_ROOT/bench/blk/guest.sh" "$corpus" "$out/blkio" \
			>"$out/boot-$pair-$k.log" 2>&1 || {
			tail -20 "$out/boot-$pair-$k.log" >&2
			echo "bench-blk: the $k guest failed (pair $pair)" >&2
			exit 1
		}
		grep '^bench: kernel=' "$out/boot-$pair-$k.log" | tee -a "$out/results.txt" >&2
	done
done
python3 "$ZCOMP_ROOT/bench/blk/report.py" "$out/results.txt" "$out/bench-blk.svg" |
	tee "$out/report.txt"

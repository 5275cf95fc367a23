#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The compressors through the crypto API against the same algorithms called
# from lib/ directly, in the kernel, on 4096 pages of real programs' memory
# (bench/compress/README.md). Builds a stock bench kernel that loads
# modules (scripts/build-kernel.sh bench-compress) and the module
# bench/compress/compbench.c, boots it once, and writes
# out/bench-compress/report.txt, ending with one line of key=value pairs.
set -euo pipefail
. "$(dirname "$0")/env.sh"
out=$ZCOMP_ROOT/out/bench-compress
corpus=$ZCOMP_ROOT/out/corpus/anon

mkdir -p "$out/module"
bash "$ZCOMP_ROOT/scripts/bench-corpus.sh" >&2
echo "bench-compress: building the kernel" >&2
bash "$ZCOMP_ROOT/scripts/build-kernel.sh" bench-compress >"$out/build.log" 2>&1 || {
	tail -20 "$out/build.log" >&2
	echo "bench-compress: building the kernel failed" >&2
	exit 1
}
cp "$ZCOMP_ROOT"/bench/compress/{Kbuild,compbench.c} "$out/module/"
make -C "$ZCOMP_ROOT/out/kbuild-bench-compress" LLVM=-19 CC="ccache clang-19" \
	M="$out/module" modules >>"$out/build.log" 2>&1 || {
	tail -20 "$out/build.log" >&2
	echo "bench-compress: building the module failed" >&2
	exit 1
}
GUEST_MEMORY=512M bash "$ZCOMP_ROOT/qemu/guest-run.sh" -k bench-compress -t 1800 \
	"$ZCOMP_ROOT/bench/compress/guest.sh" "$out/module/compbench.ko" "$corpus" >"$out/boot.log" 2>&1 || {
	tail -20 "$out/boot.log" >&2
	echo "bench-compress: the guest failed" >&2
	exit 1
}
grep '^bench: algo=' "$out/boot.log" >"$out/results.txt"
python3 "$ZCOMP_ROOT/bench/compress/report.py" "$out/results.txt" | tee "$out/report.txt"

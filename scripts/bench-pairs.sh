# SPDX-License-Identifier: GPL-2.0
#
# What make bench-swap and make bench-blk share, sourced after env.sh: the
# two bench kernels built, then booted in turn, stock first.

# bench_build NAME OUT: builds bench-stock and bench-zcomp, logs in OUT.
bench_build() {
	local name=$1 out=$2 k

	for k in bench-stock bench-zcomp; do
		echo "$name: building $k" >&2
		bash "$ZCOMP_ROOT/scripts/build-kernel.sh" "$k" >"$out/build-$k.log" 2>&1 || {
			tail -20 "$out/build-$k.log" >&2
			echo "$name: building $k failed" >&2
			exit 1
		}
	done
}

# bench_pairs NAME OUT PAIRS MEMORY SCRIPT ARGS...: boots each kernel PAIRS
# times in turn with MEMORY, runs SCRIPT ARGS in the guest, and collects its
# "bench: kernel=" lines in OUT/results.txt.
bench_pairs() {
	local name=$1 out=$2 pairs=$3 memory=$4 pair k

	shift 4
	: >"$out/results.txt"
	for pair in $(seq "$pairs"); do
		for k in bench-stock bench-zcomp; do
			echo "$name: pair $pair of $pairs, $k" >&2
			GUEST_MEMORY=$memory bash "$ZCOMP_ROOT/qemu/guest-run.sh" -k "$k" -t 1800 \
				"$@" >"$out/boot-$pair-$k.log" 2>&1 || {
				tail -20 "$out/boot-$pair-$k.log" >&2
				echo "$name: the $k guest failed (pair $pair)" >&2
				exit 1
			}
			grep '^bench: kernel=' "$out/boot-$pair-$k.log" |
				tee -a "$out/results.txt" >&2
		done
	done
}

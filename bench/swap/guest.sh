#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-swap, inside the guest: runs each workload of the benchmark in
# a memory cgroup, with swap on the spare disk and zswap's interface (stock
# zswap or zcomp, whichever the kernel has) on with lz4, and prints a line
# "bench: kernel=K workload=W key=value..." per workload.
#
#   guest.sh CORPUS
set -eu
CORPUS=$1
HERE=$ZCOMP_ROOT/bench/swap
DEV=$ZCOMP_SPARE_DISK
DEBUGFS=/sys/kernel/debug/zswap
PARAMS=/sys/module/zswap/parameters
CGROOT=/sys/fs/cgroup
LIMIT_MIB=48
# Compressed memory is charged to the cgroup: without a cap, the pool of
# pages compressed 2:1 would alone outgrow memory.max, and the cgroup would
# go OOM. Beyond the cap, pages are written back to the device.
ZSWAP_MAX_MIB=16

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
mountpoint -q "$CGROOT" || mount -t cgroup2 none "$CGROOT"
echo +memory >"$CGROOT/cgroup.subtree_control"
echo lz4 >"$PARAMS/compressor"
echo 1 >"$PARAMS/enabled"

vmstat() {
	awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat
}

# run NAME COMMAND...: COMMAND in a fresh cgroup, on a fresh swap device.
run() {
	local name=$1 cg=$CGROOT/bench.$1 out before_out before_in before_wb t0 t1

	shift
	swapoff -a 2>/dev/null || true
	mkswap -f "$DEV" >/dev/null
	swapon "$DEV"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	mkdir "$cg"
	echo $((LIMIT_MIB << 20)) >"$cg/memory.max"
	echo $((ZSWAP_MAX_MIB << 20)) >"$cg/memory.zswap.max"
	before_out=$(vmstat zswpout) before_in=$(vmstat zswpin) before_wb=$(vmstat zswpwb)
	t0=$(date +%s.%N)
	out=$( (echo "$BASHPID" >"$cg/cgroup.procs" && exec "$@" "$DEBUGFS" "$cg") )
	t1=$(date +%s.%N)
	echo "bench: kernel=$ZCOMP_KERNEL workload=$name" \
		"wall_s=$(echo "$t1 - $t0" | bc)" \
		"zswpout=$(($(vmstat zswpout) - before_out))" \
		"zswpin=$(($(vmstat zswpin) - before_in))" \
		"zswpwb=$(($(vmstat zswpwb) - before_wb))" \
		"$out"
	rmdir "$cg"
	swapoff "$DEV"
}

echo "bench: zpool $(cat "$PARAMS/zpool") compressor $(cat "$PARAMS/compressor")"
run hog python3 "$HERE/hog.py" "$CORPUS" 96 2 2
run hog-1proc python3 "$HERE/hog.py" "$CORPUS" 96 1 2
run pyheap python3 "$HERE/pyheap.py" 100000 3

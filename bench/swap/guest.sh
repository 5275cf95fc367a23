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
# The cgroup's limits. Compressed memory is charged to the cgroup: without
# a cap, the pool of 96 MiB compressed 2:1 would alone outgrow 48 MiB, and
# the cgroup would go OOM; beyond the cap, pages are written back to the
# device. hog-pool has room for most of its pool (zcomp keeps
# incompressible pages, which stock zswap sends to the device, so its pool
# must stay capped too): it measures the store and load paths with little
# writeback.
LIMIT_MIB=48 ZSWAP_MAX=16M POOL_LIMIT_MIB=80 POOL_ZSWAP_MAX=36M

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
mountpoint -q "$CGROOT" || mount -t cgroup2 none "$CGROOT"
echo +memory >"$CGROOT/cgroup.subtree_control"
echo lz4 >"$PARAMS/compressor"
echo 1 >"$PARAMS/enabled"

vmstat() {
	awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat
}

# run NAME LIMIT_MIB ZSWAP_MAX COMMAND...: COMMAND in a fresh cgroup with
# memory.max LIMIT_MIB MiB and memory.zswap.max ZSWAP_MAX, on a fresh swap
# device.
run() {
	local name=$1 limit=$2 zswap_max=$3 cg=$CGROOT/bench.$1 out t0 t1
	local before_out before_in before_wb before_pout before_pin

	shift 3
	swapoff -a 2>/dev/null || true
	mkswap -f "$DEV" >/dev/null
	swapon "$DEV"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	mkdir "$cg"
	echo $((limit << 20)) >"$cg/memory.max"
	echo "$zswap_max" >"$cg/memory.zswap.max"
	before_out=$(vmstat zswpout) before_in=$(vmstat zswpin) before_wb=$(vmstat zswpwb)
	before_pout=$(vmstat pswpout) before_pin=$(vmstat pswpin)
	t0=$(date +%s.%N)
	out=$( (echo "$BASHPID" >"$cg/cgroup.procs" && exec "$@" "$DEBUGFS" "$cg") )
	t1=$(date +%s.%N)
	echo "bench: kernel=$ZCOMP_KERNEL workload=$name" \
		"wall_s=$(echo "$t1 - $t0" | bc)" \
		"zswpout=$(($(vmstat zswpout) - before_out))" \
		"zswpin=$(($(vmstat zswpin) - before_in))" \
		"zswpwb=$(($(vmstat zswpwb) - before_wb))" \
		"pswpout=$(($(vmstat pswpout) - before_pout))" \
		"pswpin=$(($(vmstat pswpin) - before_pin))" \
		"$out"
	rmdir "$cg"
	swapoff "$DEV"
}

echo "bench: zpool $(cat "$PARAMS/zpool") compressor $(cat "$PARAMS/compressor")"
run hog "$LIMIT_MIB" "$ZSWAP_MAX" python3 "$HERE/hog.py" "$CORPUS" 96 2 2
run hog-1proc "$LIMIT_MIB" "$ZSWAP_MAX" python3 "$HERE/hog.py" "$CORPUS" 96 1 2
run hog-pool "$POOL_LIMIT_MIB" "$POOL_ZSWAP_MAX" python3 "$HERE/hog.py" "$CORPUS" 96 2 2
run pyheap "$LIMIT_MIB" "$ZSWAP_MAX" python3 "$HERE/pyheap.py" 100000 3

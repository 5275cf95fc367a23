#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-blk, inside the guest: the workloads of the benchmark on a zram
# device (stock zram or zcomp's block frontend, whichever the kernel has),
# compressing with lz4; prints a line "bench: kernel=K workload=W key=value..."
# per workload.
#
#   guest.sh CORPUS BLKIO
set -eu
CORPUS=$1
BLKIO=$2
HERE=$ZCOMP_ROOT/bench/blk
DATA=/dev/shm/blkdata
DATA_MIB=64

# Swap goes to the device itself, not through the swap frontend or zswap.
echo 0 >/sys/module/zswap/parameters/enabled

# The data: 64 MiB of real files and memory, staged in RAM so that reading
# it costs the same on both kernels: executables and libraries, text, and
# core dumps of running programs, 1 MiB from each file in turn.
python3 - "$CORPUS" "$DATA" "$DATA_MIB" <<'EOF'
import os, sys
corpus, dest, mib = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = [os.path.join(d, f) for s in ("exec", "text", "anon")
         for d, _, fs in sorted(os.walk(os.path.join(corpus, s))) for f in sorted(fs)
         if not f.startswith(".")]
need, off, out = mib << 20, 0, open(dest, "wb")
while need:
    for name in files:
        with open(name, "rb") as f:
            f.seek(off)
            chunk = f.read(min(1 << 20, need))
        out.write(chunk)
        need -= len(chunk)
        if not need:
            break
    off += 1 << 20
EOF

vmstat() {
	awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat
}

# mm_stat DEV: orig_data_size, compr_data_size and mem_used_total of DEV.
mm_stat() {
	awk '{ printf "orig_bytes=%s compr_bytes=%s used_bytes=%s max_used_bytes=%s", $1, $2, $3, $5 }' \
		"/sys/block/${1#/dev/}/mm_stat"
}

# device SIZE: a fresh lz4 device of SIZE; prints its path. zramctl resets the
# device it finds first, and the last reset's uevent may still have it open
# to udev's probe: the same wait as reset's.
device() {
	local i dev

	for i in $(seq 120); do
		dev=$(zramctl --find --size "$1" --algorithm lz4 2>/dev/null) && break
		sleep 0.5
	done
	[ -n "${dev:-}" ] || dev=$(zramctl --find --size "$1" --algorithm lz4) || exit 1
	echo "$dev"
}

# fio_line DEV ARGS...: fio on DEV, its result as key=value pairs.
fio_line() {
	local dev=$1

	shift
	fio --name=bench --filename="$dev" --direct=1 --ioengine=psync --group_reporting \
		--output-format=json "$@" | python3 "$HERE/fio_line.py"
}

# reset DEV: resets DEV, retrying for up to 60 s while udev's probe still has
# it open after a write; names whoever still holds it if that is not enough.
reset() {
	local i fd

	for i in $(seq 120); do
		zramctl --reset "$1" 2>/dev/null && return 0
		sleep 0.5
	done
	for fd in /proc/[0-9]*/fd/*; do
		[ "$(readlink "$fd" 2>/dev/null)" = "$1" ] &&
			echo "$1 held by $(cat "${fd%/fd/*}/comm" 2>/dev/null)" >&2
	done
	zramctl --reset "$1"
}

report() {
	echo "bench: kernel=$ZCOMP_KERNEL workload=$1 ${*:2}"
}

# Sequential 1 MiB writes of the data, then reads of it, then random 4 KiB
# reads of it (two jobs, one per CPU), on one device.
dev=$(device 128M)
out=$("$BLKIO" seqwrite "$dev" "$DATA" $((1 << 20)))
report seq-write "$out $(mm_stat "$dev")"
out=$(fio_line "$dev" --rw=read --bs=1M --size=${DATA_MIB}M)
report seq-read "$out $(mm_stat "$dev")"
out=$(fio_line "$dev" --rw=randread --bs=4k --size=${DATA_MIB}M --numjobs=2 \
	--time_based --runtime=10 --randrepeat=1)
report rand-read "$out $(mm_stat "$dev")"
cmp -n $((DATA_MIB << 20)) "$DATA" "$dev" && intact=1 || intact=0
report intact "intact=$intact"
reset "$dev"

# Random 4 KiB writes of the data's pages, two threads, on a fresh device
# first filled with the data.
dev=$(device 128M)
"$BLKIO" seqwrite "$dev" "$DATA" $((1 << 20)) >/dev/null
out=$("$BLKIO" randwrite "$dev" "$DATA" 4096 32768 2)
report rand-write "$out $(mm_stat "$dev")"
reset "$dev"

# Swap on the device: bench-swap's hog (two processes fill 96 MiB with the
# anon core dumps and read it twice), each pushing all of its pages out to
# the device itself before each read pass (HOG_PAGEOUT=1, MADV_PAGEOUT), so
# that on both kernels every page goes out and comes back twice. Memory
# pressure would make what goes out depend on what each boot leaves free,
# and a cgroup's limit would not be the same limit on both kernels: zcomp
# charges swapped-out pages' compressed memory to their cgroup, stock zram
# does not.
rm -f "$DATA"
dev=$(device 256M)
mkswap "$dev" >/dev/null
swapon "$dev"
before_out=$(vmstat pswpout) before_in=$(vmstat pswpin)
t0=$(date +%s.%N)
out=$(HOG_PAGEOUT=1 python3 "$ZCOMP_ROOT/bench/swap/hog.py" "$CORPUS/anon" 96 2 2 \
	"/sys/block/${dev#/dev/}" /nonexistent)
t1=$(date +%s.%N)
report swap "wall_s=$(echo "$t1 - $t0" | bc)" \
	"pswpout=$(($(vmstat pswpout) - before_out))" \
	"pswpin=$(($(vmstat pswpin) - before_in)) $out"
swapoff "$dev"
reset "$dev"

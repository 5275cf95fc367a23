#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# zcomp's two frontends in one kernel. First, swap on a zcomp block device,
# with zswap's interface off: swap_integrity's pages, pushed out of a
# memory cgroup limited to two thirds of them, come back intact, and after
# swapoff the device holds no more than mkswap wrote. The compressed copies
# of the swapped-out pages are charged to the cgroup as kernel memory while
# they are stored, and uncharged when their slots are freed. Then both frontends
# at once: zswap's interface in front of the disk while a filesystem on a
# zcomp device is filled with real files; both are verified, and zcomp's
# debugfs shows each frontend's share of the pools, the shares adding up
# to the whole. Last, the two share one budget: with max_pool_percent
# below what the filesystem's device holds, the swap frontend finds the
# pools full, stores nothing that takes pool memory and sends its pages to
# the disk, losing none; once the device is reset it stores again.
#
# Needs the swap device to use (its contents are destroyed) in
# ZCOMP_SWAP_DEV, e.g. ZCOMP_SWAP_DEV=/dev/vdb.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh

CG="/sys/fs/cgroup/zcomp_frontends.$$"
CTL=/sys/class/zram-control
ZCOMP_DEBUGFS=/sys/kernel/debug/zcomp
PROCS=3 MIB=16 ROUNDS=2		# small, as the guest may run under TCG
LIMIT_MIB=$((PROCS * MIB / 3))	# memory.max for the runs
# memory.max for swap on the device: the compressed copies count against
# it, so it leaves room for them beside the pages in memory.
DEVICE_LIMIT_MIB=$((PROCS * MIB * 2 / 3))
READY_TIMEOUT=300		# seconds for swap_integrity -w to fill its memory
PAGE_SIZE=$(getconf PAGESIZE)

ktap_print_header
SWAP_LIB_TOOLS="mkfs.ext4 diff tar"
. "$DIR"/swap_lib.sh
. "$DIR"/blk_lib.sh
[ -d "$CTL" ] || swap_lib_skip "no $CTL: kernel without zram's devices"
[ -r "$ZCOMP_DEBUGFS/blk_pool_pages" ] ||
	swap_lib_skip "no $ZCOMP_DEBUGFS/blk_pool_pages: zram's devices are not zcomp's"

TMP=$(mktemp -d /tmp/zcomp_frontends.XXXXXX) || ktap_exit_fail_msg "mktemp failed"
MNT=$TMP/mnt
mkdir "$MNT"
ORIG_ENABLED=$(cat "$ZSWAP_PARAMS/enabled")
ORIG_PERCENT=$(cat "$ZSWAP_PARAMS/max_pool_percent")
MEMORY_WAS_ENABLED=0
grep -qsw memory "$CGROUP_ROOT/cgroup.subtree_control" && MEMORY_WAS_ENABLED=1
ID=
SAMPLER=
WPID=

cleanup() {
	[ -n "$SAMPLER" ] && kill "$SAMPLER" 2>/dev/null
	[ -n "$WPID" ] && kill -KILL "$WPID" 2>/dev/null
	[ -n "$SWAP_LIB_RUNPID" ] && kill -KILL "$SWAP_LIB_RUNPID" 2>/dev/null
	swap_lib_kill_cgroup "$CG"
	umount "$MNT" 2>/dev/null
	swapoff -a 2>/dev/null
	if [ -n "$ID" ]; then
		echo 1 2>/dev/null >"/sys/block/zram$ID/reset"
		echo "$ID" 2>/dev/null >"$CTL/hot_remove"
	fi
	[ "$MEMORY_WAS_ENABLED" = 1 ] ||
		echo -memory >"$CGROUP_ROOT/cgroup.subtree_control" 2>/dev/null
	echo "$ORIG_PERCENT" >"$ZSWAP_PARAMS/max_pool_percent" 2>/dev/null
	echo "$ORIG_ENABLED" >"$ZSWAP_PARAMS/enabled" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit "$KSFT_FAIL"' HUP INT PIPE TERM

zcomp() {
	cat "$ZCOMP_DEBUGFS/$1"
}

zswap() {
	cat "$ZSWAP_DEBUGFS/$1"
}

# mm_stat FIELD: field FIELD (from 1) of the device's mm_stat.
mm_stat() {
	awk -v f="$1" '{ print $f }' "$SYS/mm_stat"
}

# shares_add_up: pool_pages is swap_pool_pages plus blk_pool_pages. The
# three are read one after another, so a busy pool may need a few tries.
shares_add_up() {
	local i all swap blk

	for i in $(seq 20); do
		all=$(zcomp pool_pages)
		swap=$(zcomp swap_pool_pages)
		blk=$(zcomp blk_pool_pages)
		[ "$all" = $((swap + blk)) ] && return 0
		sleep 0.2
	done
	ktap_print_msg "pool_pages $all, swap_pool_pages $swap, blk_pool_pages $blk"
	return 1
}

# sample_shares OUT: every half second, append both frontends' shares to OUT.
sample_shares() {
	while :; do
		echo "$(zcomp swap_pool_pages) $(zcomp blk_pool_pages)" >>"$1"
		sleep 0.5
	done
}

# memstat KEY: KEY of the cgroup's memory.stat.
memstat() {
	awk -v k="$1" '$1 == k { print $2 }' "$CG/memory.stat"
}

# max_share OUT FIELD: the largest share in column FIELD of OUT.
max_share() {
	awk -v f="$2" '$f > m { m = $f } END { print m + 0 }' "$1"
}

ktap_set_plan 7

swapoff -a 2>/dev/null
echo +memory >"$CGROUP_ROOT/cgroup.subtree_control" 2>/dev/null
mkdir "$CG" || ktap_exit_fail_msg "cannot create $CG"
echo $((LIMIT_MIB << 20)) >"$CG/memory.max" || ktap_exit_fail_msg "cannot set memory.max"
# The swap frontend charges its compressed pages to the cgroup: capped at a
# third of memory.max, the rest goes to the disk and the cgroup stays out
# of OOM.
echo $(((LIMIT_MIB << 20) / 3)) >"$CG/memory.zswap.max" 2>/dev/null

# 1: swap on a zcomp device, zswap's interface off.
ID=$(cat "$CTL/hot_add") || ktap_exit_fail_msg "cannot add a device"
SYS=/sys/block/zram$ID
ZDEV=/dev/zram$ID
echo 0 >"$ZSWAP_PARAMS/enabled" || ktap_exit_fail_msg "cannot disable zswap"
echo 128M >"$SYS/disksize" || ktap_exit_fail_msg "cannot size $ZDEV"
mkswap "$ZDEV" >/dev/null 2>&1 || ktap_exit_fail_msg "mkswap $ZDEV failed"
header=$(mm_stat 1)
swapon "$ZDEV" || ktap_exit_fail_msg "swapon $ZDEV failed"
echo $((DEVICE_LIMIT_MIB << 20)) >"$CG/memory.max"
pswpin_before=$(vmstat pswpin)
swap_lib_run "$CG" "$TMP/run1" -p "$PROCS" -m "$MIB" -r "$ROUNDS"
rc=$?
swap_lib_diag "$TMP/run1"
pswpin=$(($(vmstat pswpin) - pswpin_before))
used_max=$(mm_stat 5)
ktap_print_msg "swapped in $pswpin pages from $ZDEV; mm_stat $(cat "$SYS/mm_stat")"
through_device() {
	swap_lib_intact "$rc" "$TMP/run1" && [ "$pswpin" -gt 0 ] && [ "$used_max" -gt 0 ]
}
ktap_test_result \
	"swap on a zcomp device: $PROCS x $MIB MiB under $DEVICE_LIMIT_MIB MiB come back intact" \
	through_device

# The compressed copies are charged to the cgroup while stored. memory.stat
# is flushed lazily, to within a few hundred KiB: allow 1 MiB.
kernel_before=$(memstat kernel)
(echo "$BASHPID" >"$CG/cgroup.procs" && exec "$PROG" -w -p "$PROCS" -m "$MIB") \
	>"$TMP/run1w" 2>&1 &
WPID=$!
if swap_lib_wait_ready "$TMP/run1w" "$WPID" "$READY_TIMEOUT"; then
	compr=$(mm_stat 2)
	charged=$(($(memstat kernel) - kernel_before))
	kill -USR1 "$WPID"
fi
wait "$WPID"
rc=$?
WPID=
swap_lib_diag "$TMP/run1w"
left=$(($(memstat kernel) - kernel_before))
ktap_print_msg "stored: compr_data_size ${compr:-?}, the cgroup's kernel memory +${charged:-?};" \
	"after exit +$left"
charged() {
	swap_lib_intact "$rc" "$TMP/run1w" && [ "$compr" -gt $((1 << 20)) ] &&
		[ $((charged + (1 << 20))) -ge "$compr" ] &&
		[ "$left" -le $((compr / 4 + (1 << 20))) ]
}
ktap_test_result "swap on a zcomp device is charged to the cgroup while stored" charged
echo $((LIMIT_MIB << 20)) >"$CG/memory.max"
swapoff "$ZDEV"
left=$(mm_stat 1)
ktap_print_msg "after swapoff: $left bytes stored, $header after mkswap"
ktap_test_result "after swapoff the device holds only what mkswap wrote" [ "$left" = "$header" ]

# 2: both frontends at once, verified.
echo 1 >"$SYS/reset" && echo 128M >"$SYS/disksize" || ktap_exit_fail_msg "cannot reinitialise $ZDEV"
mkfs.ext4 -q "$ZDEV" && mount "$ZDEV" "$MNT" ||
	ktap_exit_fail_msg "cannot make a filesystem on $ZDEV"
mkswap -f "$DEV" >/dev/null 2>&1 && swapon "$DEV" || ktap_exit_fail_msg "cannot swap on $DEV"
echo 1 >"$ZSWAP_PARAMS/enabled" || ktap_exit_fail_msg "cannot enable zswap"
zswpout_before=$(vmstat zswpout)
sample_shares "$TMP/shares" &
SAMPLER=$!
blk_lib_copy_files "$MNT/copy" 2>"$TMP/cp.err" &
copier=$!
swap_lib_run "$CG" "$TMP/run2" -p "$PROCS" -m "$MIB" -r "$ROUNDS"
rc=$?
wait "$copier"
cp_rc=$?
kill "$SAMPLER"
wait "$SAMPLER" 2>/dev/null
SAMPLER=
swap_lib_diag "$TMP/run2"
swap_lib_diag "$TMP/cp.err"
zswpout=$(($(vmstat zswpout) - zswpout_before))
umount "$MNT" && echo 3 >/proc/sys/vm/drop_caches && mount "$ZDEV" "$MNT" &&
	blk_lib_same_files "$MNT/copy"
same=$?
ktap_print_msg "zswpout +$zswpout;" \
	"$(du -s "$MNT/copy" | cut -f1) KiB of files: mm_stat $(cat "$SYS/mm_stat")"
both_intact() {
	swap_lib_intact "$rc" "$TMP/run2" && [ "$cp_rc" = 0 ] && [ "$same" = 0 ] &&
		[ "$zswpout" -gt 0 ]
}
ktap_test_result "both frontends at once: swapped pages and a filesystem's files come back intact" \
	both_intact
swap_max=$(max_share "$TMP/shares" 1)
blk_max=$(max_share "$TMP/shares" 2)
ktap_print_msg "largest shares seen: swap_pool_pages $swap_max, blk_pool_pages $blk_max"
both_shares() {
	[ "$swap_max" -gt 0 ] && [ "$blk_max" -gt 0 ] && shares_add_up
}
ktap_test_result "zcomp's debugfs shows each frontend's share, and the shares add up" both_shares

# 3: one budget. A max_pool_percent the device's share alone exceeds.
ram_pages=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024 / PAGE_SIZE))
blk=$(zcomp blk_pool_pages)
percent=$((blk * 100 / ram_pages))
[ "$percent" -ge 1 ] || ktap_print_msg "the device holds $blk pages, under 1% of $ram_pages"
echo "$percent" >"$ZSWAP_PARAMS/max_pool_percent"
hits_before=$(zswap pool_limit_hit)
swap_before=$(zcomp swap_pool_pages)
swap_lib_run "$CG" "$TMP/run3" -p "$PROCS" -m "$MIB" -r 1
rc=$?
swap_lib_diag "$TMP/run3"
hits=$(($(zswap pool_limit_hit) - hits_before))
swap_after=$(zcomp swap_pool_pages)
ktap_print_msg "max_pool_percent $percent, the device holding $blk of $ram_pages pages:" \
	"pool_limit_hit +$hits, swap_pool_pages $swap_before -> $swap_after"
crowded_out() {
	[ "$percent" -ge 1 ] && swap_lib_intact "$rc" "$TMP/run3" && [ "$hits" -gt 0 ] &&
		[ "$swap_after" -le "$swap_before" ]
}
ktap_test_result \
	"the device's pages over the budget: the swap frontend stores nothing and loses nothing" \
	crowded_out

# Reset the device, and the budget is the swap frontend's again.
umount "$MNT"
echo 1 >"$SYS/reset"
: >"$TMP/shares"
sample_shares "$TMP/shares" &
SAMPLER=$!
swap_lib_run "$CG" "$TMP/run4" -p "$PROCS" -m "$MIB" -r 1
rc=$?
kill "$SAMPLER"
wait "$SAMPLER" 2>/dev/null
SAMPLER=
swap_lib_diag "$TMP/run4"
swap_max=$(max_share "$TMP/shares" 1)
ktap_print_msg "device reset: blk_pool_pages $(zcomp blk_pool_pages)," \
	"swap_pool_pages up to $swap_max"
stores_again() {
	swap_lib_intact "$rc" "$TMP/run4" && [ "$(zcomp blk_pool_pages)" = 0 ] &&
		[ "$swap_max" -gt 0 ] && shares_add_up
}
ktap_test_result "with the device reset, the swap frontend stores again" stores_again

ktap_finished

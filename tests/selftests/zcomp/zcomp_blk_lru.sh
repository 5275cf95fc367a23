#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A zcomp device's blocks on the LRU the swap frontend's pages are on.
# With a backing device, a device's blocks in the pools are written back by
# the writeback that keeps the pools of both frontends under zswap's
# max_pool_percent: a write that takes the pools past it starts the
# writeback, which moves the coldest blocks to the backing device until the
# pools are under the accept threshold. Every block reads back intact; a
# device without a backing device keeps its blocks; writeback_limit bounds
# what moves; a backing device whose writes fail loses nothing.
#
# Needs a spare block device for the backing device (its contents are
# destroyed) in ZCOMP_SWAP_DEV, e.g. ZCOMP_SWAP_DEV=/dev/vdb.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh
. "$DIR"/blk_lib.sh

ZSWAP_PARAMS=/sys/module/zswap/parameters
ZSWAP_DEBUGFS=/sys/kernel/debug/zswap
ZCOMP_DEBUGFS=/sys/kernel/debug/zcomp
BDEV=${ZCOMP_SWAP_DEV:-}
MIB=24		# data written to the device, several times the pools' limit
SETTLE=60	# seconds the writeback may take to bring the pools under it
PAGE_SIZE=$(getconf PAGESIZE)

ktap_print_header

blk_lib_need_backing "$BDEV"
[ -e "$ZSWAP_PARAMS/max_pool_percent" ] || blk_lib_skip "kernel without zswap's interface"
blk_lib_need_fail_io "$BDEV"
[ -r "$ZCOMP_DEBUGFS/blk_pool_pages" ] ||
	blk_lib_skip "no $ZCOMP_DEBUGFS/blk_pool_pages: zram's devices are not zcomp's"

TMP=$(mktemp -d /tmp/zcomp_blk_lru.XXXXXX) || ktap_exit_fail_msg "mktemp failed"
ORIG_ENABLED=$(cat "$ZSWAP_PARAMS/enabled")
ORIG_PERCENT=$(cat "$ZSWAP_PARAMS/max_pool_percent")
blk_lib_add

cleanup() {
	blk_lib_fail_io off
	blk_lib_remove
	echo "$ORIG_PERCENT" >"$ZSWAP_PARAMS/max_pool_percent"
	echo "$ORIG_ENABLED" >"$ZSWAP_PARAMS/enabled"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit "$KSFT_FAIL"' HUP INT PIPE TERM

written_back() {
	cat "$ZSWAP_DEBUGFS/written_back_pages"
}

pool_pages() {
	cat "$ZCOMP_DEBUGFS/blk_pool_pages"
}

# settle: waits up to SETTLE seconds for the device's pools to be under the
# limit; fails if they are not.
settle() {
	local t

	for t in $(seq "$SETTLE"); do
		[ "$(pool_pages)" -le "$LIMIT" ] && return 0
		sleep 1
	done
	[ "$(pool_pages)" -le "$LIMIT" ]
}

# write MIB OFFSET_MIB FILE: writes MIB MiB of FILE to the device at OFFSET_MIB.
write() {
	dd if="$3" of="$ZDEV" bs=1M count="$1" seek="$2" iflag=fullblock oflag=direct \
		conv=notrunc status=none
}

# Real data, executables and text, that compresses about as a system's does.
{
	cat /usr/bin/* 2>/dev/null | head -c $(((MIB - 4) << 20))
	cat /usr/lib/python3*/*.py 2>/dev/null | head -c $((4 << 20))
} >"$TMP/data"
[ "$(stat -c %s "$TMP/data")" = $((MIB << 20)) ] || ktap_exit_fail_msg "cannot make the test data"
cat /usr/lib/python3*/*/*.py /usr/lib/python3*/*/*/*.py 2>/dev/null |
	head -c $((8 << 20)) >"$TMP/more"
[ "$(stat -c %s "$TMP/more")" = $((8 << 20)) ] || ktap_exit_fail_msg "cannot make the test data"
want=$(sha256sum <"$TMP/data" | cut -d' ' -f1)

echo Y >"$ZSWAP_PARAMS/enabled"
echo 1 >"$ZSWAP_PARAMS/max_pool_percent"
LIMIT=$(($(awk '/^MemTotal:/ { print $2 }' /proc/meminfo) * 1024 / PAGE_SIZE / 100))
ktap_print_msg "pools limited to $LIMIT pages; $MIB MiB written"

ktap_set_plan 4

# 1. Without a backing device the device keeps every block, over the limit.
before=$(written_back)
echo 64M >"$SYS/disksize" || ktap_exit_fail_msg "cannot size $ZDEV"
write "$MIB" 0 "$TMP/data"
sleep 2
held=$(pool_pages)
ktap_print_msg "no backing device: $held pool pages," \
	"written_back_pages +$(($(written_back) - before))"
kept() {
	[ "$held" -gt "$LIMIT" ] && [ "$(written_back)" = "$before" ] &&
		[ "$(blk_lib_sum "$MIB")" = "$want" ]
}
ktap_test_result "a device without a backing device keeps its blocks over the limit" kept
echo 1 >"$SYS/reset"

# 2. With one, writes past the limit send the coldest blocks to it.
before=$(written_back)
echo "$BDEV" >"$SYS/backing_dev" || ktap_exit_fail_msg "cannot set the backing device"
echo 64M >"$SYS/disksize" || ktap_exit_fail_msg "cannot size $ZDEV"
write "$MIB" 0 "$TMP/data"
settle
rc=$?
moved=$(blk_lib_field bd_stat 1)
ktap_print_msg "pool pages $(pool_pages); bd_stat $(cat "$SYS/bd_stat");" \
	"written_back_pages +$(($(written_back) - before))"
cold_moved() {
	[ "$rc" = 0 ] && [ "$moved" -gt 0 ] && [ "$(written_back)" = $((before + moved)) ] &&
		[ "$(blk_lib_sum "$MIB")" = "$want" ]
}
ktap_test_result "writes past the limit move the coldest blocks to the backing device intact" \
	cold_moved

# 3. writeback_limit bounds what the writeback moves.
writes=$(blk_lib_field bd_stat 3)
echo 1 >"$SYS/writeback_limit_enable" && echo 16 >"$SYS/writeback_limit"
write 8 "$MIB" "$TMP/more"
sleep 2
limited=$(($(blk_lib_field bd_stat 3) - writes))
left=$(cat "$SYS/writeback_limit")
echo 0 >"$SYS/writeback_limit_enable"
cat "$TMP/data" "$TMP/more" | sha256sum | cut -d' ' -f1 >"$TMP/want2"
ktap_print_msg "with writeback_limit 16: $limited written, limit left $left," \
	"pool pages $(pool_pages)"
limit_ok() {
	[ "$limited" = 16 ] && [ "$left" = 0 ] &&
		[ "$(blk_lib_sum $((MIB + 8)))" = "$(cat "$TMP/want2")" ]
}
ktap_test_result "writeback_limit bounds the blocks the writeback moves" limit_ok

# 4. A backing device whose writes fail: the blocks stay in the pools.
failed_before=$(blk_lib_field io_stat 2)
slots_before=$(blk_lib_field bd_stat 1)
blk_lib_fail_io on
write 4 "$MIB" "$TMP/data"
sleep 2
blk_lib_fail_io off
failed=$(($(blk_lib_field io_stat 2) - failed_before))
{
	cat "$TMP/data"
	head -c $((4 << 20)) "$TMP/data"
	tail -c +$(((4 << 20) + 1)) "$TMP/more"
} | sha256sum | cut -d' ' -f1 >"$TMP/want3"
ktap_print_msg "writes failing: io_stat failed_writes +$failed," \
	"slots $slots_before -> $(blk_lib_field bd_stat 1)"
nothing_lost() {
	[ "$failed" -gt 0 ] && [ "$(blk_lib_field bd_stat 1)" = "$slots_before" ] &&
		[ "$(blk_lib_sum $((MIB + 8)))" = "$(cat "$TMP/want3")" ]
}
ktap_test_result "with the backing device failing writes, the writeback loses nothing" \
	nothing_lost

ktap_finished

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Writeback of a zcomp device's blocks to its backing device, through
# zram's files: backing_dev, writeback (huge, idle, page_index=N), idle,
# writeback_limit and writeback_limit_enable, bd_stat. Every written-back
# block must read back as written; overwriting or discarding one frees its
# backing slot; a backing device whose writes fail loses nothing; reset
# gives the backing device up. What zram refuses is refused, and malformed
# writes fail and change nothing.
#
# Needs a spare block device for the backing device (its contents are
# destroyed) in ZCOMP_SWAP_DEV, e.g. ZCOMP_SWAP_DEV=/dev/vdb.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh
. "$DIR"/blk_lib.sh

BDEV=${ZCOMP_SWAP_DEV:-}
MIB=16		# data written to the device
PAGE_SIZE=$(getconf PAGESIZE)

ktap_print_header

blk_lib_need_backing "$BDEV"
blk_lib_need_fail_io "$BDEV"

TMP=$(mktemp -d /tmp/zcomp_blk_writeback.XXXXXX) || ktap_exit_fail_msg "mktemp failed"
blk_lib_add

cleanup() {
	blk_lib_fail_io off
	blk_lib_remove
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit "$KSFT_FAIL"' HUP INT PIPE TERM

ok=1
# refuse ATTR VALUE...: every write fails and the attribute reads the same.
refuse() {
	blk_lib_refuse "$SYS/$1" "${@:2}" || ok=0
}

ktap_set_plan 9

# 1. Before initialisation: no backing device, nothing to write back.
[ "$(cat "$SYS/backing_dev")" = none ] || ok=0
refuse backing_dev /nonexistent /etc/passwd "$ZDEV" $'\n'
refuse writeback idle huge
refuse idle all
refuse writeback_limit abc -1 1K "5 "
refuse writeback_limit_enable abc -1
ktap_test_result "an uninitialised device refuses writeback, idle and bad backing devices" \
	[ $ok = 1 ]

# The data: random bytes (stored raw), executables, zeroes and text. The
# random bytes come first, so that the first 2 MiB are all written back.
{
	head -c $((2 << 20)) /dev/urandom
	cat /usr/bin/* 2>/dev/null | head -c $(((MIB - 6) << 20))
	head -c $((2 << 20)) /dev/zero
	cat /usr/lib/python3*/*.py 2>/dev/null | head -c $((2 << 20))
} >"$TMP/data"
[ "$(stat -c %s "$TMP/data")" = $((MIB << 20)) ] || ktap_exit_fail_msg "cannot make the test data"
want=$(sha256sum <"$TMP/data" | cut -d' ' -f1)

# 2. A backing device, then what an initialised device refuses.
ok=1
echo "$BDEV" >"$SYS/backing_dev" || ok=0
[ "$(cat "$SYS/backing_dev")" = "$BDEV" ] || ok=0
mkfs.ext4 -q -F "$BDEV" 2>/dev/null && ok=0	# it is held exclusively
echo 64M >"$SYS/disksize" || ktap_exit_fail_msg "cannot size $ZDEV"
dd if="$TMP/data" of="$ZDEV" bs=1M oflag=direct status=none || ok=0
refuse backing_dev "$BDEV" /dev/null
refuse writeback nonesuch page_index= page_index=x page_index=-1 \
	page_index=$((64 << 20 >> 12)) "huge idle"
refuse idle nonesuch all5 -1 5s "5 " 0x $'\n'
ktap_test_result "backing_dev is held exclusively; bad writebacks are refused" [ $ok = 1 ]

# 3. Huge writeback: every raw block moves, and reads back.
huge=$(blk_lib_field mm_stat 8)
echo huge >"$SYS/writeback"
rc=$?
ktap_print_msg "huge_pages $huge -> $(blk_lib_field mm_stat 8); bd_stat $(cat "$SYS/bd_stat")"
huge_moved() {
	[ "$rc" = 0 ] && [ "$huge" -gt 0 ] && [ "$(blk_lib_field mm_stat 8)" = 0 ] &&
		[ "$(blk_lib_field bd_stat 1)" = "$huge" ] && [ "$(blk_lib_sum "$MIB")" = "$want" ]
}
ktap_test_result "writeback huge moves the $huge raw blocks, which read back intact" huge_moved

# 4. idle with an age marks the blocks in the pools not read or written for
# that long and clears the others' marks; idle writeback moves the marked.
in_pool=$(($(blk_lib_field mm_stat 1) / PAGE_SIZE - $(blk_lib_field mm_stat 6) -
	$(blk_lib_field bd_stat 1)))
writes=$(blk_lib_field bd_stat 3)
echo all >"$SYS/idle" && echo 100000 >"$SYS/idle" && echo idle >"$SYS/writeback"
none=$(($(blk_lib_field bd_stat 3) - writes))
sleep 3
dd if="$ZDEV" of=/dev/null bs=1M skip=$((MIB - 2)) count=2 iflag=direct status=none
echo 2 >"$SYS/idle" && echo idle >"$SYS/writeback"
rc=$?
aged=$(($(blk_lib_field bd_stat 3) - writes - none))
ktap_print_msg "$in_pool blocks in the pools; after idle all, idle 100000: $none written" \
	"back; after the last 2 MiB were read, idle 2: $aged"
aged_moved() {
	[ "$rc" = 0 ] && [ "$none" = 0 ] && [ "$aged" = $((in_pool - 512)) ] &&
		[ "$(blk_lib_sum "$MIB")" = "$want" ]
}
ktap_test_result "idle with an age marks only the blocks untouched that long" aged_moved

# 5. Idle writeback: every block in the pools moves; reads come from the backing device.
stored=$(($(blk_lib_field mm_stat 1) / PAGE_SIZE))
same=$(blk_lib_field mm_stat 6)
echo all >"$SYS/idle" && echo idle >"$SYS/writeback"
rc=$?
reads=$(blk_lib_field bd_stat 2)
got=$(blk_lib_sum "$MIB")
reads=$(($(blk_lib_field bd_stat 2) - reads))
ktap_print_msg "$stored blocks, $same same-filled; mm_stat $(cat "$SYS/mm_stat");" \
	"bd_stat $(cat "$SYS/bd_stat")"
idle_moved() {
	[ "$rc" = 0 ] && [ "$(blk_lib_field bd_stat 1)" = $((stored - same)) ] &&
		[ "$(blk_lib_field mm_stat 2)" = 0 ] && [ "$got" = "$want" ] &&
		[ "$reads" = $((stored - same)) ]
}
ktap_test_result "idle writeback moves every block in the pools; all read back from it intact" \
	idle_moved

# 6. Overwriting and discarding written-back blocks frees their slots.
before=$(blk_lib_field bd_stat 1)
head -c $((1 << 20)) /dev/urandom >"$TMP/new"
dd if="$TMP/new" of="$ZDEV" bs=1M oflag=direct conv=notrunc status=none
blkdiscard -o $((1 << 20)) -l $((1 << 20)) "$ZDEV"
after=$(blk_lib_field bd_stat 1)
{
	cat "$TMP/new"
	head -c $((1 << 20)) /dev/zero
	tail -c +$(((2 << 20) + 1)) "$TMP/data"
} | sha256sum | cut -d' ' -f1 >"$TMP/want2"
ktap_print_msg "slots in use: $before, after 1 MiB overwritten and 1 MiB discarded $after"
freed() {
	[ "$after" = $((before - 512)) ] && [ "$(blk_lib_sum "$MIB")" = "$(cat "$TMP/want2")" ]
}
ktap_test_result "overwritten and discarded blocks free their backing slots" freed

# 7. page_index=N moves one block; writeback_limit stops writeback when spent.
writes=$(blk_lib_field bd_stat 3)
echo page_index=0 >"$SYS/writeback"
one=$(($(blk_lib_field bd_stat 3) - writes))
echo 1 >"$SYS/writeback_limit_enable" && echo 3 >"$SYS/writeback_limit"
head -c $((1 << 20)) /dev/urandom | dd of="$ZDEV" bs=1M iflag=fullblock oflag=direct status=none
echo huge 2>/dev/null >"$SYS/writeback"
rc=$?
limited=$(($(blk_lib_field bd_stat 3) - writes - one))
left=$(cat "$SYS/writeback_limit")
echo 0 >"$SYS/writeback_limit_enable"
ktap_print_msg "page_index=0 wrote $one; with writeback_limit 3: wrote $limited, limit left $left"
limit_ok() {
	[ "$one" = 1 ] && [ "$rc" != 0 ] && [ "$limited" = 3 ] && [ "$left" = 0 ]
}
ktap_test_result "page_index writes one block; writeback_limit stops writeback, with EIO" limit_ok

# 8. A backing device whose writes fail: the blocks stay in the pools.
want3=$(blk_lib_sum "$MIB")
failed_before=$(blk_lib_field io_stat 2)
slots_before=$(blk_lib_field bd_stat 1)
blk_lib_fail_io on
echo huge 2>/dev/null >"$SYS/writeback"
rc=$?
blk_lib_fail_io off
failed=$(($(blk_lib_field io_stat 2) - failed_before))
ktap_print_msg "writes failing: writeback status $rc, io_stat failed_writes +$failed," \
	"slots $slots_before -> $(blk_lib_field bd_stat 1)"
nothing_lost() {
	[ "$rc" != 0 ] && [ "$failed" -gt 0 ] &&
		[ "$(blk_lib_field bd_stat 1)" = "$slots_before" ] &&
		[ "$(blk_lib_sum "$MIB")" = "$want3" ]
}
ktap_test_result "with the backing device failing writes, writeback loses nothing" nothing_lost

# 9. reset gives the backing device up.
echo 1 >"$SYS/reset"
released() {
	[ "$(cat "$SYS/backing_dev")" = none ] && mkfs.ext4 -q -F "$BDEV"
}
ktap_test_result "reset gives the backing device up" released

ktap_finished

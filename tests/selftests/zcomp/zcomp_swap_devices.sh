#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Two swap devices behind zswap's interface at once, one of them turned off
# and on again and again while processes swap through both. The device in
# ZCOMP_SWAP_DEV is split in two loop devices of equal swap priority, so
# that the swap code spreads pages over both; swap_integrity checks every
# page while the second device goes off (its pages come back through zswap's
# interface) and on. Every page must come back intact, both devices must
# have held pages, and with both off nothing may be left stored.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh

CG="/sys/fs/cgroup/zcomp_swap_devices.$$"
SWAP_LIB_TOOLS="losetup blockdev"
PROCS=2 MIB=20 ROUNDS=2
LIMIT_MIB=14

ktap_print_header
. "$DIR"/swap_lib.sh

TMP=$(mktemp -d /tmp/zcomp_swap_devices.XXXXXX) || ktap_exit_fail_msg "mktemp failed"
ORIG_ENABLED=$(cat "$ZSWAP_PARAMS/enabled")
LOOP_A= LOOP_B= TOGGLER=

cleanup() {
	[ -n "$TOGGLER" ] && kill "$TOGGLER" 2>/dev/null && wait "$TOGGLER" 2>/dev/null
	swap_lib_kill_cgroup "$CG"
	for loop in $LOOP_A $LOOP_B; do
		swapoff "$loop" 2>/dev/null
		losetup -d "$loop" 2>/dev/null
	done
	echo "$ORIG_ENABLED" >"$ZSWAP_PARAMS/enabled" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit "$KSFT_FAIL"' HUP INT PIPE TERM

# The most slots a device of /proc/swaps used, as sampled.
record_used() {
	awk -v a="$LOOP_A" -v b="$LOOP_B" \
		'$1 == a { print "a", $4 } $1 == b { print "b", $4 }' /proc/swaps >>"$TMP/used"
}

max_used() {
	awk -v d="$1" '$1 == d && $2 > m { m = $2 } END { print m + 0 }' "$TMP/used"
}

# Turn B off and on again until killed, counting each completed cycle.
toggle_b() {
	while :; do
		sleep 2
		record_used
		if swapoff "$LOOP_B" 2>>"$TMP/toggle.err"; then
			echo off >>"$TMP/toggles"
		fi
		swapon -p 5 "$LOOP_B" 2>>"$TMP/toggle.err" ||
			echo "swapon failed" >>"$TMP/toggle.err"
	done
}

swapoff -a 2>/dev/null
size=$(blockdev --getsize64 "$DEV")
half=$(((size / 2) & ~((1 << 20) - 1)))
LOOP_A=$(losetup -f --show --offset 0 --sizelimit "$half" "$DEV") ||
	ktap_exit_fail_msg "losetup failed"
LOOP_B=$(losetup -f --show --offset "$half" --sizelimit "$half" "$DEV") ||
	ktap_exit_fail_msg "losetup failed"
for loop in $LOOP_A $LOOP_B; do
	mkswap -f "$loop" >/dev/null 2>&1 || ktap_exit_fail_msg "mkswap $loop failed"
	swapon -p 5 "$loop" || ktap_exit_fail_msg "swapon $loop failed"
done
echo 1 >"$ZSWAP_PARAMS/enabled" || ktap_exit_fail_msg "cannot enable zswap"
echo +memory >"$CGROUP_ROOT/cgroup.subtree_control" 2>/dev/null
mkdir "$CG" || ktap_exit_fail_msg "cannot create $CG"
echo $((LIMIT_MIB << 20)) >"$CG/memory.max"
echo $(((LIMIT_MIB << 20) / 3)) >"$CG/memory.zswap.max"
ktap_print_msg "swap on $LOOP_A and $LOOP_B ($((half >> 20)) MiB each, same priority)"

ktap_set_plan 4

: >"$TMP/toggles"
toggle_b &
TOGGLER=$!
(echo "$BASHPID" >"$CG/cgroup.procs" && exec "$PROG" -p "$PROCS" -m "$MIB" -r "$ROUNDS") \
	>"$TMP/run" 2>&1
rc=$?
kill "$TOGGLER" 2>/dev/null
wait "$TOGGLER" 2>/dev/null
TOGGLER=
swapon -p 5 "$LOOP_B" 2>/dev/null
swap_lib_diag "$TMP/run"
[ -s "$TMP/toggle.err" ] && sed 's/^/# /' "$TMP/toggle.err"

intact() {
	swap_lib_intact "$rc" "$TMP/run"
}
both_used() {
	[ "$a" -gt 0 ] && [ "$b" -gt 0 ]
}

toggles=$(wc -l <"$TMP/toggles")
ktap_test_result "$PROCS x $MIB MiB over two devices, $toggles swapoffs of one: no page changed" \
	intact
ktap_test_result "the second device went off and on while in use ($toggles times)" \
	test "$toggles" -ge 2
a=$(max_used a) b=$(max_used b)
ktap_test_result "both devices held pages (most used: $a and $b KiB)" both_used
swapoff "$LOOP_A" && swapoff "$LOOP_B"
stored=$(cat /sys/kernel/debug/zswap/stored_pages)
ktap_test_result "with both devices off, nothing is stored ($stored pages)" test "$stored" = 0

ktap_finished

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The shrinker writes the pages of a cgroup under reclaim back to the swap
# device when shrinker_enabled is set, and only then. swap_integrity fills
# a memory cgroup beyond its limit and waits, its pages in zcomp; reclaim
# asked for through memory.reclaim must then write none back with the
# shrinker off, some with it on, and every page must come back intact.
# memory.zswap.max stays unlimited, so that nothing else writes back: the
# limit leaves room for the compressed pages, which are charged too.
#
# Needs the swap device to use (its contents are destroyed) in
# ZCOMP_SWAP_DEV.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh

CG="/sys/fs/cgroup/zswap_shrinker.$$"
PROCS=2 MIB=12 LIMIT_MIB=22
READY_TIMEOUT=300

ktap_print_header
. "$DIR"/swap_lib.sh

TMP=$(mktemp -d /tmp/zswap_shrinker.XXXXXX) || ktap_exit_fail_msg "mktemp failed"
ORIG_ENABLED=$(cat "$ZSWAP_PARAMS/enabled")
ORIG_SHRINKER=$(cat "$ZSWAP_PARAMS/shrinker_enabled")
WPID=

cleanup() {
	[ -n "$WPID" ] && kill -KILL "$WPID" 2>/dev/null
	swap_lib_kill_cgroup "$CG"
	swapoff "$DEV" 2>/dev/null
	echo "$ORIG_SHRINKER" >"$ZSWAP_PARAMS/shrinker_enabled"
	echo "$ORIG_ENABLED" >"$ZSWAP_PARAMS/enabled"
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit "$KSFT_FAIL"' HUP INT PIPE TERM

written_back() {
	awk '$1 == "zswpwb" { print $2 }' "$CG/memory.stat"
}
stored() {
	cat "$ZSWAP_DEBUGFS/stored_pages"
}

# reclaim: ask for more than the cgroup holds, so that reclaim goes down to
# its highest priority, where it calls the shrinkers in earnest. Reclaim
# that falls short fails with EAGAIN, which is expected here.
reclaim() {
	local i

	for i in 1 2 3; do
		echo $((PROCS * MIB << 20)) >"$CG/memory.reclaim" 2>/dev/null
	done
}

swapoff -a 2>/dev/null
mkswap -f "$DEV" >/dev/null 2>&1 || ktap_exit_fail_msg "mkswap $DEV failed"
swapon "$DEV" || ktap_exit_fail_msg "swapon $DEV failed"
echo 1 >"$ZSWAP_PARAMS/enabled" || ktap_exit_fail_msg "cannot enable zswap"
echo N >"$ZSWAP_PARAMS/shrinker_enabled"
echo +memory >"$CGROUP_ROOT/cgroup.subtree_control" 2>/dev/null
mkdir "$CG" || ktap_exit_fail_msg "cannot create $CG"
echo $((LIMIT_MIB << 20)) >"$CG/memory.max"

(echo "$BASHPID" >"$CG/cgroup.procs" && exec "$PROG" -w -p "$PROCS" -m "$MIB") \
	>"$TMP/run" 2>&1 &
WPID=$!
swap_lib_wait_ready "$TMP/run" "$WPID" "$READY_TIMEOUT" ||
	ktap_exit_fail_msg "swap_integrity -w did not get ready"

ktap_set_plan 3

wb0=$(written_back)
reclaim
wb1=$(written_back)
ktap_print_msg "shrinker off: zswpwb $wb0 -> $wb1, stored_pages $(stored)"
ktap_test_result "with shrinker_enabled=N reclaim writes nothing back" test "$wb1" = "$wb0"

echo Y >"$ZSWAP_PARAMS/shrinker_enabled"
reclaim
wb2=$(written_back)
ktap_print_msg "shrinker on: zswpwb $wb1 -> $wb2, stored_pages $(stored)"
ktap_test_result "with shrinker_enabled=Y reclaim writes pages back (+$((wb2 - wb1)))" \
	test "$wb2" -gt "$wb1"

echo max >"$CG/memory.max"
kill -USR1 "$WPID"
wait "$WPID"
rc=$?
WPID=
swap_lib_diag "$TMP/run"
intact() {
	swap_lib_intact "$rc" "$TMP/run"
}
ktap_test_result "every page comes back intact" intact

ktap_finished

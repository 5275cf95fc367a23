#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# When zcomp cannot get memory for a page it is storing, the store is
# refused and the page goes to the swap device, intact. fail_page_alloc
# fails every allocation that cannot sleep made in the context of the test's
# processes (task-filter, make-it-fail), which is how zcomp takes its pool
# and index pages during the reclaim those processes do themselves; the
# allocations that can sleep, such as the processes' own page faults, go on.
# Every page must come back intact, zswap's debugfs must count the refusals,
# and /proc/vmstat must show pages written to the swap device.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh

PROG="$DIR"/swap_integrity
ZSWAP_PARAMS=/sys/module/zswap/parameters
ZSWAP_DEBUGFS=/sys/kernel/debug/zswap
FAIL=/sys/kernel/debug/fail_page_alloc
CGROUP_ROOT=/sys/fs/cgroup
CG="$CGROUP_ROOT/zcomp_swap_faults.$$"
DEV=${ZCOMP_SWAP_DEV:-}
PROCS=2 MIB=16 ROUNDS=1
LIMIT_MIB=12

ktap_print_header

if [ "$(id -u)" -ne 0 ]; then
	ktap_skip_all "must be run as root"
	exit "$KSFT_SKIP"
fi
if [ -z "$DEV" ] || [ ! -b "$DEV" ]; then
	ktap_skip_all "ZCOMP_SWAP_DEV is not set to a block device"
	exit "$KSFT_SKIP"
fi
if [ ! -e "$ZSWAP_PARAMS/enabled" ]; then
	ktap_skip_all "kernel without zswap's interface"
	exit "$KSFT_SKIP"
fi
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
if [ ! -d "$FAIL" ]; then
	ktap_skip_all "$FAIL is missing: kernel without CONFIG_FAIL_PAGE_ALLOC"
	exit "$KSFT_SKIP"
fi
mountpoint -q "$CGROUP_ROOT" || mount -t cgroup2 none "$CGROUP_ROOT"
if ! grep -qsw memory "$CGROUP_ROOT/cgroup.controllers"; then
	ktap_skip_all "no cgroup v2 memory controller at $CGROUP_ROOT"
	exit "$KSFT_SKIP"
fi

TMP=$(mktemp -d /tmp/zcomp_swap_faults.XXXXXX) || ktap_exit_fail_msg "mktemp failed"
ORIG_ENABLED=$(cat "$ZSWAP_PARAMS/enabled")

fail_off() {
	echo 0 >"$FAIL/probability"
}

cleanup() {
	fail_off
	if [ -d "$CG" ]; then
		echo 1 >"$CG/cgroup.kill" 2>/dev/null
		sleep 1
		rmdir "$CG" 2>/dev/null
	fi
	swapoff "$DEV" 2>/dev/null
	echo "$ORIG_ENABLED" >"$ZSWAP_PARAMS/enabled" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit "$KSFT_FAIL"' HUP INT PIPE TERM

vmstat() {
	awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat
}

refusals() {
	echo $(($(cat "$ZSWAP_DEBUGFS/reject_alloc_fail") +
		$(cat "$ZSWAP_DEBUGFS/reject_kmemcache_fail")))
}

swapoff -a 2>/dev/null
mkswap -f "$DEV" >/dev/null 2>&1 || ktap_exit_fail_msg "mkswap $DEV failed"
swapon "$DEV" || ktap_exit_fail_msg "swapon $DEV failed"
echo 1 >"$ZSWAP_PARAMS/enabled" || ktap_exit_fail_msg "cannot enable zswap"
echo +memory >"$CGROUP_ROOT/cgroup.subtree_control" 2>/dev/null
mkdir "$CG" || ktap_exit_fail_msg "cannot create $CG"
echo $((LIMIT_MIB << 20)) >"$CG/memory.max"

# Every allocation that cannot sleep, by a task marked make-it-fail, fails;
# quietly, as a stack trace in the log would fail the guest run.
echo 0 >"$FAIL/verbose"
echo Y >"$FAIL/task-filter"
echo Y >"$FAIL/ignore-gfp-wait"
echo 0 >"$FAIL/min-order"
echo 1 >"$FAIL/interval"
echo -1 >"$FAIL/times"
echo 100 >"$FAIL/probability"

ktap_set_plan 3

refused_before=$(refusals)
pswpout_before=$(vmstat pswpout)
(echo "$BASHPID" >"$CG/cgroup.procs" && echo 1 >/proc/self/make-it-fail &&
	exec "$PROG" -p "$PROCS" -m "$MIB" -r "$ROUNDS") >"$TMP/run" 2>&1
rc=$?
fail_off
sed 's/^# *//; s/^/# /' "$TMP/run"
refused=$(($(refusals) - refused_before))
pswpout=$(($(vmstat pswpout) - pswpout_before))
ktap_print_msg "refused stores +$refused, pages written to $DEV +$pswpout," \
	"stored pages $(cat "$ZSWAP_DEBUGFS/stored_pages")"

intact() {
	[ "$rc" = 0 ] && grep -q '^swap_integrity: .* mismatches=0$' "$TMP/run"
}
ktap_test_result "with no page to be had, $PROCS x $MIB MiB swap out and back: no page changed" \
	intact
ktap_test_result "zswap's debugfs counts the refused stores (+$refused)" test "$refused" -gt 0
ktap_test_result "the refused pages went to the swap device (pswpout +$pswpout)" \
	test "$pswpout" -gt 0

ktap_finished

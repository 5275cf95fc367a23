#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Failures lose no page. The kernel's fault injection, narrowed by its stack
# trace filter to zcomp's own calls, makes (1) every page allocation that
# cannot sleep under zswap_store() fail (fail_page_alloc): zcomp can get no
# pool or index page, so stores are refused and the pages go to the swap
# device; and (2) half of the writes of zcomp's writeback to the swap device
# fail (fail_make_request): the pages stay in memory, dirty in the swap
# cache, and go out again later. In both, swap_integrity checks every page
# of a memory cgroup limited to a fraction of its working set.
#
# Needs the swap device to use (its contents are destroyed) in
# ZCOMP_SWAP_DEV, and a kernel with CONFIG_FAIL_PAGE_ALLOC,
# CONFIG_FAIL_MAKE_REQUEST and CONFIG_FAULT_INJECTION_STACKTRACE_FILTER.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh

CG="/sys/fs/cgroup/zcomp_swap_faults.$$"
PROCS=2 MIB=16 ROUNDS=1
LIMIT_MIB=12
FAIL_ALLOC=/sys/kernel/debug/fail_page_alloc
FAIL_IO=/sys/kernel/debug/fail_make_request

ktap_print_header
. "$DIR"/swap_lib.sh
for f in "$FAIL_ALLOC" "$FAIL_IO"; do
	[ -e "$f/require-start" ] ||
		swap_lib_skip "no $f/require-start: no fault injection or stack filter"
done
DISK_FAIL=/sys/block/$(basename "$(readlink -f "$DEV")")/make-it-fail
[ -e "$DISK_FAIL" ] || swap_lib_skip "$DISK_FAIL is missing"

TMP=$(mktemp -d /tmp/zcomp_swap_faults.XXXXXX) || ktap_exit_fail_msg "mktemp failed"
ORIG_ENABLED=$(cat "$ZSWAP_PARAMS/enabled")

faults_off() {
	echo 0 >"$FAIL_ALLOC/probability"
	echo 0 >"$FAIL_IO/probability"
	echo 0 >"$DISK_FAIL"
}

cleanup() {
	faults_off
	swap_lib_kill_cgroup "$CG"
	swapoff "$DEV" 2>/dev/null
	echo "$ORIG_ENABLED" >"$ZSWAP_PARAMS/enabled" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit "$KSFT_FAIL"' HUP INT PIPE TERM

# text_range SYMBOL: the start and end of SYMBOL's code, from /proc/kallsyms.
text_range() {
	awk '$2 ~ /^[tT]$/ { print $1, $3 }' /proc/kallsyms | sort -u |
		awk -v s="$1" 'found && $1 != start { print "0x" start, "0x" $1; exit }
			       $2 == s { found = 1; start = $1 }'
}

# Failures each injection may make: its "times" counts down from this.
TIMES=1000000

# inject ATTR SYMBOL PROBABILITY: fail, quietly, what ATTR covers when
# SYMBOL is on the stack (a trace in the log would fail the guest run).
inject() {
	local range

	range=$(text_range "$2")
	[ -n "$range" ] && [ "${range%% *}" != 0x0000000000000000 ] ||
		ktap_exit_fail_msg "no address for $2 in /proc/kallsyms"
	echo 0 >"$1/verbose"
	echo N >"$1/task-filter"
	echo 1 >"$1/interval"
	echo "$TIMES" >"$1/times"
	echo 64 >"$1/stacktrace-depth"
	echo "${range%% *}" >"$1/require-start"
	echo "${range##* }" >"$1/require-end"
	echo "$3" >"$1/probability"
}

debugfs() {
	cat "$ZSWAP_DEBUGFS/$1"
}

# run_integrity OUT: swap_integrity in the test cgroup; sets RC.
run_integrity() {
	swap_lib_run "$CG" "$1" -p "$PROCS" -m "$MIB" -r "$ROUNDS"
	RC=$?
	swap_lib_diag "$1"
}

intact() {
	swap_lib_intact "$RC" "$1"
}

swapoff -a 2>/dev/null
mkswap -f "$DEV" >/dev/null 2>&1 || ktap_exit_fail_msg "mkswap $DEV failed"
swapon "$DEV" || ktap_exit_fail_msg "swapon $DEV failed"
echo 1 >"$ZSWAP_PARAMS/enabled" || ktap_exit_fail_msg "cannot enable zswap"
echo +memory >"$CGROUP_ROOT/cgroup.subtree_control" 2>/dev/null
mkdir "$CG" || ktap_exit_fail_msg "cannot create $CG"
echo $((LIMIT_MIB << 20)) >"$CG/memory.max"

ktap_set_plan 6

# 1: no page for the pool or the index.
echo Y >"$FAIL_ALLOC/ignore-gfp-wait"
echo 0 >"$FAIL_ALLOC/min-order"
refused_before=$(($(debugfs reject_alloc_fail) + $(debugfs reject_kmemcache_fail)))
pswpout_before=$(vmstat pswpout)
inject "$FAIL_ALLOC" zswap_store 100
run_integrity "$TMP/alloc"
faults_off
refused=$(($(debugfs reject_alloc_fail) + $(debugfs reject_kmemcache_fail) - refused_before))
pswpout=$(($(vmstat pswpout) - pswpout_before))
ktap_test_result "no page to be had in zswap_store(): $PROCS x $MIB MiB come back unchanged" \
	intact "$TMP/alloc"
ktap_test_result "zswap's debugfs counts the refused stores (+$refused)" test "$refused" -gt 0
ktap_test_result "the refused pages went to the swap device (pswpout +$pswpout)" \
	test "$pswpout" -gt 0

# 2: writeback's writes fail. memory.zswap.max at a third of memory.max
# makes the cgroup write its pages back.
echo $(((LIMIT_MIB << 20) / 3)) >"$CG/memory.zswap.max"
wb_before=$(vmstat zswpwb)
echo 1 >"$DISK_FAIL"
inject "$FAIL_IO" mm_zcomp_swapcache_write 50
run_integrity "$TMP/io"
left=$(cat "$FAIL_IO/times")
faults_off
failed_writes=$((TIMES - left))
wb=$(($(vmstat zswpwb) - wb_before))
ktap_print_msg "writeback +$wb pages, $failed_writes of its writes failed"
ktap_test_result "writeback's writes failing: $PROCS x $MIB MiB come back unchanged" \
	intact "$TMP/io"
ktap_test_result "pages were written back (zswpwb +$wb)" test "$wb" -gt 0
ktap_test_result "writes of writeback failed ($failed_writes)" test "$failed_writes" -gt 0

ktap_finished

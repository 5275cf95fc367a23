#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Pages swapped through zswap's interface come back intact. swap_integrity
# fills memory with realistic contents (executables, text, zero, same-filled
# and incompressible pages) in a memory cgroup limited to about a third of
# its working set, and checks every page against its hash while rewriting
# some, as the compressor is switched every second; the swap counters in
# /proc/vmstat and in the cgroup's memory.stat must show the traffic, into
# the pool and, as memory.zswap.max is a third of the limit, out of it by
# writeback to the device. Then
# the device is swapped off while the pool holds pages, which must all come
# back intact and leave the pool empty, and a last run ends with nothing
# stored once the device is off.
#
# Needs the swap device to use (its contents are destroyed) in
# ZCOMP_SWAP_DEV, e.g. ZCOMP_SWAP_DEV=/dev/vdb.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh

CG="/sys/fs/cgroup/zcomp_swap.$$"

# Working sets, in MiB: small, as the guest may run under TCG.
PROCS=3 MIB=24 ROUNDS=2		# the main run, under compressor switches
WPROCS=2 WMIB=24		# held across swapoff
LPROCS=2 LMIB=16		# the last run
LIMIT_MIB=$((PROCS * MIB / 3))	# memory.max for the runs
READY_TIMEOUT=300		# seconds for the -w run to fill its memory
PAGE_SIZE=$(getconf PAGESIZE)

ktap_print_header
. "$DIR"/swap_lib.sh

TMP=$(mktemp -d /tmp/zcomp_swap.XXXXXX) || ktap_exit_fail_msg "mktemp failed"
: >"$TMP/switches"
ORIG_ENABLED=$(cat "$ZSWAP_PARAMS/enabled")
ORIG_COMPRESSOR=$(cat "$ZSWAP_PARAMS/compressor")
MEMORY_WAS_ENABLED=0
grep -qsw memory "$CGROUP_ROOT/cgroup.subtree_control" && MEMORY_WAS_ENABLED=1
SWITCHER=
WPID=

stop_switcher() {
	if [ -n "$SWITCHER" ]; then
		kill "$SWITCHER" 2>/dev/null
		wait "$SWITCHER" 2>/dev/null
		SWITCHER=
	fi
}

cleanup() {
	local pid

	stop_switcher
	for pid in $SWAP_LIB_RUNPID $WPID; do
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	swap_lib_kill_cgroup "$CG"
	swapoff "$DEV" 2>/dev/null
	[ "$MEMORY_WAS_ENABLED" = 1 ] ||
		echo -memory >"$CGROUP_ROOT/cgroup.subtree_control" 2>/dev/null
	echo "$ORIG_COMPRESSOR" >"$ZSWAP_PARAMS/compressor" 2>/dev/null
	echo "$ORIG_ENABLED" >"$ZSWAP_PARAMS/enabled" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit "$KSFT_FAIL"' HUP INT PIPE TERM

memstat() {
	awk -v k="$1" '$1 == k { print $2 }' "$CG/memory.stat"
}

stored_pages() {
	cat "$ZSWAP_DEBUGFS/stored_pages"
}

# The debugfs counters that say where the pages went, as one line.
debugfs_counters() {
	local f line=

	for f in stored_pages written_back_pages reject_compress_poor \
		 reject_compress_fail reject_reclaim_fail reject_alloc_fail pool_limit_hit; do
		line="$line $f $(cat "$ZSWAP_DEBUGFS/$f" 2>/dev/null || echo -)"
	done
	echo "$line"
}

is_zero() {
	[ "$1" = 0 ]
}

is_positive() {
	[ "$1" -gt 0 ] 2>/dev/null
}

# A write to a parameter that may fail (algorithm not built in): ignored.
set_compressor() {
	echo "$1" 2>/dev/null >"$ZSWAP_PARAMS/compressor"
}

switch_compressors() {
	local c

	while :; do
		for c in lz4 lzo lzo-rle zstd; do
			set_compressor "$c" && echo "$c" >>"$TMP/switches"
			sleep 1
		done
	done
}

# After a run: the OOM killer or a signal would explain a failed run.
explain_failure() {
	local oom

	oom=$(awk '$1 == "oom_kill" { print $2 }' "$CG/memory.events" 2>/dev/null)
	[ -n "$oom" ] && [ "$oom" -gt 0 ] &&
		ktap_print_msg "memory.events: oom_kill $oom in the test cgroup"
}

# Setup: the device as the only swap, zswap on, the cgroup.
swapoff -a 2>/dev/null
if ! mkswap -f "$DEV" >"$TMP/mkswap" 2>&1; then
	swap_lib_diag "$TMP/mkswap"
	ktap_exit_fail_msg "mkswap $DEV failed"
fi
swapon "$DEV" || ktap_exit_fail_msg "swapon $DEV failed"
echo 1 >"$ZSWAP_PARAMS/enabled" || ktap_exit_fail_msg "cannot enable zswap"
set_compressor lz4
ktap_print_msg "swap on $DEV, zswap enabled, compressor $(cat "$ZSWAP_PARAMS/compressor")"

echo +memory >"$CGROUP_ROOT/cgroup.subtree_control" 2>/dev/null
mkdir "$CG" || ktap_exit_fail_msg "cannot create $CG"
[ -e "$CG/memory.max" ] || ktap_exit_fail_msg "$CG has no memory.max"
echo $((LIMIT_MIB << 20)) >"$CG/memory.max" ||
	ktap_exit_fail_msg "cannot set memory.max"
# Compressed pages are charged to the cgroup too: at about 2:1, those of
# the pages pushed out would alone outgrow memory.max, and the cgroup would
# go OOM. Capping them sends the rest to the device, by writeback or
# rejection, which is exercised too.
if [ -e "$CG/memory.zswap.max" ]; then
	echo $(((LIMIT_MIB << 20) / 3)) >"$CG/memory.zswap.max"
else
	ktap_print_msg "no memory.zswap.max: the run may go OOM"
fi

ktap_set_plan 5

# 1: the main run, with the compressor changing under it.
out_before=$(vmstat zswpout)
in_before=$(vmstat zswpin)
wb_before=$(vmstat zswpwb)
cg_out_before=$(memstat zswpout)
switch_compressors &
SWITCHER=$!
swap_lib_run "$CG" "$TMP/run1" -p "$PROCS" -m "$MIB" -r "$ROUNDS"
rc=$?
stop_switcher
set_compressor lz4
swap_lib_diag "$TMP/run1"
ktap_print_msg "compressor set $(wc -l <"$TMP/switches") times:" \
	"$(sort "$TMP/switches" | uniq -c |
		awk '{ printf "%s%s %s", (NR > 1 ? ", " : ""), $2, $1 }')"
ktap_print_msg "debugfs:$(debugfs_counters)"
swap_lib_intact "$rc" "$TMP/run1" || explain_failure
ktap_test_result "$PROCS x $MIB MiB under a $LIMIT_MIB MiB limit, $ROUNDS rounds: no page changed" \
	swap_lib_intact "$rc" "$TMP/run1"

# 2: the pages went through zswap and came back from it.
out_after=$(vmstat zswpout)
in_after=$(vmstat zswpin)
wb_after=$(vmstat zswpwb)
if [ -z "$out_before" ] || [ -z "$in_before" ]; then
	ktap_print_msg "/proc/vmstat has no zswpout or zswpin"
	ktap_test_fail "/proc/vmstat zswpout and zswpin count the traffic"
else
	zswpout=$((out_after - out_before))
	zswpin=$((in_after - in_before))
	zswpwb=$((${wb_after:-0} - ${wb_before:-0}))
	ktap_print_msg "vmstat: zswpout +$zswpout, zswpin +$zswpin, zswpwb +$zswpwb;" \
		"at least $((((PROCS * MIB - LIMIT_MIB) << 20) / PAGE_SIZE))" \
		"pages had to leave memory"
	# memory.zswap.max is a third of memory.max: pages go through the pool
	# and, written back to make room, through the device.
	vmstat_counts() {
		[ "$zswpout" -gt 1000 ] && is_positive "$zswpin" && is_positive "$zswpwb"
	}
	ktap_test_result \
		"/proc/vmstat zswpout (+$zswpout), zswpin (+$zswpin), zswpwb (+$zswpwb) count it" \
		vmstat_counts
fi

# 3: and were charged to the cgroup's counters.
cg_out_after=$(memstat zswpout)
if [ -z "$cg_out_after" ]; then
	ktap_test_skip "memory.stat has no zswpout"
else
	cg_zswpout=$((cg_out_after - ${cg_out_before:-0}))
	ktap_print_msg "memory.stat: zswpout +$cg_zswpout, zswpin $(memstat zswpin)," \
		"zswpwb $(memstat zswpwb), zswapped $(memstat zswapped)"
	ktap_test_result "the cgroup's memory.stat zswpout (+$cg_zswpout) counts its pages" \
		is_positive "$cg_zswpout"
fi

# 4: swapoff while the pool holds pages.
swapoff_while_stored() {
	local ok=1 stored rc

	(echo "$BASHPID" >"$CG/cgroup.procs" && exec "$PROG" -w -p "$WPROCS" -m "$WMIB") \
		>"$TMP/run2" 2>&1 &
	WPID=$!
	if ! swap_lib_wait_ready "$TMP/run2" "$WPID" "$READY_TIMEOUT"; then
		swap_lib_diag "$TMP/run2"
		ktap_print_msg "swap_integrity -w did not get ready"
		explain_failure
		kill -KILL "$WPID" 2>/dev/null
		wait "$WPID" 2>/dev/null
		WPID=
		return 1
	fi

	stored=$(stored_pages)
	ktap_print_msg "ready: stored_pages $stored"
	if ! is_positive "$stored"; then
		ktap_print_msg "nothing stored in the pool before swapoff"
		ok=0
	fi
	echo max >"$CG/memory.max"
	if ! swapoff "$DEV"; then
		ktap_print_msg "swapoff $DEV failed"
		ok=0
	fi
	stored=$(stored_pages)
	kill -USR1 "$WPID"
	wait "$WPID"
	rc=$?
	WPID=
	swap_lib_diag "$TMP/run2"
	if ! swap_lib_intact "$rc" "$TMP/run2"; then
		ktap_print_msg "pages changed across swapoff"
		ok=0
	fi
	ktap_print_msg "after swapoff: stored_pages $stored, $(stored_pages) after the check"
	if ! is_zero "$stored" || ! is_zero "$(stored_pages)"; then
		ktap_print_msg "the pool still holds pages after swapoff"
		ok=0
	fi
	[ "$ok" = 1 ]
}
ktap_test_result "swapoff while the pool holds pages: every page back, pool empty" \
	swapoff_while_stored

# 5: one more run, then nothing left behind once the device is off.
nothing_left() {
	local ok=1 rc

	swapoff "$DEV" 2>/dev/null
	if ! swapon "$DEV"; then
		ktap_print_msg "swapon $DEV failed"
		return 1
	fi
	echo $((LIMIT_MIB << 20)) >"$CG/memory.max"
	swap_lib_run "$CG" "$TMP/run3" -p "$LPROCS" -m "$LMIB" -r 1
	rc=$?
	swap_lib_diag "$TMP/run3"
	if ! swap_lib_intact "$rc" "$TMP/run3"; then
		ktap_print_msg "pages changed in the last run"
		explain_failure
		ok=0
	fi
	ktap_print_msg "the run over, swap still on: stored_pages $(stored_pages)"
	if ! swapoff "$DEV"; then
		ktap_print_msg "swapoff $DEV failed"
		ok=0
	fi
	if ! is_zero "$(stored_pages)"; then
		ktap_print_msg "stored_pages $(stored_pages) after swapoff"
		ok=0
	fi
	if [ "$(awk 'NR > 1' /proc/swaps | wc -l)" -ne 0 ]; then
		ktap_print_msg "still in /proc/swaps: $(awk 'NR > 1 { print $1 }' /proc/swaps)"
		ok=0
	fi
	ktap_print_msg "pool_total_size $(cat "$ZSWAP_DEBUGFS/pool_total_size" 2>/dev/null)," \
		"$(grep -E "^Zswap(ped)?:" /proc/meminfo | tr -s ' ')"
	[ "$ok" = 1 ]
}
ktap_test_result "after a last run and swapoff, the pool holds nothing" nothing_left

ktap_finished

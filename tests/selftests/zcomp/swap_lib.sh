#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What zcomp's swap tests share: sourced after ktap_helpers.sh and
# ktap_print_header, it checks that the test can run (skipping it
# otherwise), mounts debugfs and cgroup2 if need be, and offers helpers.
# Sets DEV to the swap device to use (ZCOMP_SWAP_DEV), whose contents the
# tests destroy.

ZSWAP_PARAMS=/sys/module/zswap/parameters
ZSWAP_DEBUGFS=/sys/kernel/debug/zswap
CGROUP_ROOT=/sys/fs/cgroup
PROG="$DIR"/swap_integrity
DEV=${ZCOMP_SWAP_DEV:-}

# swap_lib_skip MESSAGE: skip the whole test.
swap_lib_skip() {
	ktap_skip_all "$1"
	exit "$KSFT_SKIP"
}

[ "$(id -u)" -eq 0 ] || swap_lib_skip "must be run as root"
[ -n "$DEV" ] || swap_lib_skip "ZCOMP_SWAP_DEV is not set: no swap device to test with"
[ -b "$DEV" ] || swap_lib_skip "ZCOMP_SWAP_DEV=$DEV is not a block device"
[ -e "$ZSWAP_PARAMS/enabled" ] ||
	swap_lib_skip "$ZSWAP_PARAMS/enabled is missing: kernel without zswap's interface"
for tool in mkswap swapon swapoff $SWAP_LIB_TOOLS; do
	command -v "$tool" >/dev/null || swap_lib_skip "$tool is not installed"
done
[ -x "$PROG" ] || ktap_exit_fail_msg "$PROG is missing: build the test first"
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null
[ -r "$ZSWAP_DEBUGFS/stored_pages" ] ||
	swap_lib_skip "$ZSWAP_DEBUGFS/stored_pages is missing: kernel without CONFIG_DEBUG_FS?"
mountpoint -q "$CGROUP_ROOT" || mount -t cgroup2 none "$CGROUP_ROOT" 2>/dev/null
grep -qsw memory "$CGROUP_ROOT/cgroup.controllers" ||
	swap_lib_skip "no cgroup v2 memory controller at $CGROUP_ROOT"

# vmstat KEY: a counter of /proc/vmstat.
vmstat() {
	awk -v k="$1" '$1 == k { print $2 }' /proc/vmstat
}

# swap_lib_kill_cgroup CG: every process in cgroup CG, then CG itself.
swap_lib_kill_cgroup() {
	local i

	[ -d "$1" ] || return 0
	if [ -e "$1/cgroup.kill" ]; then
		echo 1 >"$1/cgroup.kill" 2>/dev/null
	else
		xargs -r kill -KILL <"$1/cgroup.procs" 2>/dev/null
	fi
	for i in $(seq 50); do
		[ -s "$1/cgroup.procs" ] || break
		sleep 0.2
	done
	rmdir "$1" 2>/dev/null
}

# swap_lib_wait_ready OUT PID SECONDS: wait until swap_integrity -w, running
# as PID with its output in OUT, has filled its memory; fail if it exits
# first or takes longer than SECONDS.
swap_lib_wait_ready() {
	local i

	for i in $(seq "$3"); do
		grep -qx ready "$1" && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 1
	done
	grep -qx ready "$1"
}

# swap_lib_diag FILE: FILE's lines as KTAP diagnostics.
swap_lib_diag() {
	sed 's/^# *//; s/^/# /' "$1"
}

# swap_lib_run CG OUT ARGS...: swap_integrity with ARGS in cgroup CG, its
# output in OUT; returns its exit status. It runs in the background, its
# PID in SWAP_LIB_RUNPID for the caller's cleanup, so that a signal to the
# script interrupts the wait.
SWAP_LIB_RUNPID=
swap_lib_run() {
	local cg=$1 out=$2 rc

	shift 2
	(echo "$BASHPID" >"$cg/cgroup.procs" && exec "$PROG" "$@") >"$out" 2>&1 &
	SWAP_LIB_RUNPID=$!
	wait "$SWAP_LIB_RUNPID"
	rc=$?
	SWAP_LIB_RUNPID=
	return "$rc"
}

# swap_lib_intact RC OUT: swap_integrity exited with RC, its output in OUT,
# having found every page as it left it.
swap_lib_intact() {
	[ "$1" = 0 ] && grep -q '^swap_integrity: .* mismatches=0$' "$2"
}

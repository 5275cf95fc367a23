#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's own zswap test, the unmodified cgroup/test_zswap of this
# tree, against zcomp: with a swap device on and zswap's interface enabled,
# each of its tests is reported here as a test of ours. They check charging
# (memory.zswap.current, memory.stat), memory.zswap.max, swap-in, writeback
# with memory.zswap.writeback on and off, and that a cgroup at its limit
# writes back only its own pages.
#
# Needs the swap device to use (its contents are destroyed) in
# ZCOMP_SWAP_DEV, and test_zswap built (TARGETS="zcomp cgroup").

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh

TEST_ZSWAP="$DIR"/../cgroup/test_zswap

ktap_print_header
. "$DIR"/swap_lib.sh
[ -x "$TEST_ZSWAP" ] || swap_lib_skip "$TEST_ZSWAP is missing: build TARGETS=\"zcomp cgroup\""

ORIG_ENABLED=$(cat "$ZSWAP_PARAMS/enabled")
OUT=$(mktemp /tmp/test_zswap.XXXXXX) || ktap_exit_fail_msg "mktemp failed"

cleanup() {
	echo "$ORIG_ENABLED" >"$ZSWAP_PARAMS/enabled"
	swapoff "$DEV" 2>/dev/null
	rm -f "$OUT" "$OUT.results"
}
trap cleanup EXIT

swapoff "$DEV" 2>/dev/null
mkswap -f "$DEV" >/dev/null 2>&1 || ktap_exit_fail_msg "mkswap $DEV failed"
swapon "$DEV" || ktap_exit_fail_msg "swapon $DEV failed"
echo 1 >"$ZSWAP_PARAMS/enabled" || ktap_exit_fail_msg "cannot enable zswap"
before_wb=$(cat "$ZSWAP_DEBUGFS/written_back_pages")

"$TEST_ZSWAP" >"$OUT" 2>&1
status=$?
sed 's/^/# test_zswap: /' "$OUT"

# test_zswap prints a result line per test, but no plan.
grep -E '^(not )?ok [0-9]+ ' "$OUT" >"$OUT.results"
plan=$(wc -l <"$OUT.results")
[ "$plan" -gt 0 ] || ktap_exit_fail_msg "test_zswap printed no result (exit status $status)"
ktap_set_plan "$plan"
while read -r result; do
	case "$result" in
	"ok "*" # SKIP"*) ktap_test_skip "${result#ok * }" ;;
	"ok "*) name=${result#ok }; ktap_test_pass "${name#* }" ;;
	"not ok "*) name=${result#not ok }; ktap_test_fail "${name#* }" ;;
	esac
done <"$OUT.results"
after_wb=$(cat "$ZSWAP_DEBUGFS/written_back_pages")
ktap_print_msg "written_back_pages: $before_wb before, $after_wb after"
ktap_finished

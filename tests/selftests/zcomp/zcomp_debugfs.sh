#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# zcomp's debugfs statistics: present, numeric, read-only and consistent
# with each other.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh

ZCOMP_DEBUGFS=/sys/kernel/debug/zcomp
PAGE_SIZE=$(getconf PAGESIZE)
FILES="pool_pages pool_total_size stored_objects stored_bytes"

ktap_print_header

if [ "$(id -u)" -ne 0 ]; then
	ktap_skip_all "must be run as root"
	exit "$KSFT_SKIP"
fi
if ! grep -qs " /sys/kernel/debug debugfs" /proc/mounts; then
	mount -t debugfs none /sys/kernel/debug 2>/dev/null
fi
if [ ! -d "$ZCOMP_DEBUGFS" ]; then
	if grep -qs debugfs /proc/filesystems; then
		ktap_skip_all "$ZCOMP_DEBUGFS is missing: kernel without CONFIG_ZCOMP?"
	else
		ktap_skip_all "kernel without CONFIG_DEBUG_FS"
	fi
	exit "$KSFT_SKIP"
fi

ktap_set_plan 6

is_count() {
	case "$1" in
	'' | *[!0-9]*) return 1 ;;
	*) return 0 ;;
	esac
}

all_numeric=1
for f in $FILES; do
	v=$(cat "$ZCOMP_DEBUGFS/$f" 2>/dev/null)
	if ! is_count "$v"; then
		ktap_print_msg "$f: '$v' is not an unsigned decimal number"
		all_numeric=0
	fi
	eval "$f=\$v"
done
if [ "$all_numeric" = 1 ]; then
	ktap_test_pass "every statistics file reads as a count"
else
	ktap_test_fail "every statistics file reads as a count"
	ktap_exit_fail_msg "cannot check the statistics against each other"
fi

read_only=1
for f in $FILES; do
	if echo 1 2>/dev/null >"$ZCOMP_DEBUGFS/$f"; then
		ktap_print_msg "$f accepted a write"
		read_only=0
	fi
done
ktap_test_result "statistics files are read-only" [ "$read_only" = 1 ]

ktap_test_result "pool_total_size ($pool_total_size) is pool_pages ($pool_pages) pages" \
	[ "$pool_total_size" -eq $((pool_pages * PAGE_SIZE)) ]

ktap_test_result "stored_bytes ($stored_bytes) fit in the pool ($pool_total_size)" \
	[ "$stored_bytes" -le "$pool_total_size" ]

ktap_test_result "stored_bytes ($stored_bytes) is at most a page per object ($stored_objects)" \
	[ "$stored_bytes" -le $((stored_objects * PAGE_SIZE)) ]

# Without a frontend storing into it, the pool must be empty and stay so.
idle_pool_is_empty() {
	[ "$stored_objects" -eq 0 ] && [ "$stored_bytes" -eq 0 ] &&
		[ "$(cat "$ZCOMP_DEBUGFS/stored_objects")" -eq 0 ]
}
ktap_test_result "an idle pool holds nothing" idle_pool_is_empty

ktap_finished

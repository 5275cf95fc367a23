#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The kernel's own zram selftests (tools/testing/selftests/zram), unmodified,
# against whatever provides the zram devices. Their scripts report a failed
# step by printing FAIL and carry on, and exit 0 even then; this runs them
# and fails if any step printed FAIL, a test did not end in [PASS], or the
# shell hit an error (a compression ratio divided by zero, say).

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh

ZRAM=$DIR/../zram

ktap_print_header

if [ "$(id -u)" -ne 0 ]; then
	ktap_skip_all "must be run as root"
	exit "$KSFT_SKIP"
fi
if [ ! -x "$ZRAM/zram.sh" ] || [ ! -d /sys/class/zram-control ]; then
	ktap_skip_all "needs the zram selftests installed and zram devices"
	exit "$KSFT_SKIP"
fi

ktap_set_plan 1

# The scripts write their logs and mount points where they run.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$ZRAM"/*.sh "$work"
out=$(cd "$work" && ./zram.sh 2>&1)
echo "$out" | sed 's/^/# /'
ok=1
echo "$out" | grep -q -e '^FAIL' -e ' FAIL ' -e '\[FAIL\]' -e 'error token' \
	-e 'line [0-9]*:' && ok=0
[ "$(echo "$out" | grep -c ': \[PASS\]$')" = 2 ] || ok=0
ktap_test_result "zram01 and zram02 pass with no step failing" [ $ok = 1 ]

ktap_finished

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# zswap's module parameters refuse malformed values: every write of a bad
# value to a file under /sys/module/zswap/parameters must fail and leave
# the value it read before, and well-formed values must be taken and read
# back. zswap is enabled first, so that compressor and zpool are checked
# against a set-up zswap (before that, stock zswap stores any string);
# every parameter is restored at the end. One result per parameter.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh

PARAMS=/sys/module/zswap/parameters
ALL="enabled shrinker_enabled max_pool_percent accept_threshold_percent compressor zpool"

ktap_print_header

if [ "$(id -u)" -ne 0 ]; then
	ktap_skip_all "must be run as root"
	exit "$KSFT_SKIP"
fi
if [ ! -d "$PARAMS" ]; then
	ktap_skip_all "$PARAMS is missing: kernel without zswap's interface"
	exit "$KSFT_SKIP"
fi

declare -A ORIG
for p in $ALL; do
	[ -e "$PARAMS/$p" ] && ORIG[$p]=$(cat "$PARAMS/$p")
done

restore() {
	local p

	# enabled last: the others may need a set-up zswap to be written.
	for p in zpool compressor max_pool_percent accept_threshold_percent \
		 shrinker_enabled enabled; do
		[ -n "${ORIG[$p]+set}" ] &&
			printf '%s' "${ORIG[$p]}" 2>/dev/null >"$PARAMS/$p"
	done
}
trap restore EXIT

if ! echo 1 2>/dev/null >"$PARAMS/enabled"; then
	ktap_print_msg "cannot enable zswap: compressor and zpool may not be validated"
fi

ktap_set_plan 6

OK=1

# fail_case MSG: one case of the current parameter does not hold.
fail_case() {
	ktap_print_msg "$1"
	OK=0
}

# write_param PARAM VALUE: the status of the write. A zero-length write
# never reaches the parameter (sysfs returns 0 for it), so the empty value
# is sent as `echo "" >file` sends it: a lone newline.
write_param() {
	if [ -z "$2" ]; then
		(printf '\n' >"$PARAMS/$1") 2>/dev/null
	else
		(printf '%s' "$2" >"$PARAMS/$1") 2>/dev/null
	fi
}

# reject PARAM VALUE: the write fails and the value stays.
reject() {
	local before after

	before=$(cat "$PARAMS/$1")
	if write_param "$1" "$2"; then
		fail_case "$1: writing '$2' succeeded"
	fi
	after=$(cat "$PARAMS/$1")
	if [ "$after" != "$before" ]; then
		fail_case "$1: writing '$2' changed the value from '$before' to '$after'"
	fi
}

# accept PARAM VALUE: the write succeeds and the value reads back.
accept() {
	local after

	if ! write_param "$1" "$2"; then
		fail_case "$1: writing '$2' failed"
		return 1
	fi
	after=$(cat "$PARAMS/$1")
	if [ "$after" != "$2" ]; then
		fail_case "$1: wrote '$2', reads back '$after'"
		return 1
	fi
}

# check PARAM DESCRIPTION FUNCTION: one result for one parameter.
check() {
	if [ ! -e "$PARAMS/$1" ]; then
		ktap_test_skip "$1: not present"
		return
	fi
	OK=1
	"$3" "$1"
	if [ "$OK" = 1 ]; then
		ktap_test_pass "$1 $2"
	else
		ktap_test_fail "$1 $2"
	fi
}

cases_enabled() {
	reject "$1" 2
	reject "$1" maybe
	reject "$1" ""
}

cases_shrinker_enabled() {
	local orig

	reject "$1" 2
	reject "$1" maybe
	orig=$(cat "$PARAMS/$1")
	accept "$1" N
	accept "$1" Y
	accept "$1" "$orig"
}

# A percentage: an unsigned int, so no words, no sign, nothing above 2^32 - 1.
cases_percent() {
	local orig good=$2

	reject "$1" abc
	reject "$1" -1
	reject "$1" 4294967296
	orig=$(cat "$PARAMS/$1")
	accept "$1" "$good"
	accept "$1" "$orig"
}

cases_max_pool_percent() {
	cases_percent "$1" 25
}

cases_accept_threshold_percent() {
	cases_percent "$1" 80
}

cases_compressor() {
	local orig

	reject "$1" no-such-algorithm
	reject "$1" ""
	orig=$(cat "$PARAMS/$1")
	if write_param "$1" lz4; then
		[ "$(cat "$PARAMS/$1")" = lz4 ] ||
			fail_case "$1: wrote 'lz4', reads back '$(cat "$PARAMS/$1")'"
	elif grep -qs "^name *: lz4$" /proc/crypto; then
		fail_case "$1: writing 'lz4' failed, yet /proc/crypto has lz4"
	else
		ktap_print_msg "$1: lz4 not available, not checked"
	fi
	accept "$1" "$orig"
}

cases_zpool() {
	reject "$1" no-such-pool
}

check enabled "refuses 2, maybe and an empty line" cases_enabled
check shrinker_enabled "refuses 2 and maybe, takes N and Y" cases_shrinker_enabled
check max_pool_percent "refuses abc, -1 and 2^32, takes 25" cases_max_pool_percent
check accept_threshold_percent "refuses abc, -1 and 2^32, takes 80" \
	cases_accept_threshold_percent
check compressor "refuses an unknown algorithm and an empty line, takes lz4" cases_compressor
check zpool "refuses an unknown pool" cases_zpool

ktap_finished

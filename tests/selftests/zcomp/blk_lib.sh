#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What zcomp's block tests share, sourced after ktap_helpers.sh.

# blk_lib_refuse FILE VALUE...: every write of a VALUE to the sysfs file
# FILE fails, and FILE reads the same after them as before; otherwise
# says what went wrong and returns 1.
blk_lib_refuse() {
	local file=$1 before after v rc=0

	shift
	before=$(cat "$file" 2>/dev/null)
	for v in "$@"; do
		if printf '%s' "$v" 2>/dev/null >"$file"; then
			ktap_print_msg "${file##*/} took '$v'"
			rc=1
		fi
	done
	after=$(cat "$file" 2>/dev/null)
	if [ "$before" != "$after" ]; then
		ktap_print_msg "${file##*/} changed from '$before' to '$after'"
		rc=1
	fi
	return "$rc"
}

# The real files the filesystem tests copy: Python's standard library, about
# 30 MiB of sources, bytecode and extension modules, without the 25 MiB
# static library in config-*, which would only add time.
BLK_LIB_FILES=$(ls -d /usr/lib/python3.[0-9]* | head -1)

# blk_lib_copy_files DIR: copies those files into DIR, which it makes.
blk_lib_copy_files() {
	mkdir "$1" && (
		set -o pipefail
		tar -C "$BLK_LIB_FILES" --exclude='config-*' -cf - . | tar -C "$1" -xpf -
	)
}

# blk_lib_same_files DIR: DIR holds those files as they are.
blk_lib_same_files() {
	diff -r --no-dereference -x 'config-*' "$BLK_LIB_FILES" "$1" >/dev/null
}

# blk_lib_add: adds a device through zram-control and sets ID, SYS (its
# sysfs directory) and ZDEV (its node).
blk_lib_add() {
	ID=$(cat /sys/class/zram-control/hot_add) || ktap_exit_fail_msg "cannot add a device"
	SYS=/sys/block/zram$ID
	ZDEV=/dev/zram$ID
}

# blk_lib_remove: resets and removes the device blk_lib_add added.
blk_lib_remove() {
	echo 1 2>/dev/null >"$SYS/reset"
	echo "$ID" 2>/dev/null >/sys/class/zram-control/hot_remove
}

# The helpers below work on the device whose sysfs directory is $SYS and
# whose node is $ZDEV, as blk_lib_add or the caller sets them.

# blk_lib_field FILE N: field N of the device's attribute FILE.
blk_lib_field() {
	awk -v n="$2" '{ print $n }' "$SYS/$1"
}

# blk_lib_sum MIB: the checksum of the device's first MIB MiB, read past the
# page cache.
blk_lib_sum() {
	dd if="$ZDEV" bs=1M count="$1" iflag=direct status=none | sha256sum | cut -d' ' -f1
}

# blk_lib_skip MESSAGE: skips the whole test.
blk_lib_skip() {
	ktap_skip_all "$1"
	exit "$KSFT_SKIP"
}

# blk_lib_need_backing BDEV: skips the test unless it runs as root, the
# kernel has zram's devices and BDEV, from ZCOMP_SWAP_DEV, is a block
# device to write back to.
blk_lib_need_backing() {
	[ "$(id -u)" -eq 0 ] || blk_lib_skip "must be run as root"
	[ -d /sys/class/zram-control ] ||
		blk_lib_skip "no /sys/class/zram-control: kernel without zram's devices"
	[ -n "$1" ] && [ -b "$1" ] ||
		blk_lib_skip "ZCOMP_SWAP_DEV names no block device to write back to"
}

BLK_LIB_FAIL_IO=/sys/kernel/debug/fail_make_request

# blk_lib_need_fail_io BDEV: skips the test unless fail_make_request can
# fail BDEV's I/O, which blk_lib_fail_io then turns on and off.
blk_lib_need_fail_io() {
	mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null
	BLK_LIB_DISK_FAIL=/sys/block/$(basename "$(readlink -f "$1")")/make-it-fail
	[ -e "$BLK_LIB_DISK_FAIL" ] && [ -e "$BLK_LIB_FAIL_IO/probability" ] ||
		blk_lib_skip "no fail_make_request for $1"
}

# blk_lib_fail_io on|off: every bio to the device of blk_lib_need_fail_io
# fails from now on, or none does.
blk_lib_fail_io() {
	local f=$BLK_LIB_FAIL_IO

	if [ "$1" = on ]; then
		echo 0 >"$f/verbose"
		echo N >"$f/task-filter"
		echo 1 >"$f/interval"
		echo -1 >"$f/times"
		echo 0 >"$f/require-start" 2>/dev/null
		echo 18446744073709551615 >"$f/require-end" 2>/dev/null
		echo 1 >"$BLK_LIB_DISK_FAIL"
		echo 100 >"$f/probability"
	else
		echo 0 >"$f/probability"
		echo 0 >"$BLK_LIB_DISK_FAIL"
	fi
}

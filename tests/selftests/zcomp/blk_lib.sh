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

# The helpers below work on the device whose sysfs directory is $SYS and
# whose node is $ZDEV, as the caller sets them.

# blk_lib_field FILE N: field N of the device's attribute FILE.
blk_lib_field() {
	awk -v n="$2" '{ print $n }' "$SYS/$1"
}

# blk_lib_sum MIB: the checksum of the device's first MIB MiB, read past the
# page cache.
blk_lib_sum() {
	dd if="$ZDEV" bs=1M count="$1" iflag=direct status=none | sha256sum | cut -d' ' -f1
}

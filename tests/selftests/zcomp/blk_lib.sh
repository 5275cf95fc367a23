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

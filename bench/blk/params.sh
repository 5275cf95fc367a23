#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# algorithm_params on zram's ABI: the compressed size (mm_stat) of 4 MiB of
# Python sources on a device, by algorithm, level and dictionary, each read
# back and compared. The kselftest zcomp_blk.sh runs the same sequence on
# zcomp; run this in a guest of either kernel to compare:
#
#   bash qemu/guest-run.sh -k stock bench/blk/params.sh
#   bash qemu/guest-run.sh -k zcomp bench/blk/params.sh
set -euo pipefail

TMP=$(mktemp -d)
src=$(ls -d /usr/lib/python3.[0-9]* | head -1)
find "$src" -name '*.py' -size +8k | sort >"$TMP/files"
xargs cat <"$TMP/files" 2>/dev/null | head -c 64K >"$TMP/dict" || true
tail -n +200 "$TMP/files" | xargs cat 2>/dev/null | head -c 4M >"$TMP/data" || true
[ -e /sys/class/zram-control ] || modprobe zram num_devices=0
id=$(cat /sys/class/zram-control/hot_add)
sys=/sys/block/zram$id

# size ALGO PARAMS [RECOMP_PARAMS]: as compressed() in zcomp_blk.sh.
size() {
	echo "$1" >"$sys/comp_algorithm"
	[ -z "$2" ] || echo "$2" >"$sys/algorithm_params"
	if [ -n "${3:-}" ]; then
		echo "algo=zstd priority=1" >"$sys/recomp_algorithm"
		echo "priority=1 $3" >"$sys/algorithm_params"
	fi
	echo 8M >"$sys/disksize"
	dd if="$TMP/data" of="/dev/zram$id" bs=1M oflag=direct status=none
	[ -z "${3:-}" ] || echo priority=1 >"$sys/recompress"
	cmp "$TMP/data" <(dd if="/dev/zram$id" bs=1M count=4 iflag=direct status=none)
	printf '%-32s %s\n' "$1 $2${3:+ then zstd $3}" "$(awk '{ print $2 }' "$sys/mm_stat")"
	echo 1 >"$sys/reset"
}
echo "kernel $(uname -r): compressed bytes of 4 MiB"
size lz4 ""
size lz4 "level=16"
size lz4 "dict=$TMP/dict"
size lz4hc ""
size lz4hc "level=3 dict=$TMP/dict"
size zstd ""
size zstd "level=9 dict=$TMP/dict"
size lz4 "" "dict=$TMP/dict"
echo "$id" >/sys/class/zram-control/hot_remove

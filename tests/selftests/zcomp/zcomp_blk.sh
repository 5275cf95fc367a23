#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# zcomp's block frontend through zram's ABI: devices added and removed
# through /sys/class/zram-control; util-linux's zramctl creating, listing
# and resetting them, its DATA, COMPR and TOTAL agreeing with mm_stat; a
# filesystem of real files that survives a drop of every cache; what zram
# refuses refused, and malformed writes to every attribute failing and
# changing nothing; an empty 100 GiB device costing under 1 MiB;
# algorithm_params taking levels and dictionaries that change how blocks
# compress.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh
. "$DIR"/blk_lib.sh

CTL=/sys/class/zram-control
MNT=$(mktemp -d)

ktap_print_header

if [ "$(id -u)" -ne 0 ]; then
	ktap_skip_all "must be run as root"
	exit "$KSFT_SKIP"
fi
if [ ! -d "$CTL" ] || ! command -v zramctl >/dev/null; then
	ktap_skip_all "needs zram devices with $CTL, and zramctl"
	exit "$KSFT_SKIP"
fi

DEVS=()
cleanup() {
	local id

	umount "$MNT" 2>/dev/null
	rmdir "$MNT"
	for id in "${DEVS[@]}"; do
		echo 1 2>/dev/null >"/sys/block/zram$id/reset"
		echo "$id" 2>/dev/null >"$CTL/hot_remove"
	done
}
trap cleanup EXIT

# new_device: add a device and print its number.
new_device() {
	local id

	id=$(cat "$CTL/hot_add") || return 1
	DEVS+=("$id")
	echo "$id"
}

ktap_set_plan 8

# 1. hot_add and hot_remove.
id=$(new_device)
ok=1
[ -b "/dev/zram$id" ] && [ "$(cat "/sys/block/zram$id/initstate")" = 0 ] || ok=0
echo "$id" >"$CTL/hot_remove" || ok=0
[ ! -e "/sys/block/zram$id" ] || ok=0
for bad in abc -1 999999 ""; do
	if echo "$bad" 2>/dev/null >"$CTL/hot_remove"; then
		ktap_print_msg "hot_remove took '$bad'"
		ok=0
	fi
done
ktap_test_result "hot_add adds a device, hot_remove removes it and refuses bad numbers" \
	[ $ok = 1 ]

# 2. zramctl creates, lists and resets; its figures are mm_stat's.
ok=1
dev=$(zramctl --find --size 64M --algorithm lz4) || ok=0
id=${dev#/dev/zram}
DEVS+=("$id")
grep -q '\[lz4\]' "/sys/block/zram$id/comp_algorithm" || ok=0
[ "$(cat "/sys/block/zram$id/disksize")" = $((64 << 20)) ] || ok=0
cat /usr/bin/* 2>/dev/null | head -c $((16 << 20)) |
	dd of="$dev" bs=1M iflag=fullblock oflag=direct status=none
read -r orig compr total _ <"/sys/block/zram$id/mm_stat"
listed=$(zramctl --bytes --raw --noheadings --output DATA,COMPR,TOTAL "$dev")
if [ "$listed" != "$orig $compr $total" ] || [ "$orig" -ne $((16 << 20)) ]; then
	ktap_print_msg "zramctl lists '$listed', mm_stat has '$orig $compr $total'"
	ok=0
fi
zramctl --reset "$dev" || ok=0
if [ -e "/sys/block/zram$id" ] && [ "$(cat "/sys/block/zram$id/initstate")" != 0 ]; then
	ok=0
fi
ktap_test_result "zramctl creates, lists (DATA, COMPR, TOTAL as in mm_stat) and resets" \
	[ $ok = 1 ]

# 3. A filesystem of real files, written, dropped from every cache, verified.
ok=1
id=$(new_device)
echo 256M >"/sys/block/zram$id/disksize" &&
	mkfs.ext4 -q "/dev/zram$id" && mount "/dev/zram$id" "$MNT" &&
	blk_lib_copy_files "$MNT/copy" || ok=0
umount "$MNT" || ok=0
echo 3 >/proc/sys/vm/drop_caches
mount "/dev/zram$id" "$MNT" && blk_lib_same_files "$MNT/copy" || ok=0
read -r orig compr total _ <"/sys/block/zram$id/mm_stat"
ktap_print_msg "$(du -s "$MNT/copy" | cut -f1) KiB of files: mm_stat $orig $compr $total"
[ "$compr" -lt "$orig" ] && [ "$total" -lt "$orig" ] || ok=0
ktap_test_result "a filesystem's files come back intact after drop_caches" [ $ok = 1 ]

# 4. What zram refuses on a device in use: a new algorithm or size once
# initialised, a reset while mounted.
ok=1
sys=/sys/block/zram$id
echo lzo 2>/dev/null >"$sys/comp_algorithm" && ok=0
echo 1G 2>/dev/null >"$sys/disksize" && ok=0
echo 1 2>/dev/null >"$sys/reset" && ok=0
[ "$(cat "$sys/disksize")" = $((256 << 20)) ] || ok=0
umount "$MNT"
echo 1 >"$sys/reset" || ok=0
[ "$(cat "$sys/initstate")" = 0 ] || ok=0
ktap_test_result "an initialised device refuses comp_algorithm and disksize, a mounted one reset" \
	[ $ok = 1 ]

# 5. Malformed writes fail and change nothing.
ok=1
# refuse ATTR VALUE...: every write fails and the attribute reads the same.
refuse() {
	blk_lib_refuse "$sys/$1" "${@:2}" || ok=0
}
long=$(printf 'x%.0s' $(seq 200))
refuse disksize abc 1X 1MB -1 0x 1.5G 99999999999999999999 "1 "
refuse comp_algorithm nonesuch "lz4 " "$long"
refuse mem_limit abc 1Q -5 "1M1"
refuse mem_used_max 1 abc
refuse reset 0 abc -1 70000
refuse compact 1
refuse algorithm_params level= =1 level=x level=1.5 priority=4 priority=-1 priority=x \
	algo=nonesuch nonesuch=1 "level=1 x"
[ "$(cat "$sys/initstate")" = 0 ] || ok=0
echo 0 >"$sys/mem_limit" || ok=0
ktap_test_result "malformed writes to every attribute fail and change nothing" [ $ok = 1 ]

# 6. An empty 100 GiB device, as LTP's zram02 makes, costs under 1 MiB.
free_kb() { awk '/^MemFree:/ { print $2 }' /proc/meminfo; }
sync
echo 3 >/proc/sys/vm/drop_caches
before=$(free_kb)
echo 100G >"$sys/disksize"
after=$(free_kb)
cost=$((before - after))
ktap_print_msg "disksize 100G took ${cost} KiB"
echo 1 >"$sys/reset"
ktap_test_result "an empty 100 GiB device costs under 1 MiB" [ "$cost" -lt 1024 ]

# 7. algorithm_params takes levels and dictionaries for a priority of the
# device, as zram: a level of an algorithm without levels is ignored, as is a
# priority with no algorithm yet; names of algorithms the device does not use,
# priorities past the last and files that cannot be read are refused.
ok=1
takes() {
	printf '%s' "$1" 2>/dev/null >"$sys/algorithm_params" ||
		{ ktap_print_msg "algorithm_params refused '$1'"; ok=0; }
}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"; cleanup' EXIT
# Python sources, as a filesystem of real files holds them: a dictionary of
# 64 KiB from some, 4 MiB of data from others.
find "$BLK_LIB_FILES" -name '*.py' -size +8k | sort >"$TMP/files"
xargs cat <"$TMP/files" 2>/dev/null | head -c 64K >"$TMP/dict"
tail -n +200 "$TMP/files" | xargs cat 2>/dev/null | head -c 4M >"$TMP/data"
echo zstd >"$sys/comp_algorithm" && echo "algo=lzo priority=1" >"$sys/recomp_algorithm" || ok=0
takes ""
takes "level=3"
takes "algo=zstd level=19"
takes "algo=zstd level=-5 dict=$TMP/dict"
takes "priority=1 level=5"
takes "algo=lzo level=5 dict=$TMP/dict"
takes "priority=2 level=1"
refuse algorithm_params "algo=lz4 level=1" "priority=4 level=1" "dict=$TMP/nonesuch" \
	"dict=$TMP" "dict=/dev/null" "dict="
if grep -qw deflate "$sys/comp_algorithm"; then
	echo deflate >"$sys/comp_algorithm" || ok=0
	refuse algorithm_params "level=1"
	takes "level=6"
fi
echo 1 >"$sys/reset"
ktap_test_result "algorithm_params takes levels and dictionaries, refuses what zram refuses" \
	[ $ok = 1 ]

# 8. Levels and dictionaries change how blocks compress, and every block reads
# back: lz4 at acceleration 16 compresses less than at its default; a
# dictionary of the same kind of text makes lz4 and zstd compress more; lz4hc
# with one compresses more than lz4 (where the kernel has lz4hc); and
# recompression with zstd and a dictionary compresses more than zstd alone.
ok=1
# compressed ALGO PARAMS [RECOMP_PARAMS]: the compressed size of the data on
# a device with ALGO given PARAMS, after recompression with zstd given
# RECOMP_PARAMS if there are any; 0 if the data does not read back.
compressed() {
	echo "$1" >"$sys/comp_algorithm" &&
		{ [ -z "$2" ] || echo "$2" >"$sys/algorithm_params"; } &&
		{ [ -z "$3" ] || { echo "algo=zstd priority=1" >"$sys/recomp_algorithm" &&
			echo "priority=1 $3" >"$sys/algorithm_params"; }; } &&
		echo 8M >"$sys/disksize" &&
		dd if="$TMP/data" of="/dev/zram$id" bs=1M oflag=direct status=none &&
		{ [ -z "$3" ] || echo priority=1 >"$sys/recompress"; } &&
		cmp -s "$TMP/data" <(dd if="/dev/zram$id" bs=1M count=4 iflag=direct status=none) &&
		awk '{ print $2 }' "$sys/mm_stat" || echo 0
	echo 1 >"$sys/reset"
}
lz4=$(compressed lz4 "")
lz4_fast=$(compressed lz4 "level=16")
lz4_dict=$(compressed lz4 "dict=$TMP/dict")
lz4hc_dict=
if grep -qw lz4hc "$sys/comp_algorithm"; then
	lz4hc_dict=$(compressed lz4hc "level=3 dict=$TMP/dict")
	[ "$lz4hc_dict" -gt 0 ] && [ "$lz4hc_dict" -lt "$lz4" ] || ok=0
fi
zstd=$(compressed zstd "")
zstd_dict=$(compressed zstd "level=9 dict=$TMP/dict")
recomp=$(compressed lz4 "" "dict=$TMP/dict")
ktap_print_msg "4 MiB compressed: lz4 $lz4, level=16 $lz4_fast, dict $lz4_dict;" \
	"lz4hc level=3 dict ${lz4hc_dict:-(none)}; zstd $zstd, level=9 dict $zstd_dict;" \
	"lz4 recompressed by zstd with dict $recomp"
for size in "$lz4" "$lz4_fast" "$lz4_dict" "$zstd" "$zstd_dict" "$recomp"; do
	[ "$size" -gt 0 ] || ok=0
done
[ "$lz4_fast" -gt "$lz4" ] && [ "$lz4_dict" -lt "$lz4" ] && [ "$zstd_dict" -lt "$zstd" ] &&
	[ "$recomp" -lt "$zstd" ] || ok=0
ktap_test_result "levels and dictionaries change the compression; every block reads back" \
	[ $ok = 1 ]

ktap_finished

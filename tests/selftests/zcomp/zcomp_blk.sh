#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# zcomp's block frontend through zram's ABI: devices added and removed
# through /sys/class/zram-control; util-linux's zramctl creating, listing
# and resetting them, its DATA, COMPR and TOTAL agreeing with mm_stat; a
# filesystem of real files that survives a drop of every cache; what zram
# refuses refused, and malformed writes to every attribute failing and
# changing nothing; an empty 100 GiB device costing under 1 MiB;
# algorithm_params taking the levels zcomp compresses at and refusing the
# others.

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

ktap_set_plan 7

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
src=$(ls -d /usr/lib/python3.[0-9]* | head -1)
echo 256M >"/sys/block/zram$id/disksize" &&
	mkfs.ext4 -q "/dev/zram$id" && mount "/dev/zram$id" "$MNT" &&
	cp -a "$src" "$MNT/copy" || ok=0
umount "$MNT" || ok=0
echo 3 >/proc/sys/vm/drop_caches
mount "/dev/zram$id" "$MNT" && diff -r --no-dereference "$src" "$MNT/copy" >/dev/null || ok=0
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

# 7. algorithm_params takes the level the crypto API compresses an algorithm
# at, and any level of an algorithm without levels, which zram ignores; it
# refuses other levels and dictionaries with EOPNOTSUPP rather than ignore
# them, and names of algorithms the device does not use with EINVAL.
ok=1
takes() {
	printf '%s' "$1" 2>/dev/null >"$sys/algorithm_params" ||
		{ ktap_print_msg "algorithm_params refused '$1'"; ok=0; }
}
unsupported() {
	local err

	if err=$({ printf '%s' "$1" >"$sys/algorithm_params"; } 2>&1); then
		ktap_print_msg "algorithm_params took '$1'"
		ok=0
	elif [[ $err != *"not supported"* ]]; then
		ktap_print_msg "algorithm_params refused '$1' with: $err"
		ok=0
	fi
}
echo zstd >"$sys/comp_algorithm" && echo "algo=lzo priority=1" >"$sys/recomp_algorithm" || ok=0
takes ""
takes "level=3"
takes "algo=zstd level=3"
takes "priority=1 level=5"
takes "algo=lzo level=5"
unsupported "level=19"
unsupported "algo=zstd level=1"
unsupported "algo=zstd dict=/etc/hostname"
refuse algorithm_params "algo=lz4 level=1" "priority=2 level=1"
echo 1 >"$sys/reset"
ktap_test_result "algorithm_params takes the levels zcomp compresses at, refuses the others" \
	[ $ok = 1 ]

ktap_finished

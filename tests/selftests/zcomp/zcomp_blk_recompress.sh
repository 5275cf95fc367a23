#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Recompression of a zcomp device's blocks, through zram's files:
# recomp_algorithm and recompress (type=, max_pages=, threshold=, algo=,
# priority=). Blocks compressed again with a denser algorithm take less
# memory and read back as written; blocks no secondary algorithm shrinks
# are marked incompressible, which "writeback incompressible" then moves
# to the backing device. What zram refuses is refused, and malformed writes
# fail and change nothing.
#
# Needs a spare block device for the backing device (its contents are
# destroyed) in ZCOMP_SWAP_DEV, e.g. ZCOMP_SWAP_DEV=/dev/vdb.

DIR=$(dirname "$(readlink -f "$0")")
. "$DIR"/../kselftest/ktap_helpers.sh
. "$DIR"/blk_lib.sh

BDEV=${ZCOMP_SWAP_DEV:-}
MIB=8		# realistic data written to the device, then 1 MiB of random bytes

ktap_print_header

blk_lib_need_backing "$BDEV"
grep -qx "name *: zstd" /proc/crypto && grep -qx "name *: lz4" /proc/crypto ||
	blk_lib_skip "the crypto API lacks lz4 or zstd"

TMP=$(mktemp -d /tmp/zcomp_blk_recompress.XXXXXX) || ktap_exit_fail_msg "mktemp failed"
blk_lib_add

cleanup() {
	blk_lib_remove
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit "$KSFT_FAIL"' HUP INT PIPE TERM

ok=1
# refuse ATTR VALUE...: every write fails and the attribute reads the same.
refuse() {
	blk_lib_refuse "$SYS/$1" "${@:2}" || ok=0
}

ktap_set_plan 7

# 1. recomp_algorithm: up to three secondary algorithms, by priority.
[ -z "$(cat "$SYS/recomp_algorithm")" ] || ok=0
refuse recomp_algorithm zstd algo= "algo=nonesuch" "algo=zstd priority=0" \
	"algo=zstd priority=4" "algo=zstd priority=x" "algo=zstd bogus=1" priority=1 \
	"algo=zstd priority=-1" $'\n'
echo algo=zstd >"$SYS/recomp_algorithm" || ok=0
echo "algo=lzo priority=2" >"$SYS/recomp_algorithm" || ok=0
ktap_print_msg "recomp_algorithm: $(tr '\n' ';' <"$SYS/recomp_algorithm")"
grep -q '^#1: .*\[zstd\]' "$SYS/recomp_algorithm" || ok=0
grep -q '^#2: .*\[lzo\]' "$SYS/recomp_algorithm" || ok=0
[ "$(grep -c . "$SYS/recomp_algorithm")" = 2 ] || ok=0
ktap_test_result "recomp_algorithm takes algo= and priority= 1 to 3, and refuses the rest" \
	[ $ok = 1 ]

# The data: executables and Python sources, which zstd packs tighter than lz4.
{
	cat /usr/lib/python3*/*.py 2>/dev/null | head -c $((MIB << 19))
	cat /usr/bin/* 2>/dev/null | head -c $((MIB << 19))
} >"$TMP/data"
[ "$(stat -c %s "$TMP/data")" = $((MIB << 20)) ] || ktap_exit_fail_msg "cannot make the test data"
want=$(sha256sum <"$TMP/data" | cut -d' ' -f1)

# 2. What recompress refuses, before and after initialisation.
ok=1
refuse recompress type=idle
echo "$BDEV" >"$SYS/backing_dev" || ok=0
echo lz4 >"$SYS/comp_algorithm" || ok=0
echo 32M >"$SYS/disksize" || ktap_exit_fail_msg "cannot size $ZDEV"
dd if="$TMP/data" of="$ZDEV" bs=1M oflag=direct status=none || ok=0
mm=$(cat "$SYS/mm_stat")
refuse recompress type=nonesuch type threshold=4096 threshold=x max_pages=-1 algo=lz4 \
	algo=nonesuch priority=4 bogus=1 "type=idle bogus"
refuse recomp_algorithm "algo=zstd priority=3"
[ "$(cat "$SYS/mm_stat")" = "$mm" ] || ok=0
ktap_test_result "recompress refuses malformed writes and an uninitialised device" [ $ok = 1 ]

# 3. Idle recompression: only blocks marked idle, max_pages at a time; data intact.
c0=$(blk_lib_field mm_stat 2)
echo type=idle >"$SYS/recompress" || ok=0
c1=$(blk_lib_field mm_stat 2)
echo all >"$SYS/idle" && echo "type=idle max_pages=64" >"$SYS/recompress" || ok=0
c2=$(blk_lib_field mm_stat 2)
echo type=idle >"$SYS/recompress" || ok=0
c3=$(blk_lib_field mm_stat 2)
echo type=idle >"$SYS/recompress" || ok=0
c4=$(blk_lib_field mm_stat 2)
ktap_print_msg "compr_data_size: $c0, no idle blocks $c1, 64 blocks $c2, all idle $c3," \
	"again $c4; mm_stat $(cat "$SYS/mm_stat")"
shrunk() {
	[ "$ok" = 1 ] && [ "$c1" = "$c0" ] && [ "$c2" -lt "$c1" ] && [ "$c3" -lt "$c2" ] &&
		[ "$c4" = "$c3" ] && [ "$(blk_lib_sum $MIB)" = "$want" ]
}
ktap_test_result "recompress type=idle shrinks idle blocks, max_pages at a time; all read back" \
	shrunk

# 4. A block no secondary algorithm shrinks is marked incompressible.
ok=1
head -c $((1 << 20)) /dev/urandom >"$TMP/random"
dd if="$TMP/random" of="$ZDEV" bs=1M seek=$MIB oflag=direct status=none || ok=0
cat "$TMP/data" "$TMP/random" | sha256sum | cut -d' ' -f1 >"$TMP/want"
# First the blocks the idle run marked, so that only the random ones are left.
echo incompressible >"$SYS/writeback" || ok=0
w0=$(blk_lib_field bd_stat 1)
huge=$(blk_lib_field mm_stat 8)
echo type=huge >"$SYS/recompress" || ok=0
huge2=$(blk_lib_field mm_stat 8)
echo incompressible >"$SYS/writeback" || ok=0
w1=$(blk_lib_field bd_stat 1)
ktap_print_msg "huge_pages $huge, after recompress $huge2, after writeback" \
	"$(blk_lib_field mm_stat 8); backing slots: $w0, then $w1"
marked() {
	[ "$ok" = 1 ] && [ "$huge" -ge 256 ] && [ "$huge2" = "$huge" ] &&
		[ $((w1 - w0)) = "$huge" ] && [ "$(blk_lib_field mm_stat 8)" = 0 ]
}
ktap_test_result "blocks no algorithm shrinks are marked; writeback incompressible takes them" \
	marked

# 5. Everything reads back, from the pools and from the backing device.
intact() {
	[ "$(blk_lib_sum $((MIB + 1)))" = "$(cat "$TMP/want")" ]
}
ktap_test_result "every block reads back as written" intact

# 6. algo= and priority= pick one secondary algorithm; lzo does not beat zstd.
ok=1
c0=$(blk_lib_field mm_stat 2)
echo all >"$SYS/idle"
echo "type=idle algo=lzo" >"$SYS/recompress" || ok=0
echo "priority=2" >"$SYS/recompress" || ok=0
c1=$(blk_lib_field mm_stat 2)
ktap_print_msg "compr_data_size $c0, after lzo $c1"
picked() {
	[ "$ok" = 1 ] && [ "$c1" -le "$c0" ] &&
		[ "$(blk_lib_sum $((MIB + 1)))" = "$(cat "$TMP/want")" ]
}
ktap_test_result "recompress algo= and priority= run one algorithm; data intact" picked

# 7. reset forgets the secondary algorithms.
echo 1 >"$SYS/reset"
forgot() {
	[ -z "$(cat "$SYS/recomp_algorithm")" ] && [ "$(cat "$SYS/backing_dev")" = none ]
}
ktap_test_result "reset forgets the secondary algorithms" forgot

ktap_finished

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-compress, inside the guest: loads the module, feeds it the
# corpus's pages that are not same-filled (zswap, zram and zcomp keep those
# without compressing them), and prints its lines.
#
#   guest.sh MODULE CORPUS
set -eu
MODULE=$1 CORPUS=$2
D=/sys/kernel/debug/compbench

mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
insmod "$MODULE"
python3 "$ZCOMP_ROOT/bench/compress/pages.py" "$CORPUS" 4096 >"$D/corpus"
sed 's/^/bench: /' "$D/run"
rmmod compbench

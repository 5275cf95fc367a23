#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Where a 4 KiB random read's time goes, inside the guest: fills a zram
# device (stock zram or zcomp's block frontend, whichever the kernel has)
# with 64 MiB of the bench corpus, then profiles fio's random reads of it
# with perf (cpu-clock, call graphs, every CPU), and prints fio's read
# bandwidth and IOPS and the hottest symbols, by self and by total time.
# Run it on each bench kernel in turn, after make bench-blk made the
# corpus:
#
#   GUEST_MEMORY=1G bash qemu/guest-run.sh -k bench-zcomp bench/blk/profile.sh [JOBS]
#
# JOBS is fio's numjobs (default 2, as in the benchmark). Needs perf in the
# guest, which sees the host's root: Debian's linux-perf.
set -eu
JOBS=${1:-2}
CORPUS=$ZCOMP_ROOT/out/corpus
command -v perf >/dev/null || { echo "profile: no perf (install linux-perf)" >&2; exit 1; }
[ -d "$CORPUS/exec" ] || { echo "profile: no corpus in $CORPUS (run make bench-blk)" >&2; exit 1; }

echo 0 >/sys/module/zswap/parameters/enabled
cat "$CORPUS"/exec/* "$CORPUS"/text/* "$CORPUS"/anon/* 2>/dev/null | head -c 64M >/dev/shm/data
dev=$(zramctl --find --size 128M --algorithm lz4)
dd if=/dev/shm/data of="$dev" bs=1M oflag=direct status=none
echo 0 >/proc/sys/kernel/kptr_restrict
echo -1 >/proc/sys/kernel/perf_event_paranoid
echo "profile: $(uname -r), $JOBS jobs; fio read KiB/s;IOPS:"
perf record -q -e cpu-clock -F 2000 -a -g -o /tmp/perf.data -- \
	fio --name=profile --filename="$dev" --direct=1 --ioengine=psync --rw=randread \
	--bs=4k --size=64M --numjobs="$JOBS" --time_based --runtime=8 --randrepeat=1 \
	--group_reporting --output-format=terse | cut -d';' -f7,8
echo "== self time, by symbol"
perf report -i /tmp/perf.data --stdio --no-children --sort sym -g none 2>/dev/null |
	grep '%' | head -25
echo "== self time, with callers"
perf report -i /tmp/perf.data --stdio --no-children --sort sym 2>/dev/null |
	grep -v '^#' | head -120

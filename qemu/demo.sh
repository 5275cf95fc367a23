#!/bin/bash
# What `make run` shows in the guest: zcomp initialised, then the swap
# frontend at work: processes in a memory cgroup limited to a third of their
# working set push pages through zswap's interface into zcomp, with zswap's
# and zcomp's counters before, while the pages are held, and after. Then the
# block frontend: a device set up with zramctl, a filesystem of real files
# on it, and its mm_stat beside zcomp's own statistics.
set -u
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 none /sys/fs/cgroup
prog=$ZCOMP_ROOT/out/kselftest/zcomp/swap_integrity

echo "== $(uname -r): zcomp in the kernel log"
dmesg -t | grep -E '^(zcomp|zswap):' || { echo "demo: zcomp did not initialise"; exit 1; }
echo "== the pool on this kernel's pages (KUnit, run at boot)"
dmesg -t | sed -n '/# Subtest: zcomp_pool/,/ok [0-9]* zcomp_pool/p' | grep -E 'ok [0-9]+ '

counters() {
	echo "-- /proc/vmstat"
	grep -E '^(zswpout|zswpin|zswpwb|pswpout|pswpin) ' /proc/vmstat | paste -sd' '
	echo "-- /proc/meminfo"
	grep -E '^(Zswap|Zswapped):' /proc/meminfo | paste -sd' '
	echo "-- /sys/kernel/debug/zswap"
	grep -H . /sys/kernel/debug/zswap/* | sed 's|.*/||' | paste -sd' '
	echo "-- /sys/kernel/debug/zcomp"
	grep -H . /sys/kernel/debug/zcomp/* | sed 's|.*/||' | paste -sd' '
}

[ -n "${ZCOMP_SPARE_DISK:-}" ] || { echo "demo: no spare disk for swap"; exit 1; }
[ -x "$prog" ] || { echo "demo: $prog is missing"; exit 1; }
swapoff -a
mkswap -q "$ZCOMP_SPARE_DISK" && swapon "$ZCOMP_SPARE_DISK" || exit 1
echo 1 >/sys/module/zswap/parameters/enabled
echo "== zswap's parameters, served by zcomp"
grep -H . /sys/module/zswap/parameters/* | sed 's|.*/||' | paste -sd' '
echo "== before"
counters

cg=/sys/fs/cgroup/zcomp-demo
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir -p "$cg" && echo 24M >"$cg/memory.max"
echo "== 2 processes fill 36 MiB of realistic pages under a 24 MiB limit"
coproc demo { echo "$BASHPID" >"$cg/cgroup.procs" && exec "$prog" -p 2 -m 18 -w; }
pid=$demo_PID
while read -r line <&"${demo[0]}" && [ "$line" != ready ]; do
	echo "$line"
done
[ "$line" = ready ] || { echo "demo: the workload did not start"; exit 1; }
echo "== while the pages are held"
counters
grep -E '^(zswap|zswapped|zswpout) ' "$cg/memory.stat" | paste -sd' ' | sed 's/^/-- memory.stat of the cgroup: /'
kill -USR1 "$pid"
cat <&"${demo[0]}"
wait "$pid"
status=$?
echo "== after every page was read back and checked"
counters
rmdir "$cg"
swapoff "$ZCOMP_SPARE_DISK"
[ "$status" = 0 ] || exit "$status"

echo "== the block frontend: zramctl sets up a device"
dev=$(zramctl --find --size 128M --algorithm lz4) || { echo "demo: zramctl failed"; exit 1; }
sys=/sys/block/${dev#/dev/}
mnt=$(mktemp -d)
src=$(ls -d /usr/lib/python3.[0-9]* | head -1)
echo "== $src copied onto ext4 on $dev"
mkfs.ext4 -q "$dev" && mount "$dev" "$mnt" && cp -a "$src" "$mnt/copy" || exit 1
umount "$mnt" && echo 3 >/proc/sys/vm/drop_caches && mount "$dev" "$mnt" || exit 1
if diff -r --no-dereference "$src" "$mnt/copy" >/dev/null; then
	echo "-- read back after dropping every cache: identical"
else
	echo "demo: the files differ"
	status=1
fi
zramctl "$dev"
echo "-- $sys/mm_stat (orig_data_size compr_data_size mem_used_total ... huge_pages)"
cat "$sys/mm_stat"
echo "-- /sys/kernel/debug/zcomp"
grep -H . /sys/kernel/debug/zcomp/* | sed 's|.*/||' | paste -sd' '
umount "$mnt"
rmdir "$mnt"
zramctl --reset "$dev"
exit "$status"

#!/bin/bash
# What `make run` shows in the guest: zcomp initialised, then the swap
# frontend at work: processes in a memory cgroup limited to a third of their
# working set push pages through zswap's interface into zcomp, with zswap's
# and zcomp's counters before, while the pages are held, and after.
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
exit "$status"

#!/bin/bash
# What `make run` shows in the guest: zcomp initialised and its statistics.
set -u
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
echo "== $(uname -r): zcomp in the kernel log"
dmesg -t | grep '^zcomp:' || { echo "demo: zcomp did not initialise"; exit 1; }
echo "== the pool on this kernel's pages (KUnit, run at boot)"
dmesg -t | sed -n '/# Subtest: zcomp_pool/,/ok [0-9]* zcomp_pool/p' | grep -E 'ok [0-9]+ '
echo "== /sys/kernel/debug/zcomp"
for f in /sys/kernel/debug/zcomp/*; do
	[ -f "$f" ] || { echo "demo: no zcomp statistics in debugfs"; exit 1; }
	printf '%-20s %s\n' "${f##*/}" "$(cat "$f")"
done

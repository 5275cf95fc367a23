#!/bin/bash
# Run the installed kselftests (out/kselftest) inside the guest.
set -u
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
cd "$ZCOMP_ROOT/out/kselftest" || exit 1
./run_kselftest.sh "$@"

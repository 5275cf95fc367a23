#!/usr/bin/env bash
# Build zcomp's kselftests from linux/ and install them in out/kselftest,
# where the guest runs them (qemu/selftests.sh) and `make run` finds its
# workload.
set -euo pipefail
. "$(dirname "$0")/env.sh"
rm -rf "$ZCOMP_ROOT/out/kselftest"
make -s -C "$LINUX_DIR/tools/testing/selftests" TARGETS="zcomp cgroup zram" \
	O="$ZCOMP_ROOT/out/kselftest-build" INSTALL_PATH="$ZCOMP_ROOT/out/kselftest" install

#!/bin/bash
# Harness self-test: a kernel warning in the log must fail the guest run even
# though this script succeeds. scripts/test.sh expects this run to fail.
echo "WARNING: CPU: 0 PID: 1 at qemu/splat-selftest.sh: injected by the harness self-test" >/dev/kmsg
exit 0

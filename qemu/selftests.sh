#!/bin/bash
# Run the installed kselftests (out/kselftest) inside the guest. The swap
# tests use the spare disk as their swap device. The results are also written
# to out/guest/KERNEL/selftests.tap, away from the console, where kernel
# messages can cut into a result line, and each test's wall time to
# out/guest/KERNEL/selftests.times (printed at the end).
set -u
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
export ZCOMP_SWAP_DEV=${ZCOMP_SPARE_DISK:-}
cd "$ZCOMP_ROOT/out/kselftest" || exit 1
# The cgroup collection is installed for test_zswap, which zcomp's
# zswap_cgroup_tests.sh runs; only zcomp's collection runs by default.
[ $# -gt 0 ] || set -- -c zcomp
# The runner writes each test's output to /dev/stdout, which virtme-ng points at
# its console port: point it at each process's own standard output, or the
# results of the tests' cases would bypass the file.
ln -sf /proc/self/fd/1 /dev/stdout
times=$ZCOMP_GUEST_DIR/selftests.times start=$SECONDS
: >"$times"
./run_kselftest.sh "$@" | while IFS= read -r line; do
	printf '%s\n' "$line"
	case $line in
	"# selftests: "*) start=$SECONDS ;;
	"ok "*" selftests: "* | "not ok "*" selftests: "*)
		printf '%5d s  %s\n' $((SECONDS - start)) "${line#* selftests: }" >>"$times" ;;
	esac
done | tee "$ZCOMP_GUEST_DIR/selftests.tap"
status=${PIPESTATUS[0]}
echo "selftests: wall time of each test:"
cat "$times"
exit "$status"

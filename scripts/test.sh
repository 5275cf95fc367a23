#!/usr/bin/env bash
# `make test`: host tests of the core, then the patched kernel built, booted
# under QEMU, and its KUnit suites and zcomp kselftests run; then the series
# checked commit by commit (scripts/check-series.sh). Ends with one
# "N passed, N failed" line over every test case and check, and exits
# non-zero if anything failed.
set -uo pipefail
. "$(dirname "$0")/env.sh"
cd "$ZCOMP_ROOT"

passed=0 failed=0
logs=$ZCOMP_ROOT/out/test
mkdir -p "$logs"

# Record one check's outcome.
check() {
	if [ "$1" = 0 ]; then
		passed=$((passed + 1))
		echo "test: PASS $2"
	else
		failed=$((failed + 1))
		echo "test: FAIL $2"
	fi
}

# Count the cases in a log: cargo's "test result" lines and KTAP results at any nesting.
count_cases() {
	local p f
	p=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\1/p' "$1" | paste -sd+ | bc)
	f=$(sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed; \([0-9]*\) failed.*/\2/p' "$1" | paste -sd+ | bc)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
}

bash scripts/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

echo "test: host tests of the core"
bash scripts/host-test.sh 2>&1 | tee "$logs/host.log"
check "${PIPESTATUS[0]}" "host checks (fmt, clippy, cargo test, Miri)"
count_cases "$logs/host.log"

echo "test: building the zcomp kernel"
if bash scripts/build-kernel.sh zcomp >"$logs/build.log" 2>&1; then
	check 0 "kernel build"
	bash scripts/kselftests.sh >"$logs/kselftest-install.log" 2>&1
	check $? "kselftest install"

	bash scripts/series.sh >"$logs/series.log" 2>&1
	check $? "series applies with git am and is checkpatch-clean (log: $logs/series.log)"

	echo "test: the harness fails a run whose kernel log has a warning"
	! bash qemu/guest-run.sh qemu/splat-selftest.sh >"$logs/splat.log" 2>&1 &&
		grep -q 'FAIL: the kernel reported' "$logs/splat.log"
	check $? "harness catches a kernel warning"

	# The selftests take about 11 minutes under TCG (each test's time is printed at
	# the end); the limit only stops a hung guest.
	echo "test: booting it and running the selftests"
	bash qemu/guest-run.sh -t 1500 qemu/selftests.sh 2>&1 | tee "$logs/guest.log"
	check "${PIPESTATUS[0]}" "guest run (script status, clean kernel log)"
	# Counted from the results the guest wrote to a file: on the console, kernel
	# messages can cut into a result line.
	tap=out/guest/zcomp/selftests.tap
	n_ok=$(grep -cE '^# ok [0-9]+ ' "$tap" 2>/dev/null)
	n_notok=$(grep -cE '^# not ok [0-9]+ ' "$tap" 2>/dev/null)
	passed=$((passed + ${n_ok:-0}))
	failed=$((failed + ${n_notok:-0}))
	if grep -q 'KTAP version' out/guest/zcomp/console.log; then
		python3 linux/tools/testing/kunit/kunit.py parse "$ZCOMP_ROOT/out/guest/zcomp/console.log" >"$logs/kunit.log" 2>&1
		check $? "KUnit suites in the guest"
		cat "$logs/kunit.log"
		summary=$(grep -o 'Ran [0-9]* tests.*' "$logs/kunit.log" | tail -1)
		kunit_passed=$(sed -n 's/.*passed: \([0-9]*\).*/\1/p' <<<"$summary")
		kunit_failed=$(sed -n 's/.*failed: \([0-9]*\).*/\1/p' <<<"$summary")
		passed=$((passed + ${kunit_passed:-0}))
		failed=$((failed + ${kunit_failed:-0}))
	fi

	echo "test: every commit of the series builds (CLIPPY=1, no Rust warnings) and boots; rustfmtcheck"
	bash scripts/check-series.sh >"$logs/check-series.log" 2>&1
	check $? "series is bisectable and clean (log: $logs/check-series.log)"
	grep '^check-series:' "$logs/check-series.log"
else
	tail -40 "$logs/build.log"
	check 1 "kernel build (log: $logs/build.log)"
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]

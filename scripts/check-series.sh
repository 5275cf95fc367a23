#!/usr/bin/env bash
# Check that the series is bisectable and clean: every commit of linux/
# (base..zcomp) builds with CLIPPY=1 and without Rust warnings, and boots;
# the final tree passes rustfmtcheck. Builds incrementally in out/kbuild-bisect.
# A commit that changes nothing the kernel is built from (only selftests,
# documentation or MAINTAINERS) builds and boots the kernel its parent did,
# which was checked already; it is listed as such.
set -euo pipefail
. "$(dirname "$0")/env.sh"

bash "$ZCOMP_ROOT/scripts/kernel-tree.sh"
src=$ZCOMP_ROOT/out/bisect-src
log=$ZCOMP_ROOT/out/check-series
mkdir -p "$log"
# From the commit that adds it on, zcomp must initialise and its KUnit suite pass.
cat >"$log/boot.sh" <<'SH'
if grep -q '^CONFIG_ZCOMP=y' "$ZCOMP_ROOT/out/kbuild-bisect/.config"; then
	dmesg -t | grep '^zcomp: initialised' || exit 1
	! dmesg -t | grep -E '^ *not ok [0-9]+ '
fi
SH

status=0
for commit in $(git -C "$LINUX_DIR" rev-list --reverse base..zcomp); do
	subject=$(git -C "$LINUX_DIR" log -1 --format=%s "$commit")
	if git -C "$LINUX_DIR" diff --quiet "$commit^" "$commit" -- . \
		':!tools/testing/selftests' ':!Documentation' ':!MAINTAINERS'; then
		echo "check-series: ok (the kernel of the commit before): $subject"
		continue
	fi
	linux_worktree "$src" "$commit"
	if ! KBUILD_EXTRA="CLIPPY=1" bash "$ZCOMP_ROOT/scripts/build-kernel.sh" bisect \
		>"$log/build.log" 2>&1; then
		tail -30 "$log/build.log"
		echo "check-series: FAIL: does not build: $subject"
		exit 1
	fi
	verdict=ok
	if grep -A8 '^warning' "$log/build.log" | grep -qE 'mm/zcomp|rust/kernel/'; then
		grep -B2 -A12 '^warning' "$log/build.log"
		verdict="FAIL: Rust warnings"
		status=1
	fi
	if ! bash "$ZCOMP_ROOT/qemu/guest-run.sh" -k bisect -t 300 "$log/boot.sh" >"$log/boot.log" 2>&1; then
		tail -30 "$log/boot.log"
		echo "check-series: FAIL: does not boot cleanly: $subject"
		exit 1
	fi
	echo "check-series: $verdict: $subject"
done
if ! make -s -C "$LINUX_DIR" LLVM=-19 rustfmtcheck; then
	echo "check-series: FAIL: make rustfmtcheck"
	status=1
fi
exit $status

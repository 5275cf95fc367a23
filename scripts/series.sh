#!/usr/bin/env bash
# Write the review series to out/series/: git format-patch output of linux/
# (base..zcomp) with the cover letter from patches/cover-letter, then check
# that it applies with git am on the pristine base, reproduces the tree, and
# passes checkpatch.pl.
set -euo pipefail
. "$(dirname "$0")/env.sh"

bash "$ZCOMP_ROOT/scripts/kernel-tree.sh"
out=$ZCOMP_ROOT/out/series
rm -rf "$out"
git -C "$LINUX_DIR" format-patch -q --cover-letter --thread=shallow -o "$out" base..zcomp

# The cover letter: first line of patches/cover-letter is the subject, the rest the blurb.
cover=$(ls "$out"/0000-cover-letter.patch)
python3 - "$cover" "$ZCOMP_ROOT/patches/cover-letter" <<'PY'
import sys
cover, src = sys.argv[1], sys.argv[2]
subject, _, blurb = open(src).read().partition("\n")
text = open(cover).read()
text = text.replace("*** SUBJECT HERE ***", subject.strip(), 1)
text = text.replace("*** BLURB HERE ***", blurb.strip("\n"), 1)
open(cover, "w").write(text)
PY

# It must apply on the pristine base and give exactly linux/'s tree.
check=$ZCOMP_ROOT/out/series-check
linux_worktree "$check" base
if ! git -C "$check" -c user.name=zcomp -c user.email=zcomp@localhost am -q \
	$(ls "$out"/*.patch | grep -v 0000-cover-letter); then
	echo "series: FAIL: the series does not apply with git am on the base" >&2
	exit 1
fi
if ! git -C "$check" diff --quiet HEAD zcomp; then
	echo "series: FAIL: applying the series does not reproduce linux/" >&2
	exit 1
fi

# checkpatch.pl on each patch, two at once. Debian's python3 (for spdxcheck.py's ply
# and git modules) before any other on PATH. Every patch that adds a file draws "does
# MAINTAINERS need updating?"; the series ends with the MAINTAINERS entry, so that one
# check is off.
reports=$(mktemp -d)
trap 'rm -rf "$reports"' EXIT
ls "$out"/0*.patch | grep -v 0000-cover-letter | xargs -P2 -I{} bash -c '
	cd "$1" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --quiet --strict \
		--ignore FILE_PATH_CHANGES "$2" >"$3/${2##*/}" 2>&1 || touch "$3/${2##*/}.failed"
' checkpatch "$LINUX_DIR" {} "$reports"
status=0
for p in "$out"/0*.patch; do
	[ "${p##*/}" = 0000-cover-letter.patch ] && continue
	cat "$reports/${p##*/}"
	if [ -e "$reports/${p##*/}.failed" ]; then
		echo "series: checkpatch.pl complains about ${p##*/}" >&2
		status=1
	fi
done
(cd "$LINUX_DIR" && ./scripts/get_maintainer.pl --no-rolestats "$out"/0*.patch 2>/dev/null) \
	>"$out/get_maintainer.txt" || true
n=$(ls "$out"/0*.patch | grep -vc 0000-cover-letter)
echo "series: $n patches and a cover letter in out/series/ (applies with git am on base $KERNEL_BASE_VERSION)"
echo "series: recipients suggested by get_maintainer.pl are in out/series/get_maintainer.txt"
exit $status

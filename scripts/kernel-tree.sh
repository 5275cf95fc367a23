#!/usr/bin/env bash
# Make linux/ a git tree of the pinned base with the zcomp series applied, one
# commit per entry of patches/series. Rebuilds the series commits only when an
# input changed; never touches the pristine base commit (tag "base").
set -euo pipefail
. "$(dirname "$0")/env.sh"

die() { echo "kernel-tree: $*" >&2; exit 1; }
git_k() { git -C "$LINUX_DIR" -c user.name=zcomp -c user.email=zcomp@localhost "$@"; }

[ -f "$KERNEL_TARBALL" ] || die "$KERNEL_TARBALL not found (run scripts/setup.sh)"

if ! git -C "$LINUX_DIR" rev-parse -q --verify base >/dev/null 2>&1; then
	echo "kernel-tree: unpacking $KERNEL_TARBALL into linux/"
	rm -rf "$LINUX_DIR"
	mkdir -p "$LINUX_DIR"
	tar -xf "$KERNEL_TARBALL" -C "$LINUX_DIR" --strip-components=1
	git_k init -q -b zcomp
	# Debian's .gitignore ignores every top-level entry, hence -f.
	git_k add -A -f
	version=$(make -s -C "$LINUX_DIR" kernelversion)
	GIT_AUTHOR_DATE="2000-01-01T00:00:00Z" GIT_COMMITTER_DATE="2000-01-01T00:00:00Z" \
		git_k commit -q -m "Linux $version (Debian linux-source-6.12)"
	git_k tag base
fi

found=$(git_k show base:Makefile |
	awk '/^VERSION =/{v=$3} /^PATCHLEVEL =/{p=$3} /^SUBLEVEL =/{s=$3} END{print v"."p"."s}')
if [ "$found" != "$KERNEL_BASE_VERSION" ]; then
	echo "kernel-tree: warning: the series expects base $KERNEL_BASE_VERSION, found $found" >&2
fi

# Everything the series is built from; a change to any of it rebuilds the series.
series_inputs_hash() {
	cd "$ZCOMP_ROOT"
	{
		cat patches/series scripts/kernel-tree.sh
		awk '!/^#/ && NF' patches/series | tr ' \t' '\n\n' | awk NF |
			while read -r f; do
				[ -f "patches/$f" ] && cat "patches/$f"
				[ -f "$f" ] && cat "$f"
				true
			done
	} | sha256sum | cut -d' ' -f1
}
inputs_hash=$(series_inputs_hash)
stamp="$LINUX_DIR/.git/zcomp-series"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs_hash" ] &&
	[ "$(git_k symbolic-ref -q --short HEAD)" = zcomp ] &&
	[ -z "$(git_k status --porcelain)" ]; then
	exit 0
fi

# Where a file of this repository lands in the kernel tree.
kernel_path() {
	case "$1" in
	rust/mm/*) echo "${1#rust/}" ;;
	tests/selftests/*) echo "tools/testing/selftests/${1#tests/selftests/}" ;;
	*) die "patches/series: no kernel location for $1" ;;
	esac
}

echo "kernel-tree: applying patches/series on base $found"
rm -f "$stamp"
# Build the commits in a scratch index, then move linux/ to them: checkout
# rewrites only the files that differ, so an incremental build stays incremental.
n=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GIT_INDEX_FILE=$work/index
git_k read-tree base
head=$(git_k rev-parse base)
while read -r patch files; do
	case "$patch" in '' | '#'*) continue ;; esac
	n=$((n + 1))
	[ -f "$ZCOMP_ROOT/patches/$patch" ] || die "patches/series: $patch does not exist"
	git mailinfo "$work/msg" "$work/diff" <"$ZCOMP_ROOT/patches/$patch" >"$work/info"
	if [ -s "$work/diff" ] && ! git_k apply --cached "$work/diff"; then
		die "patch $n ($patch) does not apply: the series expects base $KERNEL_BASE_VERSION, the tree is $found"
	fi
	for f in $files; do
		[ -f "$ZCOMP_ROOT/$f" ] || die "patches/series: $patch lists $f, which does not exist"
		mode=100644
		[ -x "$ZCOMP_ROOT/$f" ] && mode=100755
		blob=$(git_k hash-object -w "$ZCOMP_ROOT/$f")
		git_k update-index --add --cacheinfo "$mode,$blob,$(kernel_path "$f")"
	done
	field() { sed -n "s/^$1: //p" "$work/info"; }
	{ field Subject; echo; cat "$work/msg"; } >"$work/commit-msg"
	head=$(GIT_AUTHOR_NAME="$(field Author)" GIT_AUTHOR_EMAIL="$(field Email)" \
		GIT_AUTHOR_DATE="$(field Date)" GIT_COMMITTER_DATE="$(field Date)" \
		git_k commit-tree "$(git_k write-tree)" -p "$head" -F "$work/commit-msg")
done <"$ZCOMP_ROOT/patches/series"
unset GIT_INDEX_FILE
git_k checkout -q -f -B zcomp "$head"
git_k clean -q -fd
echo "$inputs_hash" >"$stamp"
echo "kernel-tree: linux/ is base $found + $n patches"

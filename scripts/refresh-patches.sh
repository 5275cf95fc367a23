#!/usr/bin/env bash
# Write the kernel-file edits of linux/'s series commits back into patches/.
#
# To change an edit to an existing kernel file (or a rust/kernel abstraction),
# edit it in linux/, commit it as a fixup of its series commit
# (git commit --fixup=<commit>; git rebase -i --autosquash base), then run
# this. Each patch keeps its header and message; its diff is replaced by the
# commit's diff minus the files that patches/series adds from this repository.
set -euo pipefail
. "$(dirname "$0")/env.sh"

mapfile -t commits < <(git -C "$LINUX_DIR" rev-list --reverse base..zcomp)
i=0
while read -r patch files; do
	case "$patch" in '' | '#'*) continue ;; esac
	commit=${commits[$i]:?"linux/ has fewer commits than patches/series"}
	i=$((i + 1))
	excludes=()
	for f in $files; do
		case "$f" in
		rust/mm/*) excludes+=(":!${f#rust/}") ;;
		tests/selftests/*) excludes+=(":!tools/testing/selftests/${f#tests/selftests/}") ;;
		esac
	done
	file=$ZCOMP_ROOT/patches/$patch
	header=$(awk '/^---$/{exit} {print}' "$file")
	diff=$(git -C "$LINUX_DIR" diff "$commit^" "$commit" -- . "${excludes[@]}")
	{
		printf '%s\n' "$header"
		if [ -n "$diff" ]; then
			echo "---"
			git -C "$LINUX_DIR" diff --stat=72 "$commit^" "$commit" -- . "${excludes[@]}"
			echo
			printf '%s\n' "$diff"
		fi
	} >"$file"
done <"$ZCOMP_ROOT/patches/series"
[ "$i" = "${#commits[@]}" ] || { echo "refresh-patches: linux/ has ${#commits[@]} commits, patches/series $i" >&2; exit 1; }
git -C "$ZCOMP_ROOT" status --short patches/

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Pool density and speed benchmark (host, release build); bench/pool/README.md has the
# method.
#
#   scripts/bench-pool.sh              the built-in data sets, which scripts/bench-corpus.sh
#                                      generates into out/corpus/ the first time
#   scripts/bench-pool.sh CORPUS=dir   every file under dir, cut into 4 KiB pages
#
# Prints a report per data set, writes out/bench-pool/density.svg, and ends with one
# line of key=value pairs. Timings are the median (and minimum) of REPS runs of the trace
# (default 7; set REPS in the environment); each store follows the LZ4 compression of its
# page, and is charged what it adds to the next compression.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
corpus_root=$root/out/corpus
out=$root/out/bench-pool
CORPUS=${CORPUS:-}
MAX_PAGES=${MAX_PAGES:-65536}
for arg in "$@"; do
	case $arg in
	CORPUS=*) CORPUS=${arg#CORPUS=} ;;
	MAX_PAGES=*) MAX_PAGES=${arg#MAX_PAGES=} ;;
	*)
		echo "usage: $0 [CORPUS=dir] [MAX_PAGES=n]" >&2
		exit 2
		;;
	esac
done

die() {
	echo "bench-pool: $*" >&2
	exit 1
}

sets=()
if [ -n "$CORPUS" ]; then
	[ -d "$CORPUS" ] || die "CORPUS=$CORPUS is not a directory"
	sets+=("$(basename "$CORPUS")=$CORPUS")
else
	bash "$root/scripts/bench-corpus.sh" "$corpus_root"
	for s in anon exec text zero; do
		sets+=("$s=$corpus_root/$s")
	done
fi

cd "$root"
cargo build --quiet --release -p bench-pool
exec "$root/target/release/bench-pool" --out "$out" --max-pages "$MAX_PAGES" "${sets[@]}"

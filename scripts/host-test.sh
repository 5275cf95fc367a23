#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host tests of the zcomp core (pool, entry codec): formatting, clippy with the kernel's
# lint set, unit and property tests, Miri on the unit tests, and an optional short fuzz
# run. Installs the missing toolchain pieces first. Exits non-zero on any failure.
#
# Environment:
#   FUZZ_SECONDS  seconds per fuzz target (default 10 if cargo-fuzz is installed, else 0;
#                 a positive value installs cargo-fuzz when missing)
#   MIRI=0        skip Miri
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export PATH=$HOME/.cargo/bin:$PATH

step() {
	echo "== host-test: $*"
}
die() {
	echo "host-test: $*" >&2
	exit 1
}

command -v cargo >/dev/null || die "cargo not found (install rustup)"
have_fuzz=0
cargo fuzz --version >/dev/null 2>&1 && have_fuzz=1
if [ -z "${FUZZ_SECONDS:-}" ]; then
	FUZZ_SECONDS=$((have_fuzz ? 10 : 0))
fi
MIRI=${MIRI:-1}

step "toolchain"
if command -v rustup >/dev/null; then
	rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	if [ "$MIRI" != 0 ] || [ "$FUZZ_SECONDS" -gt 0 ]; then
		rustup toolchain list | grep -q '^nightly' ||
			rustup toolchain install nightly --profile minimal
	fi
	if [ "$MIRI" != 0 ]; then
		rustup component list --toolchain nightly --installed | grep -q '^miri' ||
			rustup component add --toolchain nightly miri rust-src
	fi
fi
if [ "$FUZZ_SECONDS" -gt 0 ] && [ "$have_fuzz" = 0 ]; then
	cargo install --locked cargo-fuzz
fi

step "cargo fmt --check"
cargo fmt --all -- --check
cargo fmt --manifest-path host/zcomp-core/fuzz/Cargo.toml -- --check

step "cargo clippy (kernel lint set, -D warnings)"
cargo clippy --workspace --all-targets -- -D warnings

step "cargo test (unit and property tests)"
cargo test --workspace

if [ "$MIRI" != 0 ]; then
	# Miri runs a test binary's tests one after another on one CPU: two binaries, each
	# with about half of the tests' Miri time (the pool's and the property tests, then
	# the rest), use two.
	step "cargo miri test (unit tests, reduced property-test cases), in two halves at once"
	export MIRIFLAGS=${MIRIFLAGS:-}
	cargo +nightly miri test -p zcomp-core --no-run
	half=(tests::pool:: tests::prop::)
	cargo +nightly miri test -p zcomp-core -- "${half[@]}" >target/miri-1.log 2>&1 &
	first=$!
	cargo +nightly miri test -p zcomp-core -- "${half[@]/#/--skip=}" >target/miri-2.log 2>&1 &
	second=$!
	status=0
	wait "$first" || status=1
	wait "$second" || status=1
	cat target/miri-1.log target/miri-2.log
	[ "$status" = 0 ] || die "Miri failed"
fi

if [ "$FUZZ_SECONDS" -gt 0 ]; then
	step "fuzz smoke: ${FUZZ_SECONDS}s per target"
	mkdir -p target
	for target in pool entry; do
		log=$root/target/fuzz-$target.log
		if (cd host/zcomp-core/fuzz &&
			cargo +nightly fuzz run -a "$target" -- -max_total_time="$FUZZ_SECONDS" >"$log" 2>&1); then
			grep -E '^Done [0-9]+ runs' "$log" || true
		else
			tail -n 40 "$log" >&2
			die "fuzz target $target failed (log: $log)"
		fi
	done
fi

step "all passed"

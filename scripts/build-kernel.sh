#!/usr/bin/env bash
# Build a kernel for the guest: "zcomp" (linux/ with the series) or "stock"
# (the pristine base), both from Kconfig.fragment over tinyconfig; or
# "bench-zcomp" and "bench-stock", the same without the debugging options
# (lockdep, Rust debug assertions and overflow checks, KUnit, fault
# injection), for benchmarks; or "bench-compress", bench-stock that loads
# modules, for make bench-compress's module.
# KBUILD_EXTRA adds make arguments (CLIPPY=1, say).
# Prints the path of the bzImage on its last line.
set -euo pipefail
. "$(dirname "$0")/env.sh"
KBUILD_EXTRA=${KBUILD_EXTRA:-}

flavour=${1:-zcomp}
case "$flavour" in
zcomp)
	bash "$ZCOMP_ROOT/scripts/kernel-tree.sh" >&2
	src=$LINUX_DIR
	;;
bisect)
	# scripts/check-series.sh checks out each series commit here.
	src=$ZCOMP_ROOT/out/bisect-src
	;;
stock | bench-stock | bench-compress)
	bash "$ZCOMP_ROOT/scripts/kernel-tree.sh" >&2
	src=$ZCOMP_ROOT/out/stock-src
	linux_worktree "$src" base
	;;
bench-zcomp)
	bash "$ZCOMP_ROOT/scripts/kernel-tree.sh" >&2
	src=$LINUX_DIR
	;;
*) echo "build-kernel: unknown kernel '$flavour' (zcomp, stock, bench-zcomp, bench-stock, bench-compress)" >&2; exit 2 ;;
esac

obj=$ZCOMP_ROOT/out/kbuild-$flavour
mkdir -p "$obj"
export CCACHE_BASEDIR=$ZCOMP_ROOT CCACHE_NOHASHDIR=1
fragment=$ZCOMP_ROOT/Kconfig.fragment
case "$flavour" in
bench-*)
	fragment=$obj/bench.fragment
	sed -E 's/^(CONFIG_(DEBUG_KERNEL|DEBUG_ATOMIC_SLEEP|PROVE_LOCKING|RUST_DEBUG_ASSERTIONS|RUST_OVERFLOW_CHECKS|KUNIT|ZCOMP_KUNIT_TEST|FAULT_INJECTION[A-Z_]*|FAIL_[A-Z_]*))=y$/# \1 is not set/' \
		"$ZCOMP_ROOT/Kconfig.fragment" >"$fragment"
	[ "$flavour" != bench-compress ] || printf 'CONFIG_MODULES=y\nCONFIG_MODULE_UNLOAD=y\n' >>"$fragment"
	;;
esac
kmake() {
	make -C "$src" O="$obj" LLVM=-19 CC="ccache clang-19" \
		RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUST_LIB_SRC="$RUST_LIB_SRC" \
		CLIPPY_DRIVER=/usr/bin/clippy-driver BINDGEN="$BINDGEN" $KBUILD_EXTRA "$@"
}

config_inputs=$(cat "$fragment" "$src/Makefile" "$src/mm/Kconfig" "$src/drivers/block/zram/Kconfig" |
	sha256sum | cut -d' ' -f1)
if [ "$(cat "$obj/.zcomp-config" 2>/dev/null)" != "$config_inputs" ] || ! [ -f "$obj/.config" ]; then
	kmake -s rustavailable >&2 || {
		echo "build-kernel: the Rust toolchain is not usable for $flavour (see above)" >&2
		exit 1
	}
	kmake -s tinyconfig >&2
	"$src/scripts/kconfig/merge_config.sh" -Q -O "$obj" -m "$obj/.config" \
		"$fragment" >&2
	kmake -s olddefconfig >&2
	# Every option the fragment asks for must survive olddefconfig, or the
	# guest silently lacks what a test relies on.
	while IFS= read -r line; do
		# The stock kernel, and series commits before zcomp's Kconfig, lack these.
		case "$line" in
		CONFIG_ZCOMP*)
			option=${line%%=*}
			grep -q "^config ${option#CONFIG_}\$" "$src/mm/Kconfig" \
				"$src/drivers/block/zram/Kconfig" || continue
			;;
		esac
		grep -qxF "$line" "$obj/.config" || {
			echo "build-kernel: $flavour: '$line' from Kconfig.fragment did not take" >&2
			exit 1
		}
	done < <(grep '^CONFIG_.*=y' "$fragment")
	echo "$config_inputs" >"$obj/.zcomp-config"
fi

targets=bzImage
# An external module needs the symbol list that building modules writes.
[ "$flavour" != bench-compress ] || targets="bzImage modules"
kmake -s -j"$(($(nproc) + 1))" $targets >&2
echo "$obj/arch/x86/boot/bzImage"

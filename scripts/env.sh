# Shared settings for the zcomp scripts; sourced, not run.
# shellcheck shell=bash
ZCOMP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The one place the expected kernel base is written down.
KERNEL_BASE_VERSION=6.12.118
KERNEL_TARBALL=/usr/src/linux-source-6.12.tar.xz
RUST_LIB_SRC=/usr/lib/rustlib/src/rust/library
BINDGEN_VERSION=0.73.2
VIRTME_NG_VERSION=1.42
TOOLS_DIR=${ZCOMP_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/zcomp}
BINDGEN=$TOOLS_DIR/bin/bindgen
VNG_VENV=$TOOLS_DIR/vng
LINUX_DIR=$ZCOMP_ROOT/linux
export LIBCLANG_PATH=/usr/lib/llvm-19/lib
export PATH=$TOOLS_DIR/bin:$VNG_VENV/bin:$PATH

# Point the linux/ worktree $1 (made if missing) at revision $2, detached.
linux_worktree() {
	if ! [ -e "$1/.git" ]; then
		rm -rf "$1"
		git -C "$LINUX_DIR" worktree prune
		git -C "$LINUX_DIR" worktree add -q --detach "$1" "$2"
	fi
	git -C "$1" am --abort 2>/dev/null || true
	git -C "$1" checkout -q -f --detach "$2"
}

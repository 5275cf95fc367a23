#!/usr/bin/env bash
# Install what building, booting and testing zcomp needs, skipping what is
# already there. Safe to run repeatedly; exits non-zero naming the piece that
# could not be installed.
set -euo pipefail
. "$(dirname "$0")/env.sh"

die() { echo "setup: $*" >&2; exit 1; }

debian_packages=(
	linux-source-6.12
	rustc-web rust-web-src rust-web-clippy
	clang-19 lld-19 llvm-19 libclang-19-dev
	bc flex bison libelf-dev libssl-dev cpio ccache rsync
	qemu-system-x86 udev
	util-linux e2fsprogs fio gdb kmod
	python3-ply python3-git
)

missing=()
for pkg in "${debian_packages[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$pkg")
done
if ((${#missing[@]})); then
	echo "setup: installing Debian packages: ${missing[*]}"
	sudo_cmd=()
	[ "$(id -u)" = 0 ] || sudo_cmd=(sudo)
	"${sudo_cmd[@]}" apt-get update -qq || die "apt-get update failed"
	DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null ||
		die "apt-get could not install: ${missing[*]}"
fi

[ -f "$KERNEL_TARBALL" ] || die "linux-source-6.12 installed but $KERNEL_TARBALL is missing"
[ -d "$RUST_LIB_SRC" ] || die "rust-web-src installed but $RUST_LIB_SRC is missing"

if ! "$BINDGEN" --version 2>/dev/null | grep -q .; then
	echo "setup: installing bindgen-cli $BINDGEN_VERSION from crates.io"
	cargo install --quiet --locked --root "$TOOLS_DIR" bindgen-cli --version "$BINDGEN_VERSION" ||
		die "cargo install bindgen-cli $BINDGEN_VERSION failed"
fi

if ! [ -x "$VNG_VENV/bin/vng" ]; then
	echo "setup: installing virtme-ng $VIRTME_NG_VERSION from PyPI"
	python3 -m venv "$VNG_VENV" || die "python3 -m venv failed"
	"$VNG_VENV/bin/pip" install --quiet "virtme-ng==$VIRTME_NG_VERSION" ||
		die "pip install virtme-ng==$VIRTME_NG_VERSION failed"
fi

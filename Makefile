# zcomp: build, boot and test a Linux 6.12 kernel with mm/zcomp.
#
#   make run                 build and boot the patched kernel, show zcomp swapping
#   make test                host tests, kernel build, boot, KUnit and kselftests
#   make host-test           just the host tests of the core: the fast loop (scripts/host-test.sh)
#   make guest-run SCRIPT=f  boot and run script f in the guest (KERNEL=stock for the base)
#   make series              write the patch series to out/series/
#   make check-series        build (CLIPPY=1) and boot every commit of the series
#   make bench-pool          allocator density and speed on real memory (CORPUS=dir)
#   make bench-swap          stock zswap against zcomp in guests (PAIRS=n boots each)
#   make bench-blk           stock zram against zcomp's block frontend in guests (PAIRS=n)
#   make bench-compress      the compressors through the crypto API against lib/, in a guest
#   make kernel              just build (KERNEL=zcomp|stock)
#   make refresh-patches     write kernel-file edits committed in linux/ back into patches/

KERNEL ?= zcomp
SCRIPT ?=
CORPUS ?=
PAIRS ?= 3

.PHONY: all setup tree kernel run test host-test guest-run series check-series bench-pool bench-swap bench-blk \
	bench-compress refresh-patches clean
all: test

setup:
	@bash scripts/setup.sh

tree: setup
	@bash scripts/kernel-tree.sh

kernel: setup
	@bash scripts/build-kernel.sh $(KERNEL)

run: kernel
	@bash scripts/kselftests.sh
	@bash qemu/guest-run.sh -k $(KERNEL) $$([ -t 0 ] && echo -i) qemu/demo.sh

test:
	@bash scripts/test.sh

host-test:
	@bash scripts/host-test.sh

guest-run: kernel
	@test -n "$(SCRIPT)" || { echo "usage: make guest-run SCRIPT=path [KERNEL=zcomp|stock]" >&2; exit 2; }
	@bash qemu/guest-run.sh -k $(KERNEL) $(SCRIPT)

series: tree
	@bash scripts/series.sh

check-series: setup
	@bash scripts/check-series.sh

bench-pool:
	@CORPUS="$(CORPUS)" bash scripts/bench-pool.sh

bench-swap: setup tree
	@PAIRS="$(PAIRS)" bash scripts/bench-swap.sh

bench-blk: setup tree
	@PAIRS="$(PAIRS)" bash scripts/bench-blk.sh

bench-compress: setup tree
	@bash scripts/bench-compress.sh

refresh-patches:
	@bash scripts/refresh-patches.sh

clean:
	rm -rf out target

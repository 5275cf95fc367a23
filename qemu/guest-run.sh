#!/usr/bin/env bash
# Boot a built kernel under QEMU (TCG) with virtme-ng, run a shell script in
# the guest as root, print its output and exit with its status.
#
#   guest-run.sh [-k zcomp|stock] [-t seconds] [-i] SCRIPT [ARGS...]
#
# The guest sees the host's root read-only (so host tools such as zramctl,
# mkfs and fio are there) and gets a spare, unmounted 512 MiB virtio disk whose
# path is in $ZCOMP_SPARE_DISK, and a writable directory, out/guest/KERNEL, whose path is
# in $ZCOMP_GUEST_DIR. The kernel log is kept in out/guest/KERNEL/console.log;
# a panic, oops, BUG, WARN, lockdep or sanitizer report in it fails the run
# whatever the script returned. -i leaves an interactive shell after SCRIPT.
set -euo pipefail
. "$(dirname "$0")/../scripts/env.sh"

kernel=zcomp limit=${GUEST_TIMEOUT:-900} interactive=
while getopts "k:t:i" opt; do
	case "$opt" in
	k) kernel=$OPTARG ;;
	t) limit=$OPTARG ;;
	i) interactive=1 ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || { echo "usage: guest-run.sh [-k zcomp|stock] [-t seconds] [-i] SCRIPT [ARGS...]" >&2; exit 2; }
script=$(realpath "$1")
shift
[ -f "$script" ] || { echo "guest-run: no such script: $script" >&2; exit 2; }

bzimage=$ZCOMP_ROOT/out/kbuild-$kernel/arch/x86/boot/bzImage
[ -f "$bzimage" ] || { echo "guest-run: $bzimage is missing; build it with 'make kernel KERNEL=$kernel'" >&2; exit 2; }

guest=$ZCOMP_ROOT/out/guest/$kernel
mkdir -p "$guest"
# The guest sees host paths, but not the host's /tmp: stage the script.
cp "$script" "$guest/script.sh"
rm -f "$guest/spare.img" "$guest/status" "$guest/selftests.tap"
truncate -s 512M "$guest/spare.img"

# printf runs its format once even with no arguments: quote only real ones.
args=
[ $# -eq 0 ] || args=$(printf ' %q' "$@")
inner="export ZCOMP_ROOT=$(printf %q "$ZCOMP_ROOT") ZCOMP_KERNEL=$kernel ZCOMP_GUEST_DIR=$guest
for d in /sys/block/vd*; do
	[ \"\$(cat \$d/serial 2>/dev/null)\" = zcomp-spare ] && export ZCOMP_SPARE_DISK=/dev/\${d##*/}
done
cd \"\$ZCOMP_ROOT\"
bash $guest/script.sh$args
status=\$?
echo \$status > $guest/status"
[ -n "$interactive" ] && inner="$inner
bash -i"

# The guest's root is the host's, read-only, and nothing changes it while the
# guest runs: let 9p cache it (Python's 54 MiB library reads in 8 s, not 20 s,
# under TCG). These are the root flags of the vng that scripts/env.sh pins,
# with cache=loose; the kernel takes the last rootflags= of its command line.
root_cache=rootflags=version=9p2000.L,trans=virtio,access=any,msize=524288,cache=loose
vng_args=(--run "$bzimage" --disable-kvm --cpus 2 --memory "${GUEST_MEMORY:-512M}"
	--force-9p --rwdir "$guest"
	--qemu-opts="-drive file=$guest/spare.img,format=raw,if=none,id=spare -device virtio-blk-pci,drive=spare,serial=zcomp-spare"
	--append "panic=-1 $root_cache")
console=$guest/console.log
if [ -n "$interactive" ]; then
	timeout=()
else
	timeout=(timeout --foreground -k 10 "$limit")
fi
set +e
"${timeout[@]}" vng "${vng_args[@]}" --verbose -- "$inner" 2>&1 | tee "$console.raw" |
	sed -u '/^\[ *[0-9]*\.[0-9]*\] /d'
vng_status=${PIPESTATUS[0]}
set -e
grep -a '^\[ *[0-9]*\.[0-9]*\] ' "$console.raw" >"$console" || true
rm -f "$console.raw"

if [ "$vng_status" = 124 ] || [ "$vng_status" = 137 ]; then
	echo "guest-run: FAIL: the guest did not finish within ${limit}s" >&2
	exit 1
fi
if grep -aE 'Kernel panic|Oops|BUG:|kernel BUG at|WARNING:|cut here|possible circular locking|possible recursive locking|inconsistent lock state|sleeping function called from invalid context|KASAN:|UBSAN:|general protection fault|Call Trace:' "$console" >&2; then
	echo "guest-run: FAIL: the kernel reported the above (full log: $console)" >&2
	exit 1
fi
[ -f "$guest/status" ] || { echo "guest-run: FAIL: the script did not complete (vng exit $vng_status; log: $console)" >&2; exit 1; }
exit "$(cat "$guest/status")"

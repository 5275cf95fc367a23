#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The built-in data sets of the pool benchmark (scripts/bench-pool.sh), made from what is
# installed on this machine. bench/pool/README.md describes them and the benchmark.
#
#   scripts/bench-corpus.sh [DIR]    generate into DIR (default out/corpus/), a directory per set
#
#   anon  core dumps (gdb's gcore) of running programs: two python3 processes building
#         dicts, strings and lists, a bash shell holding an array, a perl hash
#   exec  ELF executables and shared libraries from /usr/bin and /usr/lib (160 MiB)
#   text  headers from /usr/include, documentation and man pages (160 MiB)
#   zero  zero-heavy pages: zero, same-filled and sparse pages, as in fresh heaps
#
# Each set is generated once and marked done (DIR/<set>/.done); delete it to regenerate.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
corpus_root=${1:-$root/out/corpus}
[ $# -le 1 ] || {
	echo "usage: $0 [DIR]" >&2
	exit 2
}

die() {
	echo "bench-corpus: $*" >&2
	exit 1
}

pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
}
trap cleanup EXIT

# Starts a program that prints "ready" once its memory is built, and waits for that. Its
# pid is left in $ready_pid (not printed: in a $(...) subshell it would never reach pids).
start_ready() {
	local name=$1
	shift
	local fifo=$corpus_root/tmp/$name.ready
	rm -f "$fifo"
	"$@" >"$fifo" 2>&1 &
	pids+=("$!")
	local pid=$!
	for _ in $(seq 1 600); do
		grep -q ready "$fifo" 2>/dev/null && {
			ready_pid=$pid
			return 0
		}
		kill -0 "$pid" 2>/dev/null || die "$name exited early: $(cat "$fifo")"
		sleep 0.1
	done
	die "$name did not get ready"
}

gen_anon() {
	local dir=$corpus_root/anon
	[ -f "$dir/.done" ] && return 0
	command -v gcore >/dev/null || die "gcore (gdb) is needed for the anon data set"
	rm -rf "$dir" && mkdir -p "$dir" "$corpus_root/tmp"
	start_ready py-dicts python3 -c '
import random, string, time
random.seed(1)
words = ["".join(random.choices(string.ascii_lowercase, k=random.randint(3, 12))) for _ in range(20000)]
d = {}
for i in range(250000):
    d["key%d" % i] = {"id": i, "name": random.choice(words), "tags": random.sample(words, 3),
                      "score": random.random(), "count": random.randint(0, 1000)}
text = [" ".join(random.choices(words, k=random.randint(5, 40))) for _ in range(60000)]
blob = bytearray(random.getrandbits(8) if i % 7 == 0 else 0 for i in range(8 << 20))
print("ready", flush=True)
time.sleep(600)
'
	gcore -o "$dir/python-dicts" "$ready_pid" >/dev/null 2>&1 || die "gcore failed"
	start_ready py-nums python3 -c '
import array, random, time
random.seed(2)
ints = list(range(2000000))
floats = array.array("d", (random.gauss(0, 1) for _ in range(1000000)))
pairs = [(i, i * i % 9973, str(i)) for i in range(300000)]
print("ready", flush=True)
time.sleep(600)
'
	gcore -o "$dir/python-nums" "$ready_pid" >/dev/null 2>&1 || die "gcore failed"
	start_ready bash bash -c '
a=(); for i in $(seq 1 40000); do a+=("line $i $RANDOM $((i * 7919 % 10007))"); done
h=$(seq 1 100000)
echo ready; sleep 600'
	gcore -o "$dir/bash" "$ready_pid" >/dev/null 2>&1 || die "gcore failed"
	start_ready perl perl -e '
srand(3); my %h;
$h{"k$_"} = join(",", map { int(rand(1000)) } 1 .. ($_ % 20)) for 1 .. 200000;
my @l = map { "entry $_ " . ("x" x ($_ % 64)) } 1 .. 100000;
$| = 1; print "ready\n"; sleep 600;'
	gcore -o "$dir/perl" "$ready_pid" >/dev/null 2>&1 || die "gcore failed"
	cleanup
	pids=()
	touch "$dir/.done"
}

gen_files() {
	local name=$1 limit=$2
	shift 2
	local dir=$corpus_root/$name
	[ -f "$dir/.done" ] && return 0
	rm -rf "$dir" && mkdir -p "$dir"
	python3 - "$dir" "$limit" "$name" "$@" <<'EOF'
import gzip, os, sys
dest, limit, kind, roots = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]
total = 0
n = 0
for root in roots:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            path = os.path.join(dirpath, f)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            try:
                with open(path, "rb") as fh:
                    data = fh.read()
            except OSError:
                continue
            if kind == "exec":
                if not data.startswith(b"\x7fELF"):
                    continue
            else:
                if path.endswith(".gz"):
                    try:
                        data = gzip.decompress(data)
                    except OSError:
                        continue
                if b"\0" in data[:4096] or not data:
                    continue
            with open(os.path.join(dest, "%06d" % n), "wb") as out:
                out.write(data)
            n += 1
            total += len(data)
            if total >= limit:
                sys.exit(0)
EOF
	touch "$dir/.done"
}

gen_zero() {
	local dir=$corpus_root/zero
	[ -f "$dir/.done" ] && return 0
	rm -rf "$dir" && mkdir -p "$dir"
	python3 - "$dir/zero-heavy" <<'EOF'
import random, struct, sys
random.seed(4)
pages = []
for i in range(16384):
    r = random.random()
    p = bytearray(4096)
    if r < 0.35:
        pass                                   # untouched page
    elif r < 0.42:
        p[:] = struct.pack("<Q", random.choice([0xffffffffffffffff, 0x0101010101010101,
                                                 0xdeadbeefdeadbeef])) * 512
    elif r < 0.75:
        # A few short writes into a zeroed page (sparse structures, calloc'ed arrays).
        for _ in range(random.randint(1, 8)):
            off = random.randrange(0, 4096 - 256) & ~7
            n = random.randint(8, 256)
            p[off:off + n] = bytes(random.getrandbits(8) for _ in range(n))
    else:
        # Arrays of small structs: pointer-like words and counters, zero padding.
        base = 0x7f0000000000 + random.randrange(1 << 30) * 16
        for off in range(0, 4096, 64):
            if random.random() < 0.6:
                struct.pack_into("<QQI", p, off, base + off * 3, random.randrange(1000), 1)
    pages.append(bytes(p))
open(sys.argv[1], "wb").write(b"".join(pages))
EOF
	touch "$dir/.done"
}

mkdir -p "$corpus_root"
gen_anon
gen_files exec $((160 << 20)) /usr/bin /usr/lib/x86_64-linux-gnu
gen_files text $((160 << 20)) /usr/include /usr/share/doc /usr/share/man
gen_zero

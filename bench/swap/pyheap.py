# SPDX-License-Identifier: GPL-2.0
"""The interpreter workload of make bench-swap: a Python heap under a limit.

Builds RECORDS records the way a Python program keeps data (dicts of
strings, integers, floats and small lists, with text made of words), then
runs PASSES queries over all of them (an aggregate, a group-by, a string
search). Run in a memory cgroup limited below the heap's size, the heap
goes out to compressed swap while it is built and comes back at each pass.
Prints one line of key=value pairs: the time to build and to query, and
zswap's statistics once the heap was built.
"""

import random
import sys
import time

from peak import peak

WORDS = ("memory page swap cgroup kernel compress pool entry slot device "
         "writeback reclaim folio lock index store load limit shrinker "
         "python heap object string dict list tuple integer float value").split()


def build(n, rng):
    heap = []
    for i in range(n):
        words = rng.choices(WORDS, k=rng.randint(4, 24))
        heap.append({
            "id": i,
            "name": f"user{i:08d}",
            "group": rng.choice(WORDS),
            "score": rng.random() * 1000.0,
            "count": rng.randint(0, 1 << 20),
            "text": " ".join(words),
            "tags": [rng.choice(WORDS) for _ in range(rng.randint(1, 6))],
        })
    return heap


def query(heap):
    total = 0.0
    groups = {}
    hits = 0
    for r in heap:
        total += r["score"]
        groups[r["group"]] = groups.get(r["group"], 0) + r["count"]
        hits += "writeback" in r["text"]
    return total, len(groups), hits


def main():
    records, passes, debugfs, cgroup = sys.argv[1:5]
    rng = random.Random(1)
    t0 = time.monotonic()
    heap = build(int(records), rng)
    t1 = time.monotonic()
    stats = peak(debugfs, cgroup)
    first = query(heap)
    same = all(query(heap) == first for _ in range(int(passes) - 1))
    t2 = time.monotonic()
    fields = {"fill_s": f"{t1 - t0:.2f}", "read_s": f"{t2 - t1:.2f}", **stats,
              "intact": int(same)}
    print(" ".join(f"{k}={v}" for k, v in fields.items()))


if __name__ == "__main__":
    main()

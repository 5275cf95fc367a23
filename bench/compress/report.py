#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Report of make bench-compress: per algorithm, the crypto API's time per
page over lib/'s, and both outputs' sizes; then one key=value line."""
import sys


def main():
    runs = {}
    for line in open(sys.argv[1]):
        kv = dict(f.split('=', 1) for f in line.split()[1:])
        runs[(kv['algo'], kv['api'])] = kv
    algos = sorted({a for a, _ in runs})
    print(f"{'algo':8} {'api':7} {'compress ns':>12} {'decompress ns':>14} {'bytes/page':>11}")
    summary = []
    for algo in algos:
        for api in ('crypto', 'lib'):
            r = runs[(algo, api)]
            per = int(r['compressed_bytes']) / int(r['pages'])
            print(f"{algo:8} {api:7} {r['compress_ns_per_page']:>12} "
                  f"{r['decompress_ns_per_page']:>14} {per:11.0f}")
        c, lib = runs[(algo, 'crypto')], runs[(algo, 'lib')]
        key = algo.replace('-', '_')
        for what in ('compress', 'decompress'):
            ratio = int(c[f'{what}_ns_per_page']) / int(lib[f'{what}_ns_per_page'])
            summary.append(f"{key}_{what}_crypto_over_lib={ratio:.3f}")
        ratio = int(c['compressed_bytes']) / int(lib['compressed_bytes'])
        summary.append(f"{key}_bytes_crypto_over_lib={ratio:.3f}")
    print(' '.join(summary))


main()

#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Write N pages of the corpus directory to stdout: pages of every file in
turn, skipping same-filled ones, until N are out."""
import os
import sys

PAGE = 4096


def same_filled(page):
    return page == page[:8] * (PAGE // 8)


def main():
    corpus, want = sys.argv[1], int(sys.argv[2])
    files = sorted(os.path.join(corpus, f) for f in os.listdir(corpus)
                   if not f.startswith('.'))
    readers = [open(f, 'rb') for f in files]
    out = sys.stdout.buffer
    while want and readers:
        for r in list(readers):
            page = r.read(PAGE)
            if len(page) < PAGE:
                readers.remove(r)
            elif not same_filled(page):
                out.write(page)
                want -= 1
                if not want:
                    break
    if want:
        sys.exit(f"pages.py: the corpus is {want} pages short")


main()

#!/usr/bin/env python3
"""Writes a kernel log of N circular-dependency splats to stdout, for graph/parse cost checks.

Usage: gen_log.py N [--shared K]

Each splat is fixtures/logs/seed-003-pidmap-seqcount.log's report (lines 75-166) with its two
lock names varied: `pidmap_lock` becomes `pidmap_lock_<i % K>` and `&s->seqcount#2` becomes
`&s->seqcount#<i % K + 2>`, so K distinct cycles (default: N, every splat its own cycle) appear
N/K times each.
"""
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
seed = os.path.join(here, "..", "..", "fixtures", "logs", "seed-003-pidmap-seqcount.log")
lines = open(seed, encoding="utf-8").read().split("\n")
splat = "\n".join(lines[74:166]) + "\n"
n = int(sys.argv[1])
k = int(sys.argv[sys.argv.index("--shared") + 1]) if "--shared" in sys.argv else n
out = sys.stdout
for i in range(n):
    j = i % k
    out.write(
        splat.replace("pidmap_lock", f"pidmap_lock_{j}").replace(
            "&s->seqcount#2", f"&s->seqcount#{j + 2}"
        )
    )

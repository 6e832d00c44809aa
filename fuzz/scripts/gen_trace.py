#!/usr/bin/env python3
"""Writes generated lock traces (docs/trace-format.md) to stdout, for replay cost checks.

  gen_trace.py threads N   N short-lived threads, one after the other: each takes a global lock
                           and a lock of its own (a hex address) nested, and releases both
                           (4 events per thread, the first naming the thread).
  gen_trace.py deep N D    N events of ordinary nesting (two global locks) on many threads,
                           with one thread nesting D locks in the middle (D > 48 exceeds the
                           default MAX_LOCK_DEPTH), then an A/B cycle: a valid trace.
"""
import sys

out = sys.stdout
w = out.write


def ev(t, op, lock, extra=""):
    w(f'{{"thread":{t},"op":"{op}","lock":"{lock}"{extra}}}\n')


mode = sys.argv[1]
if mode == "threads":
    n = int(sys.argv[2])
    for t in range(1, n + 1):
        ev(t, "acquire", "0x1000", f',"class":"global","thread_name":"worker-{t}"')
        ev(t, "acquire", f"0x{0x100000 + 64 * t:x}", ',"class":"per_thread"')
        ev(t, "release", f"0x{0x100000 + 64 * t:x}")
        ev(t, "release", "0x1000")
elif mode == "deep":
    n, d = int(sys.argv[2]), int(sys.argv[3])
    half = n // 8
    for i in range(half):
        t = i % 97 + 10
        ev(t, "acquire", "G1")
        ev(t, "acquire", "G2")
        ev(t, "release", "G2")
        ev(t, "release", "G1")
    for i in range(d):
        ev(1, "acquire", f"deep{i}")
    for i in range(half):
        t = i % 97 + 10
        ev(t, "acquire", "G1")
        ev(t, "acquire", "G2")
        ev(t, "release", "G2")
        ev(t, "release", "G1")
    for i in reversed(range(d)):
        ev(1, "release", f"deep{i}")
    ev(2, "acquire", "A")
    ev(2, "acquire", "B")
    ev(2, "release", "B")
    ev(2, "release", "A")
    ev(3, "acquire", "B")
    ev(3, "acquire", "A")
else:
    sys.exit(__doc__)

#!/usr/bin/env python3
"""Writes a lock trace shaped like the library's (docs/trace-format.md) to stdout, for
`lockcheck replay` throughput (docs/performance.md, "lockcheck replay throughput").

  gen_replay_trace.py N    about N events: 8 threads, each taking 2 or 3 of 16 classes in order
                           (64 lock objects, hex ids, class names and sites, as the library
                           writes them) and releasing them in reverse, one critical section after
                           another in random thread order (seed 7: the same file every time).
"""
import random
import sys

n_events = int(sys.argv[1]) if len(sys.argv) > 1 else sys.exit(__doc__)
random.seed(7)
classes = [f"app::Store<{i}>" for i in range(16)]
locks = [(f"0x55d0c0a8{0xe000 + 64 * i:04x}", classes[i % 16], f"src/store.rs:{100 + i}:21")
         for i in range(64)]
w = sys.stdout.write
w('{"op":"trace","format":1,"writer":"lockdep 0.1.0"}\n')
named = set()
n = 0
while n < n_events:
    t = random.randint(1, 8)
    depth = random.choice((2, 3))
    held = []
    for c in sorted(random.sample(range(16), depth)):
        lock, cls, at = locks[c + 16 * random.randrange(4)]
        extra = f',"thread_name":"worker-{t}"' if t not in named else ""
        named.add(t)
        w(f'{{"thread":{t},"op":"acquire","lock":"{lock}","class":"{cls}","at":"{at}"{extra}}}\n')
        held.append(lock)
        n += 1
    for lock in reversed(held):
        w(f'{{"thread":{t},"op":"release","lock":"{lock}"}}\n')
        n += 1

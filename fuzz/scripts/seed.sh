#!/usr/bin/env bash
# Builds the seed corpora of the fuzz targets from fixtures/ (nothing is copied into git:
# fuzz/corpus is ignored). Kernel logs seed `parse_log` and `splat_graph`, traces seed
# `trace_replay`; big files are cut to their first 64 KiB (libFuzzer's default -max_len is
# 4 KiB anyway, and `parse_log` finds splats in any window of a log).
set -euo pipefail
cd "$(dirname "$0")/.."
root=..
mkdir -p corpus/parse_log corpus/splat_graph corpus/trace_replay
seed() { # seed FILE DIR: one corpus entry named after the file
    local name
    name="$(basename "$(dirname "$1")")-$(basename "$1")"
    head -c 65536 "$1" > "$2/$name"
}
n=0
for f in "$root"/fixtures/logs/*.log "$root"/fixtures/verdicts/*.log; do
    [ -f "$f" ] || continue
    seed "$f" corpus/parse_log
    seed "$f" corpus/splat_graph
    n=$((n + 1))
done
t=0
for f in "$root"/fixtures/traces/*.jsonl; do
    [ -f "$f" ] || continue
    seed "$f" corpus/trace_replay
    t=$((t + 1))
done
# The examples of docs/trace-format.md, one corpus entry each.
awk '/^```$/ { if (inside) { close(out); inside = 0 } else { inside = 1; k++; out = sprintf("corpus/trace_replay/doc-example-%d.jsonl", k) } ; next }
     inside && /^\{/ { print > out }' "$root"/docs/trace-format.md
# Small generated traces that reach the limits (the target allows 4 held locks, 8 classes).
if command -v python3 >/dev/null; then
    python3 scripts/gen_trace.py deep 64 12 > corpus/trace_replay/gen-deep.jsonl
    python3 scripts/gen_trace.py threads 20 > corpus/trace_replay/gen-threads.jsonl
fi
find corpus/trace_replay -empty -delete
echo "seeded: $n logs, $t traces (+ docs/trace-format.md examples)"

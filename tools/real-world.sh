#!/usr/bin/env bash
# Runs real crates' test suites against parking_lot 0.12 and against the compat crate
# (compat/parking_lot-0.12) patched in, and prints tests run/passed, lockdep reports and the
# slowdown (docs/real-world.md). Downloads the crates from crates.io with cargo: not part of the
# default `cargo test`.
#
#   tools/real-world.sh [name@version ...]    (default: the crates of docs/real-world.md)
#
# REAL_WORLD_DIR     where sources, logs and results go (default: target/real-world)
# REAL_WORLD_TARGET  CARGO_TARGET_DIR of the suites (default: $REAL_WORLD_DIR/target)
# REAL_WORLD_JOBS    cargo -j for the builds (default: cargo's)
# REAL_WORLD_VARIANTS  which runs, of "plain patched" (default: both)
# REAL_WORLD_TEST_ARGS extra `cargo test` arguments for every crate (e.g. "--features full")
# REAL_WORLD_PARKING_LOT 0.12 (default) or 0.13: the parking_lot the crates depend on, whose
#                    compat crates (compat/parking_lot-0.1x, compat/lock_api-0.x) are patched in
# REAL_WORLD_PREPARE a command run in each copy of a crate (plain and patched alike) before it is
#                    built, with the crate's name and directory as arguments: a crate's own
#                    preparation (drop a yanked optional dependency, add `extern crate self`)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# Which parking_lot the crates use, and so which compat crates are patched in.
case "${REAL_WORLD_PARKING_LOT:-0.12}" in
    0.12) COMPAT="$ROOT/compat/parking_lot-0.12" LOCK_API="$ROOT/compat/lock_api-0.4"
        COMPAT_ID=parking_lot@0.12.5 LOCK_API_ID=lock_api@0.4.14 ;;
    0.13) COMPAT="$ROOT/compat/parking_lot-0.13" LOCK_API="$ROOT/compat/lock_api-0.5"
        COMPAT_ID=parking_lot@0.13.0 LOCK_API_ID=lock_api@0.5.0 ;;
    *) echo "REAL_WORLD_PARKING_LOT must be 0.12 or 0.13" >&2; exit 2 ;;
esac
WORK=${REAL_WORLD_DIR:-$ROOT/target/real-world}
TARGET=${REAL_WORLD_TARGET:-$WORK/target}
JOBS=${REAL_WORLD_JOBS:+-j $REAL_WORLD_JOBS}
mkdir -p "$WORK"
WORK=$(cd "$WORK" && pwd)

if [ $# -eq 0 ]; then
    set -- quick_cache@0.7.0 tracing-subscriber@0.3.23
fi

# What each crate's suite needs beyond `cargo test`: features that route its locks through
# parking_lot, and dev-dependencies its published manifest leaves out.
test_args() {
    case "$1" in
        tracing-subscriber) echo "--features parking_lot" ;;
        *) echo "" ;;
    esac
}
prepare() { # name dir
    case "$1" in
        tracing-subscriber)
            # Its integration tests use tracing-mock, a path dependency in its repository that
            # the published manifest drops; tracing-mock's own tracing-subscriber is this one.
            cat >>"$2/Cargo.toml" <<TOML

[dev-dependencies.tracing-mock]
version = "0.1.0-beta.3"
features = ["tracing-subscriber"]
TOML
            ;;
    esac
}
patch_self() {
    case "$1" in
        tracing-subscriber) echo "tracing-subscriber = { path = \".\" }" ;;
    esac
}

# Downloads name@version with cargo and prints its source directory.
fetch() {
    local name=$1 version=$2 dir="$WORK/fetch-$1-$2"
    mkdir -p "$dir/src"
    cat >"$dir/Cargo.toml" <<TOML
[package]
name = "fetch-real-world"
version = "0.0.0"
edition = "2021"
[dependencies]
$name = "=$version"
[workspace]
TOML
    : >"$dir/src/lib.rs"
    cargo fetch --manifest-path "$dir/Cargo.toml" -q
    cargo metadata --manifest-path "$dir/Cargo.toml" --format-version 1 |
        python3 -c 'import json,sys,os; m=json.load(sys.stdin); print(next(os.path.dirname(p["manifest_path"]) for p in m["packages"] if p["name"]==sys.argv[1] and p["version"]==sys.argv[2]))' "$name" "$version"
}

# Sums libtest's "test result:" lines of a log: "run passed failed ignored binaries_secs", the
# last the time the test binaries ran (not doctests, whose time is mostly compiling them). A test
# binary that ended without a result line and did not exit successfully (an abort, a stack
# overflow, a `harness = false` binary that failed) counts as one test run and failed.
count_tests() {
    python3 - "$1" <<'PY'
import re, sys
run = passed = failed = ignored = 0
secs = 0.0
doc = False
result_seen = True
for line in open(sys.argv[1], errors="replace"):
    if line.strip().startswith("Doc-tests"):
        doc = True
        result_seen = True
    elif line.strip().startswith("Running"):
        doc = False
        result_seen = False
    if "process didn't exit successfully" in line and not result_seen:
        run += 1; failed += 1
        result_seen = True
    m = re.search(r"test result: \w+\. (\d+) passed; (\d+) failed; (\d+) ignored.*finished in ([\d.]+)s", line)
    if m:
        p, f, i = map(int, m.groups()[:3])
        passed += p; failed += f; ignored += i; run += p + f
        result_seen = True
        if not doc:
            secs += float(m.group(4))
print(run, passed, failed, ignored, f"{secs:.1f}")
PY
}

RESULTS="$WORK/results.md"
if [ ! -s "$RESULTS" ]; then
    echo "| crate | variant | tests run | passed | failed | lockdep reports | in dependencies only | suite time (s) | test binaries (s) | note |" >"$RESULTS"
    echo "|---|---|---|---|---|---|---|---|---|---|" >>"$RESULTS"
fi

# Copies crate source `src` to `dir`, set up for `variant` (plain or patched): the crate's own
# preparation, no toolchain pin, a workspace of its own and the [patch] section.
setup() { # name src dir variant
    rm -rf "$3"
    cp -r "$2" "$3"
    chmod -R u+w "$3"
    prepare "$1" "$3"
    if [ -n "${REAL_WORLD_PREPARE:-}" ]; then
        $REAL_WORLD_PREPARE "$1" "$3"
    fi
    # A toolchain the crate pins (rust-toolchain.toml) may not be installed, and an old one
    # cannot build the compat crates: both variants use the default toolchain.
    if [ -f "$3/rust-toolchain.toml" ] || [ -f "$3/rust-toolchain" ]; then
        rm -f "$3/rust-toolchain.toml" "$3/rust-toolchain"
        echo "toolchain pin removed"
    fi
    {
        echo
        echo "[workspace]"
        echo
        echo "[patch.crates-io]"
        patch_self "$1"
        if [ "$4" = patched ]; then
            echo "parking_lot = { path = \"$COMPAT\" }"
            echo "lock_api = { path = \"$LOCK_API\" }"
        fi
    } >>"$3/Cargo.toml"
}

for spec in "$@"; do
    name=${spec%@*}
    version=${spec#*@}
    src=$(fetch "$name" "$version")
    args="$(test_args "$name") ${REAL_WORLD_TEST_ARGS:-}"
    # A lockfile shipped with the crate may pin a version that lockdep's own dependencies exclude
    # (libc, for parking_lot_core 0.10), or pin parking_lot/lock_api versions the patch does not
    # match (cargo then leaves the patch unused, silently): the patched build must then resolve
    # afresh, and so does the plain one, so that both build the same dependency versions.
    # Decided once, on a patched copy.
    reresolve=
    if [ -f "$src/Cargo.lock" ]; then
        probe="$WORK/$name-$version-lockprobe"
        setup "$name" "$src" "$probe" patched >/dev/null
        if ! (cd "$probe" && cargo metadata --format-version 1 >/dev/null 2>&1) ||
            grep -q '^\[\[patch.unused\]\]' "$probe/Cargo.lock"; then
            reresolve=yes
        fi
        rm -rf "$probe"
    fi
    for variant in ${REAL_WORLD_VARIANTS:-plain patched}; do
        dir="$WORK/$name-$version-$variant"
        note=$(setup "$name" "$src" "$dir" "$variant")
        if [ -n "$reresolve" ] && [ -f "$dir/Cargo.lock" ]; then
            rm "$dir/Cargo.lock"
            note="${note:+$note; }shipped Cargo.lock re-resolved (both variants)"
        fi
        log="$WORK/$name-$version-$variant.log"
        echo "== $name $version ($variant): building" >&2
        # shellcheck disable=SC2086
        (cd "$dir" && CARGO_TARGET_DIR="$TARGET/$name" cargo test $JOBS $args --no-run) \
            >"$log.build" 2>&1 || { echo "build failed: $log.build" >&2; tail -20 "$log.build" >&2; continue; }
        # The patched build must use the compat crates: parking_lot, or lock_api alone for a
        # crate with raw locks of its own (dashmap); otherwise this crate is skipped, not scored.
        if [ "$variant" = patched ]; then
            # `cargo tree` takes the feature arguments only (not `--test`, `--lib`, ...).
            tree_args=
            read -r -a words <<<"$args"
            i=0
            while [ $i -lt ${#words[@]} ]; do
                case "${words[$i]}" in
                    --features | -F) tree_args="$tree_args ${words[$i]} ${words[$((i + 1))]:-}"; i=$((i + 1)) ;;
                    --features=* | --all-features | --no-default-features) tree_args="$tree_args ${words[$i]}" ;;
                esac
                i=$((i + 1))
            done
            # shellcheck disable=SC2086
            in_tree() { (cd "$dir" && cargo tree -i "$1" --prefix none $tree_args 2>/dev/null | head -1 | grep -q compat); }
            if in_tree "$COMPAT_ID"; then
                :
            elif in_tree "$LOCK_API_ID"; then
                note="${note:+$note; }lock_api fork only (no parking_lot)"
            else
                echo "the compat crates are not in $name's build: skipped" >&2
                continue
            fi
        fi
        echo "== $name $version ($variant): testing" >&2
        start=$(date +%s.%N)
        # Reports are logged (not panics), so the run shows every one and every test's verdict.
        # shellcheck disable=SC2086
        (cd "$dir" && LOCKDEP_ON_REPORT=log CARGO_TARGET_DIR="$TARGET/$name" \
            cargo test $JOBS $args --no-fail-fast) >"$log" 2>&1 || true
        end=$(date +%s.%N)
        secs=$(python3 -c "print(f'{$end - $start:.1f}')")
        read -r run passed failed _ignored bins < <(count_tests "$log")
        reports=$(grep -c '^WARNING: ' "$log" || true)
        deps_only=$(grep -c '^lockdep: in dependencies only' "$log" || true)
        echo "| $name $version | $variant | $run | $passed | $failed | $reports | $deps_only | $secs | $bins | $note |" >>"$RESULTS"
        echo "== $name $version ($variant): $run run, $passed passed, $failed failed, $reports reports, ${secs}s" >&2
    done
done
cat "$RESULTS"

#!/usr/bin/env bash
# CI's short fuzz pass: each target replays its seeds, then explores for
# SECONDS (default 20) from a fixed random seed, so a failing run can be
# repeated. Stops at the first crash and exits non-zero. The long runs are
# fuzz/run.sh's (README, "Fuzzing").
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-20}"
export RUSTC_BOOTSTRAP=1
# See fuzz/run.sh: SQLite built with AddressSanitizer trips a false ODR report.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
cargo fuzz build
bin_dir="fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release"
for target in $(cargo fuzz list); do
    scratch="$(mktemp -d)"
    echo "==> $target: seeds, then ${seconds}s from seed 1"
    "$bin_dir/$target" "$scratch" "fuzz/seeds/$target" -seed=1 \
        -max_total_time="$seconds" -timeout=10 -artifact_prefix="$scratch/" \
        >"$scratch/log" 2>&1 || { tail -n 40 "$scratch/log"; exit 1; }
    grep -E '^#[0-9]+: *(DONE|cov)' "$scratch/log" | tail -n 1 || true
    rm -rf "$scratch"
done

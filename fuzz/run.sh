#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 600), one after another,
# and print each one's runs and crashes. README, "Fuzzing".
#
#   fuzz/run.sh [SECONDS]
#
# Needs cargo-fuzz; on a stable toolchain RUSTC_BOOTSTRAP=1 lets it use the
# nightly flags it needs. Set HOMEWARD_BUILD_LOCK to a lock file to build
# under `flock` (machines shared by several builds).
#
# Each target runs in libFuzzer's fork mode with one job and goes on after a
# crash, so one known crash does not hide the rest of the run; a seed that
# crashes is reported and left out. New inputs go to fuzz/corpus/<target>
# (not committed), fuzz/seeds/<target> is read only, and each crash is saved
# in fuzz/artifacts/<target>/; replay one with
# `fuzz/target/<host triple>/release/<target> <file>`.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
export RUSTC_BOOTSTRAP=1
# SQLite's C amalgamation, built with AddressSanitizer as a dependency of the
# library, defines two file-local arrays of one name: a false ODR report.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_odr_violation=0}"
targets=(phone_parse reply_classify csv_import template_source template_values)

build=(cargo fuzz build)
if [ -n "${HOMEWARD_BUILD_LOCK:-}" ]; then build=(flock "$HOMEWARD_BUILD_LOCK" "${build[@]}"); fi
"${build[@]}"
bin_dir="fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release"

failed=0
summary=()
for target in "${targets[@]}"; do
    artifacts="fuzz/artifacts/$target"
    mkdir -p "fuzz/corpus/$target" "$artifacts"
    log="$artifacts/last-run.log"
    stamp="$artifacts/.started"
    touch "$stamp"
    echo "==> $target for ${seconds}s (log: $log)"
    nice -n 19 "$bin_dir/$target" "fuzz/corpus/$target" "fuzz/seeds/$target" \
        -max_total_time="$seconds" -timeout=10 -fork=1 -ignore_crashes=1 \
        -ignore_timeouts=1 -ignore_ooms=1 -artifact_prefix="$artifacts/" \
        >"$log" 2>&1 || true
    runs=$(sed -n 's/^#\([0-9]*\): cov:.*/\1/p' "$log" | tail -1)
    found=$(find "$artifacts" -maxdepth 1 -newer "$stamp" \
        \( -name 'crash-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
    crashes=$(printf '%s' "$found" | grep -c . || true)
    result="${runs:-?} runs, $crashes crashes"
    [ "$crashes" -eq 0 ] || { failed=1; result="$result: $(echo $found)"; }
    echo "    $result"
    summary+=("$(printf '%-16s %s' "$target" "$result")")
done

echo
echo "Fuzzing, ${seconds}s per target:"
printf '  %s\n' "${summary[@]}"
exit "$failed"

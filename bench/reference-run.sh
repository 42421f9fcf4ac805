#!/usr/bin/env bash
# Times the main job: bundled specs against the bundled references.
# Usage: bench/reference-run.sh [RUNS] [SPEC...]   (default: 20 runs, all specs)
# Builds the release runner first; prints min / median / max wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
shift || true
cargo build --release -q -p runner
runner=target/release/runner
times=()
for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$runner" "$@" --color never > /dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "runs: $runs  specs: ${*:-all bundled}"
echo "wall ms: min ${sorted[0]}  median ${sorted[$((runs / 2))]}  max ${sorted[$((runs - 1))]}"

#!/usr/bin/env bash
# Per-case cost: one case (tcp-upper-server greeting) against the bundled
# reference, run RUNS times with the release runner; prints min / median /
# max wall time. The sandbox's set-up and tear-down is most of it.
# Usage: bench/one-case.sh [RUNS] [EXTRA RUNNER ARGS...]   (default 50 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-50}
shift || true
cargo build --release -q -p runner
runner=target/release/runner
times=()
for _ in $(seq "$runs"); do
    start=$(date +%s%N)
    "$runner" tcp-upper-server --case greeting --color never "$@" > /dev/null
    end=$(date +%s%N)
    times+=($(( (end - start) / 1000000 )))
done
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
echo "runs: $runs  one case: tcp-upper-server/greeting  ${*:-}"
echo "wall ms: min ${sorted[0]}  median ${sorted[$((runs / 2))]}  max ${sorted[$((runs - 1))]}"

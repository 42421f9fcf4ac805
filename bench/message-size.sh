#!/usr/bin/env bash
# How a case's cost grows with its message: the bundled looping upper-case
# server (tcp-upper-server-loop's reference) is sent one message of each
# size, whole, and must send it all back upper-cased, in one case per size.
# Prints, per size, the median over RUNS runs of the runner's process-tree
# CPU and wall time, and the CPU per KiB above the smallest size's.
#
# Usage: bench/message-size.sh [--runs N] [--sizes "1 16 256 1024"] [--runner PATH]
#   --runs N       runs per size, the median reported (default 7)
#   --sizes "..."  message sizes in KiB (default: 1 16 256 1024)
#   --runner PATH  the runner binary (default target/release/runner, built first)
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,12s/^# \{0,1\}//p' "$0" >&2; exit "${1:-2}"; }
runs=7
sizes="1 16 256 1024"
runner=
while (( $# )); do
    case $1 in
        --runs) (( $# >= 2 )) || usage; runs=$2; shift 2 ;;
        --sizes) (( $# >= 2 )) || usage; sizes=$2; shift 2 ;;
        --runner) (( $# >= 2 )) || usage; runner=$2; shift 2 ;;
        -h|--help) usage 0 2>&1 ;;
        *) echo "message-size.sh: unknown argument: $1" >&2; usage ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || usage
for kib in $sizes; do
    [[ $kib =~ ^[1-9][0-9]*$ ]] || { echo "message-size.sh: not a size in KiB: $kib" >&2; exit 2; }
done
if [[ -z $runner ]]; then
    cargo build --release -q -p runner
    runner=target/release/runner
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/message-size.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# One spec per size: 8-byte units repeated to the size.
for kib in $sizes; do
    cat > "$tmp/size-$kib.yaml" <<EOF
spec: message-$kib-kib
title: one message of $kib KiB through the looping upper-case server
target:
  role: server
  transport: tcp
  reference: upper-server-loop
  restart: per-case
defaults:
  timeout: 20s
cases:
  - id: echo-$kib-kib
    about: sends back $kib KiB upper-cased
    steps:
      - connect: a
      - send: { on: a, text: "abcdefgh", repeat: $(( kib * 128 )) }
      - recv: { on: a, text: "ABCDEFGH", repeat: $(( kib * 128 )) }
      - close: a
EOF
done

# measure SPEC: prints the medians "tree_ms wall_ms"; exits 1 if a run fails.
measure() {
    python3 - "$runs" "$runner" "$1" <<'PY'
import resource, subprocess, sys, time
runs, runner, spec = int(sys.argv[1]), sys.argv[2], sys.argv[3]
tree, wall = [], []
for _ in range(runs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    done = subprocess.run([runner, spec, "--color", "never"], capture_output=True, text=True)
    wall.append((time.monotonic() - start) * 1000)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
    if done.returncode != 0:
        sys.exit(f"message-size.sh: the case failed:\n{done.stdout}{done.stderr}")
med = lambda v: sorted(v)[len(v) // 2]
print(f"{med(tree):.1f} {med(wall):.1f}")
PY
}

echo "cpus: $(nproc)  runs: $runs (medians)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%8s %9s %9s %14s\n' KiB "tree ms" "wall ms" "ms per KiB"
first_kib=
first_tree=
for kib in $sizes; do
    read -r t w < <(measure "$tmp/size-$kib.yaml")
    if [[ -z $first_kib ]]; then
        first_kib=$kib first_tree=$t per=-
    else
        per=$(awk -v t="$t" -v f="$first_tree" -v k="$kib" -v fk="$first_kib" \
            'BEGIN { printf "%.3f", (t - f) / (k - fk) }')
    fi
    printf '%8s %9s %9s %14s\n' "$kib" "$t" "$w" "$per"
done

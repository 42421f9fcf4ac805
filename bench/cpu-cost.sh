#!/usr/bin/env bash
# CPU cost of grading, in units of a bare Python start (`python3 -c pass`):
#   python    one bare Python start (the unit)
#   case      one case against the bundled reference
#             (`runner tcp-upper-server --case greeting`)
#   student   one correct chat-server student in a class of STUDENTS
#             (`runner grade tcp-chat-server`, 9 cases each; the class's
#             CPU divided by its size), all copies of fixtures/python/chat_server.py
#
# Usage: bench/cpu-cost.sh [--runs N] [--students N] [--runner PATH]...
#   --runs N       runs of each measurement, the median reported (default 7)
#   --students N   class size (default 24)
#   --runner PATH  a runner binary to measure; repeat to compare several
#                  (e.g. a build of an older commit); default
#                  target/release/runner, built first
# Two figures per measurement:
#   tree     user+system CPU of the command and every process it waited for
#            (getrusage of the children), the sandboxes' processes included
#   machine  busy CPU of the whole machine over the run (/proc/stat): also
#            counts the kernel's own workers (a network namespace is torn
#            down by one), and anything else running, so it is noisy on a
#            shared machine
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,21s/^# \{0,1\}//p' "$0" >&2; exit "${1:-2}"; }
runs=7
students=24
runners=()
while (( $# )); do
    case $1 in
        --runs) (( $# >= 2 )) || usage; runs=$2; shift 2 ;;
        --students) (( $# >= 2 )) || usage; students=$2; shift 2 ;;
        --runner) (( $# >= 2 )) || usage; runners+=("$2"); shift 2 ;;
        -h|--help) usage 0 2>&1 ;;
        *) echo "cpu-cost.sh: unknown argument: $1" >&2; usage ;;
    esac
done
[[ $runs =~ ^[1-9][0-9]*$ && $students =~ ^[1-9][0-9]*$ ]] || usage
if (( ${#runners[@]} == 0 )); then
    cargo build --release -q -p runner
    runners=(target/release/runner)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/cpu-cost.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
class=$tmp/class
for (( i = 1; i <= students; i++ )); do
    mkdir -p "$class/student-$i"
    cp fixtures/python/chat_server.py "$class/student-$i/"
done

# measure RUNS -- CMD...: prints the medians "tree_ms machine_ms wall_ms".
measure() {
    python3 - "$@" <<'PY'
import os, resource, subprocess, sys, time
runs = int(sys.argv[1]); cmd = sys.argv[3:]
def busy():
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (sum(fields) - fields[3] - fields[4]) * 1000 / os.sysconf("SC_CLK_TCK")
tree, machine, wall = [], [], []
for _ in range(runs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    b, t = busy(), time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    # the kernel's workers finish tearing a namespace down just after
    time.sleep(0.05)
    a = busy()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall.append((time.monotonic() - t - 0.05) * 1000)
    tree.append((after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000)
    machine.append(a - b)
med = lambda v: sorted(v)[len(v) // 2]
print(f"{med(tree):.1f} {med(machine):.1f} {med(wall):.1f}")
PY
}

read -r py_tree py_machine py_wall < <(measure "$runs" -- /usr/bin/python3 -c pass)
unit() { awk -v a="$1" -v b="$py_tree" 'BEGIN { printf "%.2f", a / b }'; }
echo "cpus: $(nproc)  runs: $runs (medians)  load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-34s %-8s %9s %11s %9s %8s\n' runner what "tree ms" "machine ms" "wall ms" "pythons"
printf '%-34s %-8s %9s %11s %9s %8s\n' - python "$py_tree" "$py_machine" "$py_wall" 1.00
for runner in "${runners[@]}"; do
    read -r t m w < <(measure "$runs" -- "$runner" tcp-upper-server --case greeting --color never)
    printf '%-34s %-8s %9s %11s %9s %8s\n' "$runner" case "$t" "$m" "$w" "$(unit "$t")"
    read -r t m w < <(measure "$(( (runs + 1) / 2 ))" -- "$runner" grade tcp-chat-server \
        --submissions "$class" --file chat_server.py --addr 127.1.1.1:8900 --out "$tmp/out")
    per=$(awk -v a="$t" -v n="$students" 'BEGIN { printf "%.1f", a / n }')
    perm=$(awk -v a="$m" -v n="$students" 'BEGIN { printf "%.1f", a / n }')
    printf '%-34s %-8s %9s %11s %9s %8s\n' "$runner" student "$per" "$perm" "$w" "$(unit "$per")"
done

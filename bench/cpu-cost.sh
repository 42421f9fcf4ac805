#!/usr/bin/env bash
# CPU cost of grading, in units of a bare Python start (`python3 -c pass`):
#   python    one bare Python start (the unit)
#   chat-own  what a chat-server student's program costs by itself before
#             it serves (`python3 -c "import socket, sys"`, outside any
#             sandbox): nine of them are the floor of a student
#   case      one case against the bundled reference
#             (`runner tcp-upper-server --case greeting`)
#   student   one correct chat-server student in a class of STUDENTS
#             (`runner grade tcp-chat-server`, 9 cases each; the class's
#             CPU divided by its size), all copies of fixtures/python/chat_server.py
#
# Usage: bench/cpu-cost.sh [--runs N] [--students N] [--runner PATH]...
#   --runs N       rounds, the median reported (default 7); each round takes
#                  three Python starts, then for each runner three cases and
#                  one class, so that runners compare side by side
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

usage() { sed -n '2,24s/^# \{0,1\}//p' "$0" >&2; exit "${1:-2}"; }
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

# Every round measures the Python unit, then each runner's case and
# student, one after the other: on a shared machine whose speed drifts,
# only measurements taken side by side compare.
/usr/bin/python3 - "$runs" "$students" "$class" "$tmp/out" "${runners[@]}" <<'PY'
import os, resource, shutil, statistics, subprocess, sys, time

runs, students, class_dir, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
runners = sys.argv[5:]

def busy():
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...
    return (sum(fields) - fields[3] - fields[4]) * 1000 / os.sysconf("SC_CLK_TCK")

def measure(cmd):
    """(tree, machine, wall) in ms for one run of cmd."""
    shutil.rmtree(out, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    b, t = busy(), time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    wall = (time.monotonic() - t) * 1000
    # the kernel's workers finish tearing a namespace down just after
    time.sleep(0.05)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    tree = (after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime) * 1000
    return tree, busy() - b, wall

python = ["/usr/bin/python3", "-c", "pass"]
chat_own = ["/usr/bin/python3", "-c", "import socket, sys"]
def case(runner):
    return [runner, "tcp-upper-server", "--case", "greeting", "--color", "never"]
def student(runner):
    return [runner, "grade", "tcp-chat-server", "--submissions", class_dir,
            "--file", "chat_server.py", "--addr", "127.1.1.1:8900", "--out", out]

taken = {("-", "python"): [], ("-", "chat-own"): []}
for runner in runners:
    taken[(runner, "case")] = []
    taken[(runner, "student")] = []
for _ in range(runs):
    for _ in range(3):
        taken[("-", "python")].append(measure(python))
        taken[("-", "chat-own")].append(measure(chat_own))
    for runner in runners:
        for _ in range(3):
            taken[(runner, "case")].append(measure(case(runner)))
        tree, machine, wall = measure(student(runner))
        taken[(runner, "student")].append((tree / students, machine / students, wall))

def medians(values):
    return [statistics.median(v[k] for v in values) for k in range(3)]
unit = medians(taken[("-", "python")])[0]
print(f"cpus: {os.cpu_count()}  rounds: {runs} (medians)  load: {' '.join(open('/proc/loadavg').read().split()[:3])}")
print(f"{'runner':34s} {'what':8s} {'tree ms':>9s} {'machine ms':>11s} {'wall ms':>9s} {'pythons':>8s}")
for (runner, what), values in taken.items():
    tree, machine, wall = medians(values)
    print(f"{runner:34s} {what:8s} {tree:9.1f} {machine:11.1f} {wall:9.1f} {tree / unit:8.2f}")
# A chat-server student's nine cases start its program nine times.
own = 9 * medians(taken[("-", "chat-own")])[0]
for runner in runners:
    rest = medians(taken[(runner, "student")])[0] - own
    print(f"{runner}: per student, the program's own starts {own:.1f} ms ({own / unit:.1f} pythons), "
          f"the runner and sandbox beyond them {rest:.1f} ms ({rest / unit:.1f} pythons)")
PY

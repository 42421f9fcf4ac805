#!/usr/bin/env bash
# Times grading a whole class of tcp-chat-server submissions.
# Usage: bench/grade-class.sh [--quick] [--jobs N] [--sizes "10 100 300"] [--compare N]
#   --quick        sizes 10 and 30, and the sequential comparison on 10 students only
#   --jobs N       passed to `runner grade --jobs` (default: the runner's, 8 per CPU)
#   --sizes "..."  class sizes of the scaling series (default: 10 100 300)
#   --compare N    class size of the sequential-vs-grade comparison (default: 100,
#                  10 with --quick; 0 skips it)
# Builds the release runner first. Each class (in a temp folder, removed on exit)
# has student-001... folders holding chat_server.py: 80% copies of
# fixtures/python/chat_server.py, 20% (every 5th student) a buggy copy without
# the empty-read check. Prints:
#   1. the old per-student sequential loop vs one `runner grade` on the same
#      class: wall times and their ratio;
#   2. `runner grade` wall time and seconds per student for each class size.
# After every run it checks the grades (rows, full-point students) and exits 1
# if they are wrong.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,8s/^# \{0,1\}//p' "$0" >&2; exit "${1:-2}"; }

quick=0
jobs=
sizes=
compare=
while (( $# )); do
    case $1 in
        --quick) quick=1; shift ;;
        --jobs) (( $# >= 2 )) || usage; jobs=$2; shift 2 ;;
        --jobs=*) jobs=${1#*=}; shift ;;
        --sizes) (( $# >= 2 )) || usage; sizes=$2; shift 2 ;;
        --sizes=*) sizes=${1#*=}; shift ;;
        --compare) (( $# >= 2 )) || usage; compare=$2; shift 2 ;;
        --compare=*) compare=${1#*=}; shift ;;
        -h|--help) usage 0 2>&1 ;;
        *) echo "grade-class.sh: unknown argument: $1" >&2; usage ;;
    esac
done
if (( quick )); then
    sizes=${sizes:-10 30}
    compare=${compare:-10}
else
    sizes=${sizes:-10 100 300}
    compare=${compare:-100}
fi
for n in $sizes $compare; do
    [[ $n =~ ^[0-9]+$ ]] || { echo "grade-class.sh: not a class size: $n" >&2; exit 2; }
done
for n in $sizes; do
    (( n > 0 )) || { echo "grade-class.sh: class sizes must be positive" >&2; exit 2; }
done
if [[ -n $jobs ]]; then
    [[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "grade-class.sh: --jobs wants a positive number: $jobs" >&2; exit 2; }
fi

cargo build --release -q -p runner
runner=$PWD/target/release/runner
fixture=fixtures/python/chat_server.py
addr=127.1.1.1:8900

tmp=$(mktemp -d "${TMPDIR:-/tmp}/grade-class.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# The buggy variant: the correct server without its `if not data: ... break`
# block, so it never notices that a client disconnected.
buggy=$tmp/chat_server_buggy.py
python3 - "$fixture" "$buggy" <<'EOF'
import re, sys
src = open(sys.argv[1]).read()
# the `if not data:` line and its indented body, up to and including `break`
new, n = re.subn(r"\n[ \t]*if not data:[^\n]*\n(?:[ \t]+(?!break\b)[^\n]*\n)*?[ \t]+break\b[^\n]*\n",
                 "\n", src, count=1)
if n != 1 or new == src or "if not data" in new:
    sys.exit(f"grade-class.sh: could not remove the empty-read check from {sys.argv[1]}")
open(sys.argv[2], "w").write(new)
EOF
if cmp -s "$fixture" "$buggy"; then
    echo "grade-class.sh: the buggy variant is identical to $fixture" >&2
    exit 1
fi

# make_class N DIR: N students, every 5th one buggy. Sets $correct.
make_class() {
    local n=$1 dir=$2 width=3 i name
    (( ${#n} > width )) && width=${#n}
    correct=0
    mkdir -p "$dir"
    for (( i = 1; i <= n; i++ )); do
        printf -v name 'student-%0*d' "$width" "$i"
        mkdir "$dir/$name"
        if (( i % 5 == 0 )); then
            cp "$buggy" "$dir/$name/chat_server.py"
        else
            cp "$fixture" "$dir/$name/chat_server.py"
            correct=$(( correct + 1 ))
        fi
    done
}

now() { date +%s%N; }
secs() { awk -v ns="$1" 'BEGIN { printf "%.2f", ns / 1e9 }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# check_grades OUT N CORRECT: grades.csv has N rows and CORRECT full-point students.
check_grades() {
    local out=$1 n=$2 want=$3
    python3 - "$out/grades.csv" "$n" "$want" <<'EOF'
import csv, sys
path, n, want = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
try:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
except OSError as e:
    sys.exit(f"grade-class.sh: ERROR: cannot read {path}: {e}")
if len(rows) != n:
    sys.exit(f"grade-class.sh: ERROR: {path} has {len(rows)} students, expected {n}")
try:
    top = max(float(r["max_points"]) for r in rows)
    full = sum(1 for r in rows if float(r["points"]) == top)
except (KeyError, ValueError) as e:
    sys.exit(f"grade-class.sh: ERROR: {path} has no usable points/max_points: {e}")
if top <= 0 or full != want:
    sys.exit(f"grade-class.sh: ERROR: {path}: {full} of {n} students have full points "
             f"({top:g}), expected {want} (the correct copies)")
EOF
}

# run_grade N CLASS OUT: times one `runner grade`, sets $elapsed (ns).
run_grade() {
    local n=$1 class=$2 out=$3 start end rc=0
    local args=(grade tcp-chat-server --submissions "$class" --file chat_server.py
                --addr "$addr" --out "$out")
    [[ -n $jobs ]] && args+=(--jobs "$jobs")
    start=$(now)
    "$runner" "${args[@]}" > "$out.log" 2>&1 || rc=$?
    end=$(now)
    elapsed=$(( end - start ))
    if (( rc != 0 )); then
        echo "grade-class.sh: ERROR: runner grade on $n students exited $rc; its output:" >&2
        tail -n 40 "$out.log" >&2
        exit 1
    fi
    check_grades "$out" "$n" "$correct" || exit 1
}

echo "runner: $runner  cpus: $(nproc)  jobs: ${jobs:-default (8 per CPU)}"
echo "class: 80% $fixture, 20% (every 5th) without the empty-read check"

if (( compare > 0 )); then
    echo
    echo "== sequential loop vs runner grade, $compare students =="
    class=$tmp/compare/class
    make_class "$compare" "$class"
    passed=0
    start=$(now)
    for dir in "$class"/*/; do
        dir=${dir%/}
        rc=0
        "$runner" tcp-chat-server --target "$dir/chat_server.py" --addr "$addr" \
            --format json --output "$dir/report.json" --color never > /dev/null 2>&1 || rc=$?
        case $rc in
            0) passed=$(( passed + 1 )) ;;
            1) ;;
            *) echo "grade-class.sh: ERROR: runner on $dir exited $rc" >&2; exit 1 ;;
        esac
    done
    end=$(now)
    seq_ns=$(( end - start ))
    if (( passed != correct )); then
        echo "grade-class.sh: ERROR: sequential loop: $passed of $compare students passed, expected $correct" >&2
        exit 1
    fi
    rm -f "$class"/*/report.json   # leave the class as handed in for runner grade
    run_grade "$compare" "$class" "$tmp/compare/out"
    grade_ns=$elapsed
    printf '%-22s %8ss  (%s s/student)\n' "sequential loop:" "$(secs "$seq_ns")" \
        "$(div "$(secs "$seq_ns")" "$compare")"
    printf '%-22s %8ss  (%s s/student)\n' "runner grade:" "$(secs "$grade_ns")" \
        "$(div "$(secs "$grade_ns")" "$compare")"
    printf '%-22s %8sx\n' "speed-up:" "$(div "$seq_ns" "$grade_ns")"
fi

echo
echo "== runner grade scaling =="
printf '%8s  %10s  %12s  %s\n' students "wall s" "s/student" "full points"
for n in $sizes; do
    class=$tmp/scale-$n/class
    make_class "$n" "$class"
    run_grade "$n" "$class" "$tmp/scale-$n/out"
    printf '%8d  %10s  %12s  %d/%d\n' "$n" "$(secs "$elapsed")" \
        "$(div "$(secs "$elapsed")" "$n")" "$correct" "$n"
done

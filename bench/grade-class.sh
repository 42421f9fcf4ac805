#!/usr/bin/env bash
# Times grading a whole class of tcp-chat-server submissions.
# Usage: bench/grade-class.sh [--quick] [--jobs "N..."] [--busy] [--sizes "10 100 300"] [--compare N]
#   --quick        sizes 10 and 30, and the sequential comparison on 10 students only
#   --jobs "N..."  each passed to `runner grade --jobs` in turn, `default` for the
#                  runner's own (8 per CPU); e.g. --jobs "1 default" (default: default)
#   --busy         keep every CPU busy with other work (a loop per CPU) while grading
#   --sizes "..."  class sizes of the scaling series (default: 10 100 300)
#   --compare N    class size of the sequential-vs-grade comparison (default: 100,
#                  10 with --quick; 0 skips it)
# Builds the release runner first. Each class (in a temp folder, removed on exit)
# has student-001... folders holding chat_server.py: 80% copies of
# fixtures/python/chat_server.py, 20% (every 5th student) a buggy copy without
# the empty-read check. Prints:
#   1. the old per-student sequential loop vs one `runner grade` on the same
#      class: wall times and their ratio;
#   2. `runner grade` wall time, seconds per student and the whole machine's
#      busy CPU seconds (/proc/stat, the kernel's workers included) for each
#      class size and job count.
# After every run it checks the grades and exits 1 if they are wrong: every
# correct copy has full points, and every buggy copy the same points case by
# case in every run (whatever --jobs, busy or not).
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,9s/^# \{0,1\}//p' "$0" >&2; exit "${1:-2}"; }

quick=0
jobs=default
busy=0
sizes=
compare=
while (( $# )); do
    case $1 in
        --quick) quick=1; shift ;;
        --busy) busy=1; shift ;;
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
for j in $jobs; do
    [[ $j == default || $j =~ ^[1-9][0-9]*$ ]] ||
        { echo "grade-class.sh: --jobs wants positive numbers or default: $j" >&2; exit 2; }
done

cargo build --release -q -p runner
runner=$PWD/target/release/runner
fixture=fixtures/python/chat_server.py
addr=127.1.1.1:8900

tmp=$(mktemp -d "${TMPDIR:-/tmp}/grade-class.XXXXXX")
burners=()
stop_burners() { (( ${#burners[@]} == 0 )) || kill "${burners[@]}" 2>/dev/null || true; }
trap 'stop_burners; rm -rf "$tmp"' EXIT
if (( busy )); then
    for (( i = 0; i < $(nproc); i++ )); do
        python3 -c 'while True: pass' &
        burners+=($!)
    done
fi

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

# check_grades OUT N: grades.csv has N rows; every correct copy has full
# points, and every buggy copy (every 5th student) the same points case by
# case, fewer than full, and the same as in every other run of this script
# (--jobs 1, the default, --busy): the verdicts do not depend on how many
# run at once or on a busy machine.
check_grades() {
    local out=$1 n=$2
    python3 - "$out/grades.csv" "$n" "$tmp/buggy-row" <<'EOF'
import csv, os, re, sys
path, n, keep = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
except OSError as e:
    sys.exit(f"grade-class.sh: ERROR: cannot read {path}: {e}")
if len(rows) != n:
    sys.exit(f"grade-class.sh: ERROR: {path} has {len(rows)} students, expected {n}")
cases = [c for c in rows[0] if "/" in c]
try:
    top = max(float(r["max_points"]) for r in rows)
    for r in rows:
        # The student's number: the folder's, whatever prefix the intake kept.
        buggy = int(re.findall(r"[0-9]+", r["student"])[-1]) % 5 == 0
        points = float(r["points"])
        if not buggy and points != top:
            sys.exit(f"grade-class.sh: ERROR: {r['student']} (a correct copy) got {points:g} of {top:g}")
        if buggy:
            row = ",".join(r[c] for c in cases)
            if points >= top:
                sys.exit(f"grade-class.sh: ERROR: {r['student']} (a buggy copy) got full points")
            if not os.path.exists(keep):
                open(keep, "w").write(row)
            elif open(keep).read() != row:
                sys.exit(f"grade-class.sh: ERROR: {r['student']} (a buggy copy) got {row}, "
                         f"another buggy copy {open(keep).read()} (cases: {','.join(cases)})")
except (KeyError, ValueError, IndexError) as e:
    sys.exit(f"grade-class.sh: ERROR: {path} has no usable student/points/max_points: {e}")
EOF
}

# busy_cpu: the machine's busy CPU time so far, in clock ticks.
busy_cpu() { awk '/^cpu /{ print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

# run_grade N CLASS OUT [JOBS]: times one `runner grade`, sets $elapsed (ns)
# and $cpu (the machine's busy seconds over the run).
run_grade() {
    local n=$1 class=$2 out=$3 j=${4:-default} start end rc=0 cpu_start
    local args=(grade tcp-chat-server --submissions "$class" --file chat_server.py
                --addr "$addr" --out "$out")
    [[ $j != default ]] && args+=(--jobs "$j")
    cpu_start=$(busy_cpu)
    start=$(now)
    "$runner" "${args[@]}" > "$out.log" 2>&1 || rc=$?
    end=$(now)
    elapsed=$(( end - start ))
    cpu=$(awk -v a="$cpu_start" -v b="$(busy_cpu)" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "%.1f", (b - a) / hz }')
    if (( rc != 0 )); then
        echo "grade-class.sh: ERROR: runner grade on $n students exited $rc; its output:" >&2
        tail -n 40 "$out.log" >&2
        exit 1
    fi
    check_grades "$out" "$n" || exit 1
}

echo "runner: $runner  cpus: $(nproc)  jobs: $jobs  busy: $(( busy ? 1 : 0 ))"
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
printf '%8s  %7s  %10s  %12s  %13s  %s\n' students jobs "wall s" "s/student" "machine cpu s" "full points"
for n in $sizes; do
    class=$tmp/scale-$n/class
    make_class "$n" "$class"
    for j in $jobs; do
        run_grade "$n" "$class" "$tmp/scale-$n/out-$j" "$j"
        printf '%8d  %7s  %10s  %12s  %13s  %d/%d\n' "$n" "$j" "$(secs "$elapsed")" \
            "$(div "$(secs "$elapsed")" "$n")" "$cpu" "$correct" "$n"
    done
done

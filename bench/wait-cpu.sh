#!/usr/bin/env bash
# CPU the runner spends on one case, its own (not the target's), as it
# waits for the server to listen: the bundled reference (listens at once)
# and a target that never listens while it holds 60 processes and 19,000
# descriptors (fixtures/python/hostile/fd_hoarder.py; waits the whole
# 5 s start timeout).
#
# Usage: bench/wait-cpu.sh [RUNS] [RUNNER...]
#   RUNNER: binaries to compare (e.g. a build of an older commit);
#   default target/release/runner, built first.
# Prints, per runner and case, the median of RUNS runs of: wall time, the
# runner's own CPU (user+sys, read from /proc/PID/stat when it has exited
# but is not yet reaped), and /usr/bin/time's user+sys (the runner and
# everything it waited for, targets included).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
shift || true
runners=("$@")
if [ ${#runners[@]} -eq 0 ]; then
    cargo build --release -q -p runner
    runners=(target/release/runner)
fi
spec=specs/tcp-upper-server.yaml
hoarder="python3 $PWD/fixtures/python/hostile/fd_hoarder.py {host} {port}"

# The runner's own CPU in ms and the wall time in ms, for one run of "$@".
own_cpu() {
    python3 - "$@" <<'PY'
import os, sys, time
start = time.monotonic()
pid = os.fork()
if pid == 0:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.execvp(sys.argv[1], sys.argv[1:])
os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)
wall = time.monotonic() - start
fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
ticks = int(fields[11]) + int(fields[12])
os.waitpid(pid, 0)
print(ticks * 1000 // os.sysconf("SC_CLK_TCK"), int(wall * 1000))
PY
}

times=$(mktemp)
trap 'rm -f "$times"' EXIT

median() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }

for runner in "${runners[@]}"; do
    for case_name in reference fd-hoarder; do
        if [ "$case_name" = reference ]; then target=(); else target=(--target "$hoarder"); fi
        own=() wall=() total=()
        for _ in $(seq "$runs"); do
            read -r cpu ms < <(own_cpu "$runner" "$spec" --case greeting "${target[@]}")
            own+=("$cpu") wall+=("$ms")
            /usr/bin/time -f '%U %S' -o "$times" "$runner" "$spec" --case greeting \
                "${target[@]}" > /dev/null 2>&1 || true
            total+=("$(tail -1 "$times" | awk '{printf "%d", ($1 + $2) * 1000}')")
        done
        printf '%-40s %-10s wall %6s ms  runner CPU %5s ms  with children %5s ms\n' \
            "$runner" "$case_name" \
            "$(printf '%s\n' "${wall[@]}" | median)" \
            "$(printf '%s\n' "${own[@]}" | median)" \
            "$(printf '%s\n' "${total[@]}" | median)"
    done
done

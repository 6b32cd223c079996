#!/usr/bin/env bash
# Figures of the native (AOT) webrepl against the framework-dependent (JIT) one: whole-command time (median of N
# runs, process start to exit) and peak memory (max RSS) of `--help` and of `exec "print(1)"` against a virtual
# board on loopback, started once by the native webrepl; CPU time too (user+sys, 10 ms resolution), which a
# loaded machine inflates less than the wall time. bench/README.md, "The native tool and the container".
#   bench/native-tool.sh NATIVE_EXECUTABLE [JIT_DLL] [RUNS]
# e.g. bench/native-tool.sh artifacts/native/WebRepl.Cli src/WebRepl.Cli/bin/Release/net10.0/WebRepl.Cli.dll 31
set -euo pipefail
native="$1"; jit="${2:-}"; runs="${3:-31}"
work="$(mktemp -d /tmp/webrepl-bench.XXXXXX)"
"$native" board --port 0 -p bench1 --root "$work/files" >"$work/board.log" 2>&1 &
board_pid=$!
trap 'kill -TERM $board_pid 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 600); do grep -q "^  WebREPL" "$work/board.log" && break; sleep 0.1; done
export WEBREPL_TARGET="$(grep -oE 'ws://[0-9.]+:[0-9]+' "$work/board.log" | head -1)" WEBREPL_PASSWORD=bench1

# Median wall time (ms) and median max RSS (MiB) of a command, run $runs times after one warm-up.
measure() {
    local label="$1"; shift
    "$@" >/dev/null 2>&1
    : >"$work/times"; : >"$work/rss"; : >"$work/cpu"
    for _ in $(seq 1 "$runs"); do
        local start end
        start=$(date +%s%N)
        /usr/bin/time -f "%M %U %S" -o "$work/one" "$@" >/dev/null 2>&1
        end=$(date +%s%N)
        echo $(( (end - start) / 1000 )) >>"$work/times"
        awk '{print $1}' "$work/one" >>"$work/rss"
        awk '{print ($2 + $3) * 1000}' "$work/one" >>"$work/cpu"
    done
    local t r c
    t=$(sort -n "$work/times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    r=$(sort -n "$work/rss" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    c=$(sort -n "$work/cpu" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    printf '%-26s median wall %7.1f ms   CPU (user+sys) %5.0f ms   max RSS %5.1f MiB\n' "$label" "$(echo "$t / 1000" | bc -l)" "$c" "$(echo "$r / 1024" | bc -l)"
}

measure "native  --help" "$native" --help
measure "native  exec print(1)" "$native" exec "print(1)"
if [ -n "$jit" ]; then
    measure "JIT     --help" dotnet "$jit" --help
    measure "JIT     exec print(1)" dotnet "$jit" exec "print(1)"
fi
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) CPUs"

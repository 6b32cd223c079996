#!/usr/bin/env bash
# Fuzz one target with AFL++ (Debian's afl++) through SharpFuzz, then keep what it found:
#   fuzz/run.sh TARGET [SECONDS]        (default 300; `fuzz/run.sh list` names the targets)
# Builds the targets once into fuzz/.build/bin and instruments WebRepl.dll and WebRepl.Gateway.dll there (the
# normal build is untouched). New coverage (afl's queue) is copied into fuzz/corpus/TARGET/, crashes and hangs
# into fuzz/crashes/TARGET/; the replay tests (tests/WebRepl.Fuzz.Tests) run them all in `dotnet test`.
set -euo pipefail
cd "$(dirname "$0")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

target=${1:?usage: fuzz/run.sh TARGET [SECONDS]}
seconds=${2:-300}
bin=.build/bin

if [ ! -f "$bin/.instrumented" ] || [ -n "${REBUILD:-}" ]; then
  rm -rf "$bin"
  dotnet publish WebRepl.Fuzz/WebRepl.Fuzz.csproj -c Release -o "$bin" -v quiet -nologo
  dotnet tool restore >/dev/null
  dotnet sharpfuzz "$bin/WebRepl.dll"
  dotnet sharpfuzz "$bin/WebRepl.Gateway.dll"
  touch "$bin/.instrumented"
fi

if [ "$target" = list ]; then
  ls corpus
  exit 0
fi

[ -d "corpus/$target" ] || { echo "no corpus/$target: see fuzz/run.sh list" >&2; exit 2; }
out=.build/findings/$target
rm -rf "$out"
mkdir -p .build/findings
mkdir -p "crashes/$target"
dict=
[ -f "dict/$target.dict" ] && dict="-x dict/$target.dict"

# dotnet is not an afl-instrumented binary (SharpFuzz instruments the assemblies and speaks afl's fork-server
# protocol itself); no CPU pinning on a shared machine; -t: a run that takes 10 s is a hang.
AFL_SKIP_BIN_CHECK=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_UI=1 AFL_SKIP_CPUFREQ=1 \
  afl-fuzz -i "corpus/$target" -o "$out" -t 10000 -m none -V "$seconds" $dict -- \
  dotnet "$bin/WebRepl.Fuzz.dll" "$target" --afl > ".build/afl-$target.log" 2>&1 || true

stats=$out/default/fuzzer_stats
[ -f "$stats" ] || { echo "afl-fuzz did not start; see fuzz/.build/afl-$target.log" >&2; tail -20 ".build/afl-$target.log" >&2; exit 1; }
grep -E '^(run_time|execs_done|execs_per_sec|corpus_count|corpus_found|bitmap_cvg|saved_crashes|saved_hangs) ' "$stats"

# Keep new coverage and every crash or hang, named by content so that reruns add no duplicates.
keep() {
  local from=$1 to=$2 prefix=$3
  for f in "$from"/id:*; do
    [ -f "$f" ] || continue
    case "$f" in *orig:*) continue ;; esac
    cp "$f" "$to/$prefix-$(sha1sum "$f" | cut -c1-12)"
  done
}
keep "$out/default/queue" "corpus/$target" q
keep "$out/default/crashes" "crashes/$target" crash
keep "$out/default/hangs" "crashes/$target" hang
rmdir "crashes/$target" 2>/dev/null || true
echo "crashes kept: $(ls "crashes/$target" 2>/dev/null | wc -l) in fuzz/crashes/$target"

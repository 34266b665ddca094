#!/usr/bin/env bash
# Where the time of one hypergradient goes: profiles `rewind bench` (the canonical problem, plain
# training and hypergradients at T = 100 and 1000) and prints the top of the flat profile.
#
#   scripts/profile.sh                 # perf; THREADS=2 to profile the two-thread trainer
#   TOOL=callgrind scripts/profile.sh  # instruction counts instead (slower, exact, no perf needed)
#   TOP=40 scripts/profile.sh          # more rows
#
# Builds `rewind` in release (its symbols are kept, so perf names the Swift functions).
set -euo pipefail
cd "$(dirname "$0")/.."

top="${TOP:-25}"
threads="${THREADS:-1}"
tool="${TOOL:-perf}"
out=.build/profile
mkdir -p "$out"

swift build -c release --product rewind >&2
rewind="$(swift build -c release --show-bin-path)/rewind"
# Pin the kernels up front so the profile shows one process, not the re-exec.
export OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE="${OPENBLAS_CORETYPE:-Haswell}"

# Swift symbols in readable form, one line each.
demangle() {
    if command -v swift >/dev/null; then swift demangle --simplified | cut -c1-160; else cat; fi
}

if [[ "$tool" == perf ]] && command -v perf >/dev/null && perf record -q -o "$out/probe.data" true 2>/dev/null; then
    perf record -q -F 4000 -o "$out/perf.data" "$rewind" bench --repeats 3 --threads "$threads" >&2
    perf report -i "$out/perf.data" --stdio --no-children --sort dso,symbol --percent-limit 0.5 2>/dev/null \
        | grep -v '^#' | grep -v '^$' | head -n "$top" | sed 's/  */ /g; s/ - - *$//' | demangle
else
    valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
        "$rewind" bench --repeats 1 --threads "$threads" >&2
    callgrind_annotate "$out/callgrind.out" 2>/dev/null | grep -E '^ *[0-9,]+ ' | head -n "$((top + 1))" | demangle
fi

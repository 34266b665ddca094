#!/usr/bin/env bash
# Rewind against JAX on speed alone: time and peak memory of one hypergradient on the canonical
# problem at T = 100 and T = 1000, and their ratio, printed as one table from one run.
#
#   bench/run-speed-comparison.sh                # the whole machine for both (default)
#   MODE=one-core bench/run-speed-comparison.sh  # both pinned to one core, one thread each
#   REPEATS=5 (default) timed runs per side and T; the medians are compared.
#   PROBLEM=mnist bench/run-speed-comparison.sh  # the paper's size: 784-50-50-50-10 on MNIST, batch 200
#   PYTHON=/path/to/python bench/run-speed-comparison.sh  # an interpreter that already has jax (no venv)
#   BASELINE=/path/to/other/rewind ...  # also time another build's `rewind export`, in the same run
#
# "Whole machine": Rewind shares each training step between two threads (`--threads 2`, results
# identical to one thread), JAX/XLA uses its default thread pool over every core. Creates
# .venv-jax/ with jax, jaxlib and numpy from PyPI (CPU only) like bench/run-jax-comparison.sh.
# A benchmark, not part of .ci/run. Exits non-zero if the two hypergradients differ by > 1e-10.
set -euo pipefail
cd "$(dirname "$0")/.."

repeats="${REPEATS:-5}"
problem="${PROBLEM:-mlp}"
mode="${MODE:-machine}"
packages="${JAX_PACKAGES:-jax==0.10.2 jaxlib==0.10.2 numpy}"
venv=.venv-jax
out=.build/speed-comparison

python="${PYTHON:-$venv/bin/python}"
if ! "$python" -c 'import jax, jaxlib, numpy' 2>/dev/null; then
    if [ -n "${PYTHON:-}" ]; then echo "PYTHON=$PYTHON cannot import jax" >&2; exit 2; fi
    python3 -m venv "$venv"
    # shellcheck disable=SC2086  # the package list is meant to split into words
    "$venv/bin/pip" install --quiet $packages
fi

swift build -c release --product rewind >&2
rewind="$(swift build -c release --show-bin-path)/rewind"

pin=()
case "$mode" in
    machine)
        threads=2
        # XLA's default (multi-threaded Eigen), said explicitly so that jax_reference.py's
        # one-thread default does not apply.
        export XLA_FLAGS="${XLA_FLAGS:---xla_cpu_multi_thread_eigen=true}"
        ;;
    one-core)
        threads=1
        core="${CORE:-$(( $(nproc) - 1 ))}"
        if command -v taskset >/dev/null; then pin=(taskset -c "$core"); fi
        ;;
    *) echo "MODE must be machine or one-core" >&2; exit 2 ;;
esac

mkdir -p "$out"
baseline=()
for t in 100 1000; do
    "${pin[@]}" "$rewind" export --problem "$problem" --iterations "$t" --repeats "$repeats" --threads "$threads" \
        --output "$out/$problem-$t.json"
    if [ -n "${BASELINE:-}" ]; then
        # Interleaved with ours, T by T, so that both see the same load.
        "${pin[@]}" "$BASELINE" export --problem "$problem" --iterations "$t" --repeats "$repeats" \
            --threads "$threads" --output "$out/$problem-$t-baseline.json"
        baseline+=(--baseline "$out/$problem-$t-baseline.json")
    fi
done
export JAX_ENABLE_X64=1 JAX_PLATFORMS=cpu OPENBLAS_NUM_THREADS=1
"${pin[@]}" "$python" bench/speed_comparison.py "$out/$problem-100.json" "$out/$problem-1000.json" \
    "${baseline[@]}" --repeats "$repeats" --markdown "$out/table-$problem-$mode.md" \
    --json "$out/table-$problem-$mode.json"
echo "(table also written to $out/table-$problem-$mode.md)" >&2

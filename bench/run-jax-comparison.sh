#!/usr/bin/env bash
# Rewind against JAX: recompute Rewind's exact hypergradients by reverse-mode autodiff through the
# unrolled training loop (float64) and print the agreement, time and peak memory side by side.
#
#   bench/run-jax-comparison.sh            # from the repository root; REPEATS=5 by default
#
# Creates .venv-jax/ with jax, jaxlib and numpy from PyPI (CPU only), builds `rewind` in release,
# exports five problems with `rewind export` into .build/jax-comparison/ (logistic regression, the
# dense net at T = 100 and 1000, and two conv nets on digits as 8×8×1 images at T = 50), and runs
# bench/jax_reference.py on them. A benchmark, not part of .ci/run: it needs PyPI once and takes a
# minute or two. Exits non-zero if any hypergradient group differs from JAX by more than 1e-6 with
# the same arithmetic.
set -euo pipefail
cd "$(dirname "$0")/.."

repeats="${REPEATS:-5}"
# The versions the numbers in docs/experiments.md were measured with; override to try others.
packages="${JAX_PACKAGES:-jax==0.10.2 jaxlib==0.10.2 numpy}"
venv=.venv-jax
out=.build/jax-comparison

if ! "$venv/bin/python" -c 'import jax, jaxlib, numpy' 2>/dev/null; then
    python3 -m venv "$venv"
    # shellcheck disable=SC2086  # the package list is meant to split into words
    "$venv/bin/pip" install --quiet $packages
fi

swift build -c release --product rewind
rewind="$(swift build -c release --show-bin-path)/rewind"
if ! "$rewind" export --help >/dev/null 2>&1; then
    echo "error: this rewind has no 'export' subcommand (add ExportCommand.self to Rewind.swift)" >&2
    exit 1
fi

# Both sides on the same single core: Rewind runs BLAS on one thread, and XLA's CPU runtime still
# spreads some work over a second thread even when told to use one, which made its CPU time exceed
# its wall time on this 2-core machine.
core="${CORE:-$(( $(nproc) - 1 ))}"
pin=()
if command -v taskset >/dev/null; then pin=(taskset -c "$core"); fi

mkdir -p "$out"
"${pin[@]}" "$rewind" export --problem logistic --iterations 50 --repeats "$repeats" --output "$out/logistic-50.json"
"${pin[@]}" "$rewind" export --problem mlp --iterations 100 --repeats "$repeats" --output "$out/mlp-100.json"
"${pin[@]}" "$rewind" export --problem mlp --iterations 1000 --repeats "$repeats" --output "$out/mlp-1000.json"
"${pin[@]}" "$rewind" export --problem conv --iterations 50 --repeats "$repeats" --output "$out/conv-50.json"
"${pin[@]}" "$rewind" export --problem conv-small --iterations 50 --repeats "$repeats" --output "$out/conv-small-50.json"

export JAX_ENABLE_X64=1 JAX_PLATFORMS=cpu
"${pin[@]}" "$venv/bin/python" bench/jax_reference.py \
    "$out/logistic-50.json" "$out/mlp-100.json" "$out/mlp-1000.json" "$out/conv-50.json" "$out/conv-small-50.json" \
    --repeats "$repeats" --markdown "$out/table.md"
echo "(table also written to $out/table.md)" >&2

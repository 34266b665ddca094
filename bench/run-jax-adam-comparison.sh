#!/usr/bin/env bash
# Rewind's exact Adam hypergradients against JAX's reverse mode through the unrolled float64 Adam
# loop: agreement for every group, time and peak memory side by side.
#
#   bench/run-jax-adam-comparison.sh       # from the repository root; REPEATS=5 by default
#
# Creates .venv-jax/ (shared with bench/run-jax-comparison.sh) with jax, jaxlib and numpy from PyPI
# (CPU only), builds `rewind` in release, writes the Adam problems with `rewind bench-adam --dump`
# into .build/jax-adam-comparison/, and runs bench/jax_adam_reference.py on them. Both sides are
# pinned to one core, as in the SGD comparison (WHOLE_MACHINE=1 gives both every core instead:
# Rewind two trainer threads, XLA its default threads; REWIND_THREADS=1 keeps Rewind on one trainer
# thread, unpinned, where a second does not pay). A benchmark, not part of .ci/run. Exits
# non-zero if any group differs from JAX by more than 1e-10 relative. PYTHON=/path/to/python uses an
# interpreter that already has jax (0.10.2, with x64) and numpy instead of .venv-jax/.
set -euo pipefail
cd "$(dirname "$0")/.."

repeats="${REPEATS:-5}"
packages="${JAX_PACKAGES:-jax==0.10.2 jaxlib==0.10.2 numpy}"
venv=.venv-jax
out=.build/jax-adam-comparison

python="${PYTHON:-$venv/bin/python}"
if [ -z "${PYTHON:-}" ] && ! "$python" -c 'import jax, jaxlib, numpy' 2>/dev/null; then
    python3 -m venv "$venv"
    # shellcheck disable=SC2086  # the package list is meant to split into words
    "$venv/bin/pip" install --quiet $packages
fi

swift build -c release --product rewind
rewind="$(swift build -c release --show-bin-path)/rewind"

pin=()
threads=1
if [ "${WHOLE_MACHINE:-0}" = 1 ]; then
    threads="${REWIND_THREADS:-2}"
    export JAX_THREADS=all
elif command -v taskset >/dev/null; then
    pin=(taskset -c "${CORE:-$(( $(nproc) - 1 ))}")
fi

mkdir -p "$out"
"${pin[@]}" "$rewind" bench-adam --dump "$out" --repeats "$repeats" --threads "$threads"

export JAX_ENABLE_X64=1 JAX_PLATFORMS=cpu
"${pin[@]}" "$python" bench/jax_adam_reference.py \
    "$out/adam-mlp-100.json" "$out/adam-mlp-1000.json" "$out/adam-mlp-eps-100.json" \
    --repeats "$repeats" --markdown "$out/table.md"
echo "(table also written to $out/table.md)" >&2

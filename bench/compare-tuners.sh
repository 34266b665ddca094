#!/usr/bin/env bash
# Rewind against Optuna's TPE (one seed, and averaged over fresh seeds) and random search on equal
# wall-clock budgets, scored on a held-out test split over fresh seeds (docs/experiments.md,
# "Rewind against TPE and random search").
#
#   bench/compare-tuners.sh                 # from the repository root; REPEATS=3 by default
#
# Creates .venv-tuners/ with optuna, numpy and matplotlib from PyPI, builds `rewind` in release and
# runs bench/compare_tuners.py, which writes .build/compare-tuners/{results.json,table.md,*.svg}.
# A benchmark, not part of .ci/run: it needs PyPI once and takes about ten minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

repeats="${REPEATS:-3}"
packages="${TUNER_PACKAGES:-optuna==5.0.0 numpy matplotlib}"
venv=.venv-tuners
out="${OUT:-.build/compare-tuners}"

if ! "$venv/bin/python" -c 'import optuna, matplotlib' 2>/dev/null; then
    python3 -m venv "$venv"
    # shellcheck disable=SC2086  # the package list is meant to split into words
    "$venv/bin/pip" install --quiet $packages
fi

swift build -c release --product rewind
rewind="$(swift build -c release --show-bin-path)/rewind"
export OPENBLAS_NUM_THREADS=1
"$venv/bin/python" bench/compare_tuners.py --rewind "$rewind" --repeats "$repeats" --out "$out" ${PROBLEMS:+--problems "$PROBLEMS"}

#!/usr/bin/env bash
# Runs the replay recipes of docs/using-learned-schedules.md for real: tunes a few short jobs in a
# throw-away `rewind serve` on loopback, exports a learned item's schedule (`rewind export-schedule`)
# and its replay inputs (`rewind export --spec`), replays them with examples/replay_numpy.py,
# replay_torch.py (torch.optim.SGD / torch.optim.Adam) and replay_optax.py (the paper's momentum as
# a GradientTransformation / optax.inject_hyperparams(optax.adamw)) and prints how far each lands
# from the validation loss Rewind reported. Exits 1 when any differs by more than TOLERANCE.
#
# The jobs are the Adam-vs-SGD examples (examples/optimizers-sgd.json, optimizers-adam-lr0.01.json:
# digits MLP 64-50-50-10, T = 100), the LeNet-like conv net (examples/lenet-schedules.json) with
# SGD and with Adam, and per-weight L2 on logistic regression (examples/per-weight-l2.json), each
# cut to two meta-iterations of one seed (a replay follows one training run; with meta.seeds the
# reported loss is a mean over several); item 2 is replayed.
#
# Usage: scripts/check-recipes.sh [CASE...]
#   (cases: sgd adam lenet-sgd lenet-adam per-weight-l2; default all)
#   PYTHON     an interpreter with numpy, torch, jax and optax (default python3); a recipe whose
#              library it lacks is reported as skipped
#   REWIND     the rewind binary (default the release build, built if missing)
#   TOLERANCE  the largest accepted |replayed - reported| (default 1e-6)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python3}"
tolerance="${TOLERANCE:-1e-6}"
cases=("$@")
[[ ${#cases[@]} -gt 0 ]] || cases=(sgd adam lenet-sgd lenet-adam per-weight-l2)
# shellcheck source=scripts/loopback-serve.sh
source "$root/scripts/loopback-serve.sh"

if [[ -z "${REWIND:-}" ]]; then
    build=(swift build --package-path "$root" -c release -Xswiftc -warnings-as-errors)
    REWIND="$("${build[@]}" --show-bin-path)/rewind"
    if [[ ! -x "$REWIND" ]]; then
        echo "Building rewind (release)..."
        "${build[@]}" --product rewind >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
    fi
fi

# The case's spec: an example cut to two meta-iterations of one seed (and for lenet-adam, Adam in
# place of SGD: α 0.01 and β1 per segment and block instead of the momenta).
spec_for() {
    python3 - "$root" "$1" <<'EOF'
import json, sys
root, case = sys.argv[1:]
source = {"sgd": "optimizers-sgd", "adam": "optimizers-adam-lr0.01", "per-weight-l2": "per-weight-l2"}.get(
    case, "lenet-schedules")
with open(f"{root}/examples/{source}.json") as handle:
    spec = json.load(handle)
spec["name"] = f"recipe check: {case}"
spec["meta"].update(iterations=2)
spec["meta"].pop("seeds", None)
if case == "lenet-adam":
    spec["training"]["optimizer"] = "adam"
    hyper = spec["hyperparameters"]
    schedule = hyper.pop("momentum")
    hyper["learning_rate"]["init"] = 0.01
    hyper["beta1"] = dict(schedule, init=0.9)
    hyper["weight_decay"] = {"init": 1e-4, "per": "block"}
print(json.dumps(spec))
EOF
}

start_loopback_serve "$REWIND" --workers 1

printf '%s\n' "$("$python" -c 'import sys; print(f"Python {sys.version.split()[0]}")')"
for module in numpy torch jax optax; do
    "$python" -c "import $module; print('$module', $module.__version__)" 2>/dev/null || echo "$module: not installed"
done
echo
echo "| job | recipe | Rewind's validation loss | replayed | difference | seconds |"
echo "|---|---|---:|---:|---:|---:|"
failed=0
for case in "${cases[@]}"; do
    spec="$work/$case.json"
    spec_for "$case" >"$spec"
    id=$("$REWIND" submit --url "$base" "$spec")
    "$REWIND" status --url "$base" "$id" --watch >/dev/null 2>&1 || {
        echo "job $case ($id) did not succeed:" >&2
        "$REWIND" status --url "$base" "$id" >&2
        exit 1
    }
    "$REWIND" export-schedule --url "$base" "$id" --item 2 --output "$work/$case-schedule.json"
    "$REWIND" export --spec "$spec" --item 2 --output "$work/$case-replay.json" 2>/dev/null
    for recipe in numpy torch optax; do
        module=$recipe
        if ! "$python" -c "import $module" 2>/dev/null; then
            echo "| $case | $recipe | | skipped ($module not installed) | | |"
            continue
        fi
        started=$(date +%s.%N)
        status=0
        # One thread each (the problems are small, and a shared machine makes spinning threads slow).
        JAX_PLATFORMS=cpu OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$python" "$root/examples/replay_$recipe.py" "$work/$case-replay.json" \
            "$work/$case-schedule.json" --tolerance "$tolerance" >"$work/out" 2>"$work/err" || status=$?
        seconds=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$started" "$(date +%s.%N)")
        report=$(grep '^{' "$work/out" | tail -1 || true)
        if [[ -z "$report" ]]; then
            echo "| $case | $recipe | | failed: $(tail -1 "$work/err") | | $seconds |"
            failed=1
            continue
        fi
        python3 - "$case" "$recipe" "$seconds" "$report" <<'EOF'
import json, sys
case, recipe, seconds, report = sys.argv[1:]
r = json.loads(report)
print(f"| {case} | {recipe} | {r['rewind_validation_loss']:.15f} | {r['validation_loss']:.15f} | "
      f"{r['difference']:.1e} | {seconds} |")
EOF
        [[ $status -eq 0 ]] || failed=1
    done
done
echo
echo "tolerance $tolerance: $([[ $failed -eq 0 ]] && echo "every recipe within it" || echo "NOT MET")"
exit "$failed"

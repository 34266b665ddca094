#!/usr/bin/env bash
# Runs one of the paper's experiments (docs/experiments.md) against a running Rewind service and
# saves what it produced: the job's result JSON in examples/results/ and its dashboard plots (SVG,
# plus PNG renders when rsvg-convert is installed) in docs/images/.
#
#   scripts/run-example.sh schedules | schedules-long | held-out | lenet-schedules | per-weight-l2 | distillation | chaos
#                         | mnist-schedules | mnist-per-weight-l2 | mnist-distillation | mnist-chaos
#                         | optimizers-sgd | optimizers-adam | optimizers-adam-lr0.01
#                         | optimizers-mnist-sgd | optimizers-mnist-adam [--update-results]
#
# Without --update-results nothing committed is rewritten: results and plots go to a temporary
# folder, named at the end. With it they replace examples/results/ and docs/images/.
#
# REWIND_URL: the service (default http://127.0.0.1:8080); REWIND: the rewind binary (default the
# release build); HISTORY_DIR: if set, every job's whole history is saved there as JSON lines
# (NAME-history.jsonl; large, so not kept in the repository). `chaos` runs in-process (`rewind sweep`) and needs no service.
set -euo pipefail
cd "$(dirname "$0")/.."

example=${1:?usage: scripts/run-example.sh schedules|schedules-long|held-out|lenet-schedules|per-weight-l2|distillation|chaos [--update-results]}
url=${REWIND_URL:-http://127.0.0.1:8080}
rewind=${REWIND:-"$(swift build -c release --show-bin-path)/rewind"}
if [ "${2:-}" = "--update-results" ] || [ -n "${UPDATE_RESULTS:-}" ]; then
    images=docs/images
    results=examples/results
else
    scratch=${RESULTS_DIR:-$(mktemp -d)}
    images=$scratch/images
    results=$scratch/results
    trap 'echo "results in $results, plots in $images (pass --update-results to replace the committed ones)"' EXIT
fi
mkdir -p "$images" "$results"

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }

# PNG beside each SVG, for viewers that do not show SVG.
render_png() {
    if command -v rsvg-convert >/dev/null; then rsvg-convert -w 960 -b white "$1" -o "${1%.svg}.png"; fi
}

# Submits a spec, follows it to the end, saves its result and the named plots.
run_job() {
    local name=$1 spec=$2
    shift 2
    local started id
    started=$(now)
    id=$("$rewind" submit --url "$url" "$spec")
    echo "job $id ($name)"
    "$rewind" status --url "$url" "$id" --watch
    echo "wall time: $(elapsed "$started") s (submit to result)"
    "$rewind" result --url "$url" "$id" > "$results/$name-result.json"
    if [ -n "${HISTORY_DIR:-}" ]; then
        mkdir -p "$HISTORY_DIR"
        "$rewind" history --url "$url" "$id" > "$HISTORY_DIR/$name-history.jsonl"
    fi
    for plot in "$@"; do
        curl -sf "$url/v1/jobs/$id/plots/$plot.svg" -o "$images/$name-$plot.svg"
        render_png "$images/$name-$plot.svg"
    done
}

case $example in
schedules)
    run_job schedules examples/schedules.json loss learning_curve learning_rate momentum init_scale hypergradient_norm
    ;;
schedules-long)
    run_job schedules-long examples/schedules-long.json loss learning_rate init_scale
    ;;
held-out)
    run_job held-out examples/held-out.json loss error learning_rate
    ;;
lenet-schedules)
    run_job lenet-schedules examples/lenet-schedules.json loss error learning_rate momentum filters
    ;;
per-weight-l2)
    run_job per-weight-l2 examples/per-weight-l2.json loss error l2 hypergradient_norm
    ;;
distillation)
    # The ten training rows (one blank image per class) followed by the digits for validation:
    # examples/distillation.csv (what scripts/distillation-csv.py writes), uploaded, and the spec's
    # local file swapped for the upload's id (the service reads no local files).
    upload=$(python3 scripts/distillation-csv.py --start "${START:-blank}" \
        | curl -sf -X POST -H 'Content-Type: text/csv' --data-binary @- "$url/v1/datasets?name=digits-distillation")
    dataset=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' <<<"$upload")
    echo "uploaded data set $dataset"
    spec=$(mktemp --suffix=.json)
    python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); s["dataset"] = {"id": sys.argv[2]}; json.dump(s, sys.stdout)' \
        examples/distillation.json "$dataset" > "$spec"
    run_job distillation "$spec" loss error training_data
    rm -f "$spec"
    ;;
mnist-schedules)
    run_job mnist-schedules examples/mnist-schedules.json loss learning_curve learning_rate momentum init_scale
    ;;
mnist-per-weight-l2)
    run_job mnist-per-weight-l2 examples/mnist-per-weight-l2.json loss error l2
    ;;
mnist-distillation)
    # Ten blank rows, then mnist's first 10,000 training images (validation) and its 10,000 test
    # images (test), as scripts/distillation-csv.py --dataset mnist writes them (56 MB), uploaded.
    upload=$(python3 scripts/distillation-csv.py --dataset mnist --start "${START:-blank}" \
        | curl -sf -X POST -H 'Content-Type: text/csv' --data-binary @- "$url/v1/datasets?name=mnist-distillation")
    dataset=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["id"])' <<<"$upload")
    echo "uploaded data set $dataset"
    spec=$(mktemp --suffix=.json)
    python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); s["dataset"] = {"id": sys.argv[2]}; json.dump(s, sys.stdout)' \
        examples/mnist-distillation.json "$dataset" > "$spec"
    run_job mnist-distillation "$spec" loss error training_data
    rm -f "$spec"
    ;;
optimizers-*sgd)
    # SGD with momentum against Adam, both tuned (docs/experiments.md): optimizers-sgd, optimizers-mnist-sgd.
    run_job "$example" "examples/$example.json" loss error learning_rate momentum
    ;;
optimizers-*)
    # optimizers-adam, optimizers-adam-lr0.01, optimizers-mnist-adam: Adam's schedules and decays.
    run_job "$example" "examples/$example.json" loss error learning_rate beta1 beta2 weight_decay
    ;;
mnist-chaos)
    started=$(now)
    "$rewind" sweep examples/mnist-chaos.json --from "${FROM:-0.5}" --to "${TO:-2.5}" --points "${POINTS:-100}" \
        --svg "$images/mnist-chaos" > "$results/mnist-chaos.csv"
    echo "wall time: $(elapsed "$started") s"
    render_png "$images/mnist-chaos-loss.svg"
    render_png "$images/mnist-chaos-hypergradient.svg"
    ;;
chaos)
    started=$(now)
    "$rewind" sweep examples/chaos.json --from "${FROM:--1}" --to "${TO:-2.5}" --points "${POINTS:-200}" \
        --svg "$images/chaos" > "$results/chaos.csv"
    echo "wall time: $(elapsed "$started") s"
    render_png "$images/chaos-loss.svg"
    render_png "$images/chaos-hypergradient.svg"
    ;;
*)
    echo "unknown example: $example (schedules, schedules-long, held-out, lenet-schedules, per-weight-l2, distillation, chaos, mnist-schedules, mnist-per-weight-l2, mnist-distillation, mnist-chaos, optimizers-*)" >&2
    exit 2
    ;;
esac

#!/usr/bin/env bash
# Fuzzes a real `rewind serve` against its own /openapi.json with Schemathesis (PyPI), bounded in
# examples and time: no response may be a 5xx, and every status, content type, header and body
# must be one the document describes. The operations on a job meet real jobs: the script seeds a
# few before fuzzing (see fuzz-openapi.toml), and the stateful phase follows the document's links
# from the jobs the fuzzer submits.
#
# Schemathesis lives in a virtual environment, .venv-fuzz (gitignored), made on first use; its
# version is pinned, so that a seed replays the same cases.
#
# Usage: scripts/fuzz-openapi.sh [MAX_EXAMPLES] [MAX_SECONDS]     (defaults: 25 and 300; the fuzzing
# phase stops after about MAX_SECONDS, the whole run is cut at twice that plus a minute)
set -euo pipefail
shopt -s inherit_errexit

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
examples="${1:-25}"
seconds="${2:-300}"
venv="$root/.venv-fuzz"
# shellcheck source=scripts/loopback-serve.sh
source "$root/scripts/loopback-serve.sh"

schemathesis_version="4.32.5"
if [[ ! -x "$venv/bin/st" ]] || [[ "$("$venv/bin/st" --version 2>/dev/null)" != *" $schemathesis_version"* ]]; then
    echo "Installing schemathesis $schemathesis_version into $venv..."
    [[ -x "$venv/bin/pip" ]] || python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==$schemathesis_version"
fi

# The release binary users run, built with the flags of .ci/run's release build (so CI reuses it):
# a debug build spends about 10 s of Schemathesis's response-time limit formatting the 284 MB
# download of the built-in mnist, the release build about 5 s.
echo "Building rewind (release)..."
build=(swift build --package-path "$root" -c release -Xswiftc -warnings-as-errors)
"${build[@]}" --product rewind >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
binary="$("${build[@]}" --show-bin-path)/rewind"

echo "Starting rewind serve on loopback..."
start_loopback_serve "$binary" --workers 1 --max-queued 100000 --job-memory-mb 256 \
    --submission-burst 1000000 --submissions-per-second 1000000

# Jobs to fuzz against, each of a few seconds on digits: succeeded, cancelled (a longer one,
# cancelled as soon as it is queued) and failed (a learning rate that diverges), twice: once for
# every operation, once more for DELETE to remove.
echo "Seeding jobs..."
tiny='"dataset": {"name": "digits"}, "split": {"train": 20, "validation": 10}, "model": {"hidden": [4]}'
succeeds="{\"name\": \"fuzz: succeeds\", $tiny, \"training\": {\"iterations\": 5}, \"meta\": {\"iterations\": 1}}"
cancelled="{\"name\": \"fuzz: cancelled\", $tiny, \"training\": {\"iterations\": 1000}, \"meta\": {\"iterations\": 100}}"
fails="{\"name\": \"fuzz: fails\", $tiny, \"training\": {\"iterations\": 100}, \"meta\": {\"iterations\": 1},
    \"hyperparameters\": {\"learning_rate\": {\"init\": 1000}, \"momentum\": {\"init\": 0.000001}}}"
field() { "$venv/bin/python" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
submit() { curl -sS --fail-with-body -H 'Content-Type: application/json' --data "$1" "$base/v1/jobs" | field id; }
seed() {
    local succeeded cancel failed
    succeeded="$(submit "$succeeds")"
    cancel="$(submit "$cancelled")"
    curl -sS --fail-with-body -X POST "$base/v1/jobs/$cancel/cancel" >/dev/null
    failed="$(submit "$fails")"
    echo "$succeeded $cancel $failed"
}
seeded="$(seed)"
read -r -a jobs <<<"$seeded"
seeded="$(seed)"
read -r -a deletable <<<"$seeded"
expected=(succeeded cancelled failed succeeded cancelled failed)
all=("${jobs[@]}" "${deletable[@]}")
for i in "${!all[@]}"; do
    for _ in $(seq 600); do
        state="$(curl -sS "$base/v1/jobs/${all[$i]}" | field status)"
        [[ "$state" == "${expected[$i]}" ]] && break
        [[ "$state" == queued || "$state" == running ]] || { echo "seed job ${all[$i]} is $state, not ${expected[$i]}" >&2; exit 1; }
        sleep 0.2
    done
    [[ "$state" == "${expected[$i]}" ]] || { echo "seed job ${all[$i]} still $state after 2 minutes" >&2; exit 1; }
done
config="$work/fuzz-openapi.toml"
cp "$root/scripts/fuzz-openapi.toml" "$config"
printf '"%s"\n' "${jobs[@]}" >"$work/jobs.dict"
printf '"%s"\n' "${deletable[@]}" >"$work/deletable-jobs.dict"

echo "Fuzzing $base/openapi.json ($examples examples per operation, at most $seconds s)..."
# Every check on every documented operation: job submissions are not rate-limited (the settings
# above lift the submission and queue limits), so the fuzzer reaches the spec's validation. What
# the schema cannot say about stored state, and the seeded jobs, are in fuzz-openapi.toml.
status=0
timeout --signal=INT "$((2 * seconds + 60))" "$venv/bin/st" --config-file "$config" run "$base/openapi.json" \
    --checks all \
    --max-examples "$examples" --seed 1 --workers 1 --request-timeout 30 --max-time "$seconds" \
    --suppress-health-check all --phases examples,coverage,fuzzing,stateful || status=$?
if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the server died during the run:" >&2
    tail -50 "$work/stderr" >&2
    exit 1
fi
exit "$status"

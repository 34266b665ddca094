#!/usr/bin/env bash
# Fuzzes a real `rewind serve` against its own /openapi.json with Schemathesis (PyPI), bounded in
# examples and time: no response may be a 5xx, and every status, content type, header and body
# must be one the document describes.
#
# Schemathesis lives in a virtual environment, .venv-fuzz (gitignored), made on first use.
#
# Usage: scripts/fuzz-openapi.sh [MAX_EXAMPLES] [MAX_SECONDS]     (defaults: 25 and 300; the fuzzing
# phase stops after about MAX_SECONDS, the whole run is cut at twice that plus a minute)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
examples="${1:-25}"
seconds="${2:-300}"
venv="$root/.venv-fuzz"
# shellcheck source=scripts/loopback-serve.sh
source "$root/scripts/loopback-serve.sh"

if [[ ! -x "$venv/bin/st" ]]; then
    echo "Creating $venv with schemathesis..."
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'schemathesis>=4,<5'
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

echo "Fuzzing $base/openapi.json ($examples examples per operation, at most $seconds s)..."
# Every check on every documented operation: job submissions are not rate-limited (the settings
# above lift the submission and queue limits), so the fuzzer reaches the spec's validation. What
# the schema cannot say about stored state is in fuzz-openapi.toml.
status=0
timeout --signal=INT "$((2 * seconds + 60))" "$venv/bin/st" --config-file "$root/scripts/fuzz-openapi.toml" run "$base/openapi.json" \
    --checks all \
    --max-examples "$examples" --seed 1 --workers 1 --request-timeout 30 --max-time "$seconds" \
    --suppress-health-check all --phases examples,coverage,fuzzing || status=$?
if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the server died during the run:" >&2
    tail -50 "$work/stderr" >&2
    exit 1
fi
exit "$status"

#!/usr/bin/env bash
# Starts `rewind serve` on a free loopback port with a temporary database, runs the examples
# of docs/experiments.md through it, and stops it again. Output: a temporary folder, or with
# --update-results examples/results/ and docs/images/.
set -euo pipefail
cd "$(dirname "$0")/.."

export OPENBLAS_NUM_THREADS=1
export REWIND=${REWIND:-"$(swift build -c release --show-bin-path)/rewind"}
workdir=$(mktemp -d)
"$REWIND" serve --port 0 --database "$workdir/rewind.sqlite" --workers 1 > "$workdir/serve.out" 2> "$workdir/serve.log" &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null; rm -rf "$workdir"' EXIT

# The first line of stdout names the port it picked; give it up to 10 s.
for _ in $(seq 100); do
    if grep -q '^listening on ' "$workdir/serve.out"; then break; fi
    sleep 0.1
done
export REWIND_URL=$(sed -n 's/^listening on //p' "$workdir/serve.out" | head -1)
[ -n "$REWIND_URL" ] || { echo "the service did not start:" >&2; cat "$workdir/serve.log" >&2; exit 1; }
echo "service at $REWIND_URL"

for example in ${EXAMPLES:-schedules schedules-long held-out per-weight-l2 distillation chaos}; do
    echo "== $example"
    scripts/run-example.sh "$example" "$@"
done

#!/usr/bin/env bash
# Checks that the Swift sources are formatted as .swift-format says (line length 120), without
# changing them; exits non-zero and lists the first findings when they are not. `make format`
# rewrites them in place. Uses `swift format`, which ships with the toolchain.
set -euo pipefail
cd "$(dirname "$0")/.."
paths=(Package.swift Sources Tests Plugins)
if ! swift format --version >/dev/null 2>&1; then
    echo "check-format: swift format is not available in this toolchain" >&2
    exit 2
fi
output=$(swift format lint --strict --recursive --parallel "${paths[@]}" 2>&1) && status=0 || status=$?
if [ "$status" -ne 0 ]; then
    echo "$output" | head -50
    echo "check-format: $(echo "$output" | grep -c 'warning\|error') findings; run \`make format\` to fix them" >&2
    exit 1
fi
echo "check-format: formatted as .swift-format says"

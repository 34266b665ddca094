#!/usr/bin/env bash
# Validates the OpenAPI document served at /openapi.json with openapi-spec-validator (PyPI), in a
# throwaway virtual environment so nothing is installed on the machine.
#
# The document is written out by the test `writesTheDocumentWhereTheValidationScriptAsks`, which
# runs only when REWIND_OPENAPI_OUT is set: that checks the string the server really serves, not a
# copy extracted from the source.
#
# Usage: scripts/validate-openapi.sh        (from anywhere; needs python3 and the Swift toolchain)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "Creating a virtual environment with openapi-spec-validator..."
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet 'openapi-spec-validator>=0.7,<1'

echo "Writing the document..."
REWIND_OPENAPI_OUT="$work/openapi.json" swift test --package-path "$root" \
    --filter 'OpenAPIDocumentTests/writesTheDocumentWhereTheValidationScriptAsks' >"$work/test.log" 2>&1 || {
    cat "$work/test.log" >&2
    exit 1
}
if [[ ! -s "$work/openapi.json" ]]; then
    echo "the test did not write the document; its output:" >&2
    cat "$work/test.log" >&2
    exit 1
fi

echo "Validating..."
"$work/venv/bin/openapi-spec-validator" "$work/openapi.json"

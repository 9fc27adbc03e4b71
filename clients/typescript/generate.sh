#!/usr/bin/env bash
# Regenerates the TypeScript client's types from the OpenAPI document the app serves (`make client` runs it).
#
#   bash clients/typescript/generate.sh [OUT_DIR]
#
# Writes OUT_DIR/openapi.json (the document, keys sorted, indented) and OUT_DIR/src/schema.d.ts (its types, by
# openapi-typescript). OUT_DIR defaults to clients/typescript itself; the tests pass a temporary directory and
# compare what it holds with the committed files.
#
# The document comes from the app through Flask's test client (`spinledger openapi`): no server runs. It needs a
# PostgreSQL, found as every one-shot spinledger command finds it: DATABASE_URL, else make run's embedded one.
# PYTHON is the interpreter of the project's virtual environment (default: .venv/bin/python at the root).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$(mkdir -p "${1:-$here}" && cd "${1:-$here}" && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"

cd "$here"
if [ ! -d node_modules ]; then
  npm ci --no-audit --no-fund
fi

mkdir -p "$out/src"
"$python" -m app.cli openapi "$out/openapi.json"
# --default-non-nullable false: a request field with a default (expires_at, issued_at, test, ...) stays optional.
./node_modules/.bin/openapi-typescript "$out/openapi.json" --default-non-nullable false -o "$out/src/schema.d.ts" >/dev/null
echo "generated $out/openapi.json and $out/src/schema.d.ts"

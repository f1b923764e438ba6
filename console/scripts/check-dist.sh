#!/usr/bin/env bash
# Check that the committed console/dist is what the sources build to: build into a scratch
# directory and compare byte for byte. Needs `npm ci` first. Exits 1 naming the differences.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
npx vue-tsc --noEmit -p tsconfig.json
npx vite build --logLevel warn --outDir "$out" --emptyOutDir
if ! diff -r dist "$out"; then
  echo "console/dist is not what the sources build to: run npm run build in console/ and commit dist" >&2
  exit 1
fi
echo "console/dist is up to date"

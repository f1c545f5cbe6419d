#!/usr/bin/env bash
# The new user's path, from the packed tarball: install it with its peers into an empty
# application, then run examples/http-service.ts there (rate-limit middleware, errors mapped to
# HTTP, health routes on one router, real HTTP on loopback). Needs `npm run build` first.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
app="$(mktemp -d)"
trap 'rm -rf "$app"' EXIT
tarball="$(cd "$root" && npm pack --silent --pack-destination "$app" | tail -n 1)"
cd "$app"
npm init -y >/dev/null
npm pkg set type=module >/dev/null
peers="$(node -e 'const d = require(process.argv[1]).devDependencies; console.log(`effect@${d.effect} @effect/platform-node@${d["@effect/platform-node"]}`)' "$root/package.json")"
npm install --no-audit --no-fund --loglevel=error "./$tarball" $peers >/dev/null
cp "$root/examples/http-service.ts" .
output="$(node --import "$root/node_modules/tsx/dist/esm/index.mjs" http-service.ts)"
echo "$output"
echo "$output" | grep -q " 429 " || { echo "check-package: the example did not reach its 429"; exit 1; }
echo "check-package: installed from $tarball and ran the HTTP example"

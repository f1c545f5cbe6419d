#!/usr/bin/env bash
# Runs every file in examples/ and fails on the first that fails. Each example is a small,
# self-contained program that exits by itself.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
for example in examples/*.ts; do
  echo "=== $example"
  timeout 120 npx --no-install tsx "$example"
done

#!/usr/bin/env bash
# The quickstart: on a fresh Debian machine with Node 20, installs what is missing (qemu-utils,
# npm packages), builds guts, makes a sample VM (an OVA with two disks of real data) and migrates it
# to local qcow2 files with examples/quickstart.yaml. guts verifies each disk with `qemu-img compare`;
# this script compares them once more itself, so you can see the proof.
#   GUTS_BIN=dist/guts  run with the single binary instead of ./bin/run.js
#   SKIP_INSTALL=1      do not run apt-get / npm ci / build (CI already did)
set -euo pipefail
cd "$(dirname "$0")/.."
GUTS_BIN=${GUTS_BIN:-./bin/run.js}
EX=examples/quickstart

if [ -z "${SKIP_INSTALL:-}" ]; then
  bash scripts/ensure-tools.sh
  [ -d node_modules ] || npm ci --no-audit --no-fund
  npm run build --silent
fi

echo "Making the sample VM ($EX/sample.ova)…"
rm -rf "$EX/out"
node scripts/make-sample-ova.mjs "$EX/sample.ova"

echo "Migrating with: guts migrate $EX/../quickstart.yaml"
"$GUTS_BIN" migrate examples/quickstart.yaml

echo "Checking the result with qemu-img compare…"
node scripts/compare-quickstart.mjs "$EX/sample.ova" "$EX/out"

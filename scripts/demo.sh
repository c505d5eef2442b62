#!/usr/bin/env bash
# The action's main job on an embedded default: loopback registries, a seeded multi-arch image,
# and the bundled action retagging and promoting it, then mirroring its release tags (twice: the
# re-run finds them up to date). Prints the log, the outputs and the Markdown job summary.
# Nothing external.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-peers.sh docker-registry
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -f dist/index.js ] || npm run --silent build >/dev/null
npx ncc build testbed/demo.ts -o .build/demo -q
node .build/demo/index.js

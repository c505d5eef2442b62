#!/usr/bin/env bash
# npm run bench: installs the peers if missing, builds the bundle, then runs bench/bench.ts (both
# tools on the same loopback registries, printing medians, ratios and targets). BENCH_ROUNDS=N
# sets the rounds of scenario 1 (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-peers.sh docker-registry skopeo umoci htpasswd curl /usr/bin/time
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build >/dev/null
npx ncc build bench/bench.ts -o .build/bench -q
node .build/bench/index.js

#!/usr/bin/env bash
# npm run bench: installs the peers if missing, builds the bundle (unless BENCH_ACTION names
# another one), then runs bench/bench.ts: each figure of the speed issue beside its goal, against
# bounds measured in the same run. BENCH_SCENARIOS=1,3 (or index,relay,…) runs only those;
# BENCH_ROUNDS=N sets the rounds of the big copy (default 5).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-peers.sh docker-registry skopeo umoci htpasswd curl /usr/bin/time
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -n "${BENCH_ACTION:-}" ] || npm run --silent build >/dev/null
npx ncc build bench/bench.ts -o .build/bench -q --transpile-only
node .build/bench/index.js

#!/usr/bin/env bash
# npm run bench: installs the peers if missing, builds the bundle (unless BENCH_ACTION names
# another one), then runs bench/bench.ts: each figure of the speed issue beside its goal, against
# bounds measured in the same run. BENCH_SCENARIOS=1,3 (or index,relay,…) runs only those;
# BENCH_ROUNDS=N sets the rounds of the big copy (default 5), BENCH_FEW=N those of the others.
# Node 24, which the action runs on, is timed beside this Node: BENCH_NODE24=path names one,
# otherwise one is installed under .build/node24 (BENCH_NODE24=off: not timed).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-peers.sh docker-registry skopeo umoci htpasswd curl /usr/bin/time
[ -d node_modules ] || npm ci --no-audit --no-fund
[ -n "${BENCH_ACTION:-}" ] || npm run --silent build >/dev/null
if [ -z "${BENCH_NODE24:-}" ]; then
  [ -x .build/node24/node_modules/.bin/node ] ||
    (mkdir -p .build/node24 && cd .build/node24 && echo '{"private": true}' >package.json &&
      npm install --no-audit --no-fund --silent node@24 >/dev/null)
  export BENCH_NODE24="$PWD/.build/node24/node_modules/.bin/node"
fi
npx ncc build bench/bench.ts -o .build/bench -q --transpile-only
node .build/bench/index.js

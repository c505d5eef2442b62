#!/usr/bin/env bash
# The whole test suite: installs its peers if missing, rebuilds the bundle the action tests run,
# runs jest, and closes with a plain "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-peers.sh
[ -d node_modules ] || npm ci --no-audit --no-fund
npm run --silent build >/dev/null

mkdir -p .build
# A report left by an earlier run must never be read as this run's.
rm -f .build/jest.json
status=0
NODE_OPTIONS=--experimental-vm-modules npx jest --json --outputFile=.build/jest.json "$@" || status=$?
if [ ! -f .build/jest.json ]; then
  echo "jest ended (exit $status) without writing a report" >&2
  echo "0 passed, 1 failed"
  exit $(( status == 0 ? 1 : status ))
fi
node -e '
  const r = JSON.parse(require("fs").readFileSync(".build/jest.json", "utf8"));
  const failed = r.numFailedTests + r.numRuntimeErrorTestSuites;
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ""));
'
exit $status

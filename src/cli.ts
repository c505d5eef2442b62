#!/usr/bin/env node
/** The `oci-push` command (package.json `bin`, bundled into dist/cli/ by ncc). */
import { main } from './cli/main.js'
import { tuneV8 } from './v8-tuning.js'

tuneV8()

void main({
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
  // Opened only when a password is read from it.
  stdin: () => process.stdin,
  stdout: process.stdout,
  stderr: process.stderr
}).then((status) => {
  process.exitCode = status
})

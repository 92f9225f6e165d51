// Runs before install, start and test, on whatever Node the user has: one readable line instead of
// a stack trace from a dependency when Node is too old. Plain CommonJS so even old Node parses it.
'use strict'
var parts = process.versions.node.split('.').map(Number)
var ok = parts[0] > 22 || (parts[0] === 22 && parts[1] >= 12)
if (!ok) {
  process.stderr.write(
    'vellab needs Node >= 22.12 (this is Node ' +
      process.versions.node +
      '). ' +
      "Run it with Node 24 from the npm registry: npx -y -p node@24 -p pnpm@12.21.0 -c 'pnpm install && pnpm start'\n",
  )
  process.exit(1)
}

import { migrateCommand, reconcileCommand, simCommand } from './commands/misc'
import { killSwitchCommand, statusCommand } from './commands/operator'
import { startCommand } from './commands/start'

const USAGE = `vellab — the Vellab reference runner

Usage: vellab <command> [options]

Commands:
  start         run a trading session (sim mode by default) and print its summary
  migrate       bring the state database's tables up to date
  kill-switch   engage | release | list kill switches of a running runner
  status        readiness and key numbers of a running runner
  sim           start the KIS simulator on its own
  reconcile     one reconciliation pass of the local books against the broker's

Run "vellab <command> --help" for a command's options.
`

const [command, ...args] = process.argv.slice(2)
const commands: Record<string, (args: readonly string[]) => Promise<number>> = {
  start: startCommand,
  migrate: migrateCommand,
  'kill-switch': killSwitchCommand,
  status: statusCommand,
  sim: simCommand,
  reconcile: reconcileCommand,
}

async function main(): Promise<number> {
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE)
    return command ? 0 : 2
  }
  const handler = commands[command]
  if (!handler) {
    process.stderr.write(`vellab: unknown command "${command}"\n\n${USAGE}`)
    return 2
  }
  return handler(args)
}

try {
  process.exitCode = await main()
} catch (err) {
  // One readable line; the stack only when asked for (VELLAB_DEBUG=1).
  const detail =
    err instanceof Error ? (process.env.VELLAB_DEBUG ? (err.stack ?? err.message) : err.message) : String(err)
  const cause = err instanceof Error && err.cause instanceof Error ? ` (cause: ${err.cause.message})` : ''
  console.error(`vellab: ${detail}${cause}`)
  process.exitCode = 1
}
// A session leaves nothing running; exit even if a library left a handle open.
if (command === 'start') process.exit(process.exitCode)

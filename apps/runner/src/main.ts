// `pnpm start`: the same as `vellab start` (kept as the build's entry for the README command).
import { startCommand } from './commands/start'

try {
  process.exit(await startCommand(process.argv.slice(2)))
} catch (err) {
  const detail =
    err instanceof Error ? (process.env.VELLAB_DEBUG ? (err.stack ?? err.message) : err.message) : String(err)
  const cause = err instanceof Error && err.cause instanceof Error ? ` (cause: ${err.cause.message})` : ''
  console.error(`runner failed: ${detail}${cause}`)
  process.exit(1)
}

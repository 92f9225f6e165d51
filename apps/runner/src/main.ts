import { loadOperatorToken, loadRunnerConfig } from './config'
import { run } from './run'
import { formatSummary } from './summary'

const json = process.argv.includes('--json')

// With --json, progress goes to stderr so stdout holds the report alone.
const log = (line: string) =>
  (json ? console.error : console.log)(`${new Date().toISOString().slice(11, 23)} ${line}`)

const controller = new AbortController()
const stop = () => {
  if (!controller.signal.aborted) log('stop requested: draining')
  controller.abort()
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)

try {
  const operatorToken = loadOperatorToken()
  const report = await run(loadRunnerConfig(), {
    log,
    signal: controller.signal,
    ...(operatorToken ? { operatorToken } : {}),
  })
  console.log(json ? JSON.stringify(report, null, 2) : formatSummary(report))
  process.exit(report.checks.every((c) => c.ok) ? 0 : 1)
} catch (err) {
  // One readable line; the stack only when asked for (VELLAB_DEBUG=1).
  const detail =
    err instanceof Error ? (process.env.VELLAB_DEBUG ? (err.stack ?? err.message) : err.message) : String(err)
  const cause = err instanceof Error && err.cause instanceof Error ? ` (cause: ${err.cause.message})` : ''
  console.error(`runner failed: ${detail}${cause}`)
  process.exit(1)
}

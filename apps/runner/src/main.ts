import { loadRunnerConfig } from './config'
import { run } from './run'

const log = (line: string) => console.log(`${new Date().toISOString().slice(11, 23)} ${line}`)

const controller = new AbortController()
const stop = () => {
  if (!controller.signal.aborted) log('stop requested: draining')
  controller.abort()
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)

try {
  const report = await run(loadRunnerConfig(), { log, signal: controller.signal })
  console.log(JSON.stringify(report, null, 2))
  const failed = report.checks.filter((c) => !c.ok)
  for (const c of failed) log(`CHECK FAILED: ${c.name}: ${c.detail}`)
  process.exit(failed.length ? 1 : 0)
} catch (err) {
  console.error(`runner failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  process.exit(1)
}

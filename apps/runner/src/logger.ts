import pino from 'pino'

/** The runner's log: one call per line of progress, every known secret scrubbed before it is written. */
export interface RunnerLog {
  (line: string): void
  /** A value that must never be written (app key and secret, operator token, database password). */
  secret(value: string): void
}

/**
 * `text` (the default, for people): `HH:MM:SS.mmm line`. `json` (for log shippers): one pino record
 * per line (`level`, `time`, `msg`). The runner logs lines, not objects, so redaction is by value:
 * in both formats every registered secret is replaced by `[REDACTED]` before the line is written.
 */
export function createRunnerLog(options: {
  format: 'text' | 'json'
  toStderr?: boolean
  /** Where lines go instead of stdout/stderr (tests). */
  destination?: { write(chunk: string): unknown }
}): RunnerLog {
  const secrets = new Set<string>()
  const scrub = (line: string): string => {
    let out = line
    for (const s of secrets) out = out.split(s).join('[REDACTED]')
    return out
  }
  const fd = options.toStderr ? 2 : 1
  const logger =
    options.format === 'json'
      ? pino({ base: { app: 'vellab-runner' } }, options.destination ?? pino.destination({ fd, sync: true }))
      : undefined
  const dest = options.destination
  const write = dest ? (l: string) => dest.write(`${l}\n`) : fd === 2 ? console.error : console.log
  const log = ((line: string) => {
    const clean = scrub(line)
    if (logger) logger.info(clean)
    else write(`${new Date().toISOString().slice(11, 23)} ${clean}`)
  }) as RunnerLog
  log.secret = (value: string) => {
    // Very short values would scrub ordinary words; secrets are long.
    if (value.length >= 6) secrets.add(value)
  }
  return log
}

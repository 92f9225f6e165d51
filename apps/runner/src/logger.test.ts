import { describe, expect, it } from 'vitest'
import { createRunnerLog } from './logger'

describe('createRunnerLog', () => {
  const capture = () => {
    const lines: string[] = []
    return { lines, destination: { write: (c: string) => lines.push(...c.split('\n').filter(Boolean)) } }
  }

  it('text: a time and the line, with every registered secret scrubbed', () => {
    const { lines, destination } = capture()
    const log = createRunnerLog({ format: 'text', destination })
    log.secret('PSsecret-app-key-123456')
    log.secret('abc') // too short to be a secret: never scrubbed from ordinary words
    log(`token request for PSsecret-app-key-123456 failed; abc`)
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} token request for \[REDACTED\] failed; abc$/)
  })

  it('json: one pino record per line, the message scrubbed', () => {
    const { lines, destination } = capture()
    const log = createRunnerLog({ format: 'json', destination })
    log.secret('operator-token-0123456789')
    log('kill switch engaged with operator-token-0123456789')
    const rec = JSON.parse(lines[0]!) as Record<string, unknown>
    expect(rec).toMatchObject({ level: 30, app: 'vellab-runner', msg: 'kill switch engaged with [REDACTED]' })
    expect(typeof rec.time).toBe('number')
    expect(lines[0]).not.toContain('operator-token-0123456789')
  })
})

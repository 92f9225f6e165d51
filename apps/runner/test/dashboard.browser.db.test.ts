import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createTestDatabase, type TestDatabase } from '@vellab/testkit/postgres'
import { waitUntil } from '@vellab/testkit/wait'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadRunnerConfig } from '../src/config'
import { run } from '../src/run'

// (Page-side predicates are strings: this file is type-checked without the DOM library.)
// The dashboard as an operator sees it: Debian's chromium (no browser download) driven by
// playwright-core against a live sim session. The screenshot is kept as a test artifact.
const CHROMIUM = process.env.VELLAB_CHROMIUM ?? '/usr/bin/chromium'
const ARTIFACTS = join(import.meta.dirname, '..', 'test-artifacts')
const OPERATOR_TOKEN = 'dashboard-operator-token-0123'

describe('reliability dashboard in headless Chromium', () => {
  let db: TestDatabase
  beforeAll(async () => {
    db = await createTestDatabase()
  })
  afterAll(async () => db?.drop())

  it.skipIf(!existsSync(CHROMIUM))(
    'shows live numbers and engages the kill switch from the page',
    async () => {
      let url = ''
      const config = { ...loadRunnerConfig({}), databaseUrl: db.url, runSeconds: 8, decisionIntervalMs: 200 }
      const session = run(config, {
        log: () => {},
        operatorToken: OPERATOR_TOKEN,
        onHttp: (u) => {
          url = u
        },
      })
      await waitUntil('operator HTTP', () => url !== '', 15_000)
      const profile = mkdtempSync(join(tmpdir(), 'vellab-chromium-'))
      // A fresh profile; no background networking (this machine's network is closed).
      const browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        viewport: { width: 1280, height: 820 },
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      })
      try {
        const page = await browser.newPage()
        await page.goto(url)
        await page.waitForFunction("Number(document.getElementById('sent')?.textContent) > 0", undefined, {
          timeout: 15_000,
        })
        expect(await page.textContent('#ready')).toBe('READY')
        expect(await page.textContent('#states')).toMatch(/FILLED|ACKED/)
        // The operator engages the global kill switch from the page.
        await page.fill('#token', OPERATOR_TOKEN)
        await page.fill('#operator', 'dashboard-test')
        await page.click('#engage')
        await page.waitForFunction("document.getElementById('ksmsg')?.textContent === 'engaged'")
        await page.waitForFunction(
          "document.getElementById('switches')?.textContent?.includes('ENGAGED global')",
        )
        expect(await page.textContent('#ready')).toBe('NOT READY')
        mkdirSync(ARTIFACTS, { recursive: true })
        await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true })
        // The token typed into the page is not echoed anywhere on it.
        expect(await page.content()).not.toContain(OPERATOR_TOKEN)
      } finally {
        await browser.close()
        rmSync(profile, { recursive: true, force: true })
        // Never leave the session running on a database the suite is about to drop.
        await session.catch(() => undefined)
      }
      const report = await session
      expect(report.stats.riskRejects.KILL_SWITCH_ENGAGED ?? 0).toBeGreaterThan(0)
    },
    60_000,
  )
})

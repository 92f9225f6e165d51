import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createDemoQuoter } from './demo-quoter'
import { loadStrategy, StrategyLoadError, validateStrategy } from './strategy'

const init = { symbols: ['005930'], quantity: 1, params: {} }
const builtIns = { 'demo-quoter': createDemoQuoter }

/** A module file in a fresh directory, for the loader to import. */
function moduleFile(source: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vellab-strategy-'))
  const file = join(dir, 'strategy.mjs')
  writeFileSync(file, source)
  return file
}

describe('loadStrategy', () => {
  it('gives the built-in demo quoter by name', async () => {
    expect((await loadStrategy('demo-quoter', init, builtIns)).id).toBe('demo-quoter')
  })

  it('loads a module by path (relative to the working directory) through its default or createStrategy export', async () => {
    const a = moduleFile(`export default (init) => ({ id: 'a-' + init.symbols[0], onDecision() {} })`)
    expect((await loadStrategy(a, init, builtIns)).id).toBe('a-005930')
    const b = moduleFile(
      `export function createStrategy(init) { return { id: 'b', params: init.params, onDecision() {} } }`,
    )
    const dir = join(b, '..')
    expect((await loadStrategy('./strategy.mjs', { ...init, params: { k: 1 } }, builtIns, dir)).id).toBe('b')
  })

  it.each([
    ['export const x = 1', /exports no factory/],
    ['export default () => { throw new Error("boom") }', /its factory threw: boom/],
    ['export default () => ({ id: "has space", onDecision() {} })', /id must be 1-32 letters/],
    ['export default () => ({ id: "ok" })', /onDecision is not a function/],
    ['export default () => ({ id: "ok", onDecision() {}, onTick: 3 })', /onTick is not a function/],
    ['export default () => null', /returned no object/],
    ['this is not javascript', /could not be loaded/],
  ])('refuses %j with a StrategyLoadError naming what is wrong', async (source, message) => {
    const err = await loadStrategy(moduleFile(source), init, builtIns).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StrategyLoadError)
    expect((err as Error).message).toMatch(message)
  })

  it('validates what a built-in returns too', () => {
    expect(() => validateStrategy({ id: 'x'.repeat(33), onDecision() {} }, 'test')).toThrow(/1-32/)
  })

  it('the demo quoter refuses a parent lifetime that is not a positive integer', () => {
    expect(() => createDemoQuoter({ ...init, params: { parentTtlMs: -5 } })).toThrow(/parentTtlMs/)
  })
})

import { createKisSim, type KisSim } from '@vellab/kis-sim'
import { afterEach, describe, expect, it } from 'vitest'
import { fetchKisStockMaster } from '../src/master'

// The master files as a separately written simulator serves them over HTTP, read by the adapter's
// parser: a misreading of KIS's layout on either side fails here.

let sim: KisSim | undefined
afterEach(async () => {
  await sim?.close()
  sim = undefined
})

describe('fetchKisStockMaster against kis-sim', () => {
  it('reads every listed symbol of each market with its name, base price and flags', async () => {
    sim = await createKisSim({ clock: { mode: 'manual', start: '2026-11-24 08:00:00' } })
    sim.control.setSymbol('000660', { halted: true, warning: '02', shortOverheated: true })
    // A name with syllables outside KS X 1001 (CP949's extension, which Node cannot decode).
    sim.control.addSymbol({ code: '900010', name: '똠방각하힣', basePrice: 1_000, market: 'KOSDAQ' })
    const url = (m: string) => `${sim!.restUrl}/common/master/${m}_code.mst.zip`
    const kospi = await fetchKisStockMaster('KOSPI', { url: url('kospi') })
    const kosdaq = await fetchKisStockMaster('KOSDAQ', { url: url('kosdaq') })

    const quote = (code: string) => sim!.control.quote(code)
    const listed = ['005930', '000660', '035720', '005380', '373220', '069500', '003490', '000020']
    expect(kospi.map((r) => r.symbol)).toEqual([...listed].sort())
    expect(kosdaq.map((r) => r.symbol)).toEqual(['247540', '900010'])
    expect(kosdaq[1]?.name).toBe('똠방각하힣')
    for (const r of [...kospi, ...kosdaq]) {
      expect(r.name).toBe(quote(r.symbol).name)
      expect(r.basePrice).toBe(quote(r.symbol).base)
    }
    const samsung = kospi.find((r) => r.symbol === '005930')!
    expect(samsung).toMatchObject({ name: '삼성전자', kind: 'stock', indexConstituent: true, halted: false })
    expect(kospi.find((r) => r.symbol === '069500')).toMatchObject({ kind: 'etf', groupCode: 'EF' })
    expect(kospi.find((r) => r.symbol === '000020')?.indexConstituent).toBe(false)
    expect(kospi.find((r) => r.symbol === '000660')).toMatchObject({
      halted: true,
      marketWarning: '02',
      shortSaleOverheated: true,
    })
    expect(kosdaq[0]).toMatchObject({ name: '에코프로비엠', market: 'KOSDAQ', indexConstituent: false })
  })

  it('refuses what is not a master zip with a typed error', async () => {
    sim = await createKisSim({ clock: { mode: 'manual', start: '2026-11-24 08:00:00' } })
    await expect(
      fetchKisStockMaster('KOSPI', { url: `${sim.restUrl}/common/master/nope.zip` }),
    ).rejects.toMatchObject({ code: 'KIS_MASTER_MALFORMED' })
  })
})

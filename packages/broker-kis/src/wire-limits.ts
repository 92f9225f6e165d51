// Field lengths of the request fields we fill from caller values (reference §4.1 order-cash and
// §4.2 order-rvsecncl tables: ORD_QTY 10, ORD_UNPR 19, PDNO 12, ORGN_ODNO 10). A value that does
// not fit is refused by KIS (e.g. APBK0918 for an 11-digit ORD_QTY) after it has cost a request and
// an order slot; refusing it here costs nothing and tells the caller exactly what is wrong.
const MAX_LENGTH: Readonly<Record<string, number>> = {
  ORD_QTY: 10,
  ORD_UNPR: 19,
  PDNO: 12,
  ORGN_ODNO: 10,
}

/** The first field of `fields` whose string value is longer than KIS accepts, or undefined. */
export function oversizeField(
  fields: Readonly<Record<string, unknown>>,
): { name: string; length: number; max: number } | undefined {
  for (const [name, max] of Object.entries(MAX_LENGTH)) {
    const v = fields[name]
    if (typeof v === 'string' && v.length > max) return { name, length: v.length, max }
  }
  return undefined
}

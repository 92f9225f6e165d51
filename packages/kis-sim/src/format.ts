/** Wire formatting: reference/kis-openapi.md §9 "All REST values are JSON strings". */

/** An integer as a plain string (negative values keep their `-`). */
export function int(n: number): string {
  return String(Math.round(n))
}

/** A decimal with fixed places, e.g. rates `"0.83"`. */
export function dec(n: number, places = 2): string {
  if (!Number.isFinite(n)) return (0).toFixed(places)
  return n.toFixed(places)
}

/** prdy_vrss_sign / PRDY_VRSS_SIGN: 1 상한, 2 상승, 3 보합, 4 하한, 5 하락 (reference §4.7). */
export function sign(price: number, base: number, upper: number, lower: number): string {
  if (price >= upper && price > base) return '1'
  if (price <= lower && price < base) return '4'
  if (price > base) return '2'
  if (price < base) return '5'
  return '3'
}

/** Percentage change vs base, two decimals. */
export function pct(price: number, base: number): string {
  return base === 0 ? '0.00' : dec(((price - base) / base) * 100, 2)
}

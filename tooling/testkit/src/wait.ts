/**
 * Poll (real time, every 20 ms) until `probe` returns something other than `undefined`/`false`,
 * and return it; throw after `timeoutMs`. For tests that wait on real sockets or servers, where
 * a fixed sleep would be both slow and flaky.
 */
export async function waitUntil<T>(
  what: string,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== false) return v as T
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

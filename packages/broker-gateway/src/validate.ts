import type { z } from 'zod'
import { BrokerError } from './errors'

/**
 * One readable line per problem, e.g. `quantity: quantity must be at least 1 share`.
 */
export function describeIssues(error: z.ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join('.')}: ${i.message}` : i.message)).join('; ')
}

/**
 * Parse `value` with `schema`, or throw a `BrokerError` of kind `invalid_request` (for our own
 * requests) or `protocol` (for what a broker sent us) that lists every problem.
 */
export function parseOrThrow<S extends z.ZodType>(
  schema: S,
  value: unknown,
  options: { kind?: 'invalid_request' | 'protocol'; operation?: string } = {},
): z.output<S> {
  const r = schema.safeParse(value)
  if (r.success) return r.data
  throw new BrokerError(options.kind ?? 'invalid_request', describeIssues(r.error), {
    ...(options.operation ? { operation: options.operation } : {}),
    cause: r.error,
  })
}

import { z } from 'zod'

/** How hard a parent pushes: where its children are priced relative to the market. */
export const UrgencySchema = z.enum(['low', 'medium', 'high'])
/**
 * `low`: passive, one tick behind the last price (bid side for a buy); `medium`: at the last
 * price; `high`: crossing, `crossTicks` through the last price. Always inside the parent's limit
 * and the day's price band.
 */
export type Urgency = z.infer<typeof UrgencySchema>

/** Time-sliced (TWAP-like): the target grows linearly from `startAt` to `deadline`. */
export const TwapScheduleSchema = z.object({
  kind: z.literal('twap'),
  /** How many equal slices the quantity is cut into. The largest child is `ceil(quantity / slices)`. */
  slices: z.int().min(1).max(10_000),
})

/** Participation-capped (POV-like): at most `maxParticipation` of the volume printed since `startAt`. */
export const PovScheduleSchema = z.object({
  kind: z.literal('pov'),
  /** Fraction of observed market volume, (0, 0.5]. */
  maxParticipation: z.number().gt(0).max(0.5),
  /** The largest single child, in shares. */
  maxChildQuantity: z.int().positive(),
})

export const ScheduleSchema = z.discriminatedUnion('kind', [TwapScheduleSchema, PovScheduleSchema])
export type Schedule = z.infer<typeof ScheduleSchema>

const epochMs = z.int().nonnegative()

/** What a strategy asks for. `parentId` is the caller's idempotency key. */
export const ParentOrderSchema = z
  .object({
    parentId: z
      .string()
      .min(1)
      .max(64)
      .regex(/^[A-Za-z0-9._-]+$/, { error: 'parentId: letters, digits, dot, underscore and dash only' }),
    account: z.string().min(1),
    strategyId: z.string().min(1),
    symbol: z.string().regex(/^[0-9A-Z]{6}$/, { error: 'symbol: a 6-character KRX code' }),
    side: z.enum(['buy', 'sell']),
    quantity: z.int().positive(),
    /** The worst price any child may carry (highest for a buy, lowest for a sell). */
    limitPrice: z.int().positive().optional(),
    urgency: UrgencySchema.default('medium'),
    schedule: ScheduleSchema,
    startAt: epochMs,
    deadline: epochMs,
    /** At the deadline: `finish` crosses for what is left (within the limit); `stop` cancels and ends. */
    onDeadline: z.enum(['finish', 'stop']).default('stop'),
    /**
     * When the session closes before the parent is done (see the engine's `isOpen`): `wait` for the
     * next session (the deadline still applies), or `end` (working children canceled, the parent
     * `stopped` with reason "session closed").
     */
    onSessionClose: z.enum(['wait', 'end']).default('wait'),
    /** Venue preference for every child (KRX, NXT or SOR). */
    venue: z.enum(['KRX', 'NXT', 'SOR']).default('KRX'),
  })
  .refine((p) => p.deadline > p.startAt, { error: 'deadline must be after startAt', path: ['deadline'] })

export type ParentOrder = z.infer<typeof ParentOrderSchema>
export type ParentOrderInput = z.input<typeof ParentOrderSchema>

/** What may change on a live parent. A smaller quantity never goes below what is filled or working. */
export const ParentAmendSchema = z.object({
  quantity: z.int().positive().optional(),
  limitPrice: z.int().positive().optional(),
  deadline: epochMs.optional(),
  urgency: UrgencySchema.optional(),
})
export type ParentAmend = z.infer<typeof ParentAmendSchema>

/**
 * `active`: slicing. `paused`: no new child until the pause reason clears (a child with an unknown
 * outcome awaiting reconciliation, a risk `review`, repeated rejects, a kill switch). `canceling`:
 * the caller canceled it; no new child, and its working children are canceled (a refused cancel is
 * asked again, with a backoff) until none is left. Terminal: `completed` (all filled), `canceled`
 * (by the caller, nothing left working), `expired` (deadline passed with `stop`), `stopped` (given
 * up; see `reason`).
 */
export const PARENT_STATES = [
  'active',
  'paused',
  'canceling',
  'completed',
  'canceled',
  'expired',
  'stopped',
] as const
export type ParentState = (typeof PARENT_STATES)[number]

/** Terminal parent states: nothing is sent for them again. */
export const TERMINAL_PARENT_STATES: ReadonlySet<ParentState> = new Set([
  'completed',
  'canceled',
  'expired',
  'stopped',
])

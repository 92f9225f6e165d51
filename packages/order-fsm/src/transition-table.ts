import type { OrderEventType } from './events'
import type { OrderState } from './states'

/**
 * What one (state, event) cell of the table allows:
 * - `to`: move to `to` (the event's guards still apply);
 * - `working`: move back to the working state: ACKED when nothing is filled, else PARTIAL_FILLED;
 * - `fill`: advance the cumulative quantity; FILLED when complete, otherwise `partial`
 *   (`PARTIAL_FILLED`, or `stay` to keep the current state); a repeated or older level is ignored;
 * - `absorb_fill`: terminal: a repeated or older level is ignored, a new fill is an error and an alarm,
 *   except a late report of a fill under a number that a sized replacement replaced (it executed
 *   before the replace, so it never was part of what closed; see `transition`);
 * - `stay`: accepted and recorded in the log, the state is kept;
 * - `ignore`: absorbed without a trace in the log (stale, duplicate, or already done);
 * - `illegal`: refused with a `TransitionError`; the order does not change.
 */
export type TransitionRule =
  | { kind: 'to'; to: OrderState; note?: string }
  | { kind: 'working'; note?: string }
  | { kind: 'fill'; partial: 'PARTIAL_FILLED' | 'stay'; note?: string }
  | { kind: 'absorb_fill'; note?: string }
  | { kind: 'stay'; note: string }
  | { kind: 'ignore'; note: string }
  | { kind: 'illegal'; note?: string }

/** The whole table: one rule for every state and every event. */
export type TransitionTable = {
  readonly [S in OrderState]: { readonly [E in OrderEventType]: TransitionRule }
}

const illegal = (note?: string): TransitionRule => (note ? { kind: 'illegal', note } : { kind: 'illegal' })
const to = (state: OrderState, note?: string): TransitionRule =>
  note ? { kind: 'to', to: state, note } : { kind: 'to', to: state }
const working = (note?: string): TransitionRule => (note ? { kind: 'working', note } : { kind: 'working' })
const stay = (note: string): TransitionRule => ({ kind: 'stay', note })
const ignore = (note: string): TransitionRule => ({ kind: 'ignore', note })

const ALL_ILLEGAL: { [E in OrderEventType]: TransitionRule } = {
  submit_started: illegal(),
  acked: illegal(),
  rejected: illegal(),
  fill: illegal(),
  cancel_requested: illegal(),
  cancel_acked: illegal(),
  cancel_rejected: illegal(),
  canceled: illegal(),
  replace_requested: illegal(),
  replace_acked: illegal(),
  replace_rejected: illegal(),
  expired: illegal(),
  outcome_unknown: illegal(),
  reconcile_matched: illegal(),
  reconcile_not_found: illegal(),
  reconcile_ambiguous: illegal(),
  reconcile_flagged: illegal(),
}

// ACKED and PARTIAL_FILLED differ only in what a reject and a partial fill do.
const WORKING: { [E in OrderEventType]: TransitionRule } = {
  ...ALL_ILLEGAL,
  submit_started: illegal('already sent; nothing here re-submits'),
  acked: ignore('repeated ack for the same broker number (another number is a broker_id_conflict alarm)'),
  rejected: to('REJECTED', 'an exchange reject after the broker took the order'),
  fill: { kind: 'fill', partial: 'PARTIAL_FILLED' },
  cancel_requested: to('CANCEL_PENDING', 'write-ahead: the caller sends the cancel after this commits'),
  cancel_rejected: ignore('stale answer to a cancel already resolved'),
  canceled: to('CANCELED', 'also IOC/FOK leftovers and broker-initiated cancels'),
  replace_requested: to('REPLACE_PENDING', 'write-ahead: the caller sends the replace after this commits'),
  replace_acked: working('a replace confirmed after its REST answer; a number already linked is ignored'),
  replace_rejected: ignore('stale answer to a replace already resolved'),
  expired: to('EXPIRED'),
  reconcile_matched: ignore('reconciliation confirms what is known (another number is an alarm)'),
  reconcile_flagged: to('RECONCILE_REQUIRED'),
}

// Terminal states absorb everything; commands on them are refused or answered "nothing to do".
const TERMINAL: { [E in OrderEventType]: TransitionRule } = {
  submit_started: illegal('a closed order is never sent'),
  acked: ignore('repeated ack for a known number (an unknown number is an ack_after_terminal alarm)'),
  rejected: ignore('absorbed'),
  fill: {
    kind: 'absorb_fill',
    note: 'a fill under a number replaced by a sized replacement, reported late, is applied (warning)',
  },
  cancel_requested: ignore('nothing left to cancel'),
  cancel_acked: ignore('absorbed'),
  cancel_rejected: ignore('absorbed'),
  canceled: ignore('absorbed'),
  replace_requested: ignore('nothing left to replace'),
  replace_acked: ignore('absorbed'),
  replace_rejected: ignore('absorbed'),
  expired: ignore('absorbed'),
  outcome_unknown: ignore('absorbed: the outcome is known'),
  reconcile_matched: ignore('absorbed'),
  reconcile_not_found: ignore('absorbed'),
  reconcile_ambiguous: ignore('absorbed'),
  reconcile_flagged: ignore('absorbed: nothing open to reconcile'),
}

/**
 * The canonical order lifecycle. `transition` reads it; the README table is generated from it; the
 * exhaustive test walks it. Edits go here and nowhere else.
 */
export const TRANSITION_TABLE: TransitionTable = {
  INTENT_CREATED: {
    ...ALL_ILLEGAL,
    submit_started: to('SUBMITTED', 'write-ahead: durable before the request leaves; the caller sends after'),
    cancel_requested: to('CANCELED', 'never sent, so canceled locally with nothing to ask the broker'),
  },
  SUBMITTED: {
    ...ALL_ILLEGAL,
    submit_started: ignore('already claimed: only the first claim may send'),
    acked: working('links the broker number'),
    rejected: to('REJECTED'),
    cancel_requested: illegal('no broker number yet: wait for the ack or reconciliation'),
    outcome_unknown: to('RECONCILE_REQUIRED', 'only for operation "submit"; never back to the queue'),
    reconcile_flagged: to('RECONCILE_REQUIRED'),
  },
  ACKED: { ...WORKING, rejected: to('REJECTED', 'an exchange reject after the broker took the order') },
  PARTIAL_FILLED: { ...WORKING, rejected: illegal('a reject after fills: reject_after_fill alarm') },
  CANCEL_PENDING: {
    ...WORKING,
    fill: { kind: 'fill', partial: 'stay', note: 'late fills after a cancel request are applied' },
    cancel_requested: ignore('a cancel is already in flight: no second send'),
    cancel_acked: stay('the broker took the cancel; wait for canceled'),
    cancel_rejected: working(),
    replace_requested: illegal('a cancel is in flight'),
    replace_acked: stay('a replace that raced the cancel: the new number is linked'),
    outcome_unknown: to('RECONCILE_REQUIRED', 'only for operation "cancel"'),
  },
  REPLACE_PENDING: {
    ...WORKING,
    fill: { kind: 'fill', partial: 'stay', note: 'fills under the old number still count' },
    cancel_requested: to('CANCEL_PENDING', 'a cancel may overtake a pending replace'),
    replace_requested: ignore('a replace is already in flight: no second send'),
    replace_acked: working('links the new number; quantity and price follow the replace'),
    replace_rejected: working(),
    outcome_unknown: to('RECONCILE_REQUIRED', 'only for operation "replace"'),
  },
  RECONCILE_REQUIRED: {
    ...ALL_ILLEGAL,
    submit_started: illegal('never re-submitted: reconciliation decides'),
    acked: working('a late ack is positive evidence (for an order without a broker number)'),
    rejected: to('REJECTED', 'positive evidence from the broker'),
    fill: { kind: 'fill', partial: 'stay', note: 'needs a linked broker number' },
    cancel_requested: illegal('resolve the order first'),
    cancel_acked: stay('the cancel reached the broker; still unresolved'),
    cancel_rejected: stay('recorded; still unresolved'),
    canceled: to('CANCELED', 'positive evidence from the broker'),
    replace_requested: illegal('resolve the order first'),
    replace_acked: stay('the new number is linked; still unresolved'),
    replace_rejected: stay('recorded; still unresolved'),
    expired: to('EXPIRED', 'positive evidence from the broker'),
    outcome_unknown: ignore('already waiting for reconciliation'),
    reconcile_matched: working('links the broker number when the order had none'),
    reconcile_not_found: to('REJECTED', 'only for an order with no broker number and no fills'),
    reconcile_ambiguous: stay('a ticket is open; nothing is guessed'),
    reconcile_flagged: ignore('already flagged'),
  },
  FILLED: TERMINAL,
  REJECTED: TERMINAL,
  CANCELED: {
    ...TERMINAL,
    fill: { kind: 'fill', partial: 'stay', note: 'a late fill after a cancel is applied (warning)' },
  },
  EXPIRED: TERMINAL,
}

/** The rule for one cell. */
export function ruleFor(state: OrderState, event: OrderEventType): TransitionRule {
  return TRANSITION_TABLE[state][event]
}

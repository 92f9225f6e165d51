import type { OrderEventType } from './events'
import type { OrderState } from './states'

/**
 * What one (state, event) cell of the table allows:
 * - `to`: move to `to` (the event's guards still apply);
 * - `working`: move back to the working state: ACKED when nothing is filled, else PARTIAL_FILLED;
 * - `fill`: advance the cumulative quantity; FILLED when complete, otherwise `partial`
 *   (`PARTIAL_FILLED`, or `stay` to keep the current state); a repeated level is ignored, an older
 *   one inside a gap a higher report inferred re-prices that gap (see `BrokerLeg.fillGaps`);
 * - `absorb_fill`: terminal: a repeated or older level is ignored, a new fill is an error and an alarm,
 *   except a late report of a fill under a number that a sized replacement replaced (it executed
 *   before the replace, so it never was part of what closed; see `transition`);
 * - `end`: the broker canceled or expired shares under one of the order's numbers (`canceled`,
 *   `expired`); which number and how many decide:
 *   - a number already replaced (superseded): that number alone is closed, the order is unchanged
 *     in state and quantity (e.g. the leftover a quantity modify leaves under the old number);
 *   - the number the order works under, for everything it has working (or no quantity stated):
 *     move to `to`; more than is working still moves there, with a critical alarm;
 *   - that number, for fewer shares than are working (`short`): `shrink` keeps the state and
 *     shrinks the order by the shares ended (a partial cancel: the order continues with fewer);
 *     `end` moves to `to`, the difference being fills still on their way (our own cancel takes all
 *     that is left, and an expiry ends the number). While a replace is unanswered a short report
 *     always shrinks: the rest may already work under the replacement's new number;
 *   - a repeat of a report already applied under that number is ignored.
 * - `revert`: the exchange refused a replace it had numbered (`replace_refused`): that number closes as
 *   refused, and when the order worked under it, the order goes back to the number it replaced, on
 *   that number's terms (quantity, price; the growth by late fills and the leftover cancels are
 *   re-read for the restored number). Then `working` (ACKED/PARTIAL_FILLED) or `stay`; either way
 *   FILLED when the fills cover the restored quantity, and CANCELED/EXPIRED when the restored
 *   number had been ended whole meanwhile (nothing is left working);
 * - `ignore`: absorbed without a trace in the log (stale, duplicate, or already done);
 * - `illegal`: refused with a `TransitionError`; the order does not change.
 */
export type TransitionRule =
  | { kind: 'to'; to: OrderState; note?: string }
  | { kind: 'working'; note?: string }
  | { kind: 'fill'; partial: 'PARTIAL_FILLED' | 'stay'; note?: string }
  | { kind: 'absorb_fill'; note?: string }
  | { kind: 'end'; to: 'CANCELED' | 'EXPIRED'; short: 'shrink' | 'end'; note?: string }
  | { kind: 'revert'; then: 'working' | 'stay'; note: string }
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
const revert = (then: 'working' | 'stay', note: string): TransitionRule => ({ kind: 'revert', then, note })
const end = (to: 'CANCELED' | 'EXPIRED', short: 'shrink' | 'end', note: string): TransitionRule => ({
  kind: 'end',
  to,
  short,
  note,
})
// An expiry ends the number whatever the quantity: a shortfall is fills still being reported.
const EXPIRY = end(
  'EXPIRED',
  'end',
  'an expiry ends the number; fewer shares than working means fills in flight',
)

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
  replace_refused: illegal(),
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
  canceled: end(
    'CANCELED',
    'shrink',
    'a broker-initiated cancel; fewer shares than working is a partial cancel: the order continues with fewer (warning)',
  ),
  replace_requested: to('REPLACE_PENDING', 'write-ahead: the caller sends the replace after this commits'),
  replace_acked: working('a replace confirmed after its REST answer; a number already linked is ignored'),
  replace_rejected: ignore('stale answer to a replace already resolved'),
  replace_refused: revert(
    'working',
    'the exchange refused a replace it had numbered (e.g. the original filled first): the order goes back to the number and terms it replaced',
  ),
  expired: EXPIRY,
  reconcile_matched: ignore('reconciliation confirms what is known (another number is an alarm)'),
  reconcile_flagged: to('RECONCILE_REQUIRED'),
}

// A report under a number that closed the order on fewer shares than were working (the rest taken
// for fills in flight): it ended some of those instead, so the order shrinks by them, as it would
// have had it come first. A repeat (same event id) is ignored.
const AFTER_CLOSE =
  'a further report under the number that closed the order ends shares the close took for fills in flight: the order shrinks by them; a repeat is ignored'

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
  cancel_acked: stay(
    'a cancel number not seen yet is linked, so its refusal notice (the fill got there first) routes here and is absorbed; else absorbed',
  ),
  cancel_rejected: ignore('absorbed'),
  canceled: ignore('absorbed'),
  replace_requested: ignore('nothing left to replace'),
  replace_acked: stay(
    'a replace numbered after the order closed cannot have taken effect: its number is linked as refused, so its notices route here (a confirmation stating a quantity is ignored)',
  ),
  replace_rejected: ignore('absorbed'),
  replace_refused: revert(
    'stay',
    'a replace the fills or the end beat: the books go back to the number that traded; the state is kept',
  ),
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
    replace_refused: illegal('no replacement number exists yet'),
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
    canceled: end(
      'CANCELED',
      'end',
      'our cancel takes all that is left: fewer shares than working means fills in flight (unless a replace it overtook is unanswered)',
    ),
    replace_requested: illegal('a cancel is in flight'),
    replace_acked: stay('a replace that raced the cancel: the new number is linked'),
    replace_rejected: stay(
      'the refusal of the replace this cancel overtook (any other is stale and ignored)',
    ),
    replace_refused: revert(
      'stay',
      'an earlier replace was refused: the order goes back to the number it replaced; the cancel stays in flight',
    ),
    outcome_unknown: to('RECONCILE_REQUIRED', 'only for operation "cancel"'),
  },
  REPLACE_PENDING: {
    ...WORKING,
    fill: { kind: 'fill', partial: 'stay', note: 'fills under the old number still count' },
    cancel_requested: to('CANCEL_PENDING', 'a cancel may overtake a pending replace'),
    canceled: end(
      'CANCELED',
      'shrink',
      "a quantity modify cancels the old number's leftover, maybe before the replace is confirmed: the order shrinks",
    ),
    replace_requested: ignore('a replace is already in flight: no second send'),
    replace_acked: working('links the new number; quantity and price follow the replace'),
    replace_rejected: working(),
    replace_refused: revert(
      'stay',
      'an earlier replace was refused: the order goes back to the number it replaced; the new replace stays in flight',
    ),
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
    canceled: end(
      'CANCELED',
      'shrink',
      'positive evidence from the broker when it covers all that is working; a partial cancel shrinks the order, still unresolved',
    ),
    replace_requested: illegal('resolve the order first'),
    replace_acked: stay('the new number is linked; still unresolved'),
    replace_rejected: stay('recorded; still unresolved'),
    replace_refused: revert(
      'stay',
      'the order goes back to the number the refused replace replaced; still unresolved',
    ),
    expired: end(
      'EXPIRED',
      'end',
      'positive evidence from the broker; fewer shares than working means fills in flight',
    ),
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
    canceled: end('CANCELED', 'end', AFTER_CLOSE),
    expired: end('CANCELED', 'end', AFTER_CLOSE),
    fill: { kind: 'fill', partial: 'stay', note: 'a late fill after a cancel is applied (warning)' },
  },
  EXPIRED: {
    ...TERMINAL,
    canceled: end('EXPIRED', 'end', AFTER_CLOSE),
    expired: end('EXPIRED', 'end', AFTER_CLOSE),
    fill: {
      kind: 'fill',
      partial: 'stay',
      note: 'a fill executed before the expiry, reported late, is applied (warning)',
    },
  },
}

/** The rule for one cell. */
export function ruleFor(state: OrderState, event: OrderEventType): TransitionRule {
  return TRANSITION_TABLE[state][event]
}

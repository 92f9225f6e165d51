import { z } from 'zod'
import { KisError } from '../errors'

/** A real-time data frame, split but not yet decoded (reference §7.5). */
export interface KisDataFrame {
  kind: 'data'
  encrypted: boolean
  trId: string
  count: number
  payload: string
}

/** A JSON control frame: a subscribe/unsubscribe answer or an error (reference §7.3). */
export interface KisControlFrame {
  kind: 'control'
  trId: string | undefined
  trKey: string | undefined
  encrypt: string | undefined
  rtCd: string | undefined
  msgCd: string | undefined
  msg1: string | undefined
  /** AES key/iv of the subscription, when the ack carries them. */
  cipher: { key: string; iv: string } | undefined
}

/** The PINGPONG heartbeat (reference §7.4); `raw` is echoed back. */
export interface KisPingPongFrame {
  kind: 'pingpong'
  raw: string
}

export type KisFrame = KisDataFrame | KisControlFrame | KisPingPongFrame

const ControlSchema = z.looseObject({
  header: z
    .looseObject({
      tr_id: z.string().optional(),
      tr_key: z.string().optional(),
      encrypt: z.string().optional(),
    })
    .optional(),
  body: z
    .looseObject({
      rt_cd: z.string().optional(),
      msg_cd: z.string().optional(),
      msg1: z.string().optional(),
      output: z.looseObject({ key: z.string().optional(), iv: z.string().optional() }).nullish(),
    })
    .optional(),
})

/**
 * Classify and split one text frame. Data frames are `<enc>|<tr_id>|<count>|<payload>` where only
 * the first three `|` separate (reference §7.5); anything starting with `{` is control JSON; a JSON
 * frame whose `header.tr_id` is `PINGPONG` and that has no body is the heartbeat (§7.4).
 */
export function parseKisFrame(raw: string): KisFrame {
  const c0 = raw.charCodeAt(0)
  if ((c0 === 48 || c0 === 49) && raw.charCodeAt(1) === 124) {
    const p1 = raw.indexOf('|', 2)
    const p2 = p1 < 0 ? -1 : raw.indexOf('|', p1 + 1)
    if (p1 < 0 || p2 < 0)
      throw new KisError('KIS_FRAME_MALFORMED', 'data frame needs enc|tr_id|count|payload')
    const trId = raw.slice(2, p1)
    const countText = raw.slice(p1 + 1, p2)
    if (!/^[A-Z0-9]{1,16}$/.test(trId)) throw new KisError('KIS_FRAME_MALFORMED', 'bad tr_id in data frame')
    if (!/^\d{1,4}$/.test(countText)) throw new KisError('KIS_FRAME_MALFORMED', 'bad record count', { trId })
    const count = Number(countText)
    if (count < 1) throw new KisError('KIS_FRAME_MALFORMED', 'record count is zero', { trId })
    return { kind: 'data', encrypted: c0 === 49, trId, count, payload: raw.slice(p2 + 1) }
  }
  if (c0 !== 123) throw new KisError('KIS_FRAME_MALFORMED', 'frame is neither data nor JSON')
  let json: unknown
  try {
    json = JSON.parse(raw)
  } catch (cause) {
    throw new KisError('KIS_CONTROL_MALFORMED', 'control frame is not valid JSON', { cause })
  }
  const r = ControlSchema.safeParse(json)
  if (!r.success) throw new KisError('KIS_CONTROL_MALFORMED', 'control frame has an unexpected shape')
  const h = r.data.header
  const b = r.data.body
  if (h?.tr_id === 'PINGPONG' && !b) return { kind: 'pingpong', raw }
  const key = b?.output?.key
  const iv = b?.output?.iv
  return {
    kind: 'control',
    trId: h?.tr_id,
    trKey: h?.tr_key,
    encrypt: h?.encrypt,
    rtCd: b?.rt_cd,
    msgCd: b?.msg_cd?.trim(),
    msg1: b?.msg1?.trim(),
    cipher: key && iv ? { key, iv } : undefined,
  }
}

/** Result of splitting a payload into records. */
export interface SplitRecords {
  records: string[][]
  /** Fields per record actually received (more than the layout knows means drift). */
  fieldsPerRecord: number
}

/**
 * Split a `^`-separated payload of `count` records of at least `expected` fields. Records are
 * concatenated with no separator (reference §7.5), so the width is total/count. Extra trailing fields
 * per record are tolerated (the caller reports drift); fewer are an error.
 */
export function splitRecords(payload: string, count: number, expected: number, trId: string): SplitRecords {
  const fields = payload.split('^')
  if (fields.length % count !== 0) {
    throw new KisError(
      'KIS_FRAME_FIELD_COUNT',
      `${fields.length} fields do not divide into ${count} records`,
      { trId },
    )
  }
  const width = fields.length / count
  if (width < expected) {
    throw new KisError(
      'KIS_FRAME_FIELD_COUNT',
      `records have ${width} fields; at least ${expected} expected`,
      { trId },
    )
  }
  const records: string[][] = []
  for (let i = 0; i < count; i++) records.push(fields.slice(i * width, i * width + width))
  return { records, fieldsPerRecord: width }
}

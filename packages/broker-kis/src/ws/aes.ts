import { createDecipheriv } from 'node:crypto'
import { KisError } from '../errors'

/** The per-subscription key and IV from a subscribe ack (reference §7.3 `output.key`/`output.iv`). */
export interface NoticeCipherKey {
  key: string
  iv: string
}

/**
 * Decrypt an execution-notice payload: base64 → AES-256-CBC with the ack's key and IV taken as
 * UTF-8 bytes → PKCS#7 unpadding → UTF-8 (reference/kis-openapi.md §7.5).
 */
export function decryptNoticePayload(payloadB64: string, k: NoticeCipherKey, trId?: string): string {
  const key = Buffer.from(k.key, 'utf8')
  const iv = Buffer.from(k.iv, 'utf8')
  if (key.length !== 32 || iv.length !== 16) {
    throw new KisError(
      'KIS_DECRYPT_FAILED',
      `key must be 32 bytes and iv 16 bytes (got ${key.length}/${iv.length})`,
      trId ? { trId } : {},
    )
  }
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payloadB64) || payloadB64.length % 4 !== 0) {
    throw new KisError('KIS_DECRYPT_FAILED', 'payload is not base64', trId ? { trId } : {})
  }
  const data = Buffer.from(payloadB64, 'base64')
  if (data.length === 0 || data.length % 16 !== 0) {
    throw new KisError(
      'KIS_DECRYPT_FAILED',
      `ciphertext length ${data.length} is not a multiple of 16`,
      trId ? { trId } : {},
    )
  }
  try {
    const d = createDecipheriv('aes-256-cbc', key, iv)
    d.setAutoPadding(true)
    const plain = Buffer.concat([d.update(data), d.final()])
    return new TextDecoder('utf-8', { fatal: true }).decode(plain)
  } catch (cause) {
    throw new KisError('KIS_DECRYPT_FAILED', 'bad padding, key or text encoding', {
      ...(trId ? { trId } : {}),
      cause,
    })
  }
}

import { z } from 'zod'

// reference/kis-openapi.md §3.2: every REST answer carries rt_cd ("0" = success), msg_cd (8 chars)
// and msg1 (may carry trailing spaces); payload in output / output1 / output2. Values are strings.

/** The common part of every REST response body. */
export const KisEnvelopeSchema = z.looseObject({
  rt_cd: z.string(),
  msg_cd: z.string().transform((s) => s.trim()),
  msg1: z.string().transform((s) => s.trim()),
})
export type KisEnvelope = z.output<typeof KisEnvelopeSchema>

// reference/kis-openapi.md §2.1/§3.4: tokenP and Approval errors use a different shape.
/** The error body of tokenP / Approval (`error_code`, `error_description`). */
export const KisAuthErrorSchema = z.looseObject({
  error_code: z.string(),
  error_description: z.string().optional(),
})

/** A string-encoded integer (reference §9: all REST values are JSON strings). Empty → 0. */
export const intString = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = typeof v === 'number' ? String(v) : v.trim()
  if (s === '') return 0
  if (!/^[+-]?\d+(\.0+)?$/.test(s)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected an integer string, got ${JSON.stringify(s.slice(0, 24))}`,
    })
    return z.NEVER
  }
  return Number.parseInt(s, 10)
})

/** A string-encoded decimal (averages, rates). Empty → 0. */
export const decimalString = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const s = typeof v === 'number' ? String(v) : v.trim()
  if (s === '') return 0
  if (!/^[+-]?\d+(\.\d+)?$/.test(s)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a decimal string, got ${JSON.stringify(s.slice(0, 24))}`,
    })
    return z.NEVER
  }
  return Number(s)
})

/** An optional string field, trimmed; absent → empty string. */
export const text = z
  .string()
  .optional()
  .transform((s) => (s ?? '').trim())

// §4.1 / §4.2: order and modify/cancel answers, upper-case keys.
export const OrderOutputSchema = z.looseObject({
  KRX_FWDG_ORD_ORGNO: text,
  ODNO: z.string().regex(/^\d+$/, { error: 'ODNO must be digits' }),
  ORD_TMD: text,
})

// §4.3 inquire-psbl-rvsecncl output[] (lower-case keys).
export const PsblRvsecnclRowSchema = z.looseObject({
  ord_gno_brno: text,
  odno: z.string(),
  orgn_odno: text,
  pdno: z.string(),
  ord_qty: intString,
  ord_unpr: intString,
  ord_tmd: text,
  tot_ccld_qty: intString,
  psbl_qty: intString,
  sll_buy_dvsn_cd: z.string(),
  ord_dvsn_cd: text,
  excg_id_dvsn_cd: text,
  // the stop-limit's condition price (reference §4.3); absent or empty → 0
  stpm_cndt_pric: intString.optional(),
})
export type PsblRvsecnclRow = z.output<typeof PsblRvsecnclRowSchema>

// §4.4 inquire-daily-ccld output1[].
export const DailyCcldRowSchema = z.looseObject({
  ord_dt: z.string(),
  ord_gno_brno: text,
  odno: z.string(),
  orgn_odno: text,
  sll_buy_dvsn_cd: z.string(),
  pdno: z.string(),
  ord_qty: intString,
  ord_unpr: intString,
  ord_tmd: text,
  tot_ccld_qty: intString,
  avg_prvs: decimalString,
  cncl_yn: text,
  tot_ccld_amt: intString.optional(),
  ord_dvsn_cd: text,
  cnc_cfrm_qty: intString.optional(),
  rmn_qty: intString,
  rjct_qty: intString.optional(),
  excg_id_dvsn_Cd: text,
  excg_id_dvsn_cd: text,
  // the stop-limit's condition price (reference §4.4); absent or empty → 0
  stpm_cndt_pric: intString.optional(),
})
export type DailyCcldRow = z.output<typeof DailyCcldRowSchema>

// §4.5 inquire-balance output1[] and output2[0].
export const BalancePositionSchema = z.looseObject({
  pdno: z.string(),
  hldg_qty: intString,
  ord_psbl_qty: intString,
  pchs_avg_pric: decimalString,
  prpr: intString.optional(),
})
export type BalancePosition = z.output<typeof BalancePositionSchema>
export const BalanceSummarySchema = z.looseObject({
  dnca_tot_amt: intString,
  nxdy_excc_amt: intString,
  prvs_rcdl_excc_amt: intString,
})

// §4.6 inquire-psbl-order output.
export const PsblOrderSchema = z.looseObject({ ord_psbl_cash: intString })

// §4.7 inquire-price output (only the fields the Quote needs).
export const InquirePriceSchema = z.looseObject({
  stck_prpr: intString,
  stck_sdpr: intString,
  stck_mxpr: intString,
  stck_llam: intString,
  aspr_unit: intString,
  stck_oprc: intString.optional(),
  stck_hgpr: intString.optional(),
  stck_lwpr: intString.optional(),
  acml_vol: intString.optional(),
  temp_stop_yn: text,
  iscd_stat_cls_code: text,
  vi_cls_code: text,
  mrkt_warn_cls_code: text,
  short_over_yn: text,
  mang_issu_cls_code: text,
  invt_caful_yn: text,
})

// §2.1 tokenP success.
export const TokenResponseSchema = z.looseObject({
  access_token: z.string().min(1),
  token_type: z.string().optional(),
  expires_in: z.union([z.number(), z.string()]).optional(),
  access_token_token_expired: z.string().optional(),
})

// §2.3 Approval success.
export const ApprovalResponseSchema = z.looseObject({ approval_key: z.string().min(1) })

// §3.3: cursors in lower case in responses.
export const CursorSchema = z.looseObject({
  ctx_area_fk100: z.string().optional(),
  ctx_area_nk100: z.string().optional(),
})

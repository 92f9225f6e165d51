import type { SimCore } from './core'
import type { SimAccount, SimOrder } from './exchange'
import { dec, int, pct, sign } from './format'
import { kstDate, kstMidnight, kstTime } from './kst'
import { tickSize } from './ticks'

type Row = Record<string, string>

/** reference §4.5 output1 row for one position. */
/** A holding valued at the last price: what balance and sellable-quantity rows show. */
function valuation(core: SimCore, acct: SimAccount, code: string) {
  const pos = acct.positions.get(code)
  const sym = core.exchange.symbols.get(code)
  const qty = pos?.qty ?? 0
  const prpr = sym?.price ?? 0
  const pchs = pos?.purchaseAmount ?? 0
  const evlu = qty * prpr
  const avg = qty > 0 ? pchs / qty : 0
  return { pos, sym, qty, prpr, pchs, evlu, avg }
}

/**
 * 매도가능수량조회 `output` (real only). The reference names only the path and TR; the fields are
 * those of KIS's own sample (open-trading-api `chk_inquire_psbl_sell.py`). UNVERIFIED: how KIS
 * answers for a symbol the account does not hold (here: quantities 0) and what `nsvg_qty`
 * (비저축수량) holds for a cash account (here: the holding).
 */
export function psblSellRow(core: SimCore, acct: SimAccount, code: string): Row {
  const { pos, sym, qty, prpr, pchs, evlu, avg } = valuation(core, acct, code)
  return {
    pdno: code,
    prdt_name: sym?.name ?? code,
    buy_qty: int(pos?.todayBuyQty ?? 0),
    sll_qty: int(pos?.todaySellQty ?? 0),
    cblc_qty: int(qty),
    nsvg_qty: int(qty),
    ord_psbl_qty: int(core.exchange.sellableQty(acct, code)),
    pchs_avg_pric: dec(avg, 4),
    pchs_amt: int(pchs),
    now_pric: int(prpr),
    evlu_amt: int(evlu),
    evlu_pfls_amt: int(evlu - pchs),
    evlu_pfls_rt: pchs > 0 ? dec(((evlu - pchs) / pchs) * 100, 2) : '0.00',
  }
}

export function balanceRow(core: SimCore, acct: SimAccount, code: string): Row {
  const { pos, sym, qty, prpr, pchs, evlu, avg } = valuation(core, acct, code)
  return {
    pdno: code,
    prdt_name: sym?.name ?? code,
    trad_dvsn_name: '현금',
    bfdy_buy_qty: int(pos?.prevBuyQty ?? 0),
    bfdy_sll_qty: int(pos?.prevSellQty ?? 0),
    thdt_buyqty: int(pos?.todayBuyQty ?? 0),
    thdt_sll_qty: int(pos?.todaySellQty ?? 0),
    hldg_qty: int(qty),
    ord_psbl_qty: int(core.exchange.sellableQty(acct, code)),
    pchs_avg_pric: dec(avg, 4),
    pchs_amt: int(pchs),
    prpr: int(prpr),
    evlu_amt: int(evlu),
    evlu_pfls_amt: int(evlu - pchs),
    evlu_pfls_rt: pchs > 0 ? dec(((evlu - pchs) / pchs) * 100, 2) : '0.00',
    evlu_erng_rt: '0.00000000',
    loan_dt: '',
    loan_amt: '0',
    stln_slng_chgs: '0',
    expd_dt: '',
    fltt_rt: sym ? pct(sym.price, sym.base) : '0.00',
    bfdy_cprs_icdc: sym ? int(sym.price - sym.base) : '0',
    item_mgna_rt_name: '20%',
    grta_rt_name: '',
    sbst_pric: '0',
    stck_loan_unpr: '0',
  }
}

/** reference §4.5 output2[0]. */
export function balanceSummary(core: SimCore, acct: SimAccount): Row {
  let scts = 0
  let pchsSum = 0
  for (const [code, pos] of acct.positions) {
    scts += pos.qty * (core.exchange.symbols.get(code)?.price ?? 0)
    pchsSum += pos.purchaseAmount
  }
  const d2 = core.exchange.d2Cash(acct)
  const tot = scts + d2
  return {
    dnca_tot_amt: int(acct.settledCash),
    nxdy_excc_amt: int(core.exchange.d1Cash(acct)),
    prvs_rcdl_excc_amt: int(d2),
    cma_evlu_amt: '0',
    bfdy_buy_amt: int(acct.prevBuyAmount),
    thdt_buy_amt: int(acct.todayBuyAmount),
    nxdy_auto_rdpt_amt: '0',
    bfdy_sll_amt: int(acct.prevSellAmount),
    thdt_sll_amt: int(acct.todaySellAmount),
    d2_auto_rdpt_amt: '0',
    bfdy_tlex_amt: '0',
    thdt_tlex_amt: '0',
    tot_loan_amt: '0',
    scts_evlu_amt: int(scts),
    tot_evlu_amt: int(tot),
    nass_amt: int(tot),
    fncg_gld_auto_rdpt_yn: '',
    pchs_amt_smtl_amt: int(pchsSum),
    evlu_amt_smtl_amt: int(scts),
    evlu_pfls_smtl_amt: int(scts - pchsSum),
    tot_stln_slng_chgs: '0',
    bfdy_tot_asst_evlu_amt: int(tot),
    asst_icdc_amt: '0',
    asst_icdc_erng_rt: '0.00000000',
  }
}

const VENUE_NAMES = { KRX: '한국거래소', NXT: '넥스트레이드', SOR: 'SOR' } as const

const condName = (o: SimOrder): string => (o.spec.cond === '1' ? 'IOC' : o.spec.cond === '2' ? 'FOK' : '없음')

/** reference §4.4 output1 row for one order record. */
export function dailyCcldRow(core: SimCore, o: SimOrder): Row {
  const sym = core.exchange.symbols.get(o.symbol)
  const isCancel = o.kind === 'cancel'
  const sideName = o.side === 'buy' ? '현금매수' : '현금매도'
  const name = isCancel
    ? `${o.side === 'buy' ? '매수' : '매도'}취소`
    : o.kind === 'modify'
      ? `${sideName}정정`
      : sideName
  return {
    ord_dt: o.date,
    ord_gno_brno: o.branch,
    odno: o.odno,
    orgn_odno: o.origOdno,
    ord_dvsn_name: o.spec.name,
    sll_buy_dvsn_cd: o.side === 'sell' ? '01' : '02',
    sll_buy_dvsn_cd_name: name,
    pdno: o.symbol,
    prdt_name: sym?.name ?? o.symbol,
    ord_qty: int(o.qty),
    ord_unpr: int(o.price),
    ord_tmd: o.time,
    tot_ccld_qty: int(o.filledQty),
    avg_prvs: o.filledQty > 0 ? int(Math.round(o.filledAmount / o.filledQty)) : '0',
    cncl_yn: isCancel ? 'Y' : 'N',
    tot_ccld_amt: int(o.filledAmount),
    loan_dt: '',
    ordr_empno: '',
    ord_dvsn_cd: o.ordDvsn,
    cnc_cfrm_qty: int(o.cancelledQty),
    rmn_qty: int(o.remaining),
    rjct_qty: int(o.status === 'rejected' ? o.qty - o.filledQty : 0),
    ccld_cndt_name: condName(o),
    inqr_ip_addr: '',
    cpbc_ordp_ord_rcit_dvsn_cd: '',
    cpbc_ordp_infm_mthd_dvsn_cd: '',
    infm_tmd: '',
    ctac_tlno: '',
    prdt_type_cd: '300',
    excg_dvsn_cd: '02',
    cpbc_ordp_mtrl_dvsn_cd: '',
    ord_orgno: '',
    rsvn_ord_end_dt: '',
    // reference §4.4: "excg_id_dvsn_Cd (sic, capital C in the spec)": KRX, NXT or SOR (how a SOR
    // order shows is the `market.sorInquiryVenue` option, UNVERIFIED).
    excg_id_dvsn_Cd: core.exchange.inquiryVenue(o),
    // reference §4.4 stpm_*: the stop-limit's condition price and when it was met (HHMMSS; the
    // field's format is UNVERIFIED, its name suggests a time).
    stpm_cndt_pric: int(o.condPrice),
    stpm_efct_occr_dtmd: o.stopTriggeredAt === undefined ? '' : kstTime(o.stopTriggeredAt),
  }
}

/** reference §4.3 output row. */
export function psblRvsecnclRow(core: SimCore, o: SimOrder): Row {
  const sym = core.exchange.symbols.get(o.symbol)
  return {
    ord_gno_brno: o.branch,
    odno: o.odno,
    orgn_odno: o.origOdno,
    ord_dvsn_name: o.spec.name,
    pdno: o.symbol,
    prdt_name: sym?.name ?? o.symbol,
    rvse_cncl_dvsn_name: o.kind === 'modify' ? '정정' : '',
    ord_qty: int(o.qty),
    ord_unpr: int(o.price),
    ord_tmd: o.time,
    tot_ccld_qty: int(o.filledQty),
    tot_ccld_amt: int(o.filledAmount),
    psbl_qty: int(core.exchange.amendableQty(o)),
    sll_buy_dvsn_cd: o.side === 'sell' ? '01' : '02',
    ord_dvsn_cd: o.ordDvsn,
    mgco_aptm_odno: '',
    excg_dvsn_cd: '02',
    excg_id_dvsn_cd: core.exchange.inquiryVenue(o),
    // Names are the simulator's (reference §4.3 lists the field only).
    excg_id_dvsn_name: VENUE_NAMES[core.exchange.inquiryVenue(o)],
    stpm_cndt_pric: int(o.condPrice),
    stpm_efct_occr_yn: o.stopTriggeredAt === undefined ? 'N' : 'Y',
  }
}

/** reference §4.7 inquire-price output (all strings). */
export function priceOutput(core: SimCore, code: string): Row | undefined {
  const s = core.exchange.symbols.get(code)
  if (!s) return undefined
  const vrss = s.price - s.base
  const wavg = s.volume > 0 ? s.turnover / s.volume : s.price
  const viCode = s.flags.vi === 'none' ? 'N' : s.flags.vi === 'static' ? 'S' : 'D'
  return {
    iscd_stat_cls_code: s.flags.halted ? '58' : '55',
    marg_rate: '20.00',
    rprs_mrkt_kor_name: s.market === 'KOSPI' ? 'KOSPI200' : 'KOSDAQ',
    new_hgpr_lwpr_cls_code: '',
    bstp_kor_isnm: '',
    temp_stop_yn: s.flags.halted ? 'Y' : 'N',
    oprc_rang_cont_yn: 'N',
    clpr_rang_cont_yn: 'N',
    crdt_able_yn: 'Y',
    grmn_rate_cls_code: '40',
    elw_pblc_yn: 'N',
    stck_prpr: int(s.price),
    prdy_vrss: int(vrss),
    prdy_vrss_sign: sign(s.price, s.base, s.upper, s.lower),
    prdy_ctrt: pct(s.price, s.base),
    acml_tr_pbmn: int(s.turnover),
    acml_vol: int(s.volume),
    prdy_vrss_vol_rate: s.prevVolume > 0 ? dec((s.volume / s.prevVolume) * 100, 2) : '0.00',
    stck_oprc: int(s.open || s.price),
    stck_hgpr: int(s.high || s.price),
    stck_lwpr: int(s.low || s.price),
    stck_mxpr: int(s.upper),
    stck_llam: int(s.lower),
    stck_sdpr: int(s.base),
    wghn_avrg_stck_prc: dec(wavg, 2),
    hts_frgn_ehrt: '0.00',
    frgn_ntby_qty: '0',
    pgtr_ntby_qty: '0',
    pvt_scnd_dmrs_prc: '0',
    pvt_frst_dmrs_prc: '0',
    pvt_pont_val: '0',
    pvt_frst_dmsp_prc: '0',
    pvt_scnd_dmsp_prc: '0',
    dmrs_val: '0',
    dmsp_val: '0',
    cpfn: '0',
    rstc_wdth_prc: int(s.upper - s.base),
    stck_fcam: '100',
    stck_sspr: '0',
    aspr_unit: int(tickSize(s.price, s.kind)),
    hts_deal_qty_unit_val: '1',
    lstn_stcn: '0',
    hts_avls: '0',
    per: '0.00',
    pbr: '0.00',
    stac_month: '12',
    vol_tnrt: '0.00',
    eps: '0.00',
    bps: '0.00',
    d250_hgpr: int(s.upper),
    d250_hgpr_date: '',
    d250_hgpr_vrss_prpr_rate: '0.00',
    d250_lwpr: int(s.lower),
    d250_lwpr_date: '',
    d250_lwpr_vrss_prpr_rate: '0.00',
    stck_dryy_hgpr: int(s.upper),
    dryy_hgpr_vrss_prpr_rate: '0.00',
    dryy_hgpr_date: '',
    stck_dryy_lwpr: int(s.lower),
    dryy_lwpr_vrss_prpr_rate: '0.00',
    dryy_lwpr_date: '',
    w52_hgpr: int(s.upper),
    w52_hgpr_vrss_prpr_ctrt: '0.00',
    w52_hgpr_date: '',
    w52_lwpr: int(s.lower),
    w52_lwpr_vrss_prpr_ctrt: '0.00',
    w52_lwpr_date: '',
    whol_loan_rmnd_rate: '0.00',
    ssts_yn: 'Y',
    stck_shrn_iscd: s.code,
    fcam_cnnm: '100',
    cpfn_cnnm: '0',
    apprch_rate: '0.00',
    frgn_hldn_qty: '0',
    vi_cls_code: viCode,
    ovtm_vi_cls_code: 'N',
    last_ssts_cntg_qty: '0',
    invt_caful_yn: s.flags.caution ? 'Y' : 'N',
    mrkt_warn_cls_code: s.flags.warning,
    short_over_yn: s.flags.shortOverheated ? 'Y' : 'N',
    sltr_yn: 'N',
    mang_issu_cls_code: 'N',
  }
}

/** chk-holiday rows from `from` (reference/krx-market-rules.md §2.4: bzdy_yn, tr_day_yn, opnd_yn, sttl_day_yn). */
export function holidayRows(core: SimCore, from: string, count: number): Row[] {
  const cal = core.exchange.calendar
  const rows: Row[] = []
  let t = kstMidnight(from) + 12 * 3_600_000
  for (let i = 0; i < count; i++, t += 86_400_000) {
    const date = kstDate(t)
    const wd = new Date(t + 9 * 3_600_000).getUTCDay()
    const biz = cal.isBusinessDay(date)
    const open = cal.isTradingDay(date)
    rows.push({
      bass_dt: date,
      // 01 Sunday … 07 Saturday (UNVERIFIED numbering)
      wday_dvsn_cd: String(wd + 1).padStart(2, '0'),
      bzdy_yn: biz ? 'Y' : 'N',
      tr_day_yn: biz ? 'Y' : 'N',
      opnd_yn: open ? 'Y' : 'N',
      sttl_day_yn: open ? 'Y' : 'N',
    })
  }
  return rows
}

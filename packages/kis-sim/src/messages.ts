/**
 * Every `msg_cd`/`msg1` the simulator emits, in one table, so tests and README can cite them.
 *
 * Gateway (EGW…) and WebSocket (OPSP…) codes are taken verbatim from reference/kis-openapi.md §6.1
 * and §6.3. Business codes are mostly UNVERIFIED (reference §6.4 says so): where the reference names
 * a code and text we use it; where it gives only a text, or nothing, the code below is the
 * simulator's choice, marked `sim`. Override any entry with `createKisSim({ messages })`.
 */
export interface SimMessage {
  msgCd: string
  /** Code on a paper account when it differs. */
  paperMsgCd?: string
  /** Text on a real account. */
  real: string
  /** Text on a paper account (KIS prefixes many paper texts with "모의투자"). */
  paper: string
}

const same = (msgCd: string, text: string): SimMessage => ({ msgCd, real: text, paper: text })

/** The default message table. Keys are stable identifiers used throughout the simulator. */
export const DEFAULT_MESSAGES = {
  // reference §6.1 gateway codes
  EGW00001: same('EGW00001', '일시적 오류가 발생했습니다.'),
  EGW00002: same('EGW00002', '서버 에러가 발생했습니다.'),
  EGW00101: same('EGW00101', '유효하지 않은 요청입니다.'),
  EGW00102: same('EGW00102', 'AppKey는 필수입니다.'),
  EGW00103: same('EGW00103', '유효하지 않은 AppKey입니다.'),
  EGW00104: same('EGW00104', 'AppSecret은 필수입니다.'),
  EGW00105: same('EGW00105', '유효하지 않은 AppSecret입니다.'),
  EGW00121: same('EGW00121', '유효하지 않은 token 입니다.'),
  EGW00122: same('EGW00122', 'token을 찾을 수 없습니다.'),
  EGW00123: same('EGW00123', '기간이 만료된 token 입니다.'),
  EGW00131: same('EGW00131', '유효하지 않은 hashkey입니다.'),
  EGW00132: same('EGW00132', 'Content-Type이 유효하지 않습니다.'),
  EGW00133: same('EGW00133', '접근토큰 발급 잠시 후 다시 시도하세요(1분당 1회)'),
  EGW00201: same('EGW00201', '초당 거래건수를 초과하였습니다.'),
  EGW00205: same('EGW00205', 'credentials_type이 유효하지 않습니다.(Bearer)'),
  EGW00208: same('EGW00208', 'custtype이 유효하지 않습니다.'),
  EGW00213: same('EGW00213', '모의투자 tr이 아닙니다.'),
  EGW00215: same('EGW00215', '원장에서 허용 가능한 초당 거래건수를 초과하였습니다.'),
  // grant_type problems: reference §6.1 lists EGW00106–00117 as "grant_type related" without the
  // exact number; sim choice.
  EGW00112: same('EGW00112', '유효하지 않은 grant_type 입니다.'),
  // reference §6.2 query-server codes
  OPSQ0002: same('OPSQ0002', '없는 서비스 코드 입니다'),
  OPSQ2000: same('OPSQ2000', 'ERROR : INPUT INVALID_CHECK_ACNO'),
  OPSQ2001: same('OPSQ2001', 'ERROR : INPUT INVALID_CHECK_MRKT_DIV_CODE'),
  OPSQ2002: same('OPSQ2002', 'ERROR : INPUT INVALID_CHECK_FIELD_LENGTH'),
  OPSQ9995: same('OPSQ9995', 'body not found'),
  OPSQ9997: same('OPSQ9997', 'invalid json format'),
  OPSQ9999: same('OPSQ9999', 'tr_id not found'),
  // reference §3.2 / §6.4 success codes
  ORDER_OK: same('APBK0013', '주문 전송 완료 되었습니다.'),
  PAPER_BUY_OK: same('40600000', '모의투자 매수주문이 완료 되었습니다.'),
  // reference §6.4: seen for futures; for stocks UNVERIFIED
  PAPER_SELL_OK: same('40590000', '모의투자 매도주문이 완료 되었습니다.'),
  // sim: paper modify code/text UNVERIFIED (by analogy with 40630000)
  PAPER_MODIFY_OK: same('40620000', '모의투자 정정주문이 완료 되었습니다.'),
  PAPER_CANCEL_OK: same('40630000', '모의투자 취소주문이 완료 되었습니다.'),
  // real inquiry success: UNVERIFIED (sim); paper 20310000 per reference §6.4
  // Real text/code and its trailing spaces are UNVERIFIED (reference §3.2: msg1 may be padded).
  INQUIRY_OK: {
    msgCd: 'KIOK0510',
    paperMsgCd: '20310000',
    real: '조회가 완료되었습니다                                                      ',
    paper: '모의투자 조회가 완료되었습니다.',
  },
  INQUIRY_EMPTY: {
    msgCd: 'KIOK0560',
    real: '조회할 내용이 없습니다',
    paper: '모의투자 조회할 내용이 없습니다.',
  },
  QUOTE_OK: same('MCA00000', '정상처리 되었습니다.'),
  // reference §6.4 business rejects (codes UNVERIFIED / shared)
  MARKET_CLOSED: { msgCd: 'APBK0919', real: '장운영시간이 아닙니다.', paper: '모의투자 장종료 입니다.' },
  MARKET_NOT_OPEN: { msgCd: 'APBK0919', real: '장운영시간이 아닙니다.', paper: '모의투자 장시작전 입니다.' },
  INSUFFICIENT_CASH: {
    msgCd: 'APBK0918',
    real: '주문가능금액을 초과 했습니다',
    paper: '모의투자 주문가능금액을 초과했습니다',
  },
  INSUFFICIENT_HOLDINGS: {
    msgCd: 'APBK0918',
    real: '주문가능수량을 초과 했습니다',
    paper: '모의투자 주문가능수량을 초과했습니다',
  },
  NOTHING_TO_AMEND: {
    msgCd: 'APBK0404', // sim
    real: '정정/취소할 수량이 없습니다.',
    paper: '모의투자 정정/취소할 수량이 없습니다.',
  },
  PRODUCT_NOT_FOUND: same('APBK0656', '해당 종목정보가 없습니다.'), // text sim
  // sim codes for cases the reference does not cover
  BAD_TICK: { msgCd: 'APBK0507', real: '호가단위 오류 입니다.', paper: '모의투자 호가단위 오류 입니다.' },
  PRICE_OUT_OF_LIMIT: {
    msgCd: 'APBK0506',
    real: '상하한가 범위를 벗어난 주문입니다.',
    paper: '모의투자 상하한가 범위를 벗어난 주문입니다.',
  },
  BAD_ORDER_TYPE: {
    msgCd: 'APBK0530',
    real: '주문구분 오류 입니다.',
    paper: '모의투자 주문구분 오류 입니다.',
  },
  ORDER_TYPE_NOT_IN_SESSION: {
    msgCd: 'APBK0531',
    real: '현재 시간에 가능한 주문구분이 아닙니다.',
    paper: '모의투자 현재 시간에 가능한 주문구분이 아닙니다.',
  },
  PAPER_UNSUPPORTED: same('APBK0532', '모의투자에서는 해당 주문구분을 지원하지 않습니다.'),
  BAD_QUANTITY: {
    msgCd: 'APBK0540',
    real: '주문수량을 확인하세요.',
    paper: '모의투자 주문수량을 확인하세요.',
  },
  BAD_PRICE: { msgCd: 'APBK0541', real: '주문단가를 확인하세요.', paper: '모의투자 주문단가를 확인하세요.' },
  // sim: a stop-limit (22) without a usable CNDT_PRIC (reference §4.1 says only that 22 needs it).
  BAD_STOP_PRICE: {
    msgCd: 'APBK0542',
    real: '조건가격을 확인하세요.',
    paper: '모의투자 조건가격을 확인하세요.',
  },
  HALTED: { msgCd: 'APBK0570', real: '거래정지 종목입니다.', paper: '모의투자 거래정지 종목입니다.' },
  // sim codes: reference/krx-market-rules.md §4.3 states what a circuit breaker refuses, not KIS's answer.
  CB_HALT: same('APBK0573', '시장 전체 매매거래 중단 중입니다.'),
  CB_CLOSED: same('APBK0574', '서킷브레이커 발동으로 당일 매매거래가 종료되었습니다.'),
  SHORT_SALE_BANNED: same('APBK0571', '공매도 과열종목으로 공매도 주문이 불가합니다.'),
  EXCHANGE_NOT_SUPPORTED: {
    msgCd: 'APBK0572',
    real: '주문거래소 구분을 확인하세요.',
    paper: '모의투자는 KRX만 가능합니다.',
  },
  // sim codes: reference/krx-market-rules.md §2.2–§2.4 and reference §5 say what NXT and SOR refuse,
  // not how KIS words it. Real accounts only (paper never gets past EXCHANGE_NOT_SUPPORTED).
  NXT_NOT_ELIGIBLE: same('APBK0575', '넥스트레이드 거래대상 종목이 아닙니다.'),
  VENUE_ORDER_TYPE: same('APBK0576', '해당 주문거래소에서 불가능한 주문구분입니다.'),
  NXT_ORDER_TYPE_NOT_IN_SESSION: same('APBK0577', '넥스트레이드 현재 시간에 가능한 주문구분이 아닙니다.'),
  SOR_NO_ROUTE: same('APBK0578', 'SOR 주문을 접수할 수 있는 거래소가 없습니다.'),
  VENUE_MISMATCH: same('APBK0579', '원주문의 주문거래소 구분과 다릅니다.'),
  ORIGINAL_NOT_FOUND: {
    msgCd: 'APBK0405',
    real: '원주문번호를 확인하세요.',
    paper: '모의투자 원주문번호를 확인하세요.',
  },
  BRANCH_MISMATCH: {
    msgCd: 'APBK0406',
    real: '주문조직번호를 확인하세요.',
    paper: '모의투자 주문조직번호를 확인하세요.',
  },
  PAPER_NOT_SUPPORTED_API: same('OPSQ0002', '모의투자에서는 해당업무가 제공되지 않습니다.'),
  // reference §7.10: paper daily-ccld with no rows answered msg_cd 70070000; its text was not recorded.
  PAPER_NO_ROWS: same('70070000', '모의투자 조회할 내용이 없습니다.'),
  // reference §7.10: paper inquire-psbl-rvsecncl answered rt_cd 1, msg_cd 90000000 (text not recorded).
  PAPER_PSBL_REFUSED: same('90000000', '모의투자에서는 해당업무가 제공되지 않습니다.'),
} satisfies Record<string, SimMessage>

/** A key of the message table. */
export type MessageKey = keyof typeof DEFAULT_MESSAGES

/** The message table with user overrides applied. */
export type MessageTable = Record<MessageKey, SimMessage>

/** WebSocket control-message codes, verbatim from reference/kis-openapi.md §6.3. */
export const WS_MESSAGES = {
  OPSP0000: 'SUBSCRIBE SUCCESS',
  OPSP0001: 'UNSUBSCRIBE SUCCESS',
  OPSP0002: 'ALREADY IN SUBSCRIBE',
  OPSP0003: 'UNSUBSCRIBE ERROR(not found!)',
  OPSP0007: 'SUBSCRIBE INTERNAL ERROR',
  OPSP0008: 'MAX SUBSCRIBE OVER',
  OPSP0011: 'invalid approval : ',
  OPSP8991: 'SUBSCRIBE ERROR : invalid tr_id',
  OPSP8992: 'SUBSCRIBE ERROR : invalid tr_key',
  OPSP8996: 'ALREADY IN USE appkey',
  OPSP8997: 'invalid tr_type',
  OPSP8998: 'invalid custtype',
  OPSP9990: 'JSON PARSING ERROR : tr_key not found',
  OPSP9991: 'JSON PARSING ERROR : input not found',
  OPSP9992: 'JSON PARSING ERROR : body not found',
  OPSP9998: 'JSON PARSING ERROR : header not found',
  OPSP9999: 'JSON PARSING ERROR : invalid json format',
} as const

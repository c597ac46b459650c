// SCTP state machine of IPVS (ip_vs_proto_sctp.c). Spec: docs/spec/ipvs-kernel.md §3.4. The event is the
// type of the first chunk; COOKIE_ECHO or COOKIE_ACK followed by ABORT counts as ABORT.

export const SCTP_S_NONE = 0;
export const SCTP_S_INIT1 = 1;
export const SCTP_S_INIT = 2;
export const SCTP_S_COOKIE_SENT = 3;
export const SCTP_S_COOKIE_REPLIED = 4;
export const SCTP_S_COOKIE_WAIT = 5;
export const SCTP_S_COOKIE = 6;
export const SCTP_S_COOKIE_ECHOED = 7;
export const SCTP_S_ESTABLISHED = 8;
export const SCTP_S_SHUTDOWN_SENT = 9;
export const SCTP_S_SHUTDOWN_RECEIVED = 10;
export const SCTP_S_SHUTDOWN_ACK_SENT = 11;
export const SCTP_S_REJECTED = 12;
export const SCTP_S_CLOSED = 13;
export const SCTP_S_LAST = 14;

export const SCTP_STATE_NAMES = [
  'NONE',
  'INIT1',
  'INIT',
  'C-SENT',
  'C-REPLIED',
  'C-WAIT',
  'COOKIE',
  'C-ECHOED',
  'ESTABLISHED',
  'S-SENT',
  'S-RECEIVED',
  'S-ACK-SENT',
  'REJECTED',
  'CLOSED',
] as const;

/** Timeouts in seconds: IP_VS_SCTP_MAX_RTO = 61, INIT1/REJECTED = 4. */
export const SCTP_TIMEOUTS = [2, 4, 61, 61, 61, 61, 61, 61, 900, 61, 61, 61, 4, 61];

// Events (rows): DATA, INIT, INIT_ACK, COOKIE_ECHO, COOKIE_ACK, SHUTDOWN, SHUTDOWN_ACK,
// SHUTDOWN_COMPLETE, ERROR, ABORT.
export const SCTP_EV_DATA = 0;
export const SCTP_EV_INIT = 1;
export const SCTP_EV_INIT_ACK = 2;
export const SCTP_EV_COOKIE_ECHO = 3;
export const SCTP_EV_COOKIE_ACK = 4;
export const SCTP_EV_SHUTDOWN = 5;
export const SCTP_EV_SHUTDOWN_ACK = 6;
export const SCTP_EV_SHUTDOWN_COMPLETE = 7;
export const SCTP_EV_ERROR = 8;
export const SCTP_EV_ABORT = 9;
const NEV = 10;

// SCTP chunk type numbers (RFC 9260).
const CHUNK_TO_EVENT: Record<number, number> = {
  1: SCTP_EV_INIT,
  2: SCTP_EV_INIT_ACK,
  6: SCTP_EV_ABORT,
  7: SCTP_EV_SHUTDOWN,
  8: SCTP_EV_SHUTDOWN_ACK,
  9: SCTP_EV_ERROR,
  10: SCTP_EV_COOKIE_ECHO,
  11: SCTP_EV_COOKIE_ACK,
  14: SCTP_EV_SHUTDOWN_COMPLETE,
};

/** Event of a packet from its first chunk type and the next chunk's type (-1 if none). */
export function sctpEvent(firstChunkType: number, nextChunkType: number): number {
  if ((firstChunkType === 10 || firstChunkType === 11) && nextChunkType === 6) return SCTP_EV_ABORT;
  return CHUNK_TO_EVENT[firstChunkType] ?? SCTP_EV_DATA;
}

const ABBR: Record<string, number> = {
  NO: 0,
  I1: 1,
  IN: 2,
  CS: 3,
  CR: 4,
  CW: 5,
  CO: 6,
  CE: 7,
  ES: 8,
  SS: 9,
  SR: 10,
  SA: 11,
  RJ: 12,
  CL: 13,
};

// Columns: NO I1 IN CS CR CW CO CE ES SS SR SA RJ CL.
const ROWS = [
  // INPUT
  'ES I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  'I1 IN IN CS CR CW CO CE ES SS SR SA IN IN',
  'CW CW CW CS CR CO CO CE ES SS SR SA RJ CL',
  'CR IN IN CR CR CW CO CE ES SS SR SA RJ CL',
  'ES I1 IN CS CR CW CO ES ES SS SR SA RJ CL',
  'SR I1 IN CS CR CW CO CE SR SS SR SA RJ CL',
  'CL IN IN CS CR CW CO CE ES CL SR CL RJ CL',
  'CL CL CL CS CR CW CO CE ES SS SR CL RJ CL',
  'CL I1 IN CS CR CW CO CL ES SS SR SA RJ CL',
  'CL CL CL CL CL RJ CL CL CL CL CL CL CL CL',
  // OUTPUT
  'ES I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  'CW CW CW CW CW CW CW CW ES CW CW CW CW CW',
  'CS CS CS CS CR CW CO CE ES SS SR SA RJ CL',
  'CE CE CE CE CE CE CE CE ES SS SR SA RJ CL',
  'ES ES ES ES ES ES ES ES ES SS SR SA RJ CL',
  'SS SS SS SS SS SS SS SS SS SS SR SA RJ CL',
  'SA SA SA SA SA CW CO CE ES SA SA SA RJ CL',
  'CL I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  'CL CL CL CL CL CW CO CE ES SS SR SA RJ CL',
  'CL RJ CL CL CL CL CL CL CL CL CL CL CL CL',
  // INPUT-ONLY
  'ES I1 IN CS CR ES CO CE ES SS SR SA RJ CL',
  'I1 IN IN IN IN IN CO CE ES SS SR SA IN IN',
  'CE CE CE CE CE CE CO CE ES SS SR SA RJ CL',
  'ES ES ES ES ES ES CO CE ES SS SR SA RJ CL',
  'ES I1 IN ES ES CW ES ES ES SS SR SA RJ CL',
  'SR I1 IN CS CR CW CO CE SR SS SR SA RJ CL',
  'CL IN IN CS CR CW CO CE CL CL SR CL RJ CL',
  'CL CL CL CL CL CW CO CE ES SS CL CL RJ CL',
  'CL I1 IN CS CR CW CO CE ES SS SR SA RJ CL',
  'CL CL CL CL CL RJ CL CL CL CL CL CL CL CL',
];

const TABLE = new Uint8Array(ROWS.length * SCTP_S_LAST);
ROWS.forEach((row, r) => {
  row.split(' ').forEach((a, s) => {
    TABLE[r * SCTP_S_LAST + s] = ABBR[a]!;
  });
});

/** Next state for event `ev` (from sctpEvent) in direction `dir` (0 in, 1 out, 2 in-only). */
export function sctpTransition(state: number, dir: number, ev: number): number {
  return TABLE[(dir * NEV + ev) * SCTP_S_LAST + state]!;
}

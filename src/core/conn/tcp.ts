// TCP state machine of IPVS (ip_vs_proto_tcp.c). Spec: docs/spec/ipvs-kernel.md §3.1, §3.2.
// Tables are indexed [table][event][state]: three directions (INPUT, OUTPUT, INPUT-ONLY), in a
// normal and a "secure" (secure_tcp defence) variant. A segment with none of RST/SYN/FIN/ACK
// forces CLOSE, as the kernel's tcp_state_idx() < 0 path does.

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

export const TCP_S_NONE = 0;
export const TCP_S_ESTABLISHED = 1;
export const TCP_S_SYN_SENT = 2;
export const TCP_S_SYN_RECV = 3;
export const TCP_S_FIN_WAIT = 4;
export const TCP_S_TIME_WAIT = 5;
export const TCP_S_CLOSE = 6;
export const TCP_S_CLOSE_WAIT = 7;
export const TCP_S_LAST_ACK = 8;
export const TCP_S_LISTEN = 9;
export const TCP_S_SYNACK = 10;
export const TCP_S_LAST = 11;

export const TCP_STATE_NAMES = [
  'NONE',
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'SYNACK',
] as const;

/** Default timeouts in seconds (tcp_timeouts[]); ESTABLISHED and FIN_WAIT follow `--set`. */
export const TCP_TIMEOUTS = [2, 900, 120, 60, 120, 120, 10, 60, 30, 120, 120];

const ABBR: Record<string, number> = {
  NO: 0,
  ES: 1,
  SS: 2,
  SR: 3,
  FW: 4,
  TW: 5,
  CL: 6,
  CW: 7,
  LA: 8,
  LI: 9,
  SA: 10,
};

// Rows: syn, fin, ack, rst. Columns: NO ES SS SR FW TW CL CW LA LI SA.
const NORMAL = [
  // INPUT
  'SR ES ES SR SR SR SR SR SR SR SR',
  'CL CW SS TW TW TW CL CW LA LI TW',
  'ES ES SS ES FW TW CL CW CL LI ES',
  'CL CL CL SR CL CL CL CL LA LI SR',
  // OUTPUT
  'SS ES SS SR SS SS SS SS SS LI SR',
  'TW FW SS TW FW TW CL TW LA LI TW',
  'ES ES SS ES FW TW CL CW LA ES ES',
  'CL CL SS CL CL TW CL CL CL CL CL',
  // INPUT-ONLY
  'SR ES ES SR SR SR SR SR SR SR SR',
  'CL FW SS TW FW TW CL CW LA LI TW',
  'ES ES SS ES FW TW CL CW CL LI ES',
  'CL CL CL SR CL CL CL CL LA LI CL',
];

const SECURE = [
  'SR ES ES SR SR SR SR SR SR SR SA',
  'CL CW SS TW TW TW CL CW LA LI SA',
  'ES ES SS SR FW TW CL CW CL LI SA',
  'CL CL CL SR CL CL CL CL LA LI CL',
  'SS ES SS SA SS SS SS SS SS LI SA',
  'TW FW SS TW FW TW CL TW LA LI TW',
  'ES ES SS ES FW TW CL CW LA ES ES',
  'CL CL SS CL CL TW CL CL CL CL CL',
  'SA ES ES SR SA SA SA SA SA SA SA',
  'CL FW SS TW FW TW CL CW LA LI TW',
  'ES ES SS ES FW TW CL CW CL LI ES',
  'CL CL CL SR CL CL CL CL LA LI CL',
];

function compile(rows: string[]): Uint8Array {
  const t = new Uint8Array(rows.length * TCP_S_LAST);
  rows.forEach((row, r) => {
    row.split(' ').forEach((a, s) => {
      t[r * TCP_S_LAST + s] = ABBR[a]!;
    });
  });
  return t;
}

const TABLES = [compile(NORMAL), compile(SECURE)];

/** Event row from the flags, by the kernel's priority: RST, SYN, FIN, ACK; -1 for none. */
function tcpEvent(flags: number): number {
  if (flags & TCP_RST) return 3;
  if (flags & TCP_SYN) return 0;
  if (flags & TCP_FIN) return 1;
  if (flags & TCP_ACK) return 2;
  return -1;
}

/** Next state for a segment with `flags` seen in direction `dir` (0 in, 1 out, 2 in-only). */
export function tcpTransition(state: number, dir: number, flags: number, secure: boolean): number {
  const ev = tcpEvent(flags);
  if (ev < 0) return TCP_S_CLOSE;
  return TABLES[secure ? 1 : 0]![(dir * 4 + ev) * TCP_S_LAST + state]!;
}

// Flag sequences → state and timeout, for the kernel's tables (docs/spec/ipvs-kernel.md §3): NAT sees
// both directions (INPUT/OUTPUT), DR/TUN only the client's (INPUT-ONLY).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sctpEvent } from '../../../src/core/conn/sctp.js';
import { DIR_INPUT, DIR_INPUT_ONLY, DIR_OUTPUT, stateName, stateTimeout, stateTransition } from '../../../src/core/conn/states.js';
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../../../src/core/conn/tcp.js';
import { IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP } from '../../../src/core/constants.js';

const T = { tcp: 900, tcpfin: 120, udp: 300 };
const F: Record<string, number> = {
  S: TCP_SYN,
  SA: TCP_SYN | TCP_ACK,
  A: TCP_ACK,
  F: TCP_FIN | TCP_ACK,
  R: TCP_RST,
  '-': 0,
};
const D: Record<string, number> = { in: DIR_INPUT, out: DIR_OUTPUT, only: DIR_INPUT_ONLY };

/** Each step: "dir:flags" → [state name, timeout]. */
const tcpCases: {
  name: string;
  steps: [string, string, number][];
  secure?: boolean;
  t?: typeof T;
}[] = [
  {
    name: 'NAT handshake and close',
    steps: [
      ['in:S', 'SYN_RECV', 60],
      ['out:SA', 'SYN_RECV', 60],
      ['in:A', 'ESTABLISHED', 900],
      ['in:F', 'CLOSE_WAIT', 60],
      ['out:F', 'TIME_WAIT', 120],
      ['in:A', 'TIME_WAIT', 120],
    ],
  },
  {
    name: 'NAT: server closes first',
    steps: [
      ['in:S', 'SYN_RECV', 60],
      ['in:A', 'ESTABLISHED', 900],
      ['out:F', 'FIN_WAIT', 120],
      ['in:F', 'TIME_WAIT', 120],
    ],
  },
  {
    name: 'DR/TUN: inbound only',
    steps: [
      ['only:S', 'SYN_RECV', 60],
      ['only:A', 'ESTABLISHED', 900],
      ['only:F', 'FIN_WAIT', 120],
      ['only:A', 'FIN_WAIT', 120],
    ],
  },
  {
    name: 'RST closes',
    steps: [
      ['in:S', 'SYN_RECV', 60],
      ['in:A', 'ESTABLISHED', 900],
      ['in:R', 'CLOSE', 10],
    ],
  },
  {
    name: 'a segment without SYN/FIN/ACK/RST forces CLOSE',
    steps: [
      ['in:S', 'SYN_RECV', 60],
      ['in:-', 'CLOSE', 10],
    ],
  },
  {
    name: '--set 0 60 0 changes FIN_WAIT only',
    t: { tcp: 900, tcpfin: 60, udp: 300 },
    steps: [
      ['only:S', 'SYN_RECV', 60],
      ['only:A', 'ESTABLISHED', 900],
      ['only:F', 'FIN_WAIT', 60],
    ],
  },
  {
    name: 'secure_tcp: the client ACK cannot establish before the server SYN+ACK',
    secure: true,
    steps: [
      ['in:S', 'SYN_RECV', 60],
      ['in:A', 'SYN_RECV', 60],
      ['out:SA', 'SYNACK', 120],
      ['out:A', 'ESTABLISHED', 900],
    ],
  },
  {
    name: 'secure_tcp: DR SYN flood ends in SYNACK',
    secure: true,
    steps: [
      ['only:S', 'SYNACK', 120],
      ['only:S', 'SYNACK', 120],
    ],
  },
];

describe('TCP state machine', () => {
  for (const c of tcpCases) {
    it(c.name, () => {
      let s = 0;
      for (const [step, name, timeout] of c.steps) {
        const [dir, flags] = step.split(':') as [string, string];
        s = stateTransition(IPPROTO_TCP, s, D[dir]!, F[flags]!, c.secure ?? false);
        assert.equal(stateName(IPPROTO_TCP, s, false), name, step);
        assert.equal(stateTimeout(IPPROTO_TCP, s, c.t ?? T), timeout, `${step} timeout`);
      }
    });
  }

  // Every cell of the normal INPUT table's SYN row and OUTPUT table's RST row (§3.1).
  const names = [
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
  ];
  const rows: [number, number, string][] = [
    [DIR_INPUT, TCP_SYN, 'SR ES ES SR SR SR SR SR SR SR SR'],
    [DIR_OUTPUT, TCP_RST, 'CL CL SS CL CL TW CL CL CL CL CL'],
    [DIR_INPUT_ONLY, TCP_FIN, 'CL FW SS TW FW TW CL CW LA LI TW'],
    [DIR_OUTPUT, TCP_ACK, 'ES ES SS ES FW TW CL CW LA ES ES'],
  ];
  const abbr: Record<string, string> = {
    ES: 'ESTABLISHED',
    SS: 'SYN_SENT',
    SR: 'SYN_RECV',
    FW: 'FIN_WAIT',
    TW: 'TIME_WAIT',
    CL: 'CLOSE',
    CW: 'CLOSE_WAIT',
    LA: 'LAST_ACK',
    LI: 'LISTEN',
    SA: 'SYNACK',
  };
  for (const [dir, flags, row] of rows) {
    it(`table row dir ${dir} flags ${flags}`, () => {
      row.split(' ').forEach((a, st) => {
        assert.equal(names[stateTransition(IPPROTO_TCP, st, dir, flags, false)], abbr[a], `from ${names[st]}`);
      });
    });
  }
});

describe('UDP and SCTP', () => {
  it('UDP has one state, printed UDP, with the udp timeout', () => {
    const s = stateTransition(IPPROTO_UDP, 0, DIR_INPUT, 0, false);
    assert.equal(stateName(IPPROTO_UDP, s, false), 'UDP');
    assert.equal(stateTimeout(IPPROTO_UDP, s, { ...T, udp: 30 }), 30);
  });

  it('SCTP NAT association: INIT, INIT_ACK, COOKIE_ECHO, COOKIE_ACK, DATA, SHUTDOWN…', () => {
    const seq: [number, number, number, string, number][] = [
      [DIR_INPUT, 1, -1, 'INIT1', 4],
      [DIR_OUTPUT, 2, -1, 'C-SENT', 61],
      [DIR_INPUT, 10, -1, 'C-REPLIED', 61],
      [DIR_OUTPUT, 11, -1, 'ESTABLISHED', 900],
      [DIR_INPUT, 0, -1, 'ESTABLISHED', 900],
      [DIR_INPUT, 7, -1, 'S-RECEIVED', 61],
      [DIR_OUTPUT, 8, -1, 'S-ACK-SENT', 61],
      [DIR_INPUT, 14, -1, 'CLOSED', 61],
    ];
    let s = 0;
    for (const [dir, chunk, next, name, t] of seq) {
      s = stateTransition(IPPROTO_SCTP, s, dir, sctpEvent(chunk, next), false);
      assert.equal(stateName(IPPROTO_SCTP, s, false), name, `chunk ${chunk}`);
      assert.equal(stateTimeout(IPPROTO_SCTP, s, T), t);
    }
  });

  it('COOKIE_ECHO followed by ABORT counts as ABORT', () => {
    assert.equal(sctpEvent(10, 6), sctpEvent(6, -1));
    assert.notEqual(sctpEvent(10, 0), sctpEvent(6, -1));
    const s = stateTransition(IPPROTO_SCTP, 5, DIR_INPUT, sctpEvent(10, 6), false);
    assert.equal(stateName(IPPROTO_SCTP, s, false), 'REJECTED');
  });

  it('templates print NONE or ASSURED', () => {
    assert.equal(stateName(IPPROTO_TCP, 0, true), 'NONE');
    assert.equal(stateName(IPPROTO_UDP, 1, true), 'ASSURED');
  });
});
